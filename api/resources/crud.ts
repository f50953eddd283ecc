// What Ironic's CRUD resources (ports, portgroups, chassis, allocations, deploy templates, volume
// connectors and targets) do alike: an item's JSON (its leading stamps, then `fields` sanitizing
// and version hiding), a show route's `?fields=`, a page's `next` link, a create's 201 + Location,
// and a JSON-patch update (its request, then the fields it changed).

import type { FastifyReply, FastifyRequest } from 'fastify';
import { bodyOf } from '../body.ts';
import {
  checkAllowSpecifyFields,
  checkInvalidFields,
  hideVersionedFields,
  nextUrl,
  queryOf,
  rejectUnexpected,
  sanitize,
  stringListArg,
  type CommonListArgs,
  type VersionedFields,
} from '../collection.ts';
import { checkAllowedPaths, validatePatchDocument, type PatchOp } from '../patch.ts';

/** A show route takes no query but `fields`, and `fields` only from the version that knows it. */
export const showFields = (req: FastifyRequest): string[] | undefined => {
  const query = queryOf(req);
  rejectUnexpected(query, ['fields']);
  const fields = stringListArg(query, 'fields');
  checkAllowSpecifyFields(req, fields);
  return fields;
};

/**
 * The `next` link of a full page: the same sort, the same `fields`, and `detail` unless the page
 * came from the `/detail` path (which the link keeps instead).
 */
export const nextPage = (
  req: FastifyRequest,
  resource: string,
  detailPath: boolean,
  items: readonly Record<string, unknown>[],
  args: Pick<CommonListArgs, 'limit' | 'sortKey' | 'sortDir' | 'detail'>,
  fields: readonly string[] | undefined,
): string | undefined =>
  nextUrl(req.baseUrl, detailPath ? `${resource}/detail` : resource, items, args.limit, [
    ['sort_key', args.sortKey],
    ['sort_dir', args.sortDir],
    ['detail', detailPath ? undefined : args.detail],
    ['fields', fields],
  ]);

/** 201 Created, with the new item's URL as Location. */
export const created = (req: FastifyRequest, reply: FastifyReply, path: string, uuid: string): void => {
  reply.code(201).header('location', `${req.baseUrl}/v1/${path}/${uuid}`);
};

/** The fields of a validated patch result whose value differs from the stored item's (as JSON). */
export const changesFrom = (current: object, after: Record<string, unknown>): Record<string, unknown> => {
  const changes: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(after)) if (JSON.stringify(val) !== JSON.stringify((current as Record<string, unknown>)[k])) changes[k] = val;
  return changes;
};

/** The fields every Ironic object's JSON begins with, in Ironic's order. */
export const stamps = (v: { uuid: string; created_at: unknown; updated_at: unknown }): Record<string, unknown> => ({
  uuid: v.uuid,
  created_at: v.created_at,
  updated_at: v.updated_at,
});

/** A PATCH takes no query and a JSON patch document that touches only the paths it may change. */
export const patchRequest = (req: FastifyRequest, allowed: readonly string[]): { patch: PatchOp[]; paths: Set<string> } => {
  rejectUnexpected(queryOf(req), []);
  const patch = validatePatchDocument(bodyOf(req.body));
  return { patch, paths: checkAllowedPaths(patch, allowed) };
};

/**
 * Ironic's `<resource>_sanitize` on an item's JSON (in place): every asked-for field must exist,
 * only those are kept (with `links`), and fields newer than the request's version are hidden.
 */
export const sanitized = (
  req: FastifyRequest,
  out: Record<string, unknown>,
  fields: readonly string[] | undefined,
  names: readonly string[],
  versioned: VersionedFields = {},
): Record<string, unknown> => {
  if (fields) checkInvalidFields(fields, names);
  sanitize(out, fields);
  return hideVersionedFields(req, out, versioned);
};
