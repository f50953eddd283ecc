// /v1/chassis (reference §3.5): list, detail, show, create (201), JSON-patch, delete (204), and
// the chassis' node sub-collection (served by the node resource). Chassis are addressed by UUID.

import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as t from 'io-ts';
import { nullable, partial } from '../../domain/codecs.ts';
import { domainError } from '../../domain/errors.ts';
import type { ResourceOptions } from '../app.ts';
import { bodyOf, decodeBody, refuseUnknownKeys } from '../body.ts';
import {
  canonicalUuid,
  checkInvalidFields,
  commonListArgs,
  envelope,
  isUuidLike,
  queryOf,
  rejectUnexpected,
  returnFields,
  sanitize,
  type SortSpec,
} from '../collection.ts';
import type { ChassisView } from '../deps.ts';
import { clientError, fromDomainError, webobError } from '../http-errors.ts';
import { applyPatch, changedFields } from '../patch.ts';
import { jsonSchemaOf } from '../schema.ts';
import { selfAndBookmark, makeLink } from '../url.ts';
import { nowOf, write } from './common.ts';
import { created, nextPage, patchRequest, showFields } from './crud.ts';

const notFound = (uuid: string) => fromDomainError(domainError('ChassisNotFound', `Chassis ${uuid} could not be found.`));

export const ChassisCreateBody = partial({
  uuid: nullable(t.string),
  extra: nullable(t.UnknownRecord),
  description: nullable(t.string),
});
const chassisKeys = ['uuid', 'extra', 'description'] as const;

const DEFAULT_FIELDS = ['uuid', 'description'];
const sortSpec: SortSpec = { invalid: ['extra'], known: ['uuid', 'description', 'created_at', 'updated_at'], versioned: {} };

/** Ironic's chassis JSON, keys in Ironic's order, with the nested-list `nodes` quirk kept. */
export const chassisJson = (base: string, c: ChassisView): Record<string, unknown> => ({
  uuid: c.uuid,
  created_at: c.created_at,
  updated_at: c.updated_at,
  description: c.description,
  extra: c.extra ?? {},
  links: selfAndBookmark(base, 'chassis', c.uuid),
  // a stray trailing comma in Ironic's source makes this a list inside a list; clients ignore it
  nodes: [[makeLink('self', base, 'chassis', `${c.uuid}/nodes`), makeLink('bookmark', base, 'chassis', `${c.uuid}/nodes`, true)]],
});

const chassisFieldNames = ['uuid', 'created_at', 'updated_at', 'description', 'extra', 'links', 'nodes'];

/** CHASSIS_SCHEMA after decoding: description ≤ 255, uuid UUID-like. */
const validateChassis = (value: unknown): { uuid?: string | null; extra?: Record<string, unknown> | null; description?: string | null } => {
  refuseUnknownKeys(value, chassisKeys, 'chassis');
  const body = decodeBody(ChassisCreateBody, value, 'chassis');
  if (typeof body.description === 'string' && body.description.length > 255) {
    throw clientError(`Schema error for chassis: '${body.description}' is too long`);
  }
  if (typeof body.uuid === 'string' && !isUuidLike(body.uuid)) throw clientError(`Expected UUID for uuid: ${body.uuid}`);
  return body;
};

const chassisUuidParam = (req: FastifyRequest, name = 'chassis_uuid'): string => {
  const uuid = (req.params as { chassis_uuid: string }).chassis_uuid;
  if (!isUuidLike(uuid)) throw clientError(`Expected UUID for ${name}: ${uuid}`);
  return uuid;
};

const itemSchema = { type: 'object', additionalProperties: true };
const tags = ['chassis'];

export const chassisRoutes = async (app: FastifyInstance, ctx: ResourceOptions): Promise<void> => {
  const { deps, config } = ctx;
  const load = async (uuid: string): Promise<ChassisView> => {
    const c = isUuidLike(uuid) ? await deps.readModels.chassis.get(canonicalUuid(uuid)) : undefined;
    if (!c) throw notFound(uuid);
    return c;
  };

  const list = async (req: FastifyRequest, detailPath: boolean) => {
    const query = queryOf(req);
    rejectUnexpected(query, detailPath ? ['marker', 'limit', 'sort_key', 'sort_dir'] : ['marker', 'limit', 'sort_key', 'sort_dir', 'fields', 'detail']);
    const args = commonListArgs(req, query, { maxLimit: config.maxLimit, sort: sortSpec });
    const fields = detailPath ? undefined : returnFields(req, args.fields, args.detail, DEFAULT_FIELDS);
    const page = await deps.readModels.chassis.list({ limit: args.limit, marker: args.marker, sortKey: args.sortKey, sortDir: args.sortDir, filters: {} });
    if (E.isLeft(page)) throw fromDomainError(page.left);
    const items = page.right.map((c) => chassisJson(req.baseUrl, c));
    if (fields) checkInvalidFields(fields, chassisFieldNames);
    // Ironic's order: sort_key, sort_dir, detail, then fields (re-added last by get_next)
    const next = nextPage(req, 'chassis', detailPath, items, args, fields);
    return envelope('chassis', items.map((i) => sanitize(i, fields)), next);
  };

  const listQuery = {
    type: 'object',
    properties: {
      marker: { type: 'string', format: 'uuid' },
      limit: { type: 'integer', minimum: 1 },
      sort_key: { type: 'string' },
      sort_dir: { type: 'string', enum: ['asc', 'desc'] },
      fields: { type: 'string', description: 'comma-separated field names (≥1.8)' },
      detail: { type: 'boolean', description: '≥1.43' },
    },
  };

  app.get('/v1/chassis', { schema: { tags, summary: 'List chassis', querystring: listQuery } }, async (req) => list(req, false));
  app.get('/v1/chassis/detail', { schema: { tags, summary: 'List chassis with details' } }, async (req) => list(req, true));

  app.get(
    '/v1/chassis/:chassis_uuid',
    { schema: { tags, summary: 'Show a chassis', params: { type: 'object', properties: { chassis_uuid: { type: 'string' } } }, response: { 200: itemSchema } } },
    async (req) => {
      const fields = showFields(req);
      const uuid = chassisUuidParam(req);
      const c = chassisJson(req.baseUrl, await load(uuid));
      checkInvalidFields(fields, chassisFieldNames);
      return sanitize(c, fields);
    },
  );

  app.post(
    '/v1/chassis',
    { schema: { tags, summary: 'Create a chassis', body: jsonSchemaOf(t.exact(ChassisCreateBody)), response: { 201: itemSchema } } },
    async (req, reply) => {
      const body = validateChassis(bodyOf(req.body));
      const uuid = body.uuid ? canonicalUuid(body.uuid) : randomUUID();
      await write(ctx, req, 'chassis', uuid, {
        type: 'CreateChassis',
        data: { uuid, at: nowOf(ctx), fields: { description: body.description ?? null, extra: body.extra ?? {} } },
      });
      const c = await load(uuid);
      created(req, reply, 'chassis', uuid);
      return chassisJson(req.baseUrl, c);
    },
  );

  app.patch(
    '/v1/chassis/:chassis_uuid',
    { schema: { tags, summary: 'Update a chassis (JSON patch)', body: { type: 'array', items: { type: 'object' } }, response: { 200: itemSchema } } },
    async (req) => {
      const { patch } = patchRequest(req, chassisKeys);
      const uuid = (req.params as { chassis_uuid: string }).chassis_uuid;
      const current = await load(uuid);
      const doc = { uuid: current.uuid, description: current.description, extra: current.extra ?? {}, created_at: current.created_at, updated_at: current.updated_at };
      const patched = applyPatch(doc, patch);
      const candidate = { uuid: patched.uuid, extra: patched.extra, description: patched.description };
      const valid = validateChassis(candidate);
      if ((valid.uuid ?? null) !== current.uuid) throw clientError(`Cannot patch /uuid. Only the following can be updated: description, extra`);
      const changed = changedFields(doc, patched, ['description', 'extra']);
      if (changed.length > 0) {
        await write(ctx, req, 'chassis', current.uuid, {
          type: 'UpdateChassis',
          data: { uuid: current.uuid, at: nowOf(ctx), changes: { description: valid.description ?? null, extra: valid.extra ?? {} } },
        });
      }
      return chassisJson(req.baseUrl, await load(current.uuid));
    },
  );

  app.delete('/v1/chassis/:chassis_uuid', { schema: { tags, summary: 'Delete a chassis (it must hold no node)' } }, async (req, reply) => {
    rejectUnexpected(queryOf(req), []);
    const uuid = chassisUuidParam(req);
    const c = await load(uuid);
    const nodes = await deps.readModels.nodes.list({ limit: 1, sortKey: 'id', sortDir: 'asc', filters: { chassis_uuid: c.uuid } });
    if (E.isRight(nodes) && nodes.right.length > 0) {
      throw fromDomainError(domainError('ChassisNotEmpty', `Cannot complete the requested action because chassis ${c.uuid} contains nodes.`));
    }
    await write(ctx, req, 'chassis', c.uuid, { type: 'DeleteChassis', data: { uuid: c.uuid, at: nowOf(ctx) } });
    return reply.code(204).send();
  });

  // /detail only exists on the collection
  app.get('/v1/chassis/:chassis_uuid/detail', { schema: { hide: true } }, async () => {
    throw webobError(404, 'The resource could not be found.');
  });
};
