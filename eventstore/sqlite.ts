// The embedded event store: one SQLite file (better-sqlite3, synchronous API) in WAL mode, shared
// by every ironlog process on the machine.
//
// Why it is correct across processes: SQLite serialises writers (BEGIN IMMEDIATE takes the write
// lock before we read the stream's revision), and `position` is the table's rowid, assigned as
// max+1 inside that locked transaction. So positions are committed in increasing order and a reader
// never sees a gap that is filled later: "after position P" is a safe checkpoint.
//
// Durability: WAL with synchronous=NORMAL by default. A commit is in the WAL file (the OS page
// cache) before append() resolves, so it survives the writing process being killed (SIGKILL, crash);
// an OS crash or power cut may lose the last commits but never corrupts the file. Set
// IRONLOG_SQLITE_SYNCHRONOUS=FULL (fsync per commit) to survive power loss, at a large cost in
// appends per second.

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { CorruptStoredEvent, DuplicateEventId, StoreUnavailable, WrongExpectedRevision } from './errors.ts';
import { acquireCheckpointer, FALLBACK_AUTOCHECKPOINT_PAGES, type Checkpointer } from './sqlite-checkpointer.ts';
import type {
  AppendPrecondition,
  AppendResult,
  BatchHandler,
  EventData,
  EventMetadata,
  EventStore,
  ExpectedRevision,
  RawRecordedEvent,
  ReadAllOptions,
  EventColumn,
  ReadAllRawOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamAppend,
  StreamMetadata,
  SubscribeOptions,
  Subscription,
} from './port.ts';

export type SynchronousLevel = 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';

export interface SqliteEventStoreOptions {
  /** the database file; its directory is created if missing */
  path: string;
  /** how long a write waits for another connection's lock before StoreUnavailable (ms) */
  busyTimeoutMs?: number;
  /** SQLite `synchronous` level; default NORMAL (see the file comment) */
  synchronous?: SynchronousLevel;
  /** how often live subscriptions look for other processes' appends (ms) */
  pollIntervalMs?: number;
  /** events read per query by subscriptions */
  batchSize?: number;
  /** SQLite page cache of this connection, KiB (default 64 MiB); a one-pass scan needs little */
  cacheSizeKib?: number;
  /** checkpoint the WAL in a worker thread once this store writes (default true; see sqlite-checkpointer.ts) */
  backgroundCheckpoint?: boolean;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
const DEFAULT_POLL_INTERVAL_MS = 10;
const DEFAULT_BATCH_SIZE = 5_000;
const SCHEMA_VERSION = 1;
/** lock attempts retried after a turn of the event loop before waiting 1–2 ms between them */
const IMMEDIATE_LOCK_RETRIES = 3;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position  INTEGER PRIMARY KEY,
  stream_id TEXT    NOT NULL,
  revision  INTEGER NOT NULL,
  event_id  TEXT    NOT NULL UNIQUE,
  type      TEXT    NOT NULL,
  data      TEXT    NOT NULL,
  metadata  TEXT    NOT NULL,
  created   INTEGER NOT NULL,
  UNIQUE (stream_id, revision)
);
CREATE TABLE IF NOT EXISTS stream_metadata (
  stream_id TEXT PRIMARY KEY,
  metadata  TEXT NOT NULL
) WITHOUT ROWID;
`;

const COLUMNS = 'position, stream_id, revision, event_id, type, data, metadata, created';

/**
 * A row as better-sqlite3 returns it in raw mode, in COLUMNS order (the port's RawRecordedEvent).
 * Read statements use safeIntegers: the bigints are made natively (measured ~10% faster than
 * BigInt(number) per row).
 */
type Row = RawRecordedEvent;

/**
 * Rows of the log packed one value per column (SqliteEventStore.readAllPacked): `n` rows in
 * position order; positions and revisions as JSON arrays of numbers, stream ids and types as JSON
 * arrays of strings, metadata (and data, if asked for) as the stored texts' UTF-8 bytes joined by
 * the byte 0x1E (U+001E). Trustworthy only when `irregular` is 0 (every revision an integer, every
 * metadata and data text).
 */
export interface PackedRows {
  n: number;
  positions: string;
  revisions: string;
  streams: string;
  types: string;
  metadata: Buffer;
  data?: Buffer;
  irregular: number;
}

const envSynchronous = (): SynchronousLevel | undefined => {
  const v = process.env.IRONLOG_SQLITE_SYNCHRONOUS?.trim().toUpperCase();
  if (!v) return undefined;
  if (v === 'OFF' || v === 'NORMAL' || v === 'FULL' || v === 'EXTRA') return v;
  throw new Error(`IRONLOG_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA, not "${v}"`);
};

const envBusyTimeout = (): number | undefined => {
  const v = process.env.IRONLOG_SQLITE_BUSY_TIMEOUT_MS;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`IRONLOG_SQLITE_BUSY_TIMEOUT_MS must be a non-negative integer, not "${v}"`);
  return n;
};

const errorCode = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined;

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const isBusy = (e: unknown): boolean => {
  const code = errorCode(e);
  return code === 'SQLITE_BUSY' || code?.startsWith('SQLITE_BUSY_') === true;
};

/** An append waiting in the group-commit queue. */
interface PendingAppend {
  streamId: string;
  events: EventData[];
  expected: ExpectedRevision;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
  /** performance.now() when issued: the busy timeout runs from here */
  since: number;
  /** appendIf: a stream that must be at a revision, checked in the append's transaction */
  precondition?: AppendPrecondition;
  /**
   * appendToStreams: these appends all or nothing (`streamId`, `events` and `expected` are then
   * the first one's, for messages); settled through `resolveAll`
   */
  atomic?: { appends: StreamAppend[]; resolveAll: (r: AppendResult[]) => void };
}

type Settled = { ok: true; value: AppendResult; all?: AppendResult[] } | { ok: false; error: unknown };

const isPortError = (e: unknown): boolean =>
  e instanceof WrongExpectedRevision || e instanceof DuplicateEventId || e instanceof CorruptStoredEvent || e instanceof StoreUnavailable;

/** Turns SQLite's failures into the port's: anything about the file or its locks is StoreUnavailable. */
const translate = (e: unknown, path: string, doing: string): Error => {
  if (isPortError(e)) return e as Error;
  const code = errorCode(e);
  if (code === 'SQLITE_BUSY' || code?.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED' || code?.startsWith('SQLITE_LOCKED_')) {
    return new StoreUnavailable(`event store ${path} is locked by another connection (${doing} gave up after the busy timeout): ${message(e)}`, e);
  }
  if (code?.startsWith('SQLITE_')) {
    return new StoreUnavailable(`event store ${path} failed while ${doing}: ${code}: ${message(e)}`, e);
  }
  if (e instanceof TypeError && /database connection is not open/i.test(message(e))) {
    return new StoreUnavailable(`event store ${path} is closed`, e);
  }
  return e instanceof Error ? e : new Error(String(e));
};

const parseJson = (text: unknown, streamId: string, revision: bigint, what: string): unknown => {
  if (typeof text !== 'string') throw new CorruptStoredEvent(streamId, revision, `${what} is not text (${typeof text})`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CorruptStoredEvent(streamId, revision, `${what} is not valid JSON: ${message(e)}`);
  }
};

/**
 * A raw row as a RecordedEvent: data and metadata parsed, CorruptStoredEvent naming the stream and
 * revision when they are not JSON (metadata: not a JSON object). Every read of this adapter decodes
 * with it, and so do the threads of a rebuild that read the rows' columns (`readAllColumns`).
 */
export const decodeRawEvent = (r: Row): RecordedEvent => {
  const streamId = r[1];
  const revision = r[2];
  const data = parseJson(r[5], streamId, revision, 'data');
  const metadata = parseJson(r[6], streamId, revision, 'metadata');
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new CorruptStoredEvent(streamId, revision, 'metadata is not a JSON object');
  }
  return {
    streamId,
    revision,
    position: r[0],
    id: r[3],
    type: r[4],
    data,
    metadata: metadata as EventMetadata,
    created: new Date(Number(r[7])),
  };
};

const expectedMatches = (expected: ExpectedRevision, current: number): boolean => {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return current === -1;
  if (expected === 'stream_exists') return current >= 0;
  return BigInt(current) === expected;
};

/** Positions and revisions are SQLite integers read as JS numbers: exact up to 2^53. */
const toNumber = (v: bigint, what: string): number => {
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${what} ${v} is out of range`);
  return Number(v);
};

// Stores in this process that share a file: an append through one wakes the others' subscribers
// at once (other processes are seen by polling PRAGMA data_version).
const storesByFile = new Map<string, Set<SqliteEventStore>>();

// ---- recent events shared by the subscribers of this process ------------------------------------
//
// Every in-process subscriber (projector, publisher, a conductor's node index, the API's event
// stream) would otherwise read and JSON-parse every new event from SQLite itself, on its own
// connection. Instead, the events this process commits (the append path knows every column at
// COMMIT) and the ranges a subscriber reads from SQLite unfiltered are kept, per file, in a bounded
// window of the log, parsed at most once, and handed to every subscriber of every store object of
// this process on that file. Soundness rests on one claim, kept for the window (lo, hi]: EVERY
// event of the log with lo < position <= hi is in it. A commit's events have consecutive positions
// (checked), so nothing else lies between them; an unfiltered read of (after, head] holds all of
// that range. What the window does not cover (other processes' commits, a subscriber far behind) is
// read from SQLite as before. Subscribers share the decoded objects: none of them mutates an event
// (IRONLOG_SQLITE_FREEZE_SHARED=1 deep-freezes them, for tests that check this).

/** at most this many events in a file's window */
const RECENT_MAX_EVENTS = 4_096;
/** and at most this much data + metadata JSON text (UTF-16 units; the parsed objects are a few times this) */
const RECENT_MAX_TEXT = 2 * 1024 * 1024;
const freezeShared = process.env.IRONLOG_SQLITE_FREEZE_SHARED === '1';
/** IRONLOG_SQLITE_SHARED_EVENTS=0: every subscriber reads SQLite itself (comparisons, a way out) */
const shareRecent = process.env.IRONLOG_SQLITE_SHARED_EVENTS !== '0';

const deepFreeze = (v: unknown): void => {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
};

/** One event of the window: its row until it is first decoded, then the event (or why it is corrupt). */
class RecentEvent {
  readonly position: number;
  readonly streamId: string;
  readonly revision: bigint;
  readonly type: string;
  readonly size: number;
  private row: Row | undefined;
  private event: RecordedEvent | undefined;
  private failure: unknown;

  constructor(row: Row) {
    this.row = row;
    this.position = Number(row[0]);
    this.streamId = row[1];
    this.revision = row[2];
    this.type = row[4];
    this.size = 64 + (typeof row[5] === 'string' ? row[5].length : 0) + (typeof row[6] === 'string' ? row[6].length : 0);
  }

  decode(): RecordedEvent {
    if (this.event !== undefined) return this.event;
    const row = this.row;
    if (row === undefined) throw this.failure;
    this.row = undefined;
    try {
      const e = decodeRawEvent(row);
      if (freezeShared) deepFreeze(e);
      this.event = e;
      return e;
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }
}

/** A file's window of recent events: (lo, hi], every event of the log in that range, in order. */
class RecentLog {
  private items: RecentEvent[] = [];
  /** index of the oldest kept item (the array is compacted now and then) */
  private first = 0;
  private text = 0;
  lo = 0;
  hi = 0;

  get size(): number {
    return this.items.length - this.first;
  }

  get textSize(): number {
    return this.text;
  }

  /**
   * `rows`: ALL the events of the log in (after, upTo], in position order. Kept when they extend the
   * window; a range that leaves a gap after it (or covers it and more) starts the window over.
   * `keepAfter`: the slowest subscriber's cursor; older events are dropped.
   */
  add(after: number, upTo: number, rows: readonly Row[], keepAfter: number): void {
    if (upTo <= this.hi) return;
    if (after > this.hi || after < this.lo) {
      this.items = [];
      this.first = 0;
      this.text = 0;
      this.lo = this.hi = after;
    }
    for (const r of rows) {
      const e = new RecentEvent(r);
      if (e.position <= this.hi) continue;
      this.items.push(e);
      this.text += e.size;
    }
    this.hi = upTo;
    this.trim(keepAfter);
  }

  trim(keepAfter: number): void {
    const items = this.items;
    while (this.first < items.length) {
      const e = items[this.first]!;
      if (e.position > keepAfter && items.length - this.first <= RECENT_MAX_EVENTS && this.text <= RECENT_MAX_TEXT) break;
      this.text -= e.size;
      this.lo = e.position;
      this.first++;
    }
    if (this.first === items.length) {
      this.items = [];
      this.first = 0;
    } else if (this.first >= 1024 && this.first * 2 >= items.length) {
      this.items = items.slice(this.first);
      this.first = 0;
    }
  }

  /**
   * The kept events after `cursor` up to `upTo` (at most `limit`), or undefined when the window
   * does not hold what follows `cursor`. `scannedTo`: the position the caller has seen everything up to.
   */
  after(cursor: number, upTo: number, limit: number): { events: RecentEvent[]; scannedTo: number } | undefined {
    if (cursor < this.lo || cursor >= this.hi || limit <= 0) return undefined;
    const end = Math.min(upTo, this.hi);
    const items = this.items;
    let a = this.first;
    let b = items.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (items[m]!.position <= cursor) a = m + 1;
      else b = m;
    }
    const events: RecentEvent[] = [];
    for (let i = a; i < items.length && events.length < limit; i++) {
      const e = items[i]!;
      if (e.position > end) break;
      events.push(e);
    }
    const scannedTo = events.length === limit ? events[events.length - 1]!.position : end;
    return { events, scannedTo };
  }
}

// one window per file, for as long as a store of this process has it open
const recentByFile = new Map<string, RecentLog>();

/** How many events (and how much JSON text) the process holds for a file's subscribers (tests, diagnostics). */
export const sharedEventsHeld = (path: string): { events: number; text: number } => {
  const recent = recentByFile.get(resolvePath(path));
  return { events: recent?.size ?? 0, text: recent?.textSize ?? 0 };
};

const startsWithAny = (streamId: string, prefixes: readonly string[]): boolean => {
  for (const p of prefixes) if (streamId.startsWith(p)) return true;
  return false;
};

type Stmt = Database.Statement<unknown[], unknown>;

export class SqliteEventStore implements EventStore {
  readonly name = 'sqlite';
  readonly path: string;
  private readonly db: Database.Database;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private closed = false;

  private readonly sBegin: Stmt;
  private readonly sCommit: Stmt;
  private readonly sRollback: Stmt;
  private readonly sMaxRevision: Stmt;
  private readonly sInsert: Stmt;
  private readonly sById: Stmt;
  private readonly sLastInStream: Stmt;
  private readonly sHead: Stmt;
  private readonly sDataVersion: Stmt;
  private readonly sStreamFwd: Stmt;
  private readonly sStreamBwd: Stmt;
  private readonly sGetMeta: Stmt;
  private readonly sSetMeta: Stmt;
  private readonly allStmts = new Map<string, Stmt>();
  /** readAllColumns' own connection (opened on first use): see readAllColumns */
  private scanDb: Database.Database | undefined;
  private readonly scanStmts = new Map<string, Stmt>();
  private readonly busyTimeoutMs: number;
  private readonly sSavepoint: Stmt;
  private readonly sRelease: Stmt;
  private readonly sRollbackTo: Stmt;
  /** group commit: appends waiting for the next flush, and that flush */
  private pending: PendingAppend[] = [];
  private flushTimer: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private busyAttempts = 0;
  private tickQueued = false;
  private checkpointer: Checkpointer | undefined;
  private readonly backgroundCheckpoint: boolean;
  /** what the write path did so far (tests and diagnostics): transactions committed, the appends they held, busy lock attempts */
  readonly writeStats = { transactions: 0, appends: 0, lockRetries: 0 };
  /**
   * what this store's subscriptions read (tests and diagnostics): queries and rows read from
   * SQLite, and events taken from the process's shared window of recent events instead
   */
  readonly readStats = { sqliteQueries: 0, sqliteRows: 0, sharedEvents: 0 };
  /** rows of the transaction being written, for the shared window once it commits (undefined: not collected) */
  private committing: Row[] | undefined;
  private readonly synchronous: SynchronousLevel;

  private readonly subscriptions = new Set<SqliteSubscription>();
  private pollTimer: NodeJS.Timeout | undefined;
  private lastDataVersion = 0;

  constructor(options: SqliteEventStoreOptions) {
    this.path = resolvePath(options.path);
    const busyTimeoutMs = options.busyTimeoutMs ?? envBusyTimeout() ?? DEFAULT_BUSY_TIMEOUT_MS;
    this.busyTimeoutMs = busyTimeoutMs;
    const synchronous = options.synchronous ?? envSynchronous() ?? 'NORMAL';
    this.synchronous = synchronous;
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.backgroundCheckpoint = options.backgroundCheckpoint ?? true;

    try {
      mkdirSync(dirname(this.path), { recursive: true });
    } catch (e) {
      throw new StoreUnavailable(`cannot create the directory of event store ${this.path}: ${message(e)}`, e);
    }
    let db: Database.Database | undefined;
    try {
      db = new Database(this.path, { timeout: busyTimeoutMs });
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (String(mode).toLowerCase() !== 'wal') throw new Error(`cannot switch ${this.path} to WAL (journal_mode is ${String(mode)})`);
      db.pragma(`synchronous = ${synchronous}`);
      // 64 MiB by default: the event_id index is random-access
      db.pragma(`cache_size = -${Math.max(0, Math.floor(options.cacheSizeKib ?? 65536))}`);
      // Checkpoint every ~16 MiB of WAL instead of 4: fewer checkpoint fsyncs per append (measured
      // +15-25% appends/s), at the price of a larger WAL file between checkpoints. With background
      // checkpoints (sqlite-checkpointer.ts) this is only the fallback that restarts the WAL, the
      // same in every connection: a connection with a lower limit than the others would run a
      // checkpoint (two fsyncs) in every one of its commits once another let the WAL pass it
      // (measured: a quarter of a conductor's time under dispatch load).
      db.pragma(`wal_autocheckpoint = ${this.backgroundCheckpoint ? FALLBACK_AUTOCHECKPOINT_PAGES : 4000}`);
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version === 0) {
        db.exec(`BEGIN IMMEDIATE; ${SCHEMA} PRAGMA user_version = ${SCHEMA_VERSION}; COMMIT;`);
      } else if (version !== SCHEMA_VERSION) {
        throw new Error(`${this.path} has schema version ${version}; this ironlog knows version ${SCHEMA_VERSION}`);
      }
    } catch (e) {
      try {
        if (db?.inTransaction) db.exec('ROLLBACK');
        db?.close();
      } catch {
        /* the original failure is the one worth reporting */
      }
      throw new StoreUnavailable(`cannot open event store ${this.path}: ${errorCode(e) ? `${errorCode(e)}: ` : ''}${message(e)}`, e);
    }
    this.db = db;

    this.sBegin = db.prepare('BEGIN IMMEDIATE');
    this.sCommit = db.prepare('COMMIT');
    this.sRollback = db.prepare('ROLLBACK');
    this.sSavepoint = db.prepare('SAVEPOINT append');
    this.sRelease = db.prepare('RELEASE append');
    this.sRollbackTo = db.prepare('ROLLBACK TO append');
    this.sMaxRevision = db.prepare('SELECT max(revision) FROM events WHERE stream_id = ?').pluck();
    this.sInsert = db.prepare(
      'INSERT INTO events (stream_id, revision, event_id, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.sById = db.prepare('SELECT stream_id, revision, position FROM events WHERE event_id = ?').raw();
    this.sLastInStream = db.prepare('SELECT revision, position FROM events WHERE stream_id = ? ORDER BY revision DESC LIMIT 1').raw();
    this.sHead = db.prepare('SELECT max(position) FROM events').pluck();
    this.sDataVersion = db.prepare('PRAGMA data_version').pluck();
    this.sStreamFwd = db.prepare(`SELECT ${COLUMNS} FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?`).raw().safeIntegers();
    this.sStreamBwd = db.prepare(`SELECT ${COLUMNS} FROM events WHERE stream_id = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`).raw().safeIntegers();
    this.sGetMeta = db.prepare('SELECT metadata FROM stream_metadata WHERE stream_id = ?').pluck();
    this.sSetMeta = db.prepare(
      'INSERT INTO stream_metadata (stream_id, metadata) VALUES (?, ?) ON CONFLICT (stream_id) DO UPDATE SET metadata = excluded.metadata',
    );
    this.lastDataVersion = this.sDataVersion.get() as number;
    // The connection rests WITHOUT a busy handler: the group commit's BEGIN IMMEDIATE must come
    // back at once when another connection holds the lock (see append), and switching the handler
    // off and on around every BEGIN cost ~4.5 µs, ~6% of a single append's CPU (measured). What
    // waits for locks switches it on for itself (withBusyHandler): the synchronous writes, and a
    // read that met a lock (readWaiting; reads rarely do in WAL mode: recovery after a crash).
    this.busyHandler(false);

    let peers = storesByFile.get(this.path);
    if (!peers) {
      storesByFile.set(this.path, (peers = new Set()));
      // the first store of this process on the file: whatever was kept for that path is stale
      recentByFile.set(this.path, new RecentLog());
    }
    peers.add(this);
  }

  // ---- append ---------------------------------------------------------------------------------
  //
  // Group commit: append() queues the request and the appends this process issues before the
  // queue is flushed (after this turn's I/O callbacks and promise jobs: setImmediate) are
  // written in ONE `BEGIN IMMEDIATE … COMMIT`. Each keeps its own expected-revision check and its
  // own result or error: inside a group every append runs in a SAVEPOINT, so one that fails is
  // rolled back alone.
  // Every promise settles only after the COMMIT that holds its events (or the failure of that
  // COMMIT): durability is exactly that of one transaction per append.
  //
  // The write lock is taken without SQLite's busy handler (which sleeps 1, 2, 5, 10 … up to 100 ms
  // between attempts and lets the other writers overtake a sleeper): a busy lock is retried after
  // a turn of the event loop, then every 1–2 ms, until `busyTimeoutMs` has passed since the
  // append was issued (then StoreUnavailable). Appends issued meanwhile join the waiting group.

  async append(streamId: string, events: EventData[], expected: ExpectedRevision): Promise<AppendResult> {
    this.assertOpen();
    return new Promise<AppendResult>((resolve, reject) => {
      this.pending.push({ streamId, events, expected, resolve, reject, since: performance.now() });
      this.scheduleFlush(0);
    });
  }

  /** port.ts appendIf: an append of the group commit whose precondition is checked in its savepoint. */
  async appendIf(precondition: AppendPrecondition, streamId: string, events: EventData[], expected: ExpectedRevision): Promise<AppendResult> {
    this.assertOpen();
    return new Promise<AppendResult>((resolve, reject) => {
      this.pending.push({ streamId, events, expected, resolve, reject, since: performance.now(), precondition });
      this.scheduleFlush(0);
    });
  }

  /**
   * One queued append inside the group's transaction: its precondition (if any), then the append;
   * an atomic one appends each of its streams (a failure of any leaves the whole savepoint).
   */
  private appendPending(p: PendingAppend): Settled & { ok: true } {
    if (p.atomic) {
      const all = p.atomic.appends.map((a) => this.appendInTransaction(a.streamId, a.events, a.expected));
      return { ok: true, value: all[all.length - 1]!, all };
    }
    const c = p.precondition;
    if (c !== undefined) {
      const max = this.sMaxRevision.get(c.streamId) as number | null;
      // a retry of a stored append is answered from its ids (appendInTransaction), whatever the
      // precondition's stream did since the original
      const retry = p.events.length > 0 && this.sById.get(p.events[0]!.id) !== undefined;
      if (!retry && !expectedMatches(c.expected, max ?? -1)) {
        throw new WrongExpectedRevision(c.streamId, c.expected, max === null ? 'no_stream' : BigInt(max));
      }
    }
    return { ok: true, value: this.appendInTransaction(p.streamId, p.events, p.expected) };
  }

  /**
   * A synchronous append in a transaction of its own (appends queued by append() are committed
   * first, to keep their order). Waits for the lock with SQLite's busy handler.
   */
  appendSync(streamId: string, events: EventData[], expected: ExpectedRevision): AppendResult {
    this.assertOpen();
    if (this.pending.length > 0) this.flush(true);
    let outcome: Settled | undefined;
    this.commitGroup([{ streamId, events, expected, resolve: (r) => (outcome = { ok: true, value: r }), reject: (e) => (outcome = { ok: false, error: e }), since: 0 }], true);
    if (!outcome) throw new StoreUnavailable(`event store ${this.path}: the append to ${streamId} was not settled`);
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  private scheduleFlush(busyAttempts: number): void {
    if (this.flushTimer !== undefined) return; // waiting for the lock: the next attempt takes these too
    if (busyAttempts === 0) {
      if (this.tickQueued) return;
      // After the poll phase: every append issued by the I/O callbacks of this turn of the event
      // loop (e.g. the HTTP requests of many clients) joins the group. A tick callback would
      // commit each callback's appends alone (measured: 3,000 creates from 8 clients, 3,000
      // transactions with process.nextTick, 783 with setImmediate, ~10% less CPU per create).
      this.tickQueued = true;
      setImmediate(this.flushFromTick);
      return;
    }
    if (busyAttempts <= IMMEDIATE_LOCK_RETRIES) {
      this.flushTimer = setImmediate(this.flushFromTimer);
    } else {
      // setTimeout's resolution is 1 ms: 1 ms, then 2 ms between attempts
      this.flushTimer = setTimeout(this.flushFromTimer, busyAttempts > IMMEDIATE_LOCK_RETRIES + 8 ? 2 : 1);
    }
  }

  private readonly flushFromTick = (): void => {
    this.tickQueued = false;
    if (this.flushTimer === undefined) this.flush(false);
  };

  private readonly flushFromTimer = (): void => {
    this.flushTimer = undefined;
    this.flush(false);
  };

  /** Cancels a scheduled flush (close() flushes synchronously instead). */
  private cancelFlush(): void {
    if (this.flushTimer === undefined) return;
    clearImmediate(this.flushTimer as NodeJS.Immediate);
    clearTimeout(this.flushTimer as NodeJS.Timeout);
    this.flushTimer = undefined;
  }

  /**
   * Commits everything queued, as one group. `sync`: wait for the lock with SQLite's busy handler
   * (appendSync, close); otherwise a busy lock re-schedules the flush.
   */
  private flush(sync: boolean): void {
    if (this.pending.length === 0) return;
    if (this.closed) {
      const err = new StoreUnavailable(`event store ${this.path} is closed`);
      for (const p of this.pending.splice(0)) p.reject(err);
      return;
    }
    if (sync) {
      this.cancelFlush();
      this.commitGroup(this.pending.splice(0), true);
      return;
    }
    try {
      // no busy handler (the connection's resting state): a busy lock comes back at once
      this.sBegin.run();
    } catch (e) {
      if (isBusy(e)) {
        this.writeStats.lockRetries++;
        this.busyAttempts++;
        const now = performance.now();
        const expired = this.pending.filter((p) => now - p.since >= this.busyTimeoutMs);
        if (expired.length > 0) {
          this.pending = this.pending.filter((p) => now - p.since < this.busyTimeoutMs);
          for (const p of expired) p.reject(translate(e, this.path, `appending to ${p.streamId}`));
        }
        if (this.pending.length > 0) this.scheduleFlush(this.busyAttempts);
        else this.busyAttempts = 0;
        return;
      }
      this.busyAttempts = 0;
      for (const p of this.pending.splice(0)) p.reject(translate(e, this.path, `appending to ${p.streamId}`));
      return;
    }
    this.busyAttempts = 0;
    this.commitGroup(this.pending.splice(0), false);
  }

  /**
   * Runs a group of appends in one transaction and settles each. `begin`: take the lock here
   * (with SQLite's busy handler); otherwise the caller holds it already.
   */
  private commitGroup(group: PendingAppend[], begin: boolean): void {
    const settled: Settled[] = new Array(group.length);
    let wrote = 0;
    const rows: Row[] | undefined = this.hasPeerSubscriptions() ? [] : undefined;
    this.committing = rows;
    try {
      if (begin) this.beginWaiting();
      try {
        if (group.length === 1) {
          // alone in its transaction: a failure rolls the whole transaction back
          const p = group[0]!;
          try {
            settled[0] = this.appendPending(p);
            wrote += eventCount(p);
          } catch (e) {
            if (this.db.inTransaction) this.sRollback.run();
            if (rows) rows.length = 0;
            settled[0] = { ok: false, error: isUniqueEventId(e) ? uniqueEventIdMarker : e };
          }
        } else {
          for (let i = 0; i < group.length; i++) {
            const p = group[i]!;
            const kept = rows?.length ?? 0;
            this.sSavepoint.run();
            try {
              settled[i] = this.appendPending(p);
              this.sRelease.run();
              wrote += eventCount(p);
            } catch (e) {
              if (rows) rows.length = kept;
              this.sRollbackTo.run();
              this.sRelease.run();
              settled[i] = isUniqueEventId(e) ? this.retriedAppendSettled(p) : { ok: false, error: e };
            }
          }
        }
        if (this.db.inTransaction) this.sCommit.run();
      } catch (e) {
        if (this.db.inTransaction) this.sRollback.run();
        throw e;
      }
    } catch (e) {
      // the lock, the COMMIT or a savepoint failed: nothing of the group is stored
      this.committing = undefined;
      for (const p of group) p.reject(translate(e, this.path, `appending to ${p.streamId}`));
      return;
    }
    this.committing = undefined;
    this.writeStats.transactions++;
    this.writeStats.appends += group.length;
    if (wrote > 0) {
      if (rows && rows.length > 0) this.rememberCommitted(rows);
      // the group held the write lock: its highest stored position is the log's head now
      let head = 0n;
      for (const st of settled) {
        if (!st.ok) continue;
        for (const r of st.all ?? [st.value]) if (r.position > head) head = r.position;
      }
      this.notifyPeers(Number(head));
      if (!this.checkpointer) this.startCheckpointer();
      this.checkpointer?.committed(wrote);
    }
    for (let i = 0; i < group.length; i++) {
      const p = group[i]!;
      let s = settled[i]!;
      // a lone append whose ids are stored already: analysed outside the rolled-back transaction
      if (!s.ok && s.error === uniqueEventIdMarker) s = this.retriedAppendSettled(p);
      if (s.ok) {
        if (p.atomic) p.atomic.resolveAll(s.all!);
        else p.resolve(s.value);
      } else p.reject(translate(s.error, this.path, `appending to ${p.atomic ? p.atomic.appends.map((a) => a.streamId).join(', ') : p.streamId}`));
    }
  }

  private retriedAppendSettled(p: PendingAppend): Settled {
    try {
      if (p.atomic) {
        const all = this.retriedAtomicAppend(p.atomic.appends);
        return { ok: true, value: all[all.length - 1]!, all };
      }
      return { ok: true, value: this.retriedAppend(p.streamId, p.events, p.expected) };
    } catch (e) {
      return { ok: false, error: e };
    }
  }

  /** Every id of every append already stored, each append's in its stream: a retry of one that succeeded. */
  private retriedAtomicAppend(appends: StreamAppend[]): AppendResult[] {
    const fresh = appends.find((a) => a.events.length > 0 && a.events.every((ev) => this.readWaiting(this.sById, 'get', ev.id) === undefined));
    if (fresh) throw new DuplicateEventId(fresh.streamId, fresh.events[0]!.id, 'other appends of this atomic append are stored already, this one is not (not a retry)');
    return appends.map((a) => this.retriedAppend(a.streamId, a.events, a.expected));
  }

  /**
   * Runs a statement with SQLite's busy handler (busyTimeoutMs), which the connection otherwise
   * goes without: for what must wait for a lock rather than fail (`get` by default; `run`).
   */
  /**
   * BEGIN IMMEDIATE that waits for a busy lock with SQLite's busy handler. First tried without it:
   * the lock is free almost always, and switching the handler on and off (a PRAGMA prepared each
   * time) cost a create through appendToStreams ~2% of its CPU.
   */
  private beginWaiting(): void {
    try {
      this.sBegin.run();
    } catch (e) {
      if (!isBusy(e)) throw e;
      this.withBusyHandler(this.sBegin);
    }
  }

  private withBusyHandler(stmt: Stmt, method: 'get' | 'run' = 'run', ...args: unknown[]): unknown {
    this.busyHandler(true);
    try {
      return method === 'run' ? stmt.run(...args) : stmt.get(...args);
    } finally {
      this.busyHandler(false);
    }
  }

  /**
   * Switches the connection's busy handler on or off. Through a statement prepared each time: a
   * `PRAGMA busy_timeout = N` takes effect when it is prepared, and a prepared one run again
   * re-applies it only from its second run on (SQLite re-prepares it then), so a kept statement
   * is not a dependable switch (measured: its first run changed nothing).
   */
  private busyHandler(on: boolean): void {
    this.db.pragma(`busy_timeout = ${on ? Math.floor(this.busyTimeoutMs) : 0}`);
  }

  /**
   * A read on the main connection (`get`: the first row; `all`): at once, and when it met a lock
   * (SQLITE_BUSY: the connection has no busy handler, see the constructor) once more with the
   * handler, so it waits as reads always did.
   */
  private readWaiting(stmt: Stmt, method: 'get' | 'all', ...args: unknown[]): unknown {
    try {
      return method === 'all' ? stmt.all(...args) : stmt.get(...args);
    } catch (e) {
      if (!isBusy(e) || this.db.inTransaction) throw e;
      this.busyHandler(true);
      try {
        return method === 'all' ? stmt.all(...args) : stmt.get(...args);
      } finally {
        this.busyHandler(false);
      }
    }
  }

  private startCheckpointer(): void {
    if (this.checkpointer || this.closed || !this.backgroundCheckpoint) return;
    this.checkpointer = acquireCheckpointer(this.path, this.synchronous);
  }

  private appendInTransaction(streamId: string, events: EventData[], expected: ExpectedRevision): AppendResult {
    const max = this.sMaxRevision.get(streamId) as number | null;
    const current = max ?? -1;
    if (!expectedMatches(expected, current)) {
      // A retry of an append that succeeded finds the stream moved on: recognise it by its ids.
      if (events.length > 0 && this.sById.get(events[0]!.id) !== undefined) throw uniqueEventIdMarker;
      throw new WrongExpectedRevision(streamId, expected, max === null ? 'no_stream' : BigInt(max));
    }
    if (events.length === 0) {
      const last = this.sLastInStream.get(streamId) as [number, number] | undefined;
      return { nextExpectedRevision: BigInt(current), position: BigInt(last?.[1] ?? 0) };
    }
    const now = Date.now();
    let revision = current;
    let position: number | bigint = 0;
    const rows = this.committing;
    for (const e of events) {
      revision++;
      const data = JSON.stringify(e.data) ?? 'null';
      const metadata = JSON.stringify(e.metadata);
      const info = this.sInsert.run(streamId, revision, e.id, e.type, data, metadata, now);
      position = info.lastInsertRowid;
      // the row exactly as a read would return it (better-sqlite3 binds these values unchanged)
      if (rows) rows.push([BigInt(position), streamId, BigInt(revision), e.id, e.type, data, metadata, BigInt(now)]);
    }
    return { nextExpectedRevision: BigInt(revision), position: BigInt(position) };
  }

  /**
   * Some event id of the append is already stored. If all of them are, consecutively and in order,
   * in this stream, the append is a retry of one that succeeded: return its original result and
   * write nothing (as EventStoreDB does). Anything else is an error.
   */
  private retriedAppend(streamId: string, events: EventData[], expected: ExpectedRevision): AppendResult {
    void expected; // a retry is recognised by its ids alone: its expected revision is stale by now
    let rows: ([string, number, number] | undefined)[];
    try {
      rows = events.map((e) => this.readWaiting(this.sById, 'get', e.id) as [string, number, number] | undefined);
    } catch (e) {
      throw translate(e, this.path, `checking event ids of an append to ${streamId}`);
    }
    const storedAt = rows.findIndex((r) => r !== undefined);
    if (storedAt === -1) {
      const seen = new Set<string>();
      const twice = events.find((e) => (seen.has(e.id) ? true : (seen.add(e.id), false)));
      throw new DuplicateEventId(streamId, twice?.id ?? events[0]!.id, 'the same id appears twice in one append');
    }
    const missing = rows.findIndex((r) => r === undefined);
    if (missing !== -1) {
      throw new DuplicateEventId(streamId, events[storedAt]!.id, `only some of the ${events.length} ids are already stored (not a retry)`);
    }
    const first = rows[0]!;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      if (row[0] !== streamId) throw new DuplicateEventId(streamId, events[i]!.id, `the id is already stored in stream "${row[0]}"`);
      if (row[1] !== first[1] + i) throw new DuplicateEventId(streamId, events[i]!.id, 'the ids are stored, but not consecutively in this order');
    }
    const last = rows[rows.length - 1]!;
    return { nextExpectedRevision: BigInt(last[1]), position: BigInt(last[2]) };
  }

  // ---- reads ----------------------------------------------------------------------------------

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const backwards = options.direction === 'backwards';
    const limit = options.maxCount === undefined ? -1 : Math.max(0, options.maxCount);
    if (limit === 0) return [];
    const from = options.fromRevision ?? (backwards ? 'end' : 'start');
    let rows: Row[];
    try {
      if (backwards) {
        if (from === 'start') rows = this.readWaiting(this.sStreamBwd, 'all', streamId, 0, limit) as Row[];
        else if (from === 'end') rows = this.readWaiting(this.sStreamBwd, 'all', streamId, Number.MAX_SAFE_INTEGER, limit) as Row[];
        else rows = from < 0n ? [] : (this.readWaiting(this.sStreamBwd, 'all', streamId, toNumber(from, 'revision'), limit) as Row[]);
      } else {
        if (from === 'end') return [];
        const r = from === 'start' ? 0 : from < 0n ? 0 : toNumber(from, 'revision');
        rows = this.readWaiting(this.sStreamFwd, 'all', streamId, r, limit) as Row[];
      }
    } catch (e) {
      throw translate(e, this.path, `reading ${streamId}`);
    }
    return rows.map(decodeRawEvent);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const after = options.after === undefined || options.after === 'start' ? 0 : toNumber(options.after, 'position');
    const limit = options.maxCount === undefined ? -1 : Math.max(0, options.maxCount);
    if (limit === 0) return [];
    return this.readRows(after, Number.MAX_SAFE_INTEGER, options.streamPrefixes, limit).map(decodeRawEvent);
  }

  /**
   * Only some columns of the rows in (after, until], optionally of some streams (a rebuild's
   * reading thread reads all but the data, its projecting thread the data itself), undecoded:
   * the threads decode with decodeRawEvent. Integers as bigints unless asked for numbers (no
   * bigint per value: measured 0.1–0.5 µs less per row of five columns); one column is plucked
   * (its values, no array per row: measured a third less CPU). A bulk reader scans the whole log once,
   * so it reads through a connection of its own with a small page cache: the scan neither evicts
   * the pages appends and reads keep hot nor grows the process by a full cache of pages it will
   * not read again. (Mapping the file instead, reopened every 50,000 rows so the mapped pages do
   * not pile up in the process's memory: more CPU, page faults cost more than reads.)
   */
  async readAllColumns(columns: readonly EventColumn[], options: ReadAllRawOptions = {}): Promise<unknown[]> {
    this.assertOpen();
    const after = options.after === undefined || options.after === 'start' ? 0 : toNumber(options.after, 'position');
    const upTo = options.until === undefined ? Number.MAX_SAFE_INTEGER : options.until < 0n ? 0 : toNumber(options.until, 'position');
    const limit = options.maxCount === undefined ? -1 : Math.max(0, options.maxCount);
    if (limit === 0 || upTo <= after) return [];
    const known: readonly EventColumn[] = ['position', 'stream_id', 'revision', 'event_id', 'type', 'data', 'metadata', 'created'];
    if (columns.length === 0 || columns.some((c) => !known.includes(c))) throw new RangeError(`unknown event columns: ${columns.join(', ')}`);
    const scanDb = this.scanConnection();
    const prefixes = options.streamPrefixes?.length ? options.streamPrefixes : [];
    const numbers = options.integers === 'number';
    const key = `${columns.join(',')}/${prefixes.length}/${numbers ? 'n' : 'b'}`;
    let stmt = this.scanStmts.get(key);
    if (!stmt) {
      const filter = prefixes.length === 0 ? '' : ` AND (${prefixes.map(() => 'instr(stream_id, ?) = 1').join(' OR ')})`;
      stmt = scanDb.prepare(`SELECT ${columns.join(', ')} FROM events WHERE position > ? AND position <= ?${filter} ORDER BY position LIMIT ?`);
      stmt = (columns.length === 1 ? stmt.pluck() : stmt.raw()).safeIntegers(!numbers);
      this.scanStmts.set(key, stmt);
    }
    try {
      return stmt.all(after, upTo, ...prefixes, limit);
    } catch (e) {
      throw translate(e, this.path, 'reading $all');
    }
  }

  /** readAllColumns' connection (see there), opened on first use */
  private scanConnection(): Database.Database {
    if (!this.scanDb) {
      try {
        const db = new Database(this.path, { timeout: this.busyTimeoutMs, readonly: true });
        db.pragma('cache_size = -2048');
        this.scanDb = db;
      } catch (e) {
        throw translate(e, this.path, 'opening a scan of $all');
      }
    }
    return this.scanDb;
  }

  /**
   * A rebuild reader's batch: the rows of readAllColumns(['position', 'stream_id', 'revision',
   * 'type', 'metadata'(, 'data')]), packed by SQLite into one value per column (PackedRows).
   * Measured on the bench's log: ~0.7 s less CPU per million rows than readAllColumns' row arrays
   * (a JS array and five values made per row cost more than SQLite's scan itself). The packing
   * is only trustworthy for rows whose columns have the types the store writes: `irregular`
   * counts the others, and a caller reads a batch holding any with readAllColumns instead, as it
   * does when this throws (a blob in a text column). Not in the port: only a rebuild's reading
   * thread (projections/feed.ts) needs it.
   */
  readAllPacked(options: ReadAllRawOptions & { data?: boolean } = {}): PackedRows {
    this.assertOpen();
    const after = options.after === undefined || options.after === 'start' ? 0 : toNumber(options.after, 'position');
    const upTo = options.until === undefined ? Number.MAX_SAFE_INTEGER : options.until < 0n ? 0 : toNumber(options.until, 'position');
    const limit = options.maxCount === undefined ? -1 : Math.max(0, options.maxCount);
    const empty: PackedRows = { n: 0, positions: '[]', revisions: '[]', streams: '[]', types: '[]', metadata: Buffer.alloc(0), irregular: 0 };
    if (limit === 0 || upTo <= after) return empty;
    const scanDb = this.scanConnection();
    const prefixes = options.streamPrefixes?.length ? options.streamPrefixes : [];
    const data = options.data === true;
    const key = `packed/${prefixes.length}/${data ? 'd' : '-'}`;
    let stmt = this.scanStmts.get(key);
    if (!stmt) {
      const filter = prefixes.length === 0 ? '' : ` AND (${prefixes.map(() => 'instr(stream_id, ?) = 1').join(' OR ')})`;
      // The aggregates take the rows in the subquery's order (an ORDER BY inside each aggregate
      // would sort every batch again: measured 2x the CPU); the caller checks that the positions
      // increase. Stream ids and types become JSON arrays (JSON.parse makes fresh strings of
      // them); metadata and data are joined by U+001E, which no valid JSON text holds, and come
      // as bytes: a batch's texts as one JS string (hundreds of KB, V8's large-object space)
      // cost ~1.5–2 s of CPU per million rows more than as a Buffer (measured; mostly system
      // time: fresh pages for every such string), whatever decoded it.
      stmt = scanDb
        .prepare(
          `SELECT count(*), '[' || group_concat(position) || ']', '[' || group_concat(revision) || ']', json_group_array(stream_id), json_group_array(type),` +
            ` CAST(group_concat(metadata, char(30)) AS BLOB), ${data ? 'CAST(group_concat(data, char(30)) AS BLOB)' : 'NULL'},` +
            ` sum(typeof(revision) <> 'integer' OR typeof(metadata) <> 'text'${data ? " OR typeof(data) <> 'text'" : ''})` +
            ` FROM (SELECT position, stream_id, revision, type, metadata${data ? ', data' : ''} FROM events WHERE position > ? AND position <= ?${filter} ORDER BY position LIMIT ?)`,
        )
        .raw()
        .safeIntegers(false);
      this.scanStmts.set(key, stmt);
    }
    let r: [number, string | null, string | null, string, string, Buffer | null, Buffer | null, number | null];
    try {
      r = stmt.get(after, upTo, ...prefixes, limit) as typeof r;
    } catch (e) {
      throw translate(e, this.path, 'reading $all');
    }
    if (r[0] === 0) return empty;
    return { n: r[0], positions: r[1] ?? '[]', revisions: r[2] ?? '[]', streams: r[3], types: r[4], metadata: r[5] ?? Buffer.alloc(0), ...(data ? { data: r[6] ?? Buffer.alloc(0) } : {}), irregular: r[7] ?? 0 };
  }

  /** Raw rows in (after, upTo], optionally only of some streams. */
  readRows(after: number, upTo: number, prefixes: string[] | undefined, limit: number, db = this.db, stmts = this.allStmts): Row[] {
    const n = prefixes?.length ?? 0;
    const key = String(n);
    let stmt = stmts.get(key);
    if (!stmt) {
      // instr(..) = 1 is "starts with", exact for any characters (LIKE and GLOB have wildcards).
      const filter = n === 0 ? '' : ` AND (${Array.from({ length: n }, () => 'instr(stream_id, ?) = 1').join(' OR ')})`;
      stmt = db.prepare(`SELECT ${COLUMNS} FROM events WHERE position > ? AND position <= ?${filter} ORDER BY position LIMIT ?`).raw().safeIntegers();
      stmts.set(key, stmt);
    }
    try {
      if (db !== this.db) return (n === 0 ? stmt.all(after, upTo, limit) : stmt.all(after, upTo, ...prefixes!, limit)) as Row[];
      return (n === 0 ? this.readWaiting(stmt, 'all', after, upTo, limit) : this.readWaiting(stmt, 'all', after, upTo, ...prefixes!, limit)) as Row[];
    } catch (e) {
      throw translate(e, this.path, 'reading $all');
    }
  }

  async headPosition(): Promise<bigint | 'start'> {
    this.assertOpen();
    const head = this.headSync();
    return head === 0 ? 'start' : BigInt(head);
  }

  headSync(): number {
    try {
      return (this.readWaiting(this.sHead, 'get') as number | null) ?? 0;
    } catch (e) {
      throw translate(e, this.path, 'reading the head position');
    }
  }

  // ---- subscriptions --------------------------------------------------------------------------

  subscribeToAll(options: SubscribeOptions, handler: BatchHandler): Subscription {
    this.assertOpen();
    let start: number;
    if (options.after === undefined || options.after === 'start') start = 0;
    else if (options.after === 'end') start = this.headSync();
    else start = toNumber(options.after, 'position');
    const sub = new SqliteSubscription(this, start, options, handler, this.batchSize);
    this.subscriptions.add(sub);
    this.ensurePolling();
    sub.start();
    return sub;
  }

  /** @internal */
  forget(sub: SqliteSubscription): void {
    this.subscriptions.delete(sub);
    if (this.subscriptions.size === 0 && this.pollTimer) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
    }
  }

  private ensurePolling(): void {
    if (this.pollTimer) return;
    // Another process's commit changes this connection's data_version: a cheap way to notice it.
    this.pollTimer = setInterval(() => {
      if (this.closed) return;
      let v: number;
      try {
        v = this.readWaiting(this.sDataVersion, 'get') as number;
      } catch {
        return;
      }
      if (v !== this.lastDataVersion) {
        this.lastDataVersion = v;
        this.knownHead = undefined;
        this.wakeSubscriptions();
      }
    }, this.pollIntervalMs);
  }

  private wakeSubscriptions(): void {
    for (const s of this.subscriptions) s.wake();
  }

  // ---- the shared window of recent events (see RecentLog) ------------------------------------

  /** whether any store of this process on this file has a live subscription */
  private hasPeerSubscriptions(): boolean {
    const peers = shareRecent ? storesByFile.get(this.path) : undefined;
    if (peers) for (const p of peers) for (const s of p.subscriptions) if (s.shares) return true;
    return false;
  }

  /** the live subscriptions of this process on this file, and the position the slowest has scanned to */
  private peerCursors(): { count: number; slowest: number } {
    let count = 0;
    let slowest = Number.MAX_SAFE_INTEGER;
    const peers = storesByFile.get(this.path);
    if (peers) {
      for (const p of peers) {
        for (const s of p.subscriptions) {
          if (!s.shares) continue;
          count++;
          if (s.scanned < slowest) slowest = s.scanned;
        }
      }
    }
    return { count, slowest };
  }

  /** a committed transaction's rows: kept when their positions are consecutive (nothing else lies between them) */
  private rememberCommitted(rows: Row[]): void {
    const recent = recentByFile.get(this.path);
    if (!recent) return;
    const first = Number(rows[0]![0]);
    for (let i = 1; i < rows.length; i++) if (Number(rows[i]![0]) !== first + i) return;
    recent.add(first - 1, first + rows.length - 1, rows, this.peerCursors().slowest);
  }

  /** @internal the window's events after `cursor` (see RecentLog.after), counted in readStats */
  recentAfter(cursor: number, upTo: number, limit: number, count = true): { events: RecentEvent[]; scannedTo: number } | undefined {
    const hit = recentByFile.get(this.path)?.after(cursor, upTo, limit);
    if (hit && count) this.readStats.sharedEvents += hit.events.length;
    return hit;
  }

  /** @internal drops what every subscription of this process on the file has scanned past */
  releaseRecent(): void {
    const recent = recentByFile.get(this.path);
    if (recent && recent.size > 0) recent.trim(this.peerCursors().slowest);
  }

  /**
   * @internal A subscription's read from SQLite of (after, upTo]. With other subscriptions in this
   * process on the file and a range the window can hold, the read takes every stream (filtered by
   * the caller, `filtered: false`) and the rows go into the window for the others.
   */
  readForSubscription(after: number, upTo: number, prefixes: string[] | undefined, limit: number, shares: boolean): { rows: Row[]; filtered: boolean } {
    const peers = this.peerCursors();
    const share = shares && shareRecent && peers.count > 1 && upTo - after <= RECENT_MAX_EVENTS;
    const rows = this.readRows(after, upTo, share ? undefined : prefixes, limit);
    this.readStats.sqliteQueries++;
    this.readStats.sqliteRows += rows.length;
    if (share) {
      const recent = recentByFile.get(this.path);
      const coveredTo = rows.length === limit && limit > 0 ? Number(rows[rows.length - 1]![0]) : upTo;
      recent?.add(after, coveredTo, rows, peers.slowest);
    }
    return { rows, filtered: !share };
  }

  /** `head`: the log's head after this process's commit (0: unknown, read it again) */
  private notifyPeers(head = 0): void {
    const peers = storesByFile.get(this.path);
    if (!peers) return;
    for (const p of peers) {
      p.knownHead = head > 0 && p.knownHead !== undefined && head > p.knownHead ? head : undefined;
      p.wakeSubscriptions();
    }
  }

  /**
   * The head as subscriptions see it: read once, then moved by this process's commits (which know
   * their positions) without a query per wake. Another process's commit is seen by the
   * data_version poll, which forgets it (those events wait for the poll in any case).
   */
  private knownHead: number | undefined;

  /** @internal */
  subscriptionHead(): number {
    return (this.knownHead ??= this.headSync());
  }

  // ---- stream metadata ------------------------------------------------------------------------

  async getStreamMetadata(streamId: string): Promise<StreamMetadata | undefined> {
    this.assertOpen();
    let text: string | undefined;
    try {
      text = this.readWaiting(this.sGetMeta, 'get', streamId) as string | undefined;
    } catch (e) {
      throw translate(e, this.path, `reading the metadata of ${streamId}`);
    }
    if (text === undefined) return undefined;
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new CorruptStoredEvent(`$$${streamId}`, 0n, `stream metadata is not valid JSON: ${message(e)}`);
    }
    const out: StreamMetadata = {};
    if (typeof raw.maxCount === 'number') out.maxCount = raw.maxCount;
    if (typeof raw.maxAge === 'number') out.maxAge = raw.maxAge;
    if (typeof raw.truncateBefore === 'string') out.truncateBefore = BigInt(raw.truncateBefore);
    if (typeof raw.custom === 'object' && raw.custom !== null) out.custom = raw.custom as Record<string, unknown>;
    return out;
  }

  async setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void> {
    this.assertOpen();
    const raw = {
      ...(metadata.maxCount !== undefined ? { maxCount: metadata.maxCount } : {}),
      ...(metadata.maxAge !== undefined ? { maxAge: metadata.maxAge } : {}),
      ...(metadata.truncateBefore !== undefined ? { truncateBefore: metadata.truncateBefore.toString() } : {}),
      ...(metadata.custom !== undefined ? { custom: metadata.custom } : {}),
    };
    try {
      this.withBusyHandler(this.sSetMeta, 'run', streamId, JSON.stringify(raw));
    } catch (e) {
      throw translate(e, this.path, `writing the metadata of ${streamId}`);
    }
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    if (this.closed) return;
    // appends already issued are committed (or fail) before the connection goes
    this.flush(true);
    this.closed = true;
    const checkpointer = this.checkpointer;
    this.checkpointer = undefined;
    await checkpointer?.release();
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    storesByFile.get(this.path)?.delete(this);
    if (storesByFile.get(this.path)?.size === 0) {
      storesByFile.delete(this.path);
      recentByFile.delete(this.path);
    }
    this.scanDb?.close();
    this.scanDb = undefined;
    try {
      // the last connection to close checkpoints the WAL away: let it wait for the lock as before
      this.busyHandler(true);
    } catch {
      /* closing anyway */
    }
    this.db.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailable(`event store ${this.path} is closed`);
  }

  // ---- atomic multi-stream append (port.ts appendToStreams) -------------------------------------
  //
  // The command handler's uniqueness claims and the aggregate's events in ONE transaction, so no
  // crash can leave a claim without its aggregate. Queued in the group commit like any append: its
  // streams are appended in one savepoint of the group's transaction, all or nothing (measured:
  // creates from 8 clients committed one transaction each cost ~13% of a create's CPU).

  async appendToStreams(appends: StreamAppend[]): Promise<AppendResult[]> {
    this.assertOpen();
    if (appends.length === 0) return [];
    const first = appends[0]!;
    return new Promise<AppendResult[]>((resolve, reject) => {
      this.pending.push({
        streamId: first.streamId,
        events: first.events,
        expected: first.expected,
        resolve: () => undefined,
        reject,
        since: performance.now(),
        atomic: { appends, resolveAll: resolve },
      });
      this.scheduleFlush(0);
    });
  }
}

const eventCount = (p: PendingAppend): number => (p.atomic ? p.atomic.appends.reduce((n, a) => n + a.events.length, 0) : p.events.length);

/** Thrown inside the transaction to leave it and run the retry analysis outside. */
const uniqueEventIdMarker = Object.assign(new Error('event_id already stored'), { code: 'SQLITE_CONSTRAINT_UNIQUE' });

/** The append reuses a stored event id: a retry of a stored append, or DuplicateEventId (retriedAppend). */
const isUniqueEventId = (e: unknown): boolean =>
  e === uniqueEventIdMarker || (errorCode(e) === 'SQLITE_CONSTRAINT_UNIQUE' && /event_id/.test(message(e)));

/**
 * Catch-up then live, in one loop: read the next batch after the cursor; deliver it; when a read
 * comes back short the subscription has caught up and waits to be woken (own append, a peer
 * store's append in this process, or the data_version poll seeing another process's commit).
 */
class SqliteSubscription implements Subscription {
  readonly caughtUp: Promise<void>;
  private resolveCaughtUp!: () => void;
  private rejectCaughtUp!: (e: Error) => void;
  private isCaughtUp = false;
  /** scanned up to here (with a filter this runs ahead of the last delivered event) */
  private cursor: number;
  private delivered: bigint | 'start';
  private stopped = false;
  private inHandler = false;
  private woken = false;
  private waiter: (() => void) | undefined;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: SqliteEventStore,
    start: number,
    private readonly options: SubscribeOptions,
    private readonly handler: BatchHandler,
    private readonly batchSize: number,
  ) {
    this.cursor = start;
    this.shares = options.mutatesEvents !== true;
    this.delivered = start === 0 ? 'start' : BigInt(start);
    this.caughtUp = new Promise<void>((res, rej) => {
      this.resolveCaughtUp = res;
      this.rejectCaughtUp = rej;
    });
    this.caughtUp.catch(() => {
      /* awaited or not, a failed subscription also reports through onError */
    });
  }

  lastPosition = (): bigint | 'start' => this.delivered;

  /** @internal whether this subscription takes (and gives) events of the shared window: not when its handler changes them */
  readonly shares: boolean;

  /** @internal the position this subscription has scanned up to (the shared window keeps what follows) */
  get scanned(): number {
    return this.cursor;
  }

  start(): void {
    this.done = this.run();
  }

  wake(): void {
    this.woken = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.store.forget(this);
      if (!this.isCaughtUp) this.rejectCaughtUp(new Error('subscription stopped before it caught up'));
      this.wake();
    }
    // From inside the handler, waiting for the loop would wait for ourselves.
    if (!this.inHandler) await this.done;
  }

  private async run(): Promise<void> {
    const prefixes = this.options.streamPrefixes?.length ? this.options.streamPrefixes : undefined;
    try {
      const select = this.options.select;
      while (!this.stopped) {
        this.woken = false;
        const head = this.store.subscriptionHead();
        // Events before a corrupt one are still delivered (so a checkpoint can reach it); then the
        // subscription stops on it: a corrupt event is never skipped.
        let corrupt: unknown;
        const events: RecordedEvent[] = [];
        /** everything up to here has been looked at */
        let scannedTo = Math.max(this.cursor, head);
        let full = false;
        // what follows the cursor from the process's shared window of recent events if it holds it,
        // else from SQLite
        let hit = head > this.cursor && this.shares ? this.store.recentAfter(this.cursor, head, this.batchSize) : undefined;
        let read: { rows: Row[]; filtered: boolean } | undefined;
        if (!hit && head > this.cursor) {
          read = this.store.readForSubscription(this.cursor, head, prefixes, this.batchSize, this.shares);
          // rows taken into the window are decoded there, once for every subscriber
          if (!read.filtered) hit = this.store.recentAfter(this.cursor, head, this.batchSize, false);
        }
        if (hit) {
          for (const e of hit.events) {
            if (prefixes && !startsWithAny(e.streamId, prefixes)) continue;
            if (select && !select(e.streamId, e.revision, e.type)) continue;
            try {
              events.push(e.decode());
            } catch (err) {
              corrupt = err;
              break;
            }
          }
          scannedTo = hit.scannedTo;
          full = hit.events.length === this.batchSize;
        } else if (read) {
          const { rows, filtered } = read;
          full = rows.length === this.batchSize;
          if (full) scannedTo = Number(rows[rows.length - 1]![0]);
          for (const row of rows) {
            if (!filtered && prefixes && !startsWithAny(row[1], prefixes)) continue;
            if (select && !select(row[1], row[2], row[4])) continue;
            try {
              events.push(decodeRawEvent(row));
            } catch (e) {
              corrupt = e;
              break;
            }
          }
        }
        if (events.length > 0) {
          this.inHandler = true;
          try {
            await this.handler(events);
          } finally {
            this.inHandler = false;
          }
          this.delivered = events[events.length - 1]!.position;
        }
        if (corrupt !== undefined) throw corrupt;
        this.cursor = scannedTo;
        if (hit) this.store.releaseRecent();
        if (this.stopped) break;
        if (full) {
          // let timers and I/O run between batches of a long catch-up
          await new Promise<void>((r) => setImmediate(r));
          continue;
        }
        // the window ended before the head: read the rest at once
        if (scannedTo < head) continue;
        if (!this.isCaughtUp) {
          this.isCaughtUp = true;
          this.resolveCaughtUp();
          this.options.onCaughtUp?.();
          continue; // something may have arrived while onCaughtUp ran
        }
        if (!this.woken) await new Promise<void>((r) => (this.waiter = r));
      }
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      const wasStopped = this.stopped;
      this.stopped = true;
      this.store.forget(this);
      if (!this.isCaughtUp) this.rejectCaughtUp(err);
      if (wasStopped) return;
      if (this.options.onError) this.options.onError(err);
      else process.stderr.write(`event store subscription failed: ${err.stack ?? err.message}\n`);
    }
  }
}

export const openSqliteEventStore = (options: SqliteEventStoreOptions): SqliteEventStore => new SqliteEventStore(options);
