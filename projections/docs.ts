// The generic documents table of one aggregate kind: each row is the domain's folded state of one
// aggregate (evolve over its whole stream), with the stream revision and global position it has
// reached, its creation order (`seq` = global position of the stream's first event, which is
// Ironic's "id" sort order) and secondary index columns derived from the state.
// The state stays in a bounded in-memory cache between batches, so a batch re-reads and re-parses
// nothing it already has; dirty documents are written once per flush.

import type Database from 'better-sqlite3';
import type { SourceKind } from './sources.ts';
import type { RecordedEvent } from '../eventstore/port.ts';
import type { ComparedTable, StateModel, StateOwner } from './model.ts';
import { ProjectionError } from './errors.ts';

export type ColumnValue = string | number | bigint | null;

export interface ColumnSpec<S> {
  name: string;
  type: 'TEXT' | 'INTEGER' | 'REAL';
  get: (state: S) => ColumnValue;
  /** create a secondary index on the column */
  index?: boolean;
  collate?: 'NOCASE';
}

export interface DocsSpec<S> {
  /** model name (checkpoint row) */
  name: string;
  kind: SourceKind;
  table: string;
  columns: readonly ColumnSpec<S>[];
  /** false before creation and after deletion: such rows are kept (to continue the fold) but hidden */
  exists: (state: S) => boolean;
  /** other kinds the model wants to hear about (none for a plain docs model) */
  serialize?: (state: S) => string;
  deserialize?: (text: string) => S;
  /** extra DDL (e.g. companion tables) */
  extraDdl?: readonly string[];
}

interface Entry {
  id: string;
  seq: bigint;
  /** stream revisions stay far below 2^53: a number is cheaper than a bigint on the hot path */
  revision: number;
  position: bigint;
  state: unknown;
  dirty: boolean;
}

interface Row {
  seq: bigint;
  revision: bigint;
  position: bigint;
  doc: string;
}

const maxCached = 200_000;

export const docsDdl = <S>(spec: DocsSpec<S>): string[] => {
  const cols = spec.columns.map((c) => `"${c.name}" ${c.type}${c.collate ? ` COLLATE ${c.collate}` : ''}`);
  return [
    `CREATE TABLE ${spec.table} (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, revision INTEGER NOT NULL, position INTEGER NOT NULL, live INTEGER NOT NULL, doc TEXT NOT NULL${cols.length ? ', ' + cols.join(', ') : ''})`,
    `CREATE INDEX ${spec.table}_seq ON ${spec.table} (live, seq)`,
    ...spec.columns.filter((c) => c.index).map((c) => `CREATE INDEX ${spec.table}_${c.name} ON ${spec.table} ("${c.name}")`),
    ...(spec.extraDdl ?? []),
  ];
};

export class DocsWriter<S> implements StateOwner {
  readonly kind: SourceKind;
  private readonly cache = new Map<string, Entry>();
  private readonly dirty: Entry[] = [];
  private readonly select: Database.Statement<[string], Row>;
  private readonly upsert: Database.Statement<unknown[]>;
  private readonly serialize: (s: S) => string;
  private readonly deserialize: (t: string) => S;

  constructor(
    private readonly spec: DocsSpec<S>,
    db: Database.Database,
  ) {
    this.kind = spec.kind;
    this.select = db.prepare<[string], Row>(`SELECT seq, revision, position, doc FROM ${spec.table} WHERE id = ?`).safeIntegers(true);
    const names = ['id', 'seq', 'revision', 'position', 'live', 'doc', ...spec.columns.map((c) => `"${c.name}"`)];
    this.upsert = db.prepare<unknown[]>(
      `INSERT OR REPLACE INTO ${spec.table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`,
    );
    this.serialize = spec.serialize ?? ((s) => JSON.stringify(s));
    this.deserialize = spec.deserialize ?? ((t) => JSON.parse(t) as S);
  }

  private load(id: string): Entry | undefined {
    const cached = this.cache.get(id);
    if (cached) return cached;
    const row = this.select.get(id);
    if (!row) return undefined;
    const entry: Entry = { id, seq: row.seq, revision: Number(row.revision), position: row.position, state: this.deserialize(row.doc), dirty: false };
    this.cache.set(id, entry);
    return entry;
  }

  fold(rec: RecordedEvent, id: string, event: unknown, evolve: (s: unknown, e: unknown) => unknown, initial: () => unknown): { before: unknown; after: unknown } {
    const revision = Number(rec.revision);
    // a stream's first event makes its document: nothing to read (a create skips one query)
    let entry = revision === 0 ? this.cache.get(id) : this.load(id);
    if (entry === undefined) {
      if (revision !== 0) {
        throw new ProjectionError(rec.streamId, rec.revision, `the read model has no earlier event of this stream (expected revision 0)`);
      }
      entry = { id, seq: rec.position, revision: -1, position: rec.position, state: initial(), dirty: false };
      this.cache.set(id, entry);
    } else if (revision !== entry.revision + 1) {
      throw new ProjectionError(rec.streamId, rec.revision, `out of order: the read model is at revision ${entry.revision}`);
    }
    const before = entry.state;
    const after = evolve(before, event);
    // creation order: a uuid deleted and created again sorts where it was created last
    if (revision !== 0 && !this.spec.exists(before as S) && this.spec.exists(after as S)) entry.seq = rec.position;
    entry.state = after;
    entry.revision = revision;
    entry.position = rec.position;
    if (!entry.dirty) {
      entry.dirty = true;
      this.dirty.push(entry);
    }
    return { before, after };
  }

  flush(): void {
    const cols = this.spec.columns;
    for (const e of this.dirty) {
      const s = e.state as S;
      const values: unknown[] = [e.id, e.seq, e.revision, e.position, this.spec.exists(s) ? 1 : 0, this.serialize(s)];
      for (const c of cols) values.push(c.get(s));
      this.upsert.run(values);
    }
  }

  spill(): void {
    if (this.cache.size <= maxCached) return;
    this.flush();
    this.committed();
  }

  /** called by the projector once the flush has committed */
  committed(): void {
    for (const e of this.dirty) e.dirty = false;
    this.dirty.length = 0;
    if (this.cache.size > maxCached) this.cache.clear();
  }

  reset(): void {
    this.cache.clear();
    this.dirty.length = 0;
  }
}

export const docsModel = <S>(spec: DocsSpec<S>): StateModel & { spec: DocsSpec<S> } => {
  const tables: ComparedTable[] = [{ name: spec.table, key: 'id' }];
  return {
    name: spec.name,
    kinds: [spec.kind],
    owns: spec.kind,
    spec,
    ddl: docsDdl(spec),
    tables,
    attach: (db) => new DocsWriter(spec, db),
  };
};

// ---- reading -----------------------------------------------------------------------------------

export interface DocRow<S> {
  id: string;
  seq: number;
  revision: number;
  position: number;
  state: S;
}

/** Reads one live document by id. */
export const getDoc = <S>(db: Database.Database, spec: DocsSpec<S>, id: string): S | undefined => {
  const row = db.prepare<[string], { doc: string }>(`SELECT doc FROM ${spec.table} WHERE id = ? AND live = 1`).get(id);
  return row ? (spec.deserialize ?? ((t: string) => JSON.parse(t) as S))(row.doc) : undefined;
};

/** Reads the live documents whose column equals a value, in creation order. */
export const findDocs = <S>(db: Database.Database, spec: DocsSpec<S>, column: string, value: ColumnValue): S[] => {
  if (!spec.columns.some((c) => c.name === column)) throw new Error(`${spec.table} has no column ${column}`);
  const parse = spec.deserialize ?? ((t: string) => JSON.parse(t) as S);
  return db
    .prepare<[ColumnValue], { doc: string }>(`SELECT doc FROM ${spec.table} WHERE "${column}" IS ? AND live = 1 ORDER BY seq`)
    .all(value)
    .map((r) => parse(r.doc));
};

/** All live documents in creation order. */
export const allDocs = <S>(db: Database.Database, spec: DocsSpec<S>): S[] => {
  const parse = spec.deserialize ?? ((t: string) => JSON.parse(t) as S);
  return db
    .prepare<[], { doc: string }>(`SELECT doc FROM ${spec.table} WHERE live = 1 ORDER BY seq`)
    .all()
    .map((r) => parse(r.doc));
};
