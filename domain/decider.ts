// The shape every aggregate in domain/ has: three pure functions and nothing else.
// I/O (load the stream, decide, append) lives in command-handling/.

import type { Either } from 'fp-ts/lib/Either.js';
import type { DomainError } from './errors.ts';

export interface Decider<Command, Event, State> {
  initialState: () => State;
  decide: (command: Command, state: State) => Either<DomainError, Event[]>;
  evolve: (state: State, event: Event) => State;
}

/** Replays events onto the initial state: the state is nothing but this fold. */
export const fold = <C, E, S>(decider: Decider<C, E, S>, events: readonly E[], from?: S): S =>
  events.reduce(decider.evolve, from ?? decider.initialState());
