// A rebuild's log reading, split between the main thread and the worker threads that project:
// the main thread reads every event's position, stream, revision, type and metadata once
// (`EventStore.readAllColumns`), routes each row to the partition of its stream, builds the node
// timelines' chunks from the metadata, and posts the rows to that partition's worker; the worker
// reads the data of the same rows itself (its own connection), decodes them and hands them to its
// projector as a catch-up subscription. Reading and projecting run on two cores, and the data
// never crosses threads. Measured (CPU time per million events, both threads): the main thread
// ~1 s less than when it also read and posted the data, the worker about as much more, so the
// two are about even instead of the reader being the bottleneck. Corrupt events fail exactly as
// they do through subscribeToAll: anything unusual in a row is decoded by the store's own
// decodeRawEvent.
// The main thread reads each batch packed by SQLite, one value per column (sqlite.ts
// readAllPacked; measured ~0.7 s less CPU per million rows than a JS array and five values per
// row), and with a single partition the data too, posted with the batch (the worker's own read of
// it cost it ~0.8 s per million rows; the pair used less CPU in all this way). Metadata and data
// come as bytes, not strings: the timeline entries are built from the metadata bytes
// (timeline-bytes.ts), the data bytes are handed to the worker, which makes one small string per
// row (~1.7 s less CPU per million rows on the main thread, ~0.5 s on the worker). A batch with
// anything unusual is read row by row (readAllColumns) and goes the way it always went; a row
// whose metadata is not plain ASCII is scanned as a string, as packRows does.
// Flow control: at most `maxInFlight` batches wait per worker. The worker counts the batches it
// handled in shared memory and posts a wake-up only when the main thread waits for it
// (newFeedCounter): a message per batch showed as ~15% of the worker's profile (each one wakes
// the main thread, which on two busy cores preempts the worker).

import { isAscii } from 'node:buffer';
import type { MessagePort } from 'node:worker_threads';
import { decodeRawEvent, SqliteEventStore, type PackedRows } from '../eventstore/sqlite.ts';
import { historyModelName } from './history.ts';
import { changeMeta, prebuiltOutput, scanChangeMeta, timelineBuilt, type ChangeMeta, type PrebuiltOutput } from './model.ts';
import { ByteChunks, emptyFedTimeline, scanMetaBytes, type FedTimeline } from './timeline-bytes.ts';
import { parseSource } from './sources.ts';
import type {
  AppendResult,
  EventColumn,
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
 * What the main thread reads of each event, in this order (the worker reads the data). Values as
 * stored: a corrupt row may hold other types (isPlainRow).
 */
export const metaColumns = ['position', 'stream_id', 'revision', 'type', 'metadata'] as const satisfies readonly EventColumn[];
export type MetaRow = [position: number, streamId: string, revision: number, type: string, metadata: string];

/**
 * A batch of rows as posted: column by column, so a batch is a few typed arrays and strings to
 * copy instead of thousands of values to serialise one by one (measured: posting the rows
 * themselves cost the worker as much as reading them). Repeated strings (stream ids, types) are
 * given once per batch in a dictionary and indexed per row. Only what projecting needs travels:
 * no event ids, no metadata (the main thread builds the node timelines from it; a fed event
 * fetches both from the store if asked, see RowLookup), no `created` (read neither: fetched
 * likewise), no data (the worker reads it). A row that
 * is not plain (a column of an unexpected type, metadata that is not a JSON object) is sent as
 * read, in `odd`: the worker decodes the whole row with decodeRawEvent, which fails on it exactly
 * as every read of the store does.
 */
export interface RawBatch {
  n: number;
  /** every row's position (the worker reads the data of exactly these rows); numbers, exact below 2^53 */
  pos: Float64Array;
  rev: Float64Array;
  /** indexes into `words`: stream id, type */
  stream: Uint32Array;
  type: Uint32Array;
  words: string[];
  /** row index → the row as read, for rows that are not plain */
  odd: [number, MetaRow][];
  /** node-timeline chunks closed by this batch's rows (timeline-bytes.ts), for the history model */
  timeline: FedTimeline;
  /**
   * every row's data as UTF-8 bytes, joined by the byte 0x1E, when the reader read them (a single
   * partition: one read of the log instead of two; handed over, not copied); otherwise the worker
   * reads them itself
   */
  data?: Uint8Array;
}

/**
 * The stored row at a position, read again from the store (a fed event's id and metadata, which
 * the batches do not carry; nothing on the projecting path asks for them).
 */
export type RowLookup = (position: bigint) => RawRecordedEvent | undefined;

/**
 * The worker's read of the data of its partition's rows in (after, until], in position order:
 * exactly the rows of the batch that ends at `until` (the rows of these streams since the
 * previous batch), so the i-th value is row i's data.
 */
export type DataReader = (after: bigint | 'start', until: bigint, streamPrefixes: readonly string[] | undefined) => Promise<unknown[]>;

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

/**
 * the typed arrays of a batch (handed over to the worker, not copied; the data only when it is
 * its buffer's whole, else it is copied)
 */
export const batchArrays = (b: RawBatch): ArrayBuffer[] =>
  [
    b.pos,
    b.rev,
    b.stream,
    b.type,
    ...(b.data !== undefined && b.data.byteOffset === 0 && b.data.byteLength === b.data.buffer.byteLength ? [b.data] : []),
    // the timeline's own buffer (ByteChunks.takeClosed), maybe longer than its bytes
    ...(b.timeline.rows.length > 0 ? [b.timeline.bytes] : []),
  ].map((a) => a.buffer as ArrayBuffer);

/** the columns have the types the store writes (anything else: decodeRawEvent says what is wrong) */
const isPlainRow = (r: MetaRow): boolean =>
  Number.isSafeInteger(r[0]) && typeof r[1] === 'string' && Number.isSafeInteger(r[2]) && typeof r[3] === 'string' && typeof r[4] === 'string';

/**
 * The stored `created` of the row at a position. The rows are read without it: it is only needed
 * for metadata without a timestamp, where a timeline entry's time is `created` (one column and a
 * value less per row: measured ~0.35 µs per row of the reading thread's SQLite read alone; in
 * whole rebuilds within the noise of this shared machine).
 */
export type CreatedLookup = (position: number) => bigint | undefined;

/** the row's metadata as a ChangeMeta, or undefined when decodeRawEvent would refuse it */
export const metaOfRow = (r: MetaRow, createdAt: CreatedLookup): ChangeMeta | undefined => {
  const fast = scanChangeMeta(r[4]);
  if (fast !== undefined && fast.timestamp !== '') return fast;
  // (no closure per row: tsx names every arrow function it compiles, at a call each)
  const created = () => {
    const c = createdAt(r[0]);
    if (typeof c !== 'bigint') throw new RangeError('no created');
    return new Date(Number(c));
  };
  if (fast !== undefined) {
    try {
      fast.timestamp = created().toISOString();
      return fast;
    } catch {
      return undefined; // no timestamp and a `created` out of Date's range: the projector meets it
    }
  }
  let m: unknown;
  try {
    m = JSON.parse(r[4]);
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return undefined;
  try {
    return changeMeta(m, created);
  } catch {
    return undefined; // no timestamp and a `created` out of Date's range: the projector meets it
  }
};

/** The node id of a node stream, null for other streams (cached: every row asks). */
export class NodeIds {
  private readonly ids = new Map<string, string | null>();
  of(stream: string): string | null {
    let id = this.ids.get(stream);
    if (id === undefined) {
      const s = parseSource(stream);
      id = s?.kind === 'node' ? s.id : null;
      if (this.ids.size > 100_000) this.ids.clear();
      this.ids.set(stream, id);
    }
    return id;
  }
}

/** A RawBatch of n rows to fill, and `word`: the index of a string in the batch's word list. */
const emptyBatch = (n: number): { b: RawBatch; word: (v: string) => number } => {
  const b: RawBatch = { n, pos: new Float64Array(n), rev: new Float64Array(n), stream: new Uint32Array(n), type: new Uint32Array(n), words: [], odd: [], timeline: emptyFedTimeline() };
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
  return { b, word };
};

/**
 * rows[from..] as a RawBatch (main thread). The node rows' timeline entries go into `timeline`:
 * the worker applies every row it is sent or fails the whole rebuild, so the timeline of what it
 * applies is the timeline of these rows. An odd row is decoded (and, if it decodes, put in its
 * node's timeline) by the worker: its node's chunk is cut there, as entries of a chunk have
 * consecutive revisions.
 */
export const packRows = (rows: readonly MetaRow[], from: number, timeline: ByteChunks, nodes: NodeIds, createdAt: CreatedLookup): RawBatch => {
  const n = rows.length - from;
  const { b, word } = emptyBatch(n);
  // consecutive rows mostly repeat their stream (a command's events) and so its node: compare
  // with the previous row's before looking up
  let lastStream = '';
  let lastStreamWord = -1;
  let lastNode: string | null = null;
  for (let i = 0; i < n; i++) {
    const r = rows[from + i];
    // the position is the table's integer key, always there: the worker reads the data by it
    b.pos[i] = r[0];
    const m = isPlainRow(r) ? metaOfRow(r, createdAt) : undefined;
    const node: string | null = typeof r[1] !== 'string' ? null : lastStreamWord >= 0 && r[1] === lastStream ? lastNode : nodes.of(r[1]);
    if (m === undefined) {
      b.odd.push([i, r]);
      if (node !== null) timeline.cut(node);
      continue;
    }
    if (node !== null) timeline.pushMeta(node, r[0], r[2], r[3], m);
    if (lastStreamWord < 0 || r[1] !== lastStream) {
      lastStream = r[1];
      lastStreamWord = word(r[1]);
      lastNode = node;
    }
    b.stream[i] = lastStreamWord;
    b.rev[i] = r[2];
    b.type[i] = word(r[3]);
  }
  b.timeline = timeline.takeClosed();
  return b;
};

/** joins the texts of a packed batch (SqliteEventStore.readAllPacked): a control character, in no valid JSON text */
const packedSeparator = 0x1e;

/**
 * Where each of the n texts joined in `bytes` starts (at[i]; at[n] is one past the end plus one,
 * so text i is bytes[at[i], at[i + 1] - 1)), or undefined when they are not n texts (one holds
 * the separator: UTF-8 puts no 0x1E inside a multi-byte character). indexOf, not a loop over the
 * bytes in JS (~5x its CPU).
 */
const textStarts = (bytes: Uint8Array, n: number): Int32Array | undefined => {
  const at = new Int32Array(n + 1);
  let from = 0;
  for (let k = 1; k < n; k++) {
    const sep = bytes.indexOf(packedSeparator, from);
    if (sep < 0) return undefined;
    at[k] = from = sep + 1;
  }
  if (bytes.indexOf(packedSeparator, from) >= 0) return undefined;
  at[n] = bytes.length + 1;
  return at;
};

/** A packed batch as columns (main thread): row i's metadata is the bytes meta[metaAt[i], metaAt[i + 1] - 1). */
export interface PackedColumns {
  n: number;
  pos: number[];
  rev: number[];
  stream: string[];
  type: string[];
  meta: Buffer;
  metaAt: Int32Array;
  data?: Buffer;
}

/** row i's metadata text, decoded as better-sqlite3 decodes a text */
const metaText = (c: PackedColumns, i: number): string => c.meta.toString('utf8', c.metaAt[i], c.metaAt[i + 1] - 1);

/**
 * The columns of a packed batch, or undefined when its rows must be read one by one
 * (readAllColumns), which handles every oddity as before: a column of an unexpected type, rows
 * out of order or miscounted, a text holding the separator. A metadata text that is not the
 * usual plain ASCII (an escape, a control character) is handled row by row in packColumns.
 */
export const unpack = (p: PackedRows): PackedColumns | undefined => {
  if (p.irregular !== 0 || p.n === 0) return undefined;
  let pos: unknown, rev: unknown, stream: unknown, type: unknown;
  try {
    [pos, rev, stream, type] = [JSON.parse(p.positions), JSON.parse(p.revisions), JSON.parse(p.streams), JSON.parse(p.types)];
  } catch {
    return undefined;
  }
  const n = p.n;
  const arrays = [pos, rev, stream, type];
  if (!arrays.every((a) => Array.isArray(a) && a.length === n)) return undefined;
  const [ps, rs, ss, ts] = arrays as unknown[][];
  const metaAt = textStarts(p.metadata, n);
  if (metaAt === undefined) return undefined;
  let last = 0;
  for (let i = 0; i < n; i++) {
    const position = ps[i];
    // SQLite aggregated the rows in the order it read them: check it is the log's order
    if (!Number.isSafeInteger(position) || (position as number) <= last || !Number.isSafeInteger(rs[i]) || typeof ss[i] !== 'string' || typeof ts[i] !== 'string') return undefined;
    last = position as number;
  }
  return { n, pos: ps as number[], rev: rs as number[], stream: ss as string[], type: ts as string[], meta: p.metadata, metaAt, data: p.data };
};

/**
 * packRows for packed columns: the rows `rows` (row indexes; all of them when undefined) as a
 * RawBatch, with the same timeline and the same odd rows as packRows gives for the same rows.
 */
export const packColumns = (c: PackedColumns, rows: readonly number[] | undefined, timeline: ByteChunks, nodes: NodeIds, createdAt: CreatedLookup): RawBatch => {
  const n = rows === undefined ? c.n : rows.length;
  const { b, word } = emptyBatch(n);
  const values = new Int32Array(8);
  let lastStream = '';
  let lastStreamWord = -1;
  let lastNode: string | null = null;
  for (let k = 0; k < n; k++) {
    const i = rows === undefined ? k : rows[k];
    const position = c.pos[i];
    const stream = c.stream[i];
    const revision = c.rev[i];
    const type = c.type[i];
    b.pos[k] = position;
    const node: string | null = lastStreamWord >= 0 && stream === lastStream ? lastNode : nodes.of(stream);
    // the usual metadata (plain ASCII, the flat layout, a timestamp): the entry straight from its bytes
    if (!scanMetaBytes(c.meta, c.metaAt[i], c.metaAt[i + 1] - 1, values) || values[7] - values[6] <= 2) {
      // else what packRows does with the row, from its text
      const text = metaText(c, i);
      const m = metaOfRow([position, stream, revision, type, text], createdAt);
      if (m === undefined) {
        b.odd.push([k, [position, stream, revision, type, text]]);
        if (node !== null) timeline.cut(node);
        continue;
      }
      if (node !== null) timeline.pushMeta(node, position, revision, type, m);
    } else if (node !== null) timeline.push(node, position, revision, type, c.meta, values);
    if (lastStreamWord < 0 || stream !== lastStream) {
      lastStream = stream;
      lastStreamWord = word(stream);
      lastNode = node;
    }
    b.stream[k] = lastStreamWord;
    b.rev[k] = revision;
    b.type[k] = word(type);
  }
  b.timeline = timeline.takeClosed();
  if (rows === undefined && c.data !== undefined) b.data = c.data;
  return b;
};

// ---- main thread ---------------------------------------------------------------------------

/** One worker's end of the feed, in the main thread. */
export class FeedSink {
  private readonly timeline = new ByteChunks();
  private readonly nodes = new NodeIds();
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

  async send(rows: MetaRow[], createdAt: CreatedLookup): Promise<void> {
    if (rows.length === 0) return;
    await this.room();
    if (this.closed) return;
    this.sent++;
    this.post({ feed: 'rows', batch: packRows(rows, 0, this.timeline, this.nodes, createdAt) });
  }

  /** send() of packed columns: the rows `rows` of them (all when undefined) */
  async sendColumns(c: PackedColumns, rows: readonly number[] | undefined, createdAt: CreatedLookup): Promise<void> {
    if ((rows === undefined ? c.n : rows.length) === 0) return;
    await this.room();
    if (this.closed) return;
    this.sent++;
    this.post({ feed: 'rows', batch: packColumns(c, rows, this.timeline, this.nodes, createdAt) });
  }

  end(): void {
    if (this.closed) return;
    // the chunks still open: an empty batch carries them
    const last = packRows([], 0, this.timeline, this.nodes, () => undefined);
    last.timeline = this.timeline.takeAll();
    if (last.timeline.rows.length > 0) this.post({ feed: 'rows', batch: last });
    this.post({ feed: 'end' });
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
  store: EventStore & Required<Pick<EventStore, 'readAllColumns'>>;
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
  const sqlite = o.store instanceof SqliteEventStore ? o.store : undefined;
  const createdAt: CreatedLookup = (p) => sqlite?.readRows(p - 1, p, undefined, 1)[0]?.[7];
  let after: bigint | 'start' = 'start';
  // packed reads (sqlite.ts readAllPacked) unless turned off (comparisons); a single partition
  // takes the data too (its worker then reads nothing itself)
  const packed = sqlite !== undefined && process.env.IRONLOG_REBUILD_PACKED !== '0';
  try {
    for (;;) {
      // a worker reports only after its feed ended: one that has reported by now failed
      if (o.sinks.some((s) => s.isClosed)) return;
      let columns: PackedColumns | undefined;
      if (packed) {
        try {
          columns = unpack(sqlite.readAllPacked({ after, until: o.until, streamPrefixes: all, maxCount: o.batchSize, data: single }));
        } catch {
          columns = undefined; // e.g. a blob where text is stored: read row by row, as below
        }
      }
      let count: number;
      if (columns !== undefined) {
        count = columns.n;
        after = BigInt(columns.pos[count - 1]);
        if (single) await o.sinks[0].sendColumns(columns, undefined, createdAt);
        else {
          const split: number[][] = o.sinks.map(() => []);
          for (let r = 0; r < count; r++) {
            const i = partitionOf(columns.stream[r]);
            if (i >= 0) split[i].push(r);
          }
          for (const [i, part] of split.entries()) if (part.length > 0) await o.sinks[i].sendColumns(columns, part, createdAt);
        }
      } else {
        // the same window as the packed read (the log is append-only: the same rows)
        const rows = (await o.store.readAllColumns(metaColumns, { after, until: o.until, streamPrefixes: all, maxCount: o.batchSize, integers: 'number' })) as MetaRow[];
        count = rows.length;
        if (count === 0) break;
        after = BigInt(rows[count - 1][0]);
        if (single) await o.sinks[0].send(rows, createdAt);
        else {
          const split: MetaRow[][] = o.sinks.map(() => []);
          for (const r of rows) {
            const i = partitionOf(r[1]);
            if (i >= 0) split[i].push(r);
          }
          for (const [i, part] of split.entries()) if (part.length > 0) await o.sinks[i].send(part, createdAt);
        }
      }
      if (count < o.batchSize) break;
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
 * A fed event. Its id, metadata and `created` are not in the batch: they are read from the store
 * when asked for (the projector asks none of them).
 */
class FedEvent implements RecordedEvent {
  private row: RecordedEvent | undefined;
  readonly [timelineBuilt] = true as const;

  constructor(
    readonly streamId: string,
    readonly revision: bigint,
    readonly position: bigint,
    readonly type: string,
    readonly data: unknown,
    private readonly lookup: RowLookup | undefined,
  ) {}

  private stored(): RecordedEvent {
    if (this.row === undefined) {
      const raw = this.lookup?.(this.position);
      if (raw === undefined || raw[1] !== this.streamId || raw[2] !== this.revision) {
        throw new Error(`the id and metadata of ${this.streamId}@${this.revision} cannot be read back from the store`);
      }
      // the reading thread checked that this row decodes
      this.row = decodeRawEvent(raw);
    }
    return this.row;
  }

  get id(): string {
    return this.stored().id;
  }

  get metadata(): EventMetadata {
    return this.stored().metadata;
  }

  get created(): Date {
    return this.stored().created;
  }
}

/**
 * Row i of a batch as a RecordedEvent (worker thread), given its data as the worker read it;
 * CorruptStoredEvent exactly as decodeRawEvent throws it.
 */
const eventOf = (b: RawBatch, i: number, data: unknown, odd: ReadonlyMap<number, MetaRow> | undefined, lookup: RowLookup | undefined): RecordedEvent => {
  const raw = odd?.get(i);
  // the whole row as stored (its id and `created` too, which the batch does not carry)
  if (raw !== undefined) {
    const row = lookup?.(BigInt(b.pos[i]));
    if (row === undefined) throw new Error(`${String(raw[1])}@${String(raw[2])} cannot be read back from the store`);
    return decodeRawEvent(row);
  }
  const streamId = b.words[b.stream[i]];
  let parsed: unknown;
  try {
    if (typeof data !== 'string') throw new TypeError('not text');
    parsed = JSON.parse(data);
  } catch {
    // decodeRawEvent names the stream, revision and what is wrong with the data (it looks at the
    // data first; the metadata is known to be a JSON object)
    return decodeRawEvent([BigInt(b.pos[i]), streamId, BigInt(b.rev[i]), '', b.words[b.type[i]], data as string, '{}', 0n]);
  }
  return new FedEvent(streamId, BigInt(b.rev[i]), BigInt(b.pos[i]), b.words[b.type[i]], parsed, lookup);
};

/**
 * The n data texts of a batch the reader read (RawBatch.data), or undefined when they are not n
 * (a text holding the separator, which no valid JSON text does): the worker then reads them.
 * One small string per row, decoded as better-sqlite3 decodes a text (ASCII bytes as Latin-1:
 * the same characters, cheaper), never the whole batch as one (see readAllPacked).
 */
const splitData = (data: Uint8Array, n: number): string[] | undefined => {
  // a Buffer: its indexOf is memchr (a Uint8Array's, as posted, costs ~4x more)
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const at = textStarts(bytes, n);
  if (at === undefined) return undefined;
  const encoding = isAscii(bytes) ? 'latin1' : 'utf8';
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = bytes.toString(encoding, at[i], at[i + 1] - 1);
  return out;
};

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
  /** the last position whose data was read */
  private dataAfter: bigint | 'start' = 'start';
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
    private readonly readData: DataReader,
    private readonly lookup: RowLookup | undefined,
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

  private async deliver(events: RecordedEvent[]): Promise<void> {
    this.inHandler = true;
    try {
      await this.handler(events);
    } finally {
      this.inHandler = false;
    }
    if (events.length > 0) this.delivered = events[events.length - 1].position;
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
        if (b.n > 0) {
          const odd = b.odd.length > 0 ? new Map(b.odd) : undefined;
          // the data of this batch's rows: the rows of this partition's streams since the last batch
          const until = BigInt(b.pos[b.n - 1]);
          const data = (b.data !== undefined && splitData(b.data, b.n)) || (await this.readData(this.dataAfter, until, this.options.streamPrefixes));
          this.dataAfter = until;
          // the log is append-only: the same window of the same streams holds the same rows
          if (data.length !== b.n) throw new Error(`the log read ${data.length} events up to position ${until} where it had read ${b.n}`);
          for (let i = 0; i < b.n; i++) {
            try {
              const e = eventOf(b, i, data[i], odd, this.lookup);
              if (after === undefined || e.position > after) events.push(e);
            } catch (e) {
              corrupt = e;
              break;
            }
          }
        }
        const chunks = b.timeline.rows.length > 0;
        if (chunks) (events as { [prebuiltOutput]?: PrebuiltOutput })[prebuiltOutput] = { [historyModelName]: b.timeline };
        if (events.length > 0 || chunks) await this.deliver(events);
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
export const fedStore = (inner: EventStore, port: MessagePort, counter: Int32Array, readData: DataReader, lookup?: RowLookup): EventStore => {
  let sub: FeedSubscription | undefined;
  const early: FeedMessage[] = [];
  port.on('message', (raw: unknown) => {
    if (typeof raw !== 'object' || raw === null || !('feed' in raw)) return;
    const m = raw as FeedMessage;
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
      sub = new FeedSubscription(options, handler, counter, () => port.postMessage({ feed: 'ack' } satisfies FeedAck), readData, lookup);
      for (const m of early.splice(0)) sub.push(m);
      return sub;
    },
  };
};
