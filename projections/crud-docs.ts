// Documents tables for the aggregates built on domain/crud.ts (ports, portgroups, chassis,
// allocations, deploy templates, volume connectors/targets): state `{status, doc}`, where `doc`
// carries Ironic's field names. Scalar fields become columns (filters, sort keys, lookups).

import type Database from 'better-sqlite3';
import * as E from 'fp-ts/lib/Either.js';
import type { Lifecycle } from '../domain/crud.ts';
import type { DomainError } from '../domain/errors.ts';
import type { SourceKind } from './sources.ts';
import { docsModel, type ColumnSpec, type ColumnValue, type DocsSpec } from './docs.ts';
import { pickFields, queryPage, type Collection, type PageQuery, type Where } from './paging.ts';

export type CrudState = Lifecycle<Record<string, unknown>>;

/** A scalar doc field as a column value: booleans as 0/1, anything non-scalar as NULL. */
export const scalar = (v: unknown): ColumnValue => {
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return null;
};

export interface CrudColumn {
  name: string;
  type?: 'TEXT' | 'INTEGER' | 'REAL';
  index?: boolean;
  /** default: the doc field of the same name */
  get?: (doc: Record<string, unknown>) => ColumnValue;
}

export const crudSpec = (o: { name: string; kind: SourceKind; table: string; columns: readonly CrudColumn[] }): DocsSpec<CrudState> => ({
  name: o.name,
  kind: o.kind,
  table: o.table,
  columns: o.columns.map(
    (c): ColumnSpec<CrudState> => ({
      name: c.name,
      type: c.type ?? 'TEXT',
      index: c.index,
      get: (s) => (s.status === 'present' ? (c.get ? c.get(s.doc) : scalar(s.doc[c.name])) : null),
    }),
  ),
  exists: (s) => s.status === 'present',
});

export const crudModel = (spec: DocsSpec<CrudState>) => docsModel(spec);

export const docOf = (text: string): Record<string, unknown> => (JSON.parse(text) as { doc: Record<string, unknown> }).doc;

export interface ListPage {
  items: Record<string, unknown>[];
  /** the page is full: the marker of the next page (Ironic's `next`) */
  nextMarker?: string;
}

/** A crud collection's list: filters, paging, fields; the marker is the item's `uuid` (id). */
export const listCrud = (db: Database.Database, c: Collection, where: Where, q: PageQuery): E.Either<DomainError, ListPage> => {
  const docs = queryPage(db, c, where, q);
  if (E.isLeft(docs)) return docs;
  const items = docs.right.map(docOf);
  const page: ListPage = { items: q.fields ? items.map((i) => pickFields(i, q.fields!)) : items };
  if (q.limit !== undefined && items.length === q.limit && items.length > 0) page.nextMarker = String(items[items.length - 1].uuid);
  return E.right(page);
};

export const getCrud = (db: Database.Database, table: string, id: string): Record<string, unknown> | undefined => {
  const row = db.prepare<[string], { doc: string }>(`SELECT doc FROM ${table} WHERE id = ? AND live = 1`).get(id);
  return row ? docOf(row.doc) : undefined;
};

/** Live docs whose column equals a value, creation order. */
export const crudBy = (db: Database.Database, table: string, column: string, value: ColumnValue): Record<string, unknown>[] =>
  db
    .prepare<[ColumnValue], { doc: string }>(`SELECT doc FROM ${table} WHERE "${column}" IS ? AND live = 1 ORDER BY seq`)
    .all(value)
    .map((r) => docOf(r.doc));

const uuidLike = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** By uuid, or by name for the resources that have names (portgroups, allocations, templates). */
export const getCrudByIdent = (db: Database.Database, table: string, ident: string): Record<string, unknown> | undefined =>
  uuidLike.test(ident) ? getCrud(db, table, ident.toLowerCase()) : crudBy(db, table, 'name', ident)[0];
