// /v1/portgroups (reference §3.4, ≥1.23; below it the resource does not exist: 404): list
// (node, address), detail, show by UUID or name, create (201), JSON-patch, delete (a portgroup
// that still has ports → 400 PortgroupNotEmpty); /v1/nodes/{node}/portgroups (≥1.24).

import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as t from 'io-ts';
import { nullable, partial } from '../../domain/codecs.ts';
import { domainError } from '../../domain/errors.ts';
import { isMac, normaliseMac } from '../../domain/mac.ts';
import { portgroupNotEmpty, type PortgroupChanges, type PortgroupCreateFields } from '../../domain/portgroup/index.ts';
import type { ResourceOptions } from '../app.ts';
import { bodyOf, decodeBody, refuseUnknownKeys } from '../body.ts';
import {
  canonicalUuid,
  checkAllowedFields,
  commonListArgs,
  envelope,
  isUuidLike,
  parseBoolean,
  queryOf,
  rejectUnexpected,
  returnFields,
  stringArg,
  type SortSpec,
  type VersionedFields,
} from '../collection.ts';
import type { NodeView, PortgroupFilters, PortgroupView } from '../deps.ts';
import { clientError, fromDomainError, notAcceptable, notFound } from '../http-errors.ts';
import { applyPatch } from '../patch.ts';
import { allows, requireVersion } from '../plugins/versions.ts';
import { jsonSchemaOf } from '../schema.ts';
import { makeLink, selfAndBookmark } from '../url.ts';
import { nowOf, write } from './common.ts';
import { created, nextPage, patchRequest, sanitized, showFields, stamps } from './crud.ts';
import { isValidLogicalName, nodeLookup } from './node-lookup.ts';

const tags = ['portgroups'];

const versioned: VersionedFields = { mode: 26, properties: 26 };
const DEFAULT_FIELDS = ['uuid', 'address', 'name'];
const PATCH_ALLOWED = ['address', 'extra', 'mode', 'name', 'node_uuid', 'properties', 'standalone_ports_supported'];
const fieldNames = ['uuid', 'created_at', 'updated_at', 'address', 'extra', 'internal_info', 'mode', 'name', 'properties', 'standalone_ports_supported', 'links', 'node_uuid', 'ports'];
const sortSpec: SortSpec = {
  invalid: ['extra', 'internal_info', 'properties'],
  known: ['uuid', 'name', 'address', 'node_uuid', 'mode', 'standalone_ports_supported', 'created_at', 'updated_at'],
  versioned,
};
/** [DEFAULT]default_portgroup_mode */
const DEFAULT_MODE = 'active-backup';

const str = nullable(t.string);
const props = {
  address: str,
  extra: nullable(t.UnknownRecord),
  mode: str,
  name: str,
  node_uuid: t.string,
  properties: nullable(t.UnknownRecord),
  standalone_ports_supported: t.union([t.string, t.boolean, t.null]),
  uuid: str,
};
export const PortgroupBody = t.intersection([t.type({ node_uuid: t.string }), partial(props)]);
const keys = Object.keys(props);

interface ValidPortgroup {
  node_uuid: string;
  uuid?: string;
  address: string | null;
  extra: Record<string, unknown>;
  mode: string | null;
  name: string | null;
  properties: Record<string, unknown>;
  standalone_ports_supported: boolean;
}

/** PORTGROUP_SCHEMA + PORTGROUP_VALIDATOR_EXTRA */
const validate = (value: unknown, invalidName: (n: string) => string): ValidPortgroup => {
  refuseUnknownKeys(value, keys, 'portgroup');
  const b = decodeBody(PortgroupBody, value, 'portgroup');
  if (typeof b.address === 'string' && !isMac(b.address)) throw fromDomainError(domainError('InvalidMAC', `Expected a MAC address but received ${b.address}.`));
  for (const k of ['node_uuid', 'uuid'] as const) {
    const v = b[k];
    if (typeof v === 'string' && !isUuidLike(v)) throw clientError(`Expected UUID for ${k}: ${v}`);
  }
  if (typeof b.name === 'string' && (!isValidLogicalName(b.name) || isUuidLike(b.name))) throw clientError(invalidName(b.name));
  const sps = typeof b.standalone_ports_supported === 'string' ? parseBoolean('standalone_ports_supported', b.standalone_ports_supported) : b.standalone_ports_supported;
  const out: ValidPortgroup = {
    node_uuid: canonicalUuid(b.node_uuid),
    address: typeof b.address === 'string' ? normaliseMac(b.address) : null,
    extra: (b.extra as Record<string, unknown> | null | undefined) ?? {},
    mode: b.mode ?? null,
    name: b.name ?? null,
    properties: (b.properties as Record<string, unknown> | null | undefined) ?? {},
    standalone_ports_supported: sps ?? true,
  };
  if (typeof b.uuid === 'string') out.uuid = canonicalUuid(b.uuid);
  return out;
};

export const portgroupJson = (req: FastifyRequest, pg: PortgroupView, fields?: readonly string[]): Record<string, unknown> => {
  const base = req.baseUrl;
  const out: Record<string, unknown> = {
    ...stamps(pg),
    address: pg.address,
    extra: pg.extra ?? {},
    internal_info: pg.internal_info ?? {},
    mode: pg.mode,
    name: pg.name,
    properties: pg.properties ?? {},
    standalone_ports_supported: pg.standalone_ports_supported,
    links: selfAndBookmark(base, 'portgroups', pg.uuid),
    node_uuid: pg.node_uuid,
  };
  if (!fields) out.ports = [makeLink('self', base, 'portgroups', `${pg.uuid}/ports`), makeLink('bookmark', base, 'portgroups', `${pg.uuid}/ports`, true)];
  return sanitized(req, out, fields, fieldNames, versioned);
};

export const portgroupRoutes = async (app: FastifyInstance, ctx: ResourceOptions): Promise<void> => {
  const { deps, config } = ctx;
  const pgs = deps.readModels.portgroups;
  const lookup = nodeLookup(deps.readModels.nodes);
  const gate = (req: FastifyRequest) => requireVersion(req, 23, 'not-found');
  const checkFields = (req: FastifyRequest, fields: readonly string[] | undefined) => checkAllowedFields(req, fields, versioned);

  const find = async (ident: string): Promise<PortgroupView | undefined> =>
    isUuidLike(ident) ? pgs.get(canonicalUuid(ident)) : isValidLogicalName(ident) ? pgs.getByName(ident) : undefined;
  const load = async (req: FastifyRequest): Promise<PortgroupView> => {
    const ident = (req.params as { portgroup_ident: string }).portgroup_ident;
    if (!isUuidLike(ident) && !isValidLogicalName(ident)) throw clientError(`Expected a logical name or UUID but received ${ident}.`, 400, 'InvalidUuidOrName');
    const pg = await find(ident);
    if (!pg) throw fromDomainError(domainError('PortgroupNotFound', `Portgroup ${ident} could not be found.`));
    return pg;
  };

  const list = async (req: FastifyRequest, detailPath: boolean, node?: NodeView, resource = 'portgroups') => {
    const query = queryOf(req);
    const paging = ['marker', 'limit', 'sort_key', 'sort_dir'];
    const filters = node ? ['address'] : ['node', 'address'];
    rejectUnexpected(query, detailPath ? [...filters, ...paging] : [...filters, ...paging, 'fields', 'detail']);
    const args = commonListArgs(req, query, { maxLimit: config.maxLimit, sort: sortSpec });
    checkFields(req, args.fields);
    checkFields(req, [args.sortKey]);
    const fields = detailPath ? undefined : returnFields(req, args.fields, args.detail, DEFAULT_FIELDS);
    const f: PortgroupFilters = {};
    const nodeArg = stringArg(query, 'node');
    const owner = node ?? (nodeArg !== undefined ? await lookup.resolve(req, nodeArg) : undefined);
    if (owner) f.node_uuid = owner.uuid;
    const address = stringArg(query, 'address');
    if (address !== undefined) f.address = address.toLowerCase();
    const page = await pgs.list({ limit: args.limit, marker: args.marker, sortKey: args.sortKey, sortDir: args.sortDir, filters: f });
    if (E.isLeft(page)) throw fromDomainError(page.left);
    const items = page.right.map((pg) => portgroupJson(req, pg, fields));
    const next = nextPage(req, resource, detailPath, items, args, fields);
    return envelope('portgroups', items, next);
  };

  app.get('/v1/portgroups', { schema: { tags, summary: 'List portgroups (≥1.23)' } }, async (req) => {
    gate(req);
    return list(req, false);
  });
  app.get('/v1/portgroups/detail', { schema: { tags, summary: 'List portgroups with every field (≥1.23)' } }, async (req) => {
    gate(req);
    return list(req, true);
  });
  app.get('/v1/portgroups/:portgroup_ident', { schema: { tags, summary: 'Show a portgroup (UUID or name)' } }, async (req) => {
    gate(req);
    const fields = showFields(req);
    checkFields(req, fields);
    return portgroupJson(req, await load(req), fields);
  });
  app.get('/v1/portgroups/:portgroup_ident/detail', { schema: { hide: true } }, async () => {
    throw notFound();
  });

  const checkNode = async (req: FastifyRequest, nodeUuid: string) => lookup.referenced(req, nodeUuid);

  app.post('/v1/portgroups', { schema: { tags, summary: 'Create a portgroup (≥1.23): 201 + Location', body: jsonSchemaOf(t.exact(PortgroupBody)) } }, async (req, reply) => {
    gate(req);
    rejectUnexpected(queryOf(req), []);
    const raw = bodyOf(req.body) as Record<string, unknown>;
    const b = validate(raw, (n) => `Cannot create portgroup with invalid name '${n}'`);
    if ((raw.mode || raw.properties) && !allows(req, 26)) throw notAcceptable();
    await checkNode(req, b.node_uuid);
    const uuid = b.uuid ?? randomUUID();
    const fields: PortgroupCreateFields = {
      node_uuid: b.node_uuid,
      address: b.address,
      extra: b.extra,
      mode: b.mode || DEFAULT_MODE,
      name: b.name,
      properties: b.properties,
      standalone_ports_supported: b.standalone_ports_supported,
    };
    await write(ctx, req, 'portgroup', uuid, { type: 'CreatePortgroup', data: { uuid, at: nowOf(ctx), fields } });
    const pg = await pgs.get(uuid);
    if (!pg) throw fromDomainError(domainError('PortgroupNotFound', `Portgroup ${uuid} could not be found.`));
    created(req, reply, 'portgroups', uuid);
    return portgroupJson(req, pg);
  });

  app.patch('/v1/portgroups/:portgroup_ident', { schema: { tags, summary: 'Update a portgroup (JSON patch)', body: { type: 'array', items: { type: 'object' } } } }, async (req) => {
    gate(req);
    const { patch, paths } = patchRequest(req, PATCH_ALLOWED);
    checkFields(req, [...paths]);
    const current = await load(req);
    const doc: Record<string, unknown> = {
      uuid: current.uuid,
      address: current.address,
      extra: current.extra,
      mode: current.mode,
      name: current.name,
      node_uuid: current.node_uuid,
      properties: current.properties,
      standalone_ports_supported: current.standalone_ports_supported,
    };
    const patched = applyPatch(doc, patch);
    const v = validate(patched, (n) => `Portgroup ${current.uuid}: Cannot change name to invalid name '${n}'`);
    if (v.node_uuid !== current.node_uuid) await checkNode(req, v.node_uuid);
    const after: Record<string, unknown> = {
      address: v.address,
      extra: v.extra,
      mode: v.mode,
      name: v.name,
      node_uuid: v.node_uuid,
      properties: v.properties,
      standalone_ports_supported: v.standalone_ports_supported,
    };
    const changes: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(after)) if (JSON.stringify(val) !== JSON.stringify((current as unknown as Record<string, unknown>)[k] ?? null)) changes[k] = val;
    if (Object.keys(changes).length > 0) {
      await write(ctx, req, 'portgroup', current.uuid, { type: 'UpdatePortgroup', data: { uuid: current.uuid, at: nowOf(ctx), changes: changes as PortgroupChanges } });
    }
    const updated = await pgs.get(current.uuid);
    return portgroupJson(req, updated ?? current);
  });

  app.delete('/v1/portgroups/:portgroup_ident', { schema: { tags, summary: 'Delete a portgroup (it must hold no port): 204' } }, async (req, reply) => {
    gate(req);
    rejectUnexpected(queryOf(req), []);
    const pg = await load(req);
    const members = await deps.readModels.ports.list({ limit: 1, sortKey: 'id', sortDir: 'asc', filters: { portgroup_uuid: pg.uuid } });
    if (E.isRight(members) && members.right.length > 0) throw fromDomainError(portgroupNotEmpty(pg.uuid));
    await write(ctx, req, 'portgroup', pg.uuid, { type: 'DeletePortgroup', data: { uuid: pg.uuid, at: nowOf(ctx) } });
    return reply.code(204).send();
  });

  // /v1/nodes/{node}/portgroups (≥1.24): read-only
  const nodeList = async (req: FastifyRequest, detail: boolean) => {
    requireVersion(req, 24, 'not-found');
    const ident = lookup.identOf(req);
    return list(req, detail, await lookup.resolve(req, ident), `nodes/${ident}/portgroups`);
  };
  app.get('/v1/nodes/:node_ident/portgroups', { schema: { tags, summary: "A node's portgroups (≥1.24)" } }, async (req) => nodeList(req, false));
  app.get('/v1/nodes/:node_ident/portgroups/detail', { schema: { tags, summary: "A node's portgroups with every field (≥1.24)" } }, async (req) => nodeList(req, true));
  const forbidden = async () => {
    throw fromDomainError(domainError('OperationNotPermitted', 'Operation not permitted.'));
  };
  for (const m of ['post', 'patch', 'delete'] as const) {
    app[m]('/v1/nodes/:node_ident/portgroups', { schema: { hide: true } }, forbidden);
    app[m]('/v1/nodes/:node_ident/portgroups/:portgroup_ident', { schema: { hide: true } }, forbidden);
  }
};
