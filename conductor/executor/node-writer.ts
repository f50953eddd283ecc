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
//
// A writer given a NodeStateCache (the conductor's node index, which folds the nodes it owns)
// starts from the cached state instead of reading and folding the whole stream, and tells the cache
// what it wrote (so the index does not decode and fold its own events again). The cache may lag
// behind the stream: the append's expected revision catches that, and the batch is decided again
// on the stream as read then. Whether a command is already recorded is answered from the cache's
// recent command ids when they cover the whole stream, else from the stream (`isRecorded`).

import * as E from 'fp-ts/lib/Either.js';
import { bindingFor } from '../../command-handling/registry.ts';
import type { NodePlacement, OwnershipRecord } from '../../domain/conductor/index.ts';
import { domainError, type DomainError } from '../../domain/errors.ts';
import { eventIdFor } from '../../domain/metadata.ts';
import { nodeDecider, type NodeCommand, type NodeEvent, type NodeState } from '../../domain/node/index.ts';
import { streamId } from '../../domain/streams.ts';
import { DuplicateEventId, isWrongExpectedRevision } from '../../eventstore/errors.ts';
import type { AppendResult, EventData, EventMetadata, EventStore } from '../../eventstore/port.ts';
import type { Fence } from '../fencing.ts';
import { appendGranted, ownerMetadataKey } from '../fencing.ts';
import { nodeBinding } from '../node-binding.ts';

export interface Envelope {
  commandId: string;
  command: NodeCommand;
  actor: string;
  correlationId: string;
  causationId: string;
}

/** What a NodeStateCache knows of a node: its folded state at `revision`. */
export interface KnownNode {
  state: NodeState;
  revision: bigint;
  /** command ids of the stream's recent events */
  commandIds: ReadonlySet<string>;
  /** whether `commandIds` holds every command id of the stream up to `revision` */
  allCommandIds: boolean;
}

export interface NodeStateCache {
  known(uuid: string): KnownNode | undefined;
  /**
   * This process appended to the node's stream after revision `from` (-1: it was empty): `state`
   * is the node at `revision`, and `commandIds` the commands of the append.
   */
  wrote(uuid: string, from: bigint, revision: bigint, state: NodeState, commandIds: readonly string[], token?: object): void;
  /**
   * This process is about to append `count` events after revision `from` (-1: empty stream). The
   * token it returns (if any) goes back with `wrote`, or with `abandoned` when the append fails or
   * does not land right after `from`: the cache may pass over the events at those revisions until
   * then.
   */
  writing?(uuid: string, from: bigint, count: number): object | undefined;
  abandoned?(uuid: string, token: object): void;
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
  private seen = new Set<string>();
  private lastPosition: bigint | undefined;
  /** the state came from the cache (not from reading the stream) */
  private seeded = false;
  /** the state came from the cache and `seen` may lack older command ids */
  private seenPartial = false;
  /** a cached state turned out stale (or unusable): read the stream from now on */
  private fromStream = false;
  /** a decision made already (decided): the same command on the same state object decides the same */
  private decision: { command: NodeCommand; state: NodeState; events: NodeEvent[]; after: NodeState } | undefined;
  readonly stream: string;

  constructor(
    private readonly store: EventStore,
    readonly uuid: string,
    private readonly fence: Fence,
    private readonly owner: OwnershipRecord | undefined,
    private readonly cache?: NodeStateCache,
  ) {
    this.stream = streamId('node', uuid);
  }

  /** Starts from the cache when it has the node. */
  private seed(): boolean {
    if (this.fromStream || !this.cache) return false;
    const known = this.cache.known(this.uuid);
    if (!known || known.state.status !== 'present') return false;
    this.state = known.state;
    this.revision = known.revision;
    // a copy (the index's set changes as the node does); the Set constructor copies a Set fast
    this.seen = new Set(known.commandIds);
    this.seenPartial = !known.allCommandIds;
    this.seeded = true;
    this.lastPosition = undefined;
    return true;
  }

  private async load(): Promise<void> {
    this.seenPartial = false;
    this.seeded = false;
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
    if (this.state === undefined && !this.seed()) await this.load();
    return this.state as NodeState;
  }

  /**
   * Has the stream (as last read or written) a command with this id? Exact for a writer that read
   * the stream; a writer started from the cache may not know old commands: use isRecorded.
   */
  recorded(commandId: string): boolean {
    return this.seen.has(commandId);
  }

  /** Has the stream a command with this id? Reads the stream when the cache cannot tell. */
  async isRecorded(commandId: string): Promise<boolean> {
    await this.current();
    if (!this.seeded) return this.seen.has(commandId);
    if (!this.seen.has(commandId) && !this.seenPartial) return false;
    // a retry (rare): answer from the stream, which also gives the position to report
    await this.reload();
    return this.seen.has(commandId);
  }

  /**
   * `command` decided on `state` gave `events`, and `after` is `state` evolved by them (the caller
   * decided it to know what follows): a write that decides the same command on the same state
   * object takes them instead of deciding and evolving again (decide and evolve are pure).
   */
  decided(command: NodeCommand, state: NodeState, events: NodeEvent[], after: NodeState): void {
    this.decision = { command, state, events, after };
  }

  /** Whether the current state came from the cache rather than from reading the stream. */
  get fromCache(): boolean {
    return this.seeded;
  }

  /** Reads the stream again (and never trusts the cache again). */
  async reload(): Promise<void> {
    this.fromStream = true;
    this.state = undefined;
    await this.load();
  }

  /** The global position of the last event read or written. */
  get position(): bigint | undefined {
    return this.lastPosition;
  }

  /** Forget the cached state: the next write reads the stream again. */
  invalidate(): void {
    this.state = undefined;
    this.fromStream = true;
  }

  /**
   * Decides and appends a batch. `build` gets the current state and returns the envelopes (so a
   * retry after a concurrent write re-plans on the new state); Left refuses the whole batch.
   */
  async write(build: (state: NodeState) => E.Either<DomainError, Envelope[]>, placement: (state: NodeState) => NodePlacement): Promise<E.Either<DomainError, Written>> {
    for (let attempt = 1; ; attempt++) {
      const before = await this.current();
      const built = build(before);
      if (E.isLeft(built)) {
        // refused on a cached state: decide again on the stream before refusing
        if (this.seeded) {
          this.invalidate();
          continue;
        }
        return built;
      }
      const envelopes = built.right;
      if (envelopes.length > 0 && this.seen.has(envelopes[0].commandId)) {
        return E.right({ state: before, position: this.lastPosition, duplicate: true });
      }
      let state = before;
      const data: EventData[] = [];
      // one timestamp per batch: the commands of a batch are decided together
      const timestamp = new Date().toISOString();
      let refused: DomainError | undefined;
      for (const env of envelopes) {
        const known = this.decision;
        const memo = known !== undefined && known.command === env.command && known.state === state ? known : undefined;
        const decided = memo !== undefined ? E.right(memo.events) : nodeDecider.decide(env.command, state);
        if (E.isLeft(decided)) {
          refused = decided.left;
          break;
        }
        const metadata: EventMetadata = this.owner
          ? { [ownerMetadataKey]: this.owner, correlationId: env.correlationId, causationId: env.causationId, actor: env.actor, timestamp, commandId: env.commandId }
          : { correlationId: env.correlationId, causationId: env.causationId, actor: env.actor, timestamp, commandId: env.commandId };
        const events = decided.right;
        for (let i = 0; i < events.length; i++) {
          const ev = events[i]!;
          const encoded = nodeBinding.encode(ev);
          data.push({ id: eventIdFor(env.commandId, i), type: encoded.type, data: encoded.data, metadata });
          if (memo === undefined) state = nodeDecider.evolve(state, ev);
        }
        if (memo !== undefined) state = memo.after;
      }
      if ((refused !== undefined || data.length === 0) && this.seeded) {
        // refused, or nothing to write, on a cached state that may lag: decide again on the stream
        this.invalidate();
        continue;
      }
      if (refused !== undefined) return E.left(refused);
      if (data.length === 0) return E.right({ state, position: undefined, duplicate: false });
      if (needsClaims(before, state)) {
        return E.left(domainError('Invalid', `A batch of node commands may not change the node's unique values (${envelopes.map((e) => e.command.type).join(', ')}).`));
      }
      const fenced = await this.fence(placement(before));
      if (E.isLeft(fenced)) return fenced;
      const expected = this.revision;
      const token = this.cache?.writing?.(this.uuid, expected ?? -1n, data.length);
      let r: AppendResult;
      try {
        // conditioned on the membership the fence checked: a change in between refuses it, and the
        // next attempt fences again on the new membership
        r = await appendGranted(this.store, fenced.right, this.stream, data, expected === undefined ? 'no_stream' : expected);
      } catch (e) {
        if (token !== undefined) this.cache?.abandoned?.(this.uuid, token);
        if (!isWrongExpectedRevision(e) && !(e instanceof DuplicateEventId && this.seeded)) throw e;
        this.invalidate();
        if (attempt >= 5) return E.left(domainError('ConcurrentWrite', `Stream ${this.stream} was changed by another writer ${attempt} times in a row; retry the request.`));
        continue;
      }
      if (r.nextExpectedRevision !== (expected ?? -1n) + BigInt(data.length)) {
        // the store recognised the events as a retry of an append it holds already: the batch
        // was recorded before (a writer started from the cache did not know it); read the stream
        // and answer from it
        if (token !== undefined) this.cache?.abandoned?.(this.uuid, token);
        this.invalidate();
        if (attempt >= 5) return E.left(domainError('ConcurrentWrite', `Stream ${this.stream} could not be written consistently; retry the request.`));
        continue;
      }
      this.decision = undefined;
      this.state = state;
      this.revision = r.nextExpectedRevision;
      this.lastPosition = r.position;
      const ids = envelopes.map((env) => env.commandId);
      for (const id of ids) this.seen.add(id);
      this.cache?.wrote(this.uuid, expected ?? -1n, r.nextExpectedRevision, state, ids, token);
      return E.right({ state, position: r.position, duplicate: false });
    }
  }
}
