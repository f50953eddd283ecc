// Ironic's collection conventions (reference §3.1) over a documents table: sort_key (any scalar
// column; JSON/list fields refused with 400; default creation order, Ironic's "id"), sort_dir,
// marker (the id of the last item of the previous page; unknown → 404), limit (> 0), fields.
// Ordering is SQL's (NULLs first ascending, last descending), ties broken by creation order in the
// same direction, and the marker continues after the marker row's (value, creation order), as
// oslo.db's paginate_query does.

import type Database from 'better-sqlite3';
import * as E from 'fp-ts/lib/Either.js';
import { domainError, type DomainError } from '../domain/errors.ts';
import type { ColumnValue } from './docs.ts';

export interface PageQuery {
  sort_key?: string;
  sort_dir?: string;
  /** > 0 (the API caps it at max_limit); omitted: no limit */
  limit?: number;
  marker?: string;
  fields?: readonly string[];
}

export interface Collection {
  table: string;
  /** columns usable as sort_key */
  sortable: readonly string[];
  /** fields refused as sort keys (JSON, lists...) */
  unsortable: readonly string[];
  /** every field `fields=` accepts */
  fields: readonly string[];
  markerNotFound: (marker: string) => DomainError;
}

export interface Where {
  sql: string[];
  params: ColumnValue[];
}

export const invalidParameter = (msg: string): DomainError => domainError('InvalidParameterValue', msg);

export const validatePage = (c: Collection, q: PageQuery): DomainError | undefined => {
  if (q.limit !== undefined && (!Number.isInteger(q.limit) || q.limit <= 0)) return domainError('Invalid', 'Limit must be positive');
  if (q.sort_dir !== undefined && q.sort_dir !== 'asc' && q.sort_dir !== 'desc') {
    return invalidParameter(`Invalid sort direction: ${q.sort_dir}. Acceptable values are 'asc' or 'desc'`);
  }
  if (q.sort_key !== undefined && q.sort_key !== 'id' && !c.sortable.includes(q.sort_key)) {
    return invalidParameter(`The sort_key value "${q.sort_key}" is an invalid field for sorting`);
  }
  if (q.fields !== undefined) {
    const unknown = q.fields.filter((f) => !c.fields.includes(f));
    if (unknown.length) return invalidParameter(`Field(s) "${unknown.join(', ')}" are not valid`);
  }
  return undefined;
};

/** Returns the raw `doc` texts of one page, in order; `where` must already hold the filters. */
export const queryPage = (db: Database.Database, c: Collection, where: Where, q: PageQuery): E.Either<DomainError, string[]> =>
  E.map((rows: { doc: string }[]) => rows.map((r) => r.doc))(queryPageRows<{ doc: string }>(db, c, where, q, 'doc'));

/** queryPage with other columns of the page's rows (`select`: a SQL column list). */
export const queryPageRows = <R>(db: Database.Database, c: Collection, where: Where, q: PageQuery, select: string): E.Either<DomainError, R[]> => {
  const bad = validatePage(c, q);
  if (bad) return E.left(bad);
  const dir = q.sort_dir === 'desc' ? 'DESC' : 'ASC';
  const key = q.sort_key === undefined || q.sort_key === 'id' ? undefined : q.sort_key;
  const sql = ['live = 1', ...where.sql];
  const params = [...where.params];
  if (q.marker !== undefined) {
    const m = db
      .prepare<[string], { seq: bigint; value: ColumnValue }>(`SELECT seq, ${key ? `"${key}"` : 'NULL'} AS value FROM ${c.table} WHERE id = ? AND live = 1`)
      .safeIntegers(true)
      .get(q.marker);
    if (!m) return E.left(c.markerNotFound(q.marker));
    const after = dir === 'ASC' ? '>' : '<';
    if (!key) {
      sql.push(`seq ${after} ?`);
      params.push(m.seq);
    } else if (m.value === null) {
      sql.push(dir === 'ASC' ? `("${key}" IS NOT NULL OR seq > ?)` : `("${key}" IS NULL AND seq < ?)`);
      params.push(m.seq);
    } else {
      sql.push(dir === 'ASC' ? `("${key}" > ? OR ("${key}" = ? AND seq > ?))` : `("${key}" < ? OR "${key}" IS NULL OR ("${key}" = ? AND seq < ?))`);
      params.push(m.value, m.value, m.seq);
    }
  }
  const order = key ? `"${key}" ${dir}, seq ${dir}` : `seq ${dir}`;
  const rows = db
    .prepare<ColumnValue[], R>(`SELECT ${select} FROM ${c.table} WHERE ${sql.join(' AND ')} ORDER BY ${order} LIMIT ${q.limit ?? -1}`)
    .all(...params);
  return E.right(rows);
};

/** Keeps only the asked keys, in the asked order. */
export const pickFields = (item: Record<string, unknown>, fields: readonly string[], computed: Record<string, () => unknown> = {}): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f] = f in computed ? computed[f]() : item[f];
  return out;
};

/** Equality filters: `undefined` means "not filtered". */
export const eqFilters = (filters: Record<string, ColumnValue | undefined>): Where => {
  const w: Where = { sql: [], params: [] };
  for (const [col, v] of Object.entries(filters)) {
    if (v === undefined) continue;
    if (v === null) w.sql.push(`"${col}" IS NULL`);
    else {
      w.sql.push(`"${col}" = ?`);
      w.params.push(v);
    }
  }
  return w;
};

export const mergeWhere = (...ws: Where[]): Where => ({ sql: ws.flatMap((w) => w.sql), params: ws.flatMap((w) => w.params) });
