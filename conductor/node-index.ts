// The conductor's own in-memory index of the nodes (a catch-up subscription on the node streams),
// so that on a ring change it can tell at once which nodes it gained and lost without asking a
// read model that may lag.
//
// Every node's placement (uuid, group, driver: what the ring needs) is known; the full state is
// folded only for the nodes this conductor owns (`isOwned`), so N conductors do not each decode
// every event of the fleet. A node that becomes owned (a ring change) is folded from its stream
// by `ensureOwned()` / `ensure(uuid)`, which takeover runs before it judges the nodes it owns.
//
// It is also the executor's NodeStateCache (executor/node-writer.ts): a node writer starts from
// the folded state instead of reading the stream, and reports what it appended, which the index
// takes as its state at that revision (the subscription then skips those events unread). With
// the state it keeps the command ids of the node's last events (RECENT_COMMANDS), so a writer can
// tell whether a request was recorded already without reading the stream.

import * as E from 'fp-ts/lib/Either.js';
import { nodeDecider, type Node, type NodeEvent, type NodeState } from '../domain/node/index.ts';
import { streamId, streamPrefix, parseStreamId } from '../domain/streams.ts';
import type { EventStore, RecordedEvent, Subscription } from '../eventstore/port.ts';
import type { NodePlacement } from '../domain/conductor/index.ts';
import { nodeBinding } from './node-binding.ts';
import type { KnownNode, NodeStateCache } from './executor/node-writer.ts';

/** command ids kept per folded node */
const RECENT_COMMANDS = 64;

export const placementOf = (node: Node): NodePlacement => ({ uuid: node.uuid, group: node.conductor_group ?? '', driver: node.driver });

interface Entry {
  placement: NodePlacement | undefined;
  deleted: boolean;
  /** the folded state, kept only while the node is owned here */
  state: NodeState | undefined;
  /** the last revision folded into `state` */
  revision: bigint;
  /** set while the stream is being read: events arriving meanwhile wait here */
  loading: RecordedEvent[] | undefined;
  load: Promise<void> | undefined;
  /** command ids of the last events folded into `state`, oldest first */
  commands: Set<string>;
  /** `commands` holds every command id of the stream up to `revision` */
  allCommands: boolean;
  /** an append of this process in flight on the node (NodeStateCache.writing), if any */
  pending: PendingWrite | undefined;
}

/** An append a writer of this process is making: from revision `from`, `count` events. */
interface PendingWrite {
  readonly from: bigint;
  readonly count: number;
  /** events after the append's that arrived before its writer reported: folded after its state */
  readonly after: RecordedEvent[];
}

const remember = (e: Entry, commandId: unknown): void => {
  if (typeof commandId !== 'string' || e.commands.has(commandId)) return;
  e.commands.add(commandId);
  if (e.commands.size > RECENT_COMMANDS) {
    e.commands.delete(e.commands.values().next().value as string);
    e.allCommands = false;
  }
};

const nodeStreamPrefix = streamPrefix('node');

const placementEvents: ReadonlySet<string> = new Set(['NodeCreated', 'NodeUpdated', 'NodeDeleted']);

const decode = (r: RecordedEvent): NodeEvent => {
  const d = nodeBinding.decode(r);
  if (E.isLeft(d)) throw d.left;
  return d.right;
};

export class NodeIndex implements NodeStateCache {
  private readonly entries = new Map<string, Entry>();
  private sub: Subscription | undefined;
  private readonly listeners = new Set<(uuids: string[]) => void>();

  /** `isOwned`: which nodes to keep folded (default: all of them) */
  constructor(
    private readonly store: EventStore,
    private readonly isOwned: (p: NodePlacement) => boolean = () => true,
  ) {}

  async start(): Promise<void> {
    this.sub = this.store.subscribeToAll({ after: 'start', streamPrefixes: [nodeStreamPrefix], select: this.wants }, (batch) => {
      const touched: string[] = [];
      for (const r of batch) {
        const id = parseStreamId(r.streamId)?.id;
        if (id === undefined) continue;
        this.take(id, r);
        touched.push(id);
      }
      for (const l of this.listeners) l(touched);
    });
    await this.sub.caughtUp;
  }

  /**
   * The events take() would use, judged before they are decoded (a batch is judged before its
   * first event is handled, so a node unknown so far is always taken): placement events, and the
   * events of folded nodes not folded yet (not those its own writers reported). The other nodes'
   * events are left undecoded: each conductor folds only the nodes it owns.
   */
  private readonly wants = (stream: string, revision: bigint, type: string): boolean => {
    if (placementEvents.has(type)) return true;
    // judged for every node event of every writer: the subscription's prefix makes it a node stream
    const e = this.entries.get(stream.slice(nodeStreamPrefix.length));
    if (!e || !e.placement || e.loading !== undefined) return true;
    if (e.state === undefined || revision <= e.revision) return false;
    // the events of this process's own append in flight: its writer reports the state after them
    // (wrote), or the index reads the stream again if the append fails (abandoned)
    const p = e.pending;
    return p === undefined || p.from !== e.revision || revision > p.from + BigInt(p.count);
  };

  private entry(id: string): Entry {
    let e = this.entries.get(id);
    if (!e) {
      e = { placement: undefined, deleted: false, state: undefined, revision: -1n, loading: undefined, load: undefined, commands: new Set(), allCommands: true, pending: undefined };
      this.entries.set(id, e);
    }
    return e;
  }

  private take(id: string, r: RecordedEvent): void {
    const e = this.entry(id);
    let event: NodeEvent | undefined;
    if (placementEvents.has(r.type)) {
      event = decode(r);
      if (event.type === 'NodeCreated') {
        const n = event.data.node;
        e.placement = { uuid: n.uuid, group: n.conductor_group ?? '', driver: n.driver };
        e.deleted = false;
        // a created node starts folded when it is ours: nothing to read back
        if (e.state === undefined && e.loading === undefined && this.isOwned(e.placement)) {
          e.state = nodeDecider.initialState();
          e.commands.clear();
          e.allCommands = r.revision === 0n;
        }
      } else if (event.type === 'NodeUpdated' && e.placement) {
        const c = event.data.changes;
        if (c.driver !== undefined || c.conductor_group !== undefined) {
          e.placement = { ...e.placement, driver: c.driver ?? e.placement.driver, group: (c.conductor_group ?? e.placement.group).toLowerCase() };
        }
      } else if (event.type === 'NodeDeleted') {
        e.deleted = true;
      }
    }
    if (e.loading) {
      e.loading.push(r);
      return;
    }
    if (e.state === undefined) return;
    if (e.placement && !this.isOwned(e.placement)) {
      // it moved away: stop folding it (ensure() reads it again if it comes back)
      e.state = undefined;
      e.revision = -1n;
      e.commands.clear();
      e.pending = undefined;
      return;
    }
    if (r.revision <= e.revision) return;
    const p = e.pending;
    if (p !== undefined && p.from === e.revision) {
      // this process's append in flight lies before it: wait for its writer's state
      if (r.revision > p.from + BigInt(p.count)) p.after.push(r);
      return;
    }
    e.state = nodeDecider.evolve(e.state, event ?? decode(r));
    e.revision = r.revision;
    remember(e, r.metadata.commandId);
  }

  /** NodeStateCache: the folded state of a node owned here (not while it is being read). */
  known(uuid: string): KnownNode | undefined {
    const e = this.entries.get(uuid);
    if (!e || e.state === undefined || e.loading !== undefined) return undefined;
    return { state: e.state, revision: e.revision, commandIds: e.commands, allCommandIds: e.allCommands };
  }

  /**
   * NodeStateCache: a writer of this process is about to append `count` events after revision
   * `from`. While that append is in flight the subscription passes over the events at
   * from+1..from+count undecoded (the subscription usually sees a commit before its writer does):
   * `wrote` then takes the writer's state, and `abandoned` (the append failed, or did not land
   * there) reads the stream again, since those revisions may hold another writer's events.
   */
  writing(uuid: string, from: bigint, count: number): object | undefined {
    const e = this.entries.get(uuid);
    // only when the index is at `from` (else the writer started from the stream: nothing to skip),
    // and one append at a time (a second writer of the node may race the first)
    if (!e || e.state === undefined || e.loading !== undefined || e.revision !== from || e.pending !== undefined) return undefined;
    const p: PendingWrite = { from, count, after: [] };
    e.pending = p;
    return p;
  }

  /** NodeStateCache: the append announced by `writing` failed or did not land at its revisions. */
  abandoned(uuid: string, token: object): void {
    const e = this.entries.get(uuid);
    if (!e || e.pending !== token) return;
    e.pending = undefined;
    if (e.state === undefined || e.loading !== undefined) return;
    // events the subscription passed over may be another writer's: fold the node from its stream
    e.state = undefined;
    e.revision = -1n;
    void this.ensure(uuid).catch(() => undefined);
  }

  /**
   * NodeStateCache: a writer of this process appended to the stream and `state` is the node at
   * `revision` (the expected revision of its append made it the fold of everything before).
   */
  wrote(uuid: string, from: bigint, revision: bigint, state: NodeState, commandIds: readonly string[], token?: object): void {
    const e = this.entries.get(uuid);
    let after: RecordedEvent[] = [];
    if (e && token !== undefined && e.pending === token) {
      after = e.pending.after;
      e.pending = undefined;
    }
    if (!e || e.state === undefined || e.loading !== undefined || revision <= e.revision) return;
    // events this index has not folded yet lie before the append: their command ids stay unknown
    if (from !== e.revision) e.allCommands = false;
    e.state = state;
    e.revision = revision;
    for (const id of commandIds) remember(e, id);
    for (const r of after) {
      if (r.revision <= e.revision) continue;
      e.state = nodeDecider.evolve(e.state, decode(r));
      e.revision = r.revision;
      remember(e, r.metadata.commandId);
    }
  }

  /** Folds `uuid` from its stream if it is not folded yet. */
  ensure(uuid: string): Promise<void> {
    const e = this.entry(uuid);
    if (e.state !== undefined) return Promise.resolve();
    if (e.load) return e.load;
    e.loading = [];
    e.load = (async () => {
      try {
        const events = await this.store.readStream(streamId('node', uuid));
        let state = nodeDecider.initialState();
        let revision = -1n;
        e.commands.clear();
        e.allCommands = true;
        for (const r of events) {
          state = nodeDecider.evolve(state, decode(r));
          revision = r.revision;
          remember(e, r.metadata.commandId);
        }
        for (const r of e.loading ?? []) {
          if (r.revision <= revision) continue;
          state = nodeDecider.evolve(state, decode(r));
          revision = r.revision;
          remember(e, r.metadata.commandId);
        }
        e.state = state;
        e.revision = revision;
        if (state.status === 'present') e.placement = placementOf(state.node);
      } finally {
        e.loading = undefined;
        e.load = undefined;
      }
    })();
    return e.load;
  }

  /** Folds every node the ring now gives this conductor (after a ring change). */
  async ensureOwned(): Promise<void> {
    const missing: string[] = [];
    for (const [id, e] of this.entries) {
      if (e.state === undefined && !e.deleted && e.placement && this.isOwned(e.placement)) missing.push(id);
    }
    for (let i = 0; i < missing.length; i += 64) await Promise.all(missing.slice(i, i + 64).map((id) => this.ensure(id)));
  }

  async stop(): Promise<void> {
    await this.sub?.stop();
    this.sub = undefined;
  }

  onUpdate(l: (uuids: string[]) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** The node, if it is folded here (owned, or ensured). */
  get(uuid: string): Node | undefined {
    const s = this.entries.get(uuid)?.state;
    return s?.status === 'present' ? s.node : undefined;
  }

  /** The folded nodes (those owned here, as of the last ensureOwned()). */
  nodes(): Node[] {
    const out: Node[] = [];
    for (const e of this.entries.values()) if (e.state?.status === 'present') out.push(e.state.node);
    return out;
  }

  /** A known node's placement (folded or not). */
  placementFor(uuid: string): NodePlacement | undefined {
    const e = this.entries.get(uuid);
    return e && !e.deleted ? e.placement : undefined;
  }

  /** Every known node's placement (folded or not). */
  placements(): NodePlacement[] {
    const out: NodePlacement[] = [];
    for (const e of this.entries.values()) if (e.placement && !e.deleted) out.push(e.placement);
    return out;
  }
}
