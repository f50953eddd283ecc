// Rebuilding read models from the log into a fresh file, comparing two read-model files, and
// swapping a rebuilt file in place of the live one.

import * as fs from 'node:fs';
import Database from 'better-sqlite3';
import type { EventStore } from '../eventstore/port.ts';
import type { ProjectionDomain } from './domain-port.ts';
import { acquireLease } from './lease.ts';
import type { ProjectionModel } from './model.ts';
import { Projector } from './projector.ts';
import { ReadModelDb, removeDbFiles, type Checkpoint } from './store.ts';

export interface RebuildOptions {
  store: EventStore;
  domain: ProjectionDomain;
  models: readonly ProjectionModel[];
  /** the fresh file to build (removed first) */
  file: string;
  /** stop at this position (inclusive) instead of the end of the log */
  until?: bigint;
  maxPendingEvents?: number;
}

export interface RebuildResult {
  position: Checkpoint;
  events: number;
  ms: number;
}

/** Builds every read model from the log into `file`; the file is closed and ready when this resolves. */
export const rebuild = async (o: RebuildOptions): Promise<RebuildResult> => {
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
