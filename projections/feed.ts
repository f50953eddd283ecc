// A rebuild's log reading, moved off the worker threads that project: the main thread reads the
// log once (undecoded rows, `EventStore.readAllRaw`), routes each row to the partition of its
// stream and posts the rows to that partition's worker, which decodes them there and hands them
// to its projector as a catch-up subscription. Reading (SQLite's stepping and page reads) and
// projecting then run on two cores; the worker decodes with the store's own decoder
// (decodeRawEvent), so corrupt events fail exactly as they do through subscribeToAll.
// Flow control: at most `maxInFlight` batches wait per worker. The worker counts the batches it
// handled in shared memory and posts a wake-up only when the main thread waits for it (see
// FeedCounter): a message per batch was measured to cost the worker ~15% (each one wakes the
// main thread, which on two busy cores preempts the worker).

import type { MessagePort } from 'node:worker_threads';
import { decodeRawEvent } from '../eventstore/sqlite.ts';
import type {
  AppendResult,
  BatchHandler,
  EventData,
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
 * rows themselves cost the worker as much as reading them). Stream ids and types are given once
 * per batch (`streams`, `types`) and indexed per row; ids, data and metadata texts are
 * concatenated, each row's text ending at its `*Ends` offset.
 */
export interface RawBatch {
  n: number;
  pos: BigInt64Array;
  rev: BigInt64Array;
  created: BigInt64Array;
  stream: Uint32Array;
  streams: string[];
  type: Uint32Array;
  types: string[];
  ids: string;
  idEnds: Uint32Array;
  data: string;
  dataEnds: Uint32Array;
  meta: string;
  metaEnds: Uint32Array;
}

/** Main thread → worker. */
export type FeedMessage = { feed: 'rows'; batch: RawBatch } | { feed: 'end' } | { feed: 'error'; name: string; message: string };

const indexOf = (m: Map<string, number>, list: string[], v: string): number => {
  let i = m.get(v);
  if (i === undefined) {
    i = list.length;
    list.push(v);
    m.set(v, i);
  }
  return i;
};

/**
 * Texts longer than this many characters make a new batch. V8 allocates strings over 128 KiB in
 * its large-object space, and posting those was measured 10x slower than posting the same text
 * in smaller strings.
 */
const maxBatchText = 96 * 1024;

/** rows[from..] as a RawBatch, as many as fit in maxBatchText per text (main thread) */
export const packRows = (rows: readonly RawRecordedEvent[], from: number): RawBatch => {
  let to = from;
  let idLen = 0;
  let dataLen = 0;
  let metaLen = 0;
  // a corrupt row may hold anything (even a non-string): its text is carried as it reads
  const text = (v: unknown): string => (typeof v === 'string' ? v : String(v));
  while (to < rows.length) {
    const r = rows[to];
    const grown = Math.max((idLen += r[3].length), (dataLen += text(r[5]).length), (metaLen += text(r[6]).length));
    if (grown > maxBatchText && to > from) break;
    to++;
  }
  const n = to - from;
  const b: RawBatch = {
    n,
    pos: new BigInt64Array(n),
    rev: new BigInt64Array(n),
    created: new BigInt64Array(n),
    stream: new Uint32Array(n),
    streams: [],
    type: new Uint32Array(n),
    types: [],
    ids: '',
    idEnds: new Uint32Array(n),
    data: '',
    dataEnds: new Uint32Array(n),
    meta: '',
    metaEnds: new Uint32Array(n),
  };
  const streamIx = new Map<string, number>();
  const typeIx = new Map<string, number>();
  const ids: string[] = new Array<string>(n);
  const data: string[] = new Array<string>(n);
  const meta: string[] = new Array<string>(n);
  let idEnd = 0;
  let dataEnd = 0;
  let metaEnd = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[from + i];
    b.pos[i] = r[0];
    b.stream[i] = indexOf(streamIx, b.streams, r[1]);
    b.rev[i] = r[2];
    ids[i] = r[3];
    b.idEnds[i] = idEnd += r[3].length;
    b.type[i] = indexOf(typeIx, b.types, r[4]);
    const d = text(r[5]);
    const m = text(r[6]);
    data[i] = d;
    b.dataEnds[i] = dataEnd += d.length;
    meta[i] = m;
    b.metaEnds[i] = metaEnd += m.length;
    b.created[i] = r[7];
  }
  b.ids = ids.join('');
  b.data = data.join('');
  b.meta = meta.join('');
  return b;
};

/** The batch's rows again (worker thread). */
const unpackRow = (b: RawBatch, i: number): RawRecordedEvent => {
  const id0 = i === 0 ? 0 : b.idEnds[i - 1];
  const d0 = i === 0 ? 0 : b.dataEnds[i - 1];
  const m0 = i === 0 ? 0 : b.metaEnds[i - 1];
  return [
    b.pos[i],
    b.streams[b.stream[i]],
    b.rev[i],
    b.ids.slice(id0, b.idEnds[i]),
    b.types[b.type[i]],
    b.data.slice(d0, b.dataEnds[i]),
    b.meta.slice(m0, b.metaEnds[i]),
    b.created[i],
  ];
};
/** Worker → main thread: the count the main thread waits for is reached. */
export interface FeedAck {
  feed: 'ack';
}

/**
 * Shared by the main thread and one worker: [0] batches the worker has handled, [1] the count the
 * main thread waits for (0: it does not wait).
 */
export const newFeedCounter = (): Int32Array => new Int32Array(new SharedArrayBuffer(8));

export const isFeedAck = (m: unknown): m is FeedAck => typeof m === 'object' && m !== null && (m as { feed?: unknown }).feed === 'ack';

// ---- main thread ---------------------------------------------------------------------------

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
      await woken;
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

  push(m: FeedMessage): void {
    if (this.stopped) return;
    this.queue.push(m);
    if (!this.running) this.done = this.run();
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
        for (let i = 0; i < b.n; i++) {
          if (after !== undefined && b.pos[i] <= after) continue;
          try {
            events.push(decodeRawEvent(unpackRow(b, i)));
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
