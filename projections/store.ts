// The read-model database: one SQLite file (`<dataDir>/readmodels.sqlite`, WAL) holding every
// read model's tables and one checkpoint row per model. Checkpoints are written in the same
// transaction as the changes they cover, so a restart resumes exactly where the last commit was.
//
// The schema is versioned by a hash of every model's DDL: when the models change, the file is
// emptied and the projector rebuilds it from the log (read models are disposable by design).

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { acquireCheckpointer, FALLBACK_AUTOCHECKPOINT_PAGES, type Checkpointer } from '../eventstore/sqlite-checkpointer.ts';
import type { ProjectionModel } from './model.ts';

export type Checkpoint = bigint | 'start';

/** bump when a model's stored encoding changes without its DDL changing (the files get rebuilt) */
const schemaRevision = 2;

export interface OpenOptions {
  /** a fresh file being rebuilt: no durability needed until it is swapped in */
  bulk?: boolean;
}

export class ReadModelDb {
  private readonly readCheckpoints: Database.Statement<[], { name: string; position: bigint }>;
  // one statement each for all the models (the projector checks and moves every model's
  // checkpoint on each batch it writes: a query and an upsert per model were ~1.5% of a create)
  private readonly lowestCheckpoint: Database.Statement<string[], { n: bigint; p: bigint | null }>;
  private readonly upsertCheckpoints: Database.Statement<unknown[]>;
  private readonly upsertCheckpoint: Database.Statement<[string, bigint]>;
  private readonly dataVersion: Database.Statement<[], number>;
  private readonly modelNames: string[];

  private constructor(
    readonly file: string,
    readonly db: Database.Database,
    readonly models: readonly ProjectionModel[],
    /** true when the schema was (re)created on open: the models start from the beginning */
    readonly reset: boolean,
  ) {
    this.readCheckpoints = db.prepare<[], { name: string; position: bigint }>('SELECT name, position FROM checkpoints').safeIntegers(true);
    this.modelNames = [...new Set(models.map((m) => m.name))];
    const marks = this.modelNames.map(() => '?').join(', ');
    this.lowestCheckpoint = db
      .prepare<string[], { n: bigint; p: bigint | null }>(`SELECT count(*) AS n, min(position) AS p FROM checkpoints WHERE name IN (${marks})`)
      .safeIntegers(true);
    this.dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
    this.upsertCheckpoint = db.prepare<[string, bigint]>(
      'INSERT INTO checkpoints (name, position) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET position = excluded.position',
    );
    this.upsertCheckpoints = db.prepare<unknown[]>(
      `INSERT INTO checkpoints (name, position) VALUES ${this.modelNames.map(() => '(?, @position)').join(', ')} ON CONFLICT(name) DO UPDATE SET position = excluded.position`,
    );
  }

  static schemaVersion(models: readonly ProjectionModel[]): string {
    const h = createHash('sha256').update(String(schemaRevision));
    for (const m of models) h.update(`\0${m.name}\0${m.ddl.join('\n')}`);
    return h.digest('hex').slice(0, 16);
  }

  static open(file: string, models: readonly ProjectionModel[], options: OpenOptions = {}): ReadModelDb {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const db = new Database(file, { timeout: 5000 });
    try {
      if (options.bulk) {
        // before anything is written: documents and timeline chunks are ~2 KiB, so a 4 KiB page
        // holds one of them and stays half empty (measured: the timeline's inserts 3x slower,
        // the file 1.7x larger than with 16 KiB pages)
        db.pragma('page_size = 16384');
        db.pragma('journal_mode = OFF');
        db.pragma('synchronous = OFF');
        db.pragma('cache_size = -16384');
      } else {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        // checkpoints run in a worker (noteCommit); this only bounds the WAL if that falls behind
        db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
      }
      db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
      const version = ReadModelDb.schemaVersion(models);
      const row = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'schema'").get();
      let reset = false;
      if (row?.value !== version) {
        db.transaction(() => {
          const tables = db
            .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'meta' AND name NOT LIKE 'sqlite_%'")
            .all();
          for (const t of tables) db.exec(`DROP TABLE "${t.name}"`);
          db.exec('CREATE TABLE checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL)');
          for (const m of models) for (const stmt of m.ddl) db.exec(stmt);
          db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(version);
        }).immediate();
        reset = true;
      }
      return new ReadModelDb(file, db, models, reset);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Per-model checkpoints (a model with no row has seen nothing). */
  checkpoints(): Map<string, Checkpoint> {
    const out = new Map<string, Checkpoint>();
    for (const m of this.models) out.set(m.name, 'start');
    for (const r of this.readCheckpoints.all()) if (out.has(r.name)) out.set(r.name, r.position);
    return out;
  }

  /**
   * SQLite's count of commits by OTHER connections to this file: unchanged means nobody but this
   * connection wrote since it was last read (and nothing it read can have moved).
   */
  othersCommits(): number {
    return this.dataVersion.get() as number;
  }

  /** The position every model has reached: the lowest of their checkpoints. */
  checkpoint(): Checkpoint {
    if (this.modelNames.length === 0) return 'start';
    const r = this.lowestCheckpoint.get(...this.modelNames);
    // a model without a row has seen nothing
    return r === undefined || r.p === null || Number(r.n) < this.modelNames.length ? 'start' : r.p;
  }

  /**
   * Ends a bulk build: gives the file a journal again. The indexes were there from the start: the
   * tables are small next to the log (a row per aggregate, per history record, per 32 timeline
   * entries), so keeping them up to date costs no more than building them at the end, and it
   * happens while the log is still being read instead of after it (measured: ~0.5 s less per
   * million events).
   */
  finishBulk(): void {
    this.db.pragma('journal_mode = DELETE');
  }

  /** Only inside a transaction, together with the changes up to `position`. */
  writeCheckpoint(position: bigint, models: readonly ProjectionModel[] = this.models): void {
    if (models === this.models) {
      if (this.modelNames.length > 0) this.upsertCheckpoints.run(...this.modelNames, { position });
      return;
    }
    for (const m of models) this.upsertCheckpoint.run(m.name, position);
  }

  private checkpointer: Checkpointer | undefined;

  /**
   * A live commit wrote about `frames` pages: WAL checkpoints run in a worker thread, as the event
   * store's do (eventstore/sqlite-checkpointer.ts), not in the committing flush (measured: ~2% of
   * the API's main thread per create went to checkpoints and their fsyncs).
   */
  noteCommit(frames: number): void {
    (this.checkpointer ??= acquireCheckpointer(this.file, 'NORMAL')).wroteFrames(frames);
  }

  close(): void {
    void this.checkpointer?.release();
    this.checkpointer = undefined;
    if (this.db.open) this.db.close();
  }
}

/** Removes a read-model file and its WAL companions. */
export const removeDbFiles = (file: string): void => {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) fs.rmSync(f, { force: true });
};
