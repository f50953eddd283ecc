// Rebuilding read models from the log into a fresh file, comparing two read-model files, and
// swapping a rebuilt file in place of the live one.

import * as fs from 'node:fs';
import { typescriptWorker } from '../runtime/typescript-worker.ts';
import { defaultReadModelSettings, type ReadModelSettings } from './index.ts';
import Database from 'better-sqlite3';
import { CorruptStoredEvent } from '../eventstore/errors.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { ProjectionDomain } from './domain-port.ts';
import { ProjectionError } from './errors.ts';
import { batchArrays, feedPartitions, FeedSink, isFeedAck, newFeedCounter, type FeedMessage } from './feed.ts';
import { acquireLease } from './lease.ts';
import type { ProjectionModel } from './model.ts';
import { Projector } from './projector.ts';
import { sourcePrefix, type SourceKind } from './sources.ts';
import { ReadModelDb, removeDbFiles, type Checkpoint } from './store.ts';

/** Where the event store is, so worker threads can open their own connections. */
export interface StoreLocation {
  dataDir: string;
  eventstoreUrl?: string;
}

export interface RebuildOptions {
  store: EventStore;
  domain: ProjectionDomain;
  models: readonly ProjectionModel[];
  /** the fresh file to build (removed first) */
  file: string;
  /** stop at this position (inclusive) instead of the end of the log */
  until?: bigint;
  maxPendingEvents?: number;
  /**
   * Rebuild in this many worker threads, each projecting a partition of the streams (by the
   * first hex digit of the node uuid) into its own file, merged at the end. Needs `location`; the
   * workers load the production domain and models. When the store can be read raw
   * (`readAllColumns`: SQLite), this thread reads the log once and feeds every worker (feed.ts), so
   * even one worker means reading and projecting on two cores; otherwise each worker subscribes
   * through its own connection. 0 or no `location`: in this thread.
   */
  workers?: number;
  location?: StoreLocation;
  /** what the workers build their read models with: the settings `models` were made with (readModels) */
  settings?: ReadModelSettings;
  /**
   * events per read and per batch handed to a worker (default 2,000: each read is a statement and
   * a read transaction on both threads; measured ~5% less CPU than 500, same peak memory)
   */
  batchSize?: number;
}

export interface RebuildResult {
  position: Checkpoint;
  events: number;
  ms: number;
}

/** Builds every read model from the log into `file`; the file is closed and ready when this resolves. */
export const rebuild = async (o: RebuildOptions): Promise<RebuildResult> => {
  if ((o.workers ?? 0) >= 1 && o.location) return rebuildParallel(o, o.location, o.workers!);
  removeDbFiles(o.file);
  const db = ReadModelDb.open(o.file, o.models, { bulk: true });
  const started = performance.now();
  const projector = new Projector({ store: o.store, db, domain: o.domain, until: o.until, bulk: true, maxPendingEvents: o.maxPendingEvents });
  try {
    projector.start();
    // with `until`, events after it are read and ignored: the log's end is past it anyway
    await projector.caughtUp;
    await projector.stop();
    const err = projector.error();
    if (err) throw err;
    db.finishBulk();
    return { position: projector.position(), events: projector.applied(), ms: performance.now() - started };
  } finally {
    await projector.stop().catch(() => undefined);
    db.close();
  }
};

// ---- parallel rebuild ------------------------------------------------------------------------

/** What one worker does (rebuild-worker.ts). Bigints travel as strings. */
export interface PartitionJob {
  location: StoreLocation;
  file: string;
  prefixes: string[];
  until: string | null;
  batchSize: number;
  /** the main thread feeds the log's rows (feed.ts); otherwise the worker subscribes itself */
  fed: boolean;
  /** the fed worker's count of handled batches (shared memory, see feed.ts) */
  counter?: Int32Array;
  /** the worker's read models are readModels(settings), as the caller's are */
  settings: ReadModelSettings;
}

const hexGroups = (n: number): string[][] => {
  const digits = '0123456789abcdef';
  const groups: string[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < 16; i++) {
    const g = Math.floor((i * n) / 16);
    groups[g].push(digits[i]);
    if (i >= 10) groups[g].push(digits[i].toUpperCase());
  }
  return groups;
};

/**
 * Stream prefixes per partition. Node streams (by far the most events) are split by the first
 * hex digit of the node uuid; every other followed stream goes to partition 0. Aggregate ids are
 * uuids, so every followed stream falls in exactly one partition.
 */
export const partitionPrefixes = (kinds: readonly SourceKind[], n: number): string[][] => {
  if (n <= 1) return [kinds.map(sourcePrefix)];
  const groups = hexGroups(n);
  return groups.map((digits, i) => [
    ...(kinds.includes('node') ? digits.map((d) => `${sourcePrefix('node')}${d}`) : []),
    ...(i === 0 ? kinds.filter((k) => k !== 'node').map(sourcePrefix) : []),
  ]);
};

interface WorkerOutcome {
  ok: boolean;
  events?: number;
  position?: string;
  error?: { name: string; message: string; stack?: string; kind?: string; streamId?: string; revision?: string; reason?: string };
}

interface RunningWorker {
  result: Promise<{ events: number; position: Checkpoint }>;
  /** the main thread's end of the worker's feed (fed jobs only) */
  sink?: FeedSink;
  terminate(): void;
}

/**
 * batches of a fed worker waiting to be handled, memory bounded (~0.6 MB a batch). Enough for the
 * reader to keep reading while the worker starts (loading its modules takes it ~0.6 s): with 16
 * the reader waited ~0.64 s for it, with 64 mostly not at all (measured); once started, the
 * worker handles a batch faster than the reader makes one, so few wait after that.
 */
const maxInFlight = 64;

const startWorker = (job: PartitionJob): RunningWorker => {
  const worker = typescriptWorker(new URL('./rebuild-worker.ts', import.meta.url), {
    workerData: job,
    // aggregate states live for thousands of events: a larger young generation lets most die
    // young instead of being promoted (less GC), without letting the heap balloon
    resourceLimits: { maxYoungGenerationSizeMb: 32 },
  });
  const sink = job.counter
    ? new FeedSink((m: FeedMessage) => {
        // the typed arrays are handed over, not copied
        worker.postMessage(m, m.feed === 'rows' ? batchArrays(m.batch) : []);
      }, job.counter, maxInFlight)
    : undefined;
  const result = new Promise<{ events: number; position: Checkpoint }>((resolve, reject) => {
    let settled = false;
    worker.on('message', (m: WorkerOutcome | unknown) => {
      if (isFeedAck(m)) {
        sink?.acked();
        return;
      }
      const o = m as WorkerOutcome;
      settled = true;
      sink?.close();
      if (o.ok) resolve({ events: o.events ?? 0, position: o.position === undefined || o.position === 'start' ? 'start' : BigInt(o.position) });
      else if (o.error?.streamId !== undefined) {
        const [stream, revision, reason] = [o.error.streamId, BigInt(o.error.revision ?? '0'), o.error.reason ?? o.error.message];
        reject(o.error.kind === 'CorruptStoredEvent' ? new CorruptStoredEvent(stream, revision, reason) : new ProjectionError(stream, revision, reason));
      }
      else reject(Object.assign(new Error(o.error?.message ?? 'rebuild worker failed'), { name: o.error?.name ?? 'Error', stack: o.error?.stack }));
      void worker.terminate();
    });
    worker.on('error', (err) => {
      sink?.close();
      if (!settled) reject(err);
      settled = true;
    });
    worker.on('exit', (code) => {
      sink?.close();
      if (!settled) reject(new Error(`rebuild worker exited with code ${code} before reporting`));
    });
  });
  result.catch(() => undefined);
  return { result, sink, terminate: () => void worker.terminate() };
};

const tablesOf = (models: readonly ProjectionModel[]): string[] =>
  models.flatMap((m) => m.ddl.flatMap((stmt) => /^\s*CREATE\s+TABLE\s+(\w+)/i.exec(stmt)?.[1] ?? []));

const rebuildParallel = async (o: RebuildOptions, location: StoreLocation, workers: number): Promise<RebuildResult> => {
  const started = performance.now();
  removeDbFiles(o.file);
  // every partition stops at the same point of the log, so their union is one consistent state
  const head = o.until ?? (await o.store.headPosition());
  if (head === 'start') {
    const db = ReadModelDb.open(o.file, o.models, { bulk: true });
    db.finishBulk();
    db.close();
    return { position: 'start', events: 0, ms: performance.now() - started };
  }
  const kinds = [...new Set(o.models.flatMap((m) => m.kinds))].filter((k) => k !== 'conductor');
  const store = o.store;
  const fed = typeof store.readAllColumns === 'function';
  const batchSize = o.batchSize ?? 2000;
  const parts = partitionPrefixes(kinds, workers).map((prefixes, i): PartitionJob => ({
    location,
    file: `${o.file}.part${i}`,
    prefixes,
    until: String(head),
    batchSize,
    fed,
    counter: fed ? newFeedCounter() : undefined,
    settings: o.settings ?? defaultReadModelSettings(),
  }));
  const running = parts.map(startWorker);
  try {
    if (fed) {
      const sinks = running.map((r) => r.sink!);
      await feedPartitions({ store: store as Parameters<typeof feedPartitions>[0]['store'], prefixes: parts.map((p) => p.prefixes), sinks, until: head, batchSize });
    }
    const results = await Promise.all(running.map((r) => r.result));
    fs.renameSync(parts[0].file, o.file);
    const db = ReadModelDb.open(o.file, o.models, { bulk: true });
    try {
      const tables = tablesOf(o.models);
      for (const [i, part] of parts.entries()) {
        if (i === 0) continue;
        db.db.prepare('ATTACH DATABASE ? AS part').run(part.file);
        db.db.exec('BEGIN');
        for (const t of tables) db.db.exec(`INSERT INTO main."${t}" SELECT * FROM part."${t}"`);
        db.db.exec('COMMIT');
        db.db.exec('DETACH DATABASE part');
      }
      db.db.exec('BEGIN');
      let position: Checkpoint = 'start';
      for (const r of results) if (r.position !== 'start' && (position === 'start' || r.position > position)) position = r.position;
      if (position !== 'start') db.writeCheckpoint(position);
      db.db.exec('COMMIT');
      db.finishBulk();
      return { position, events: results.reduce((n, r) => n + r.events, 0), ms: performance.now() - started };
    } finally {
      db.close();
    }
  } finally {
    for (const r of running) r.terminate();
    for (const p of parts) removeDbFiles(p.file);
  }
};

// ---- comparison ----------------------------------------------------------------------------

type Row = Record<string, unknown>;

const show = (v: unknown): string => {
  const s = typeof v === 'bigint' ? v.toString() : JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > 200 ? `${s.slice(0, 200)}…` : s;
};

/** Paths where two JSON values differ (objects and arrays recursively). */
const jsonDiff = (a: unknown, b: unknown, path: string, out: string[]): void => {
  if (a === b) return;
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) jsonDiff(a[k], b[k], Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`, out);
    return;
  }
  out.push(`${path}: live=${show(a)} rebuilt=${show(b)}`);
};

const parseMaybe = (v: unknown): unknown => {
  if (typeof v !== 'string' || (v[0] !== '{' && v[0] !== '[')) return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
};

const readTable = (db: Database.Database, table: string, key: string): Map<string, Row> => {
  const keyCols = key.split(',').map((k) => k.trim());
  const rows = db.prepare(`SELECT * FROM "${table}" ORDER BY ${key}`).safeIntegers(true).all() as Row[];
  return new Map(rows.map((r) => [keyCols.map((k) => String(r[k])).join('/'), r]));
};

/**
 * Every difference between the live and the rebuilt read models: schema, checkpoints, and each
 * model's tables row by row (documents compared field by field).
 */
export const compareReadModels = (live: Database.Database, rebuilt: Database.Database, models: readonly ProjectionModel[]): string[] => {
  const diffs: string[] = [];
  const schema = (db: Database.Database) => db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'schema'").get()?.value;
  if (schema(live) !== schema(rebuilt)) {
    diffs.push(`schema: live=${show(schema(live))} rebuilt=${show(schema(rebuilt))} (the live file was built by other read-model code)`);
    return diffs;
  }
  const tables: { name: string; key: string; rows?: (db: Database.Database) => Map<string, Row> }[] = [
    { name: 'checkpoints', key: 'name' },
    ...models.flatMap((m) => m.tables),
  ];
  for (const t of tables) {
    const read = t.rows ?? ((db: Database.Database) => readTable(db, t.name, t.key));
    const a = read(live);
    const b = read(rebuilt);
    for (const [k, ra] of a) {
      const rb = b.get(k);
      if (!rb) {
        diffs.push(`${t.name}[${k}]: only in the live read models`);
        continue;
      }
      for (const col of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
        const va = ra[col];
        const vb = rb[col];
        if (va === vb) continue;
        const pa = parseMaybe(va);
        const pb = parseMaybe(vb);
        if (typeof pa === 'object' && pa !== null && typeof pb === 'object' && pb !== null) {
          const out: string[] = [];
          jsonDiff(pa, pb, `${t.name}[${k}].${col}`, out);
          diffs.push(...out);
        } else diffs.push(`${t.name}[${k}].${col}: live=${show(va)} rebuilt=${show(vb)}`);
      }
    }
    for (const k of b.keys()) if (!a.has(k)) diffs.push(`${t.name}[${k}]: missing from the live read models`);
  }
  return diffs;
};

// ---- swapping ------------------------------------------------------------------------------

/**
 * Puts a rebuilt file in place of the live one. Refuses while a projector holds the live file
 * (ReadModelsBusy): the running service would keep writing the old one.
 */
export const swapIn = (rebuiltFile: string, liveFile: string): void => {
  const lease = acquireLease(liveFile);
  try {
    if (fs.existsSync(liveFile)) {
      // fold the live WAL back so no stale -wal file can be applied to the new database
      const old = new Database(liveFile, { timeout: 5000 });
      try {
        old.pragma('wal_checkpoint(TRUNCATE)');
        old.pragma('journal_mode = DELETE');
      } catch (e) {
        throw new Error(`cannot replace ${liveFile}: another process has it open (${(e as Error).message}); stop ironlog first`);
      } finally {
        old.close();
      }
    }
    for (const f of [`${liveFile}-wal`, `${liveFile}-shm`, `${liveFile}-journal`]) fs.rmSync(f, { force: true });
    fs.renameSync(rebuiltFile, liveFile);
    for (const f of [`${rebuiltFile}-wal`, `${rebuiltFile}-shm`, `${rebuiltFile}-journal`]) fs.rmSync(f, { force: true });
  } finally {
    lease.release();
  }
};
