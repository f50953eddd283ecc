// Runs every read model from ONE catch-up subscription to the log.
//
// Each stored event is decoded once with the domain's decoder and folded once onto its aggregate's
// state with the domain's evolve (through the model that owns that kind's documents); every model
// following that kind then sees the change. Changes accumulate in memory (dirty documents, not
// events) and are written in one transaction together with the checkpoint:
//  - while catching up, every `maxPendingEvents` events (bounded memory, few writes);
//  - once live, right after each delivered batch (what one commit made visible), so reads follow writes closely.
// A restart resumes after the stored checkpoint; nothing is applied twice.

import type Database from 'better-sqlite3';
import type { EventStore, RecordedEvent, Subscription } from '../eventstore/port.ts';
import { parseSource, sourcePrefix, type SourceKind } from './sources.ts';
import type { Fold, ProjectionDomain } from './domain-port.ts';
import { ProjectionError } from './errors.ts';
import {
  changeMeta,
  isStateModel,
  prebuiltOutput,
  type Change,
  type ChangeMeta,
  type ModelWriter,
  type PrebuiltOutput,
  type StateOwner,
} from './model.ts';
import type { Checkpoint, ReadModelDb } from './store.ts';
import { acquireLease, type Lease } from './lease.ts';

export interface ProjectorOptions {
  store: EventStore;
  db: ReadModelDb;
  domain: ProjectionDomain;
  /** while catching up, flush after this many events (default 50,000) */
  maxPendingEvents?: number;
  /** the projector stopped on an error (it does not restart by itself) */
  onError?: (err: Error) => void;
  /** apply nothing after this position (a rebuild compared with a live snapshot) */
  until?: bigint;
  /** take the file's writer lock (default true) */
  lease?: boolean;
  /**
   * A fresh file being rebuilt: the whole catch-up is ONE transaction (committed with its
   * checkpoint when the log is caught up), and models spill what they no longer need to keep in
   * memory into it as they go. Afterwards the projector works as usual.
   */
  bulk?: boolean;
  /** read only these stream prefixes (a partition of a parallel rebuild); default: every followed kind */
  streamPrefixes?: string[];
}

/** Another process committed to the same read-model file: our cached state is stale. */
export class CheckpointMoved extends Error {
  constructor(readonly expected: Checkpoint, readonly found: Checkpoint) {
    super(`read-model checkpoint moved from ${String(expected)} to ${String(found)} under this projector (another projector writes the same file)`);
    this.name = 'CheckpointMoved';
  }
}

interface Route {
  kind: SourceKind;
  id: string;
  owner: StateOwner;
  fold: Fold;
  followers: ModelWriter[];
}

interface Waiter {
  position: bigint;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const metaOf = (rec: RecordedEvent): ChangeMeta => changeMeta(rec.metadata, () => rec.created);

/** A Change whose ChangeMeta is made only if a model asks (a fed rebuild's history does not). */
class AppliedChange implements Change {
  private m: ChangeMeta | undefined;

  constructor(
    readonly rec: RecordedEvent,
    readonly kind: SourceKind,
    readonly id: string,
    readonly event: unknown,
    readonly before: unknown,
    readonly after: unknown,
  ) {}

  get type(): string {
    return this.rec.type;
  }

  get meta(): ChangeMeta {
    return (this.m ??= metaOf(this.rec));
  }
}

export class Projector {
  private readonly writers: ModelWriter[] = [];
  private readonly owners = new Map<SourceKind, StateOwner>();
  private readonly followers = new Map<SourceKind, ModelWriter[]>();
  private readonly folds = new Map<SourceKind, Fold>();
  private readonly prefixes: string[];
  private readonly maxPending: number;
  private committed: Checkpoint;
  private pendingCount = 0;
  private pendingLast: bigint | undefined;
  private live = false;
  private sub: Subscription | undefined;
  private failure: Error | undefined;
  private stopped = false;
  private readonly waiters = new Set<Waiter>();
  private caughtUpResolve!: () => void;
  private caughtUpReject!: (e: Error) => void;
  /** resolves once the log has been read to its end and everything is committed */
  readonly caughtUp: Promise<void>;
  private eventsApplied = 0;
  private lease: Lease | undefined;
  /** stream id → its route (null: not followed), so the hot path neither re-slices stream ids nor looks kinds up */
  private readonly sources = new Map<string, Route | null>();
  private bulkOpen = false;
  private gapCheckQueued = false;
  private gapPoll: NodeJS.Timeout | undefined;

  constructor(private readonly options: ProjectorOptions) {
    this.maxPending = options.maxPendingEvents ?? 50_000;
    this.caughtUp = new Promise<void>((res, rej) => {
      this.caughtUpResolve = res;
      this.caughtUpReject = rej;
    });
    this.caughtUp.catch(() => undefined);
    const db = options.db;
    for (const model of db.models) {
      const writer = model.attach(db.db);
      this.writers.push(writer);
      if (isStateModel(model)) {
        const fold = options.domain.foldFor(model.owns);
        if (!fold) continue; // the domain has no such aggregate yet: nothing of that kind is read
        this.owners.set(model.owns, writer as StateOwner);
        this.folds.set(model.owns, fold);
      }
    }
    for (const [i, model] of db.models.entries()) {
      for (const kind of model.kinds) {
        if (!this.owners.has(kind)) continue;
        const list = this.followers.get(kind) ?? [];
        list.push(this.writers[i]);
        this.followers.set(kind, list);
      }
    }
    this.prefixes = options.streamPrefixes ?? [...this.followers.keys()].map(sourcePrefix);
    this.committed = db.checkpoint();
  }

  /** the kinds whose streams are read (those with a domain fold and at least one model) */
  kinds(): SourceKind[] {
    return [...this.followers.keys()];
  }

  /** The global position every read model has committed ('start' before the first event). */
  position(): Checkpoint {
    return this.committed;
  }

  applied(): number {
    return this.eventsApplied;
  }

  error(): Error | undefined {
    return this.failure;
  }

  start(): this {
    if (this.sub || this.stopped) throw new Error('projector already started');
    if (this.options.lease !== false) this.lease = acquireLease(this.options.db.file);
    if (this.options.bulk) {
      this.options.db.db.exec('BEGIN IMMEDIATE');
      this.bulkOpen = true;
    }
    this.subscribe();
    return this;
  }

  private subscribe(): void {
    this.live = false;
    this.sub = this.options.store.subscribeToAll(
      {
        after: this.committed,
        streamPrefixes: this.prefixes,
        // a bulk rebuild folds states in place, out of the events' own objects: it must not be handed shared ones
        mutatesEvents: this.options.bulk === true,
        onCaughtUp: () => this.turnLive(),
        onError: (err) => this.fail(err),
      },
      (events) => this.handle(events),
    );
    // some adapters only signal through the promise
    this.sub.caughtUp.then(
      () => this.turnLive(),
      (err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))),
    );
  }

  private turnLive(): void {
    if (this.live || this.failure || this.stopped) return;
    try {
      this.flush();
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    this.live = true;
    this.caughtUpResolve();
  }

  private handle(events: RecordedEvent[]): void {
    if (this.failure) throw this.failure;
    if (this.stopped) return;
    try {
      const pre = (events as { [prebuiltOutput]?: PrebuiltOutput })[prebuiltOutput];
      if (pre) for (const [i, model] of this.options.db.models.entries()) if (model.name in pre) this.writers[i].prebuilt?.(pre[model.name]);
      for (const rec of events) this.apply(rec);
    } catch (err) {
      for (const w of this.writers) w.reset();
      this.pendingCount = 0;
      this.pendingLast = undefined;
      throw err;
    }
    if (this.bulkOpen) {
      for (const w of this.writers) w.spill?.();
      return;
    }
    // Live, each delivered batch is written at once: a batch is what one commit (a group of
    // appends) made visible, and a later turn of the event loop would let a client that saw those
    // events elsewhere (the SSE stream, NATS) ask about them before the read models show them.
    if (this.pendingCount >= this.maxPending || (this.live && this.pendingCount > 0)) this.flush();
  }

  private apply(rec: RecordedEvent): void {
    if (this.committed !== 'start' && rec.position <= this.committed) return; // already stored
    if (this.options.until !== undefined && rec.position > this.options.until) return;
    if (this.pendingLast !== undefined && rec.position <= this.pendingLast) return;
    let route = this.sources.get(rec.streamId);
    if (route === undefined) {
      route = this.routeOf(rec.streamId);
      if (this.sources.size > 100_000) this.sources.clear();
      this.sources.set(rec.streamId, route);
    }
    if (route === null) return; // a stream no model follows (the prefix filter is a hint)
    const decoded = this.options.domain.decode(rec);
    if (!decoded.ok) throw new ProjectionError(rec.streamId, rec.revision, decoded.reason);
    // a bulk rebuild owns every state it folds: the domain may fold in place (Fold.evolveInPlace)
    const evolve = this.bulkOpen ? (route.fold.evolveInPlace ?? route.fold.evolve) : route.fold.evolve;
    const { before, after } = route.owner.fold(rec, route.id, decoded.event, evolve, route.fold.initialState);
    if (route.followers.length > 1) {
      const change: Change = new AppliedChange(rec, route.kind, route.id, decoded.event, before, after);
      for (const f of route.followers) f.onChange?.(change);
    }
    this.pendingCount++;
    this.pendingLast = rec.position;
    this.eventsApplied++;
  }

  /** where a stream's events go: its aggregate, the model folding it, the models following it */
  private routeOf(streamId: string): Route | null {
    const parsed = parseSource(streamId);
    const owner = parsed && this.owners.get(parsed.kind);
    if (!parsed || !owner) return null;
    return { kind: parsed.kind, id: parsed.id, owner, fold: this.folds.get(parsed.kind)!, followers: this.followers.get(parsed.kind)! };
  }

  /** Writes everything pending in one transaction with the checkpoint. */
  flush(): void {
    if (this.pendingLast === undefined) {
      if (this.bulkOpen && !this.failure) {
        this.options.db.db.exec('COMMIT');
        this.bulkOpen = false;
      }
      return;
    }
    const last = this.pendingLast;
    const db = this.options.db;
    try {
      if (this.bulkOpen) {
        this.writePending(last);
        db.db.exec('COMMIT');
        this.bulkOpen = false;
      } else {
        this.writeTransaction ??= db.db.transaction((upTo: bigint) => this.writePending(upTo));
        this.writeTransaction.immediate(last);
        // a guess at the pages written: a document, its index entries and a history page each
        db.noteCommit(2 + this.pendingCount * 3);
      }
    } catch (err) {
      if (this.bulkOpen) {
        this.bulkOpen = false;
        if (db.db.inTransaction) db.db.exec('ROLLBACK');
      }
      for (const w of this.writers) w.reset();
      this.pendingCount = 0;
      this.pendingLast = undefined;
      throw err;
    }
    for (const w of this.writers) w.committed?.();
    this.committed = last;
    this.pendingCount = 0;
    this.pendingLast = undefined;
    for (const w of [...this.waiters]) if (last >= w.position) this.settle(w);
  }

  private writeTransaction: Database.Transaction<(upTo: bigint) => void> | undefined;

  /** data_version when the checkpoint was last seen where this projector left it */
  private checkedAt: number | undefined;

  private writePending(upTo: bigint): void {
    const db = this.options.db;
    // the checkpoint can only have moved if another connection committed to the file since
    const others = db.othersCommits();
    if (others !== this.checkedAt) {
      const stored = db.checkpoint();
      if (stored !== this.committed) throw new CheckpointMoved(this.committed, stored);
      this.checkedAt = others;
    }
    for (const w of this.writers) w.flush();
    db.writeCheckpoint(upTo);
  }

  private settle(w: Waiter, err?: Error): void {
    clearTimeout(w.timer);
    this.waiters.delete(w);
    this.stopGapPoll();
    if (err) w.reject(err);
    else w.resolve();
  }

  private fail(err: Error): void {
    if (this.failure || this.stopped) return;
    this.failure = err;
    this.caughtUpReject(err);
    for (const w of [...this.waiters]) this.settle(w, err);
    void this.sub?.stop().catch(() => undefined);
    if (this.bulkOpen && this.options.db.db.inTransaction) this.options.db.db.exec('ROLLBACK');
    this.bulkOpen = false;
    this.lease?.release();
    this.options.onError?.(err);
  }

  /**
   * Read-your-writes: resolves once every read model reflects the log up to `position` (the
   * position an append returned). Events of streams no model follows never arrive, so once live
   * with nothing pending the projector asks the log whether anything it follows lies in between:
   * after the current turn (by then an append of this process has been delivered, and the flush
   * that settles its waiters is queued first), then every 20 ms, once for all waiters.
   */
  waitForPosition(position: bigint, timeoutMs = 5000): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.committed !== 'start' && this.committed >= position) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        position,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          this.stopGapPoll();
          reject(new Error(`read models did not reach position ${position} within ${timeoutMs} ms (at ${String(this.committed)})`));
        }, timeoutMs),
      };
      this.waiters.add(w);
      if (!this.gapCheckQueued) {
        this.gapCheckQueued = true;
        setImmediate(() => {
          this.gapCheckQueued = false;
          void this.checkGaps();
        });
      }
      this.gapPoll ??= setInterval(() => void this.checkGaps(), 20);
    });
  }

  private stopGapPoll(): void {
    if (this.waiters.size > 0 || !this.gapPoll) return;
    clearInterval(this.gapPoll);
    this.gapPoll = undefined;
  }

  private async checkGaps(): Promise<void> {
    if (this.waiters.size === 0 || !this.live || this.pendingLast !== undefined) return;
    const from = this.committed;
    const head = await this.options.store.headPosition();
    if (head === 'start') return;
    const next = await this.options.store.readAll({ after: from, maxCount: 1, streamPrefixes: this.prefixes });
    if (this.committed !== from || this.pendingLast !== undefined) return;
    // nothing followed lies between the committed position and a written position: it is reached
    const reached = next.length === 0 ? head : next[0].position - 1n;
    for (const w of [...this.waiters]) if (w.position <= reached && w.position <= head) this.settle(w);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.sub?.stop();
      if (!this.failure) this.flush();
    } finally {
      this.lease?.release();
    }
    const err = new Error('projector stopped');
    for (const w of [...this.waiters]) this.settle(w, err);
    this.caughtUpReject(err);
  }
}
