// How a node task writes its node stream: several commands decided one after the other on the
// node's state and appended together, in one append with the expected revision (so "step 2
// completed, step 3 started" or "done, released" land atomically), fenced right before it. It is
// command-handling/handle.ts for a batch: event ids derive from each command's id and a batch
// whose first command is already in the stream is a duplicate. The writer keeps the state it
// last saw and wrote: while the task holds the reservation nobody else writes the node, so the
// next batch needs no read; if someone did (a takeover's force-release), the append's expected
// revision fails and the batch is decided again on what the stream says now.
//
// Commands that change unique values (a node's name, instance_uuid) go through the claims of
// command-handling/execute.ts instead (`needsClaims`).

import * as E from 'fp-ts/lib/Either.js';
import { bindingFor } from '../../command-handling/registry.ts';
import type { NodePlacement, OwnershipRecord } from '../../domain/conductor/index.ts';
import { domainError, type DomainError } from '../../domain/errors.ts';
import { eventIdFor } from '../../domain/metadata.ts';
import { nodeDecider, type NodeCommand, type NodeEvent, type NodeState } from '../../domain/node/index.ts';
import { streamId } from '../../domain/streams.ts';
import { isWrongExpectedRevision } from '../../eventstore/errors.ts';
import type { EventData, EventMetadata, EventStore } from '../../eventstore/port.ts';
import type { Fence } from '../fencing.ts';
import { ownerMetadataKey } from '../fencing.ts';
import { nodeBinding } from '../node-binding.ts';

export interface Envelope {
  commandId: string;
  command: NodeCommand;
  actor: string;
  correlationId: string;
  causationId: string;
}

export interface Written {
  state: NodeState;
  /** global position of the last event written (or of the batch found already written) */
  position: bigint | undefined;
  duplicate: boolean;
}

const claimsOf = bindingFor('node').uniqueValues ?? (() => []);
const claimsKey = (s: NodeState): string => JSON.stringify(claimsOf(s));

/** Would these commands change the node's unique values (they need execute()'s claims)? */
export const needsClaims = (before: NodeState, after: NodeState): boolean => claimsKey(before) !== claimsKey(after);

export class NodeWriter {
  private state: NodeState | undefined;
  private revision: bigint | undefined;
  private readonly seen = new Set<string>();
  private lastPosition: bigint | undefined;
  readonly stream: string;

  constructor(
    private readonly store: EventStore,
    readonly uuid: string,
    private readonly fence: Fence,
    private readonly owner: OwnershipRecord | undefined,
  ) {
    this.stream = streamId('node', uuid);
  }

  private async load(): Promise<void> {
    const events = await this.store.readStream(this.stream);
    let state = nodeDecider.initialState();
    this.seen.clear();
    for (const r of events) {
      const decoded = nodeBinding.decode(r);
      if (E.isLeft(decoded)) throw decoded.left;
      state = nodeDecider.evolve(state, decoded.right);
      if (typeof r.metadata.commandId === 'string') this.seen.add(r.metadata.commandId);
    }
    this.state = state;
    this.revision = events.at(-1)?.revision;
    this.lastPosition = events.at(-1)?.position;
  }

  /** The node's state as this writer knows it (read once, then kept up to date by its own writes). */
  async current(): Promise<NodeState> {
    if (this.state === undefined) await this.load();
    return this.state as NodeState;
  }

  /** Has the stream (as last read or written) a command with this id? */
  recorded(commandId: string): boolean {
    return this.seen.has(commandId);
  }

  /** The global position of the last event read or written. */
  get position(): bigint | undefined {
    return this.lastPosition;
  }

  /** Forget the cached state: the next write reads the stream again. */
  invalidate(): void {
    this.state = undefined;
  }

  /**
   * Decides and appends a batch. `build` gets the current state and returns the envelopes (so a
   * retry after a concurrent write re-plans on the new state); Left refuses the whole batch.
   */
  async write(build: (state: NodeState) => E.Either<DomainError, Envelope[]>, placement: (state: NodeState) => NodePlacement): Promise<E.Either<DomainError, Written>> {
    for (let attempt = 1; ; attempt++) {
      const before = await this.current();
      const built = build(before);
      if (E.isLeft(built)) return built;
      const envelopes = built.right;
      if (envelopes.length > 0 && this.seen.has(envelopes[0].commandId)) {
        return E.right({ state: before, position: this.lastPosition, duplicate: true });
      }
      let state = before;
      const data: EventData[] = [];
      for (const env of envelopes) {
        const decided = nodeDecider.decide(env.command, state);
        if (E.isLeft(decided)) return decided;
        const metadata: EventMetadata = {
          ...(this.owner ? { [ownerMetadataKey]: this.owner } : {}),
          correlationId: env.correlationId,
          causationId: env.causationId,
          actor: env.actor,
          timestamp: new Date().toISOString(),
          commandId: env.commandId,
        };
        decided.right.forEach((ev: NodeEvent, i: number) => {
          data.push({ id: eventIdFor(env.commandId, i), ...nodeBinding.encode(ev), metadata });
          state = nodeDecider.evolve(state, ev);
        });
      }
      if (data.length === 0) return E.right({ state, position: undefined, duplicate: false });
      if (needsClaims(before, state)) {
        return E.left(domainError('Invalid', `A batch of node commands may not change the node's unique values (${envelopes.map((e) => e.command.type).join(', ')}).`));
      }
      const fenced = await this.fence(placement(before));
      if (E.isLeft(fenced)) return fenced;
      try {
        const r = await this.store.append(this.stream, data, this.revision === undefined ? 'no_stream' : this.revision);
        this.state = state;
        this.revision = r.nextExpectedRevision;
        this.lastPosition = r.position;
        for (const env of envelopes) this.seen.add(env.commandId);
        return E.right({ state, position: r.position, duplicate: false });
      } catch (e) {
        if (!isWrongExpectedRevision(e)) throw e;
        this.invalidate();
        if (attempt >= 5) return E.left(domainError('ConcurrentWrite', `Stream ${this.stream} was changed by another writer ${attempt} times in a row; retry the request.`));
      }
    }
  }
}
