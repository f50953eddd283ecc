// List machinery shared by every collection (reference §3.1), with Ironic's messages:
// query-argument parsing (strict booleans, Python-like integers, UUIDs), limit / marker /
// sort_key / sort_dir, `fields` and `detail`, version hiding of fields, the `next` URL exactly
// as Ironic builds it, and the envelope.

import type { FastifyRequest } from 'fastify';
import { clientError, notAcceptable } from './http-errors.ts';
import { allows } from './plugins/versions.ts';
import type { SortDir } from './deps.ts';
import { makeLink } from './url.ts';

export type Query = Record<string, string | string[] | undefined>;

export const queryOf = (req: FastifyRequest): Query => (req.query ?? {}) as Query;

/** Ironic's args.validate refuses query arguments the method does not declare. */
export const rejectUnexpected = (query: Query, allowed: readonly string[]): void => {
  const extra = Object.keys(query).filter((k) => !allowed.includes(k));
  if (extra.length) throw clientError(`Unexpected arguments: ${extra.join(', ')}`);
};

const pyRepr = (v: unknown): string => (Array.isArray(v) ? `[${v.map((x) => `'${String(x)}'`).join(', ')}]` : String(v));

/** args.string: one value; a repeated argument is a list, which is not a string. */
export const stringArg = (query: Query, name: string): string | undefined => {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw clientError(`Expected string for ${name}: ${pyRepr(v)}`);
  return v;
};

const trueStrings = ['1', 't', 'true', 'on', 'y', 'yes'];
const falseStrings = ['0', 'f', 'false', 'off', 'n', 'no'];
const acceptable = [...trueStrings, ...falseStrings]
  .sort()
  .map((s) => `'${s}'`)
  .join(', ');

/** oslo's bool_from_string(strict=True), with args.boolean's message. */
export const parseBoolean = (name: string, value: string): boolean => {
  const lowered = value.trim().toLowerCase();
  if (trueStrings.includes(lowered)) return true;
  if (falseStrings.includes(lowered)) return false;
  throw clientError(`Invalid ${name}: Unrecognized value '${value}', acceptable values are: ${acceptable}`);
};

export const booleanArg = (query: Query, name: string): boolean | undefined => {
  const v = stringArg(query, name);
  return v === undefined ? undefined : parseBoolean(name, v);
};

const pyInt = /^\s*[+-]?\d+(?:_\d+)*\s*$/;

/** args.integer: Python's int() of the string. */
export const integerArg = (query: Query, name: string): number | undefined => {
  const v = stringArg(query, name);
  if (v === undefined) return undefined;
  if (!pyInt.test(v)) throw clientError(`Expected an integer for ${name}: ${v}`);
  return Number(v.replace(/_/g, '').trim());
};

/** oslo's is_uuid_like: 32 hex digits once urn:/uuid:/braces/dashes are removed. */
export const isUuidLike = (value: string): boolean =>
  /^[0-9a-f]{32}$/.test(value.replace(/urn:/g, '').replace(/uuid:/g, '').replace(/^[{}]+|[{}]+$/g, '').replace(/-/g, '').toLowerCase());

/** The dashed lowercase form of a UUID-like value (how ironlog stores and looks up UUIDs). */
export const canonicalUuid = (value: string): string => {
  const hex = value.replace(/urn:/g, '').replace(/uuid:/g, '').replace(/^[{}]+|[{}]+$/g, '').replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};

export const uuidArg = (query: Query, name: string): string | undefined => {
  const v = stringArg(query, name);
  if (v === undefined) return undefined;
  if (!isUuidLike(v)) throw clientError(`Expected UUID for ${name}: ${v}`);
  return v;
};

/** args.string_list: comma list, trimmed, lower-cased, de-duplicated, order kept. */
export const stringListArg = (query: Query, name: string): string[] | undefined => {
  const v = stringArg(query, name);
  if (v === undefined) return undefined;
  const items: string[] = [];
  for (const part of v.split(',')) {
    const norm = part.trim().toLowerCase();
    if (norm && !items.includes(norm)) items.push(norm);
  }
  return items;
};

export const validateLimit = (limit: number | undefined, maxLimit: number): number => {
  if (limit === undefined) return maxLimit;
  if (limit <= 0) throw clientError('Limit must be positive');
  return Math.min(maxLimit, limit);
};

export const validateSortDir = (sortDir: string): SortDir => {
  if (sortDir !== 'asc' && sortDir !== 'desc') {
    throw clientError(`Invalid sort direction: ${sortDir}. Acceptable values are 'asc' or 'desc'`);
  }
  return sortDir;
};

/** Minimum microversion of each field that did not exist in 1.1. */
export type VersionedFields = Readonly<Record<string, number>>;

export const fieldAllowed = (req: FastifyRequest, field: string, versioned: VersionedFields): boolean => {
  const minor = versioned[field];
  return minor === undefined || allows(req, minor);
};

/** check_allowed_fields: asking (fields=, sort_key=) for a field newer than the version → 406. */
export const checkAllowedFields = (req: FastifyRequest, fields: readonly string[] | undefined, versioned: VersionedFields): void => {
  if (!fields) return;
  for (const f of fields) if (!fieldAllowed(req, f, versioned)) throw notAcceptable();
};

/** A versioned-fields table as pairs, with its newest version: most requests ask for it or later. */
export interface VersionedTable {
  pairs: readonly (readonly [field: string, minor: number])[];
  newest: number;
}
const tables = new WeakMap<VersionedFields, VersionedTable>();
export const versionedTable = (versioned: VersionedFields): VersionedTable => {
  let table = tables.get(versioned);
  if (!table) {
    const pairs = Object.entries(versioned);
    table = { pairs, newest: pairs.reduce((m, [, minor]) => Math.max(m, minor), 0) };
    tables.set(versioned, table);
  }
  return table;
};

/** Removes the fields the requested version does not know (in place). */
export const hideVersionedFields = <T extends Record<string, unknown>>(req: FastifyRequest, obj: T, versioned: VersionedFields): T => {
  const table = versionedTable(versioned);
  if (allows(req, table.newest)) return obj;
  for (const [field, minor] of table.pairs) if (field in obj && !allows(req, minor)) delete obj[field];
  return obj;
};

export interface SortSpec {
  /** fields that cannot be sorted on (JSON/list columns): 400 */
  invalid: readonly string[];
  /** fields that exist as sortable columns, besides `id` */
  known: readonly string[];
  versioned: VersionedFields;
}

export const validateSortKey = (req: FastifyRequest, sortKey: string, spec: SortSpec): string => {
  if (spec.invalid.includes(sortKey)) throw clientError(`The sort_key value ${sortKey} is an invalid field for sorting`);
  checkAllowedFields(req, [sortKey], spec.versioned);
  if (sortKey !== 'id' && !spec.known.includes(sortKey)) {
    throw clientError(`The sort_key value "${sortKey}" is an invalid field for sorting`);
  }
  return sortKey;
};

/** check_allow_specify_fields: `fields` needs ≥1.8 (or the resource's own minimum). */
export const checkAllowSpecifyFields = (req: FastifyRequest, fields: readonly string[] | undefined, minMinor = 8): void => {
  if (fields !== undefined && !allows(req, minMinor)) throw notAcceptable();
};

const pyBool = (b: boolean): string => (b ? 'True' : 'False');

/**
 * get_request_return_fields: `detail` needs ≥1.43; `fields` with detail=true is refused; neither
 * gives the default fields. Returns undefined for "every field".
 */
export const returnFields = (
  req: FastifyRequest,
  fields: string[] | undefined,
  detail: boolean | undefined,
  defaultFields: readonly string[],
  detailMinMinor = 43,
): string[] | undefined => {
  if (detail !== undefined && !allows(req, detailMinMinor)) {
    throw clientError(`Invalid query parameter ?detail=${pyBool(detail)} received.`);
  }
  if (fields !== undefined && detail) throw clientError('Can not specify ?detail=True and fields in the same request.');
  if (fields === undefined && !detail) return [...defaultFields];
  return fields;
};

/** check_for_invalid_fields: every requested field must be a key of the full object. */
export const checkInvalidFields = (fields: readonly string[] | undefined, objectKeys: readonly string[]): void => {
  if (!fields) return;
  const invalid = fields.filter((f) => !objectKeys.includes(f));
  if (invalid.length) throw clientError(`Field(s) "${invalid.join(', ')}" are not valid`);
};

/** sanitize_dict: keep only the requested fields, plus `links`. */
export const sanitize = <T extends Record<string, unknown>>(obj: T, fields: readonly string[] | undefined): T => {
  if (!fields) return obj;
  for (const key of Object.keys(obj)) if (key !== 'links' && !fields.includes(key)) delete obj[key];
  return obj;
};

export type NextParam = string | number | boolean | readonly string[] | undefined | null;

const formatParam = (v: Exclude<NextParam, undefined | null>): string => {
  if (typeof v === 'boolean') return pyBool(v);
  if (Array.isArray(v)) return v.join(',');
  return String(v);
};

/**
 * collection.get_next: only when the page is full; `BASE/v1/<resource>?k=v&...&limit=N&marker=M`.
 * Parameters are written as Ironic writes them (Python's %s: True/False, lists comma-joined,
 * no URL encoding), in the order given; undefined ones are left out as Ironic's kwargs would be.
 */
export const nextUrl = (
  base: string,
  resource: string,
  items: readonly Record<string, unknown>[],
  limit: number,
  params: ReadonlyArray<readonly [string, NextParam]>,
  keyField = 'uuid',
): string | undefined => {
  if (items.length === 0 || items.length !== limit) return undefined;
  const args = params
    .filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${k}=${v === null ? 'None' : formatParam(v as Exclude<NextParam, undefined | null>)}&`)
    .join('');
  const marker = String(items[items.length - 1]![keyField]);
  return makeLink('next', base, resource, `?${args}limit=${limit}&marker=${marker}`).href;
};

/** The envelope: `{<plural>: [...], next?: url}`. */
export const envelope = (plural: string, items: unknown[], next: string | undefined): Record<string, unknown> =>
  next === undefined ? { [plural]: items } : { [plural]: items, next };

export interface CommonListArgs {
  limit: number;
  marker: string | undefined;
  sortKey: string;
  sortDir: SortDir;
  fields: string[] | undefined;
  detail: boolean | undefined;
}

/** limit, marker (UUID), sort_key, sort_dir, fields (version-checked), detail: parsed and validated. */
export const commonListArgs = (
  req: FastifyRequest,
  query: Query,
  opts: { maxLimit: number; sort: SortSpec; markerIsUuid?: boolean; fieldsMinMinor?: number },
): CommonListArgs => {
  const limit = validateLimit(integerArg(query, 'limit'), opts.maxLimit);
  const uuidMarker = opts.markerIsUuid === false ? undefined : uuidArg(query, 'marker');
  const marker = opts.markerIsUuid === false ? stringArg(query, 'marker') : uuidMarker === undefined ? undefined : canonicalUuid(uuidMarker);
  const sortDir = validateSortDir(stringArg(query, 'sort_dir') ?? 'asc');
  const sortKey = validateSortKey(req, stringArg(query, 'sort_key') ?? 'id', opts.sort);
  const fields = stringListArg(query, 'fields');
  checkAllowSpecifyFields(req, fields, opts.fieldsMinMinor);
  const detail = booleanArg(query, 'detail');
  return { limit, marker, sortKey, sortDir, fields, detail };
};
