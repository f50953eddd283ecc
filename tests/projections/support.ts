// Test helpers: temp dirs, and a writer that drives the real deciders (decide, append with the
// expected revision, evolve) so read-model tests see exactly what the service would store.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { deciders } from '../../domain/index.ts';
import { membershipStream, streamId, type AggregateKind } from '../../domain/streams.ts';
import type { EventStore } from '../../eventstore/port.ts';

const dirs: string[] = [];
export const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'ironlog-proj-'));
  dirs.push(d);
  return d;
};
export const removeTempDirs = (): void => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
};

type AnyDecider = {
  initialState: () => unknown;
  decide: (c: unknown, s: unknown) => E.Either<{ message: string }, { type: string; data: unknown }[]>;
  evolve: (s: unknown, e: unknown) => unknown;
};

export class DomainWriter {
  private readonly states = new Map<string, { state: unknown; revision: bigint | undefined }>();
  private clock = Date.UTC(2024, 0, 1);
  constructor(private readonly store: EventStore) {}

  now(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString();
  }

  /** Decides a command with the real decider and appends its events; returns the last position. */
  async command(kind: AggregateKind, id: string, command: { type: string; data: Record<string, unknown> }, actor = 'admin'): Promise<bigint> {
    const stream = kind === 'conductor' ? membershipStream : streamId(kind, id);
    const d = deciders[kind] as unknown as AnyDecider;
    const cur = this.states.get(stream) ?? { state: d.initialState(), revision: undefined };
    const at = this.now();
    // membership commands are flat ({type, hostname, ...}); aggregate commands carry {uuid, at} in data
    const full = kind === 'conductor' ? { type: command.type, ...command.data } : { ...command, data: { uuid: id, at, ...command.data } };
    const decided = d.decide(full, cur.state);
    if (E.isLeft(decided)) throw new Error(`${command.type} refused: ${decided.left.message}`);
    const events = decided.right;
    if (events.length === 0) throw new Error(`${command.type} decided nothing`);
    const correlationId = randomUUID();
    const r = await this.store.append(
      stream,
      events.map((e) => ({ id: randomUUID(), type: e.type, data: e.data, metadata: { correlationId, causationId: correlationId, actor, timestamp: at, commandId: correlationId } })),
      cur.revision === undefined ? 'no_stream' : cur.revision,
    );
    this.states.set(stream, { state: events.reduce(d.evolve, cur.state), revision: r.nextExpectedRevision });
    return r.position;
  }

  /** Appends already-shaped domain events (for internal events the tests set up directly). */
  async events(kind: AggregateKind, id: string, events: { type: string; data: Record<string, unknown> }[], actor = 'conductor:c1'): Promise<bigint> {
    const stream = streamId(kind, id);
    const d = deciders[kind] as unknown as AnyDecider;
    const cur = this.states.get(stream) ?? { state: d.initialState(), revision: undefined };
    const at = this.now();
    const full = events.map((e) => ({ type: e.type, data: { uuid: id, at, ...e.data } }));
    const correlationId = randomUUID();
    const r = await this.store.append(
      stream,
      full.map((e) => ({ id: randomUUID(), type: e.type, data: e.data, metadata: { correlationId, causationId: correlationId, actor, timestamp: at } })),
      cur.revision === undefined ? 'no_stream' : cur.revision,
    );
    this.states.set(stream, { state: full.reduce(d.evolve, cur.state), revision: r.nextExpectedRevision });
    return r.position;
  }
}
