// A rebuild's log reading, moved off the worker threads that project: the main thread reads the
// log once (undecoded rows, `EventStore.readAllRaw`), routes each row to the partition of its
// stream and posts the rows to that partition's worker, which decodes them there and hands them
// to its projector as a catch-up subscription. Reading (SQLite's stepping and page reads, and the
// metadata's parsing) and projecting then run on two cores. Corrupt events fail exactly as they
// do through subscribeToAll: anything unusual is decoded by the store's own decodeRawEvent.
// Flow control: at most `maxInFlight` batches wait per worker. The worker counts the batches it
// handled in shared memory and posts a wake-up only when the main thread waits for it (see
// FeedCounter): a message per batch was measured to cost the worker ~15% (each one wakes the
// main thread, which on two busy cores preempts the worker).

import type { MessagePort } from 'node:worker_threads';
import { decodeRawEvent } from '../eventstore/sqlite.ts';
import { changeMeta, precomputedMeta, type ChangeMeta } from './model.ts';
import type {
  AppendResult,
  BatchHandler,
  EventData,
  EventMetadata,
  EventStore,
  ExpectedRevision,
  RawRecordedEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamMetadata,
  SubscribeOptions,
  Subscription,
} from '../eventstore/port.ts';

/**
 * A batch of rows as posted: column by column, so a batch is a handful of strings and typed
 * arrays to copy instead of thousands of values to serialise one by one (measured: posting the
 * rows themselves cost the worker as much as reading them). Repeated strings (stream ids, types,
 * actors, correlation and causation ids) are given once per batch in a dictionary and indexed per
 * row; ids, data, metadata and timestamps are concatenated, each row's text ending at its `*Ends`
 * offset. The reading thread also parses the metadata and sends what the timeline needs of it
 * (a ChangeMeta: actor, correlation, causation, timestamp), so the projecting thread parses it
 * only if something asks for `metadata` itself. A row that is not plain (a column of an
 * unexpected type, metadata that is not a JSON object) is sent as read, in `odd`: the worker
 * decodes it with decodeRawEvent, which fails on it exactly as every read of the store does.
 */
export interface RawBatch {
  n: number;
  pos: BigInt64Array;
  rev: BigInt64Array;
  created: BigInt64Array;
  /** indexes into `words`: stream id, type, actor, correlation id, causation id */
  stream: Uint32Array;
  type: Uint32Array;
  actor: Uint32Array;
  corr: Uint32Array;
  caus: Uint32Array;
  words: string[];
  ids: string;
  idEnds: Uint32Array;
  data: string;
  dataEnds: Uint32Array;
  meta: string;
  metaEnds: Uint32Array;
  time: string;
  timeEnds: Uint32Array;
  /** row index → the row as read, for rows that are not plain */
  odd: [number, RawRecordedEvent][];
}

/** Main thread → worker. */
export type FeedMessage = { feed: 'rows'; batch: RawBatch } | { feed: 'end' } | { feed: 'error'; name: string; message: string };

/** Worker → main thread: the count the main thread waits for is reached. */
export interface FeedAck {
  feed: 'ack';
}

export const isFeedAck = (m: unknown): m is FeedAck => typeof m === 'object' && m !== null && (m as { feed?: unknown }).feed === 'ack';

/**
 * Shared by the main thread and one worker: [0] batches the worker has handled, [1] the count the
 * main thread waits for (0: it does not wait).
 */
export const newFeedCounter = (): Int32Array => new Int32Array(new SharedArrayBuffer(8));

/** the typed arrays of a batch (handed over to the worker, not copied) */
export const batchArrays = (b: RawBatch): ArrayBuffer[] =>
  [b.pos, b.rev, b.created, b.stream, b.type, b.actor, b.corr, b.caus, b.idEnds, b.dataEnds, b.metaEnds, b.timeEnds].map((a) => a.buffer as ArrayBuffer);

/**
 * Texts longer than this many characters make a new batch. V8 allocates strings over 128 KiB in
 * its large-object space, and posting those was measured 10x slower than posting the same text
 * in smaller strings.
 */
const maxBatchText = 96 * 1024;

const isPlainRow = (r: RawRecordedEvent): boolean =>
  typeof r[0] === 'bigint' &&
  typeof r[1] === 'string' &&
  typeof r[2] === 'bigint' &&
  typeof r[3] === 'string' &&
  typeof r[4] === 'string' &&
  typeof r[5] === 'string' &&
  typeof r[6] === 'string' &&
  typeof r[7] === 'bigint';

/** the row's metadata as a ChangeMeta, or undefined when decodeRawEvent would refuse it */
const metaOfRow = (r: RawRecordedEvent): ChangeMeta | undefined => {
  let m: unknown;
  try {
    m = JSON.parse(r[6]);
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return undefined;
  try {
    return changeMeta(m, () => new Date(Number(r[7])));
  } catch {
    return undefined; // no timestamp and a `created` out of Date's range: the projector meets it
  }
};

/** rows[from..] as a RawBatch, as many as fit in maxBatchText per text (main thread) */
export const packRows = (rows: readonly RawRecordedEvent[], from: number): RawBatch => {
  let to = from;
  let len = 0;
  for (; to < rows.length; to++) {
    const r = rows[to];
    // data and metadata are the long texts; odd rows are few and short enough not to matter
    len += typeof r[5] === 'string' ? r[5].length : 0;
    len += typeof r[6] === 'string' ? r[6].length : 0;
    if (len > maxBatchText && to > from) break;
  }
  const n = to - from;
  const b: RawBatch = {
    n,
    pos: new BigInt64Array(n),
    rev: new BigInt64Array(n),
    created: new BigInt64Array(n),
    stream: new Uint32Array(n),
    type: new Uint32Array(n),
    actor: new Uint32Array(n),
    corr: new Uint32Array(n),
    caus: new Uint32Array(n),
    words: [],
    ids: '',
    idEnds: new Uint32Array(n),
    data: '',
    dataEnds: new Uint32Array(n),
    meta: '',
    metaEnds: new Uint32Array(n),
    time: '',
    timeEnds: new Uint32Array(n),
    odd: [],
  };
  const index = new Map<string, number>();
  const word = (v: string): number => {
    let i = index.get(v);
    if (i === undefined) {
      i = b.words.length;
      b.words.push(v);
      index.set(v, i);
    }
    return i;
  };
  const ids: string[] = [];
  const data: string[] = [];
  const meta: string[] = [];
  const time: string[] = [];
  let idEnd = 0;
  let dataEnd = 0;
  let metaEnd = 0;
  let timeEnd = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[from + i];
    const m = isPlainRow(r) ? metaOfRow(r) : undefined;
    if (m === undefined) b.odd.push([i, r]);
    else {
      b.pos[i] = r[0];
      b.stream[i] = word(r[1]);
      b.rev[i] = r[2];
      ids.push(r[3]);
      idEnd += r[3].length;
      b.type[i] = word(r[4]);
      data.push(r[5]);
      dataEnd += r[5].length;
      meta.push(r[6]);
      metaEnd += r[6].length;
      b.created[i] = r[7];
      b.actor[i] = word(m.actor);
      b.corr[i] = word(m.correlationId);
      b.caus[i] = word(m.causationId);
      time.push(m.timestamp);
      timeEnd += m.timestamp.length;
    }
    b.idEnds[i] = idEnd;
    b.dataEnds[i] = dataEnd;
    b.metaEnds[i] = metaEnd;
    b.timeEnds[i] = timeEnd;
  }
  b.ids = ids.join('');
  b.data = data.join('');
  b.meta = meta.join('');
  b.time = time.join('');
  return b;
};

/** A fed event: metadata parsed and `created` made only when asked for (the projector asks neither). */
class FedEvent implements RecordedEvent {
  private parsedMeta: EventMetadata | undefined;
  private createdDate: Date | undefined;
  readonly [precomputedMeta]: ChangeMeta;

  constructor(
    readonly streamId: string,
    readonly revision: bigint,
    readonly position: bigint,
    readonly id: string,
    readonly type: string,
    readonly data: unknown,
    private readonly metaText: string,
    private readonly createdMs: bigint,
    meta: ChangeMeta,
  ) {
    this[precomputedMeta] = meta;
  }

  get metadata(): EventMetadata {
    // the reading thread parsed this text into a JSON object already
    return (this.parsedMeta ??= JSON.parse(this.metaText) as EventMetadata);
  }

  get created(): Date {
    return (this.createdDate ??= new Date(Number(this.createdMs)));
  }
}

/** Row i of a batch as a RecordedEvent (worker thread); CorruptStoredEvent as decodeRawEvent. */
const eventOf = (b: RawBatch, i: number, odd: ReadonlyMap<number, RawRecordedEvent>): RecordedEvent => {
  const raw = odd.get(i);
  if (raw !== undefined) return decodeRawEvent(raw);
  const d0 = i === 0 ? 0 : b.dataEnds[i - 1];
  const dataText = b.data.slice(d0, b.dataEnds[i]);
  const streamId = b.words[b.stream[i]];
  let data: unknown;
  try {
    data = JSON.parse(dataText);
  } catch {
    // decodeRawEvent names the stream, revision and parse error
    const id0 = i === 0 ? 0 : b.idEnds[i - 1];
    const m0 = i === 0 ? 0 : b.metaEnds[i - 1];
    return decodeRawEvent([b.pos[i], streamId, b.rev[i], b.ids.slice(id0, b.idEnds[i]), b.words[b.type[i]], dataText, b.meta.slice(m0, b.metaEnds[i]), b.created[i]]);
  }
  const id0 = i === 0 ? 0 : b.idEnds[i - 1];
  const m0 = i === 0 ? 0 : b.metaEnds[i - 1];
  const t0 = i === 0 ? 0 : b.timeEnds[i - 1];
  const meta: ChangeMeta = {
    actor: b.words[b.actor[i]],
    correlationId: b.words[b.corr[i]],
    causationId: b.words[b.caus[i]],
    timestamp: b.time.slice(t0, b.timeEnds[i]),
  };
  return new FedEvent(streamId, b.rev[i], b.pos[i], b.ids.slice(id0, b.idEnds[i]), b.words[b.type[i]], data, b.meta.slice(m0, b.metaEnds[i]), b.created[i], meta);
};

// ---- main thread ---------------------------------------------------------------------------

export let waitMs = 0;
/** One worker's end of the feed, in the main thread. */
export class FeedSink {
  private sent = 0;
  private waiting: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly post: (m: FeedMessage) => void,
    private readonly counter: Int32Array,
    private readonly maxInFlight: number,
  ) {}

  /** the worker reached the count we wait for */
  acked(): void {
    this.wakeUp();
  }

  /** waits until at most half the window is in flight (one wake-up refills half a window) */
  private async room(): Promise<void> {
    while (!this.closed && this.sent - Atomics.load(this.counter, 0) >= this.maxInFlight) {
      const target = this.sent - (this.maxInFlight >> 1);
      const woken = new Promise<void>((r) => (this.waiting = r));
      Atomics.store(this.counter, 1, target);
      // the worker may have got there before it could see the target
      if (Atomics.load(this.counter, 0) >= target) {
        Atomics.store(this.counter, 1, 0);
        this.waiting = undefined;
        continue;
      }
      const t = performance.now();
      await woken;
      waitMs += performance.now() - t;
    }
  }

  /** the worker is gone (finished or failed): nothing more is sent, nobody waits on it */
  close(): void {
    this.closed = true;
    this.wakeUp();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async send(rows: RawRecordedEvent[]): Promise<void> {
    for (let from = 0; from < rows.length; ) {
      await this.room();
      if (this.closed) return;
      const batch = packRows(rows, from);
      from += batch.n;
      this.sent++;
      this.post({ feed: 'rows', batch });
    }
  }

  end(): void {
    if (!this.closed) this.post({ feed: 'end' });
  }

  fail(err: Error): void {
    if (!this.closed) this.post({ feed: 'error', name: err.name, message: err.message });
  }

  private wakeUp(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }
}

export interface FeedOptions {
  store: EventStore & Required<Pick<EventStore, 'readAllRaw'>>;
  /** each partition's stream prefixes (a stream falls in at most one) */
  prefixes: readonly (readonly string[])[];
  sinks: readonly FeedSink[];
  /** the last position to read (inclusive) */
  until: bigint;
  /** rows per read, and at most per posted batch */
  batchSize: number;
}

/**
 * Reads the log up to `until` and feeds every partition; ends each feed when done. A read error
 * is sent to every worker (their projectors fail with it) and rethrown.
 */
export const feedPartitions = async (o: FeedOptions): Promise<void> => {
  const all = o.prefixes.flat();
  const route = new Map<string, number>();
  const partitionOf = (stream: string): number => {
    let i = route.get(stream);
    if (i === undefined) {
      i = o.prefixes.findIndex((ps) => ps.some((p) => stream.startsWith(p)));
      if (route.size > 100_000) route.clear();
      route.set(stream, i);
    }
    return i;
  };
  const single = o.sinks.length === 1;
  let after: bigint | 'start' = 'start';
  try {
    for (;;) {
      // a worker reports only after its feed ended: one that has reported by now failed
      if (o.sinks.some((s) => s.isClosed)) return;
      const rows = await o.store.readAllRaw({ after, until: o.until, streamPrefixes: all, maxCount: o.batchSize });
      if (rows.length === 0) break;
      after = rows[rows.length - 1][0];
      if (single) await o.sinks[0].send(rows);
      else {
        const split: RawRecordedEvent[][] = o.sinks.map(() => []);
        for (const r of rows) {
          const i = partitionOf(r[1]);
          if (i >= 0) split[i].push(r);
        }
        for (const [i, part] of split.entries()) if (part.length > 0) await o.sinks[i].send(part);
      }
      if (rows.length < o.batchSize) break;
    }
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    for (const s of o.sinks) s.fail(e);
    throw e;
  }
  for (const s of o.sinks) s.end();
  if (process.env.RB_DEBUG) process.stderr.write(`main waited ${waitMs.toFixed(0)} ms\n`);
};

// ---- worker thread -------------------------------------------------------------------------

/**
 * The worker's end: a catch-up subscription over the posted rows. Like the SQLite subscription,
 * events before a corrupt one are delivered, then it stops on it (never skipped). It turns live
 * once the feed has ended and every row is handled; nothing arrives after that.
 */
class FeedSubscription implements Subscription {
  readonly caughtUp: Promise<void>;
  private resolveCaughtUp!: () => void;
  private rejectCaughtUp!: (e: Error) => void;
  private readonly queue: FeedMessage[] = [];
  private delivered: bigint | 'start' = 'start';
  private stopped = false;
  private running = false;
  private inHandler = false;
  private handled = 0;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: SubscribeOptions,
    private readonly handler: BatchHandler,
    private readonly counter: Int32Array,
    private readonly wake: () => void,
  ) {
    this.caughtUp = new Promise<void>((res, rej) => {
      this.resolveCaughtUp = res;
      this.rejectCaughtUp = rej;
    });
    this.caughtUp.catch(() => undefined);
    if (typeof options.after === 'bigint') this.delivered = options.after;
  }

  lastPosition = (): bigint | 'start' => this.delivered;

  private idleSince = 0;
  idleMs = 0;
  push(m: FeedMessage): void {
    if (this.stopped) return;
    this.queue.push(m);
    if (!this.running) {
      if (this.idleSince) this.idleMs += performance.now() - this.idleSince;
      this.done = this.run();
    }
  }

  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.rejectCaughtUp(new Error('subscription stopped before it caught up'));
    }
    if (!this.inHandler) await this.done;
  }

  private async run(): Promise<void> {
    this.running = true;
    const after = typeof this.options.after === 'bigint' ? this.options.after : undefined;
    try {
      while (!this.stopped && this.queue.length > 0) {
        const m = this.queue.shift()!;
        if (m.feed === 'end') {
          this.stopped = true;
          this.resolveCaughtUp();
          this.options.onCaughtUp?.();
          return;
        }
        if (m.feed === 'error') throw Object.assign(new Error(m.message), { name: m.name });
        let corrupt: unknown;
        const events: RecordedEvent[] = [];
        const b = m.batch;
        const odd = new Map(b.odd);
        for (let i = 0; i < b.n; i++) {
          try {
            const e = eventOf(b, i, odd);
            if (after === undefined || e.position > after) events.push(e);
          } catch (e) {
            corrupt = e;
            break;
          }
        }
        if (events.length > 0) {
          this.inHandler = true;
          try {
            await this.handler(events);
          } finally {
            this.inHandler = false;
          }
          this.delivered = events[events.length - 1].position;
        }
        if (corrupt !== undefined) throw corrupt;
        Atomics.store(this.counter, 0, ++this.handled);
        const target = Atomics.load(this.counter, 1);
        if (target !== 0 && this.handled >= target && Atomics.compareExchange(this.counter, 1, target, 0) === target) this.wake();
      }
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      const wasStopped = this.stopped;
      this.stopped = true;
      this.rejectCaughtUp(err);
      if (!wasStopped) this.options.onError?.(err);
    } finally {
      this.running = false;
      this.idleSince = performance.now();
      if (this.stopped && process.env.RB_DEBUG) process.stderr.write(`worker idle ${this.idleMs.toFixed(0)} ms\n`);
    }
  }
}

/**
 * The store a fed worker's projector uses: its subscription is the feed (one per worker);
 * everything else goes to the worker's own connection.
 */
export const fedStore = (inner: EventStore, port: MessagePort, counter: Int32Array): EventStore => {
  let sub: FeedSubscription | undefined;
  const early: FeedMessage[] = [];
  port.on('message', (m: FeedMessage) => {
    if (typeof m !== 'object' || m === null || !('feed' in m)) return;
    if (sub) sub.push(m);
    else early.push(m);
  });
  return {
    name: inner.name,
    append: (streamId: string, events: EventData[], expected: ExpectedRevision): Promise<AppendResult> => inner.append(streamId, events, expected),
    readStream: (streamId: string, options?: ReadStreamOptions) => inner.readStream(streamId, options),
    readAll: (options?: ReadAllOptions) => inner.readAll(options),
    headPosition: () => inner.headPosition(),
    getStreamMetadata: (streamId: string) => inner.getStreamMetadata(streamId),
    setStreamMetadata: (streamId: string, metadata: StreamMetadata) => inner.setStreamMetadata(streamId, metadata),
    close: () => inner.close(),
    subscribeToAll: (options: SubscribeOptions, handler: BatchHandler): Subscription => {
      if (sub) throw new Error('a fed rebuild has one subscription');
      sub = new FeedSubscription(options, handler, counter, () => port.postMessage({ feed: 'ack' } satisfies FeedAck));
      for (const m of early.splice(0)) sub.push(m);
      return sub;
    },
  };
};
