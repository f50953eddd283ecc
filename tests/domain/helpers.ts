// Test helpers: run commands through a decider the way the command handler does.

import * as E from 'fp-ts/lib/Either.js';
import type { Decider } from '../../domain/decider.ts';
import type { DomainError } from '../../domain/errors.ts';

export interface Run<S, Ev> {
  state: S;
  events: Ev[];
}

/** Applies each command in turn; a rejected command is skipped (its error is collected). */
export const runAll = <C, Ev, S>(d: Decider<C, Ev, S>, commands: readonly C[], from?: Run<S, Ev>) => {
  let state = from?.state ?? d.initialState();
  const events: Ev[] = [...(from?.events ?? [])];
  const errors: DomainError[] = [];
  for (const c of commands) {
    const r = d.decide(c, state);
    if (E.isLeft(r)) {
      errors.push(r.left);
      continue;
    }
    for (const ev of r.right) {
      state = d.evolve(state, ev);
      events.push(ev);
    }
  }
  return { state, events, errors };
};

/** The events of one command that must succeed. */
export const decided = <C, Ev, S>(d: Decider<C, Ev, S>, command: C, state: S): Ev[] => {
  const r = d.decide(command, state);
  if (E.isLeft(r)) throw new Error(`expected success, got ${r.left.errorClass}: ${r.left.message}`);
  return r.right;
};

/** The error of one command that must fail. */
export const rejected = <C, Ev, S>(d: Decider<C, Ev, S>, command: C, state: S): DomainError => {
  const r = d.decide(command, state);
  if (E.isRight(r)) throw new Error(`expected a rejection, got ${JSON.stringify(r.right)}`);
  return r.left;
};
