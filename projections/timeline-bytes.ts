// The node timelines' chunks of a fed rebuild (feed.ts), built by its reading thread as UTF-8
// bytes straight from the metadata bytes SQLite hands it (sqlite.ts readAllPacked), instead of as
// strings (history.ts TimelineChunks): no string per row, no ChangeMeta, no entry arrays, no
// JSON.stringify, and the closed chunks reach the worker as one buffer handed over, not copied.
// The text of every chunk is byte for byte the UTF-8 of what TimelineChunks makes of the same
// entries (tests/projections/timeline-bytes.test.ts): history.ts' StoredChunk, i.e.
// `{"r":R,"e":[[dp,type|0,actor|0,corr|0,caus|0|null,time],…]}` as JSON.stringify writes it.
// A value is compared with the previous entry's on its JSON text: JSON.stringify of strings is
// one-to-one, so equal texts are equal strings.

import type { ChangeMeta } from './model.ts';

/** a chunk closes once it holds this many entries (history.ts spillChunk) */
const spillChunk = 32;

/**
 * The chunks of a node closed by a batch, as posted to the worker: row i's chunk is
 * bytes[start, end), the UTF-8 of its JSON text (a history_timeline row's `entries`).
 */
export interface FedTimeline {
  rows: [node: string, first: number, start: number, end: number, count: number][];
  bytes: Uint8Array;
}

export const emptyFedTimeline = (): FedTimeline => ({ rows: [], bytes: new Uint8Array(0) });

const QUOTE = 34;
const COMMA = 44;
const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const ZERO = ascii('0');
const NULL = ascii('null');
const EMPTY = ascii('""');
const END = ascii(']}');

/** a string's JSON text as UTF-8 (JSON.stringify escapes what must be; lone surrogates too) */
const jsonBytes = (s: string): Uint8Array => Buffer.from(JSON.stringify(s), 'utf8');

/**
 * The next quote in b[from, to), `to` when there is none, -1 when a byte before it is not plain
 * ASCII (a control character, a backslash, or not ASCII: its string must be scanned instead).
 */
const quote = (b: Uint8Array, from: number, to: number): number => {
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (c === QUOTE) return i;
    if (c < 0x20 || c === 0x5c || c > 0x7f) return -1;
  }
  return to;
};

/**
 * The ranges of the four values a metadata text holds, by scanChangeMetaIn's rules (model.ts)
 * over its bytes: `out` gets, for actor, correlationId, causationId and timestamp, the start and
 * end of the value's JSON text (quotes included; -1 when the key is absent: the value is '').
 * False when scanChangeMeta would answer undefined, and also when a key or value holds anything
 * but plain ASCII (then a value's JSON text would not be its bytes between quotes): the caller
 * scans the text instead.
 */
export const scanMetaBytes = (b: Uint8Array, from: number, to: number, out: Int32Array): boolean => {
  if (to - from < 2 || b[from] !== 123 /* { */ || b[to - 1] !== 125 /* } */) return false;
  out.fill(-1);
  let i = from + 1;
  if (to - from === 2) return true;
  for (;;) {
    if (b[i] !== QUOTE) return false;
    const keyEnd = quote(b, i + 1, to);
    if (keyEnd < 0 || keyEnd + 3 >= to || b[keyEnd + 1] !== 58 /* : */ || b[keyEnd + 2] !== QUOTE) return false;
    const valueEnd = quote(b, keyEnd + 3, to);
    if (valueEnd < 0 || valueEnd >= to - 1) return false;
    const k = keyIndex(b, i + 1, keyEnd);
    if (k >= 0) {
      out[2 * k] = keyEnd + 2;
      out[2 * k + 1] = valueEnd + 1;
    }
    i = valueEnd + 1;
    if (i === to - 1) return true;
    if (b[i] !== COMMA) return false;
    i++;
  }
};

const keys = ['actor', 'correlationId', 'causationId', 'timestamp'].map(ascii);

/** which of the four keys b[from, to) is, -1 for another */
const keyIndex = (b: Uint8Array, from: number, to: number): number => {
  const n = to - from;
  const k = n === 5 ? 0 : n === 13 ? 1 : n === 11 ? 2 : n === 9 ? 3 : -1;
  if (k < 0) return -1;
  const key = keys[k];
  for (let j = 0; j < n; j++) if (b[from + j] !== key[j]) return -1;
  return k;
};

const equalBytes = (a: Uint8Array, aFrom: number, aTo: number, b: Uint8Array, bFrom: number, bTo: number): boolean => {
  const n = aTo - aFrom;
  if (n !== bTo - bFrom) return false;
  for (let j = 0; j < n; j++) if (a[aFrom + j] !== b[bFrom + j]) return false;
  return true;
};

/** One node's open chunk: its JSON text so far, and where the last literal of each value is in it. */
class ByteChunk {
  bytes: Uint8Array;
  length = 0;
  count = 0;
  pos: number;
  // [start, end) of the last literal value of each kind in `bytes` (caus: -1 after a null)
  typeAt = 0;
  typeEnd = 0;
  actorAt = 0;
  actorEnd = 0;
  corrAt = 0;
  corrEnd = 0;
  causAt = -1;
  causEnd = -1;

  constructor(
    readonly first: number,
    revision: number,
    bytes: Uint8Array,
  ) {
    this.pos = first;
    this.bytes = bytes;
    this.text(`{"r":${revision},"e":[`);
  }

  room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  /** ASCII text (numbers, punctuation) */
  text(s: string): void {
    this.room(s.length);
    for (let j = 0; j < s.length; j++) this.bytes[this.length++] = s.charCodeAt(j);
  }

  // byte, copy and number write into the room an entry has made (ByteChunks.entry)

  byte(c: number): void {
    this.bytes[this.length++] = c;
  }

  /** copies src[from, to); returns where it starts (a loop: values are short, a subarray costs more) */
  copy(src: Uint8Array, from: number, to: number): number {
    const at = this.length;
    const bytes = this.bytes;
    let j = at;
    for (let i = from; i < to; i++) bytes[j++] = src[i];
    this.length = j;
    return at;
  }

  /** a number as JSON.stringify writes it (digits by hand for the usual non-negative integers, at most 10) */
  number(v: number): void {
    if (!(v >= 0 && v <= 0xffffffff && v === Math.floor(v))) return this.text(String(v));
    let digits = 1;
    for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
    let x = v;
    for (let j = this.length + digits - 1; j >= this.length; j--) {
      this.bytes[j] = 48 + (x % 10);
      x = Math.floor(x / 10);
    }
    this.length += digits;
  }
}

/**
 * Nodes' timeline chunks, as TimelineChunks (history.ts) builds them, in bytes. The values of an
 * entry are given as JSON texts: ranges of a buffer (`push`, straight from the metadata bytes) or
 * strings (`pushMeta`, for rows read another way).
 */
export class ByteChunks {
  private readonly open = new Map<string, ByteChunk>();
  private rows: FedTimeline['rows'] = [];
  private out: Uint8Array = Buffer.allocUnsafeSlow(1 << 18);
  private outLength = 0;
  private readonly free: Uint8Array[] = [];
  private readonly types = new Map<string, Uint8Array>();
  // the values of the entry being pushed: JSON texts src[at, end) (actor, corr, caus, time)
  private readonly src: Uint8Array[] = [EMPTY, EMPTY, EMPTY, EMPTY];
  private readonly at = new Int32Array(4);
  private readonly end = new Int32Array(4);

  /**
   * An entry whose values are ranges of `meta` as scanMetaBytes gave them (`v`: start and end of
   * actor, correlationId, causationId, timestamp; -1: absent, i.e. ''). The timestamp must not be
   * empty (the caller uses `created` then: pushMeta).
   */
  push(node: string, position: number, revision: number, type: string, meta: Uint8Array, v: Int32Array): void {
    for (let k = 0; k < 4; k++) {
      if (v[2 * k] < 0) {
        this.src[k] = EMPTY;
        this.at[k] = 0;
        this.end[k] = 2;
      } else {
        this.src[k] = meta;
        this.at[k] = v[2 * k];
        this.end[k] = v[2 * k + 1];
      }
    }
    this.entry(node, position, revision, type);
  }

  /** An entry whose values are strings (ChangeMeta). */
  pushMeta(node: string, position: number, revision: number, type: string, m: ChangeMeta): void {
    [m.actor, m.correlationId, m.causationId, m.timestamp].forEach((s, k) => {
      const j = jsonBytes(s);
      this.src[k] = j;
      this.at[k] = 0;
      this.end[k] = j.length;
    });
    this.entry(node, position, revision, type);
  }

  private typeJson(type: string): Uint8Array {
    let j = this.types.get(type);
    if (j === undefined) {
      j = jsonBytes(type);
      if (this.types.size > 10_000) this.types.clear();
      this.types.set(type, j);
    }
    return j;
  }

  private entry(node: string, position: number, revision: number, type: string): void {
    let c = this.open.get(node);
    if (c === undefined) {
      c = new ByteChunk(position, revision, this.free.pop() ?? new Uint8Array(4096));
      this.open.set(node, c);
    }
    const first = c.count === 0;
    const t = this.typeJson(type);
    const { src, at, end } = this;
    // room for the whole entry: punctuation, a number of up to 10 digits (more goes through text()), the values
    c.room(32 + t.length + (end[0] - at[0]) + (end[1] - at[1]) + Math.max(4, end[2] - at[2]) + (end[3] - at[3]));
    if (!first) c.byte(COMMA);
    c.byte(91 /* [ */);
    c.number(position - c.pos);
    c.pos = position;
    c.byte(COMMA);
    if (!first && equalBytes(c.bytes, c.typeAt, c.typeEnd, t, 0, t.length)) c.copy(ZERO, 0, 1);
    else {
      c.typeAt = c.copy(t, 0, t.length);
      c.typeEnd = c.length;
    }
    c.byte(COMMA);
    if (!first && equalBytes(c.bytes, c.actorAt, c.actorEnd, src[0], at[0], end[0])) c.copy(ZERO, 0, 1);
    else {
      c.actorAt = c.copy(src[0], at[0], end[0]);
      c.actorEnd = c.length;
    }
    c.byte(COMMA);
    if (!first && equalBytes(c.bytes, c.corrAt, c.corrEnd, src[1], at[1], end[1])) c.copy(ZERO, 0, 1);
    else {
      c.corrAt = c.copy(src[1], at[1], end[1]);
      c.corrEnd = c.length;
    }
    c.byte(COMMA);
    // causation: null when it is the entry's correlation id, 0 when it is the previous entry's
    if (equalBytes(src[2], at[2], end[2], src[1], at[1], end[1])) {
      c.copy(NULL, 0, 4);
      c.causAt = c.causEnd = -1;
    } else if (!first && c.causAt >= 0 && equalBytes(c.bytes, c.causAt, c.causEnd, src[2], at[2], end[2])) c.copy(ZERO, 0, 1);
    else {
      c.causAt = c.copy(src[2], at[2], end[2]);
      c.causEnd = c.length;
    }
    c.byte(COMMA);
    c.copy(src[3], at[3], end[3]);
    c.byte(93 /* ] */);
    c.count++;
    if (c.count >= spillChunk) this.close(node, c);
  }

  /** closes the node's chunk: its next entry starts another */
  cut(node: string): void {
    const c = this.open.get(node);
    if (c !== undefined) this.close(node, c);
  }

  private close(node: string, c: ByteChunk): void {
    this.open.delete(node);
    c.room(2);
    c.copy(END, 0, 2);
    if (this.outLength + c.length > this.out.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.out.length * 2, this.outLength + c.length));
      grown.set(this.out.subarray(0, this.outLength));
      this.out = grown;
    }
    const start = this.outLength;
    this.out.set(c.bytes.subarray(0, c.length), start);
    this.outLength += c.length;
    this.rows.push([node, c.first, start, this.outLength, c.count]);
    if (this.free.length < 1024) this.free.push(c.bytes);
  }

  /** the chunks closed since the last call (the buffer is the caller's: it may hand it over) */
  takeClosed(): FedTimeline {
    if (this.rows.length === 0) return emptyFedTimeline();
    const taken: FedTimeline = { rows: this.rows, bytes: this.out.subarray(0, this.outLength) };
    this.rows = [];
    // the next batch's closed chunks are about as long: room to spare, so that it need not grow
    this.out = Buffer.allocUnsafeSlow(Math.max(1 << 18, this.outLength + (this.outLength >> 1)));
    this.outLength = 0;
    return taken;
  }

  /** every chunk, closed or not; the next entry of any node starts a new chunk */
  takeAll(): FedTimeline {
    for (const [node, c] of this.open) this.close(node, c);
    return this.takeClosed();
  }
}
