// /v1/ports (reference §3.3): list (node / node_uuid / address / portgroup / shard filters),
// detail, show, create (201; MAC validated and lowercased, the node must exist → else 400, a
// duplicate MAC → 409), JSON-patch, delete; and the read-only sub-collections
// /v1/nodes/{node}/ports and /v1/portgroups/{pg}/ports (≥1.24).

import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as t from 'io-ts';
import { isPlainObject, nullable, partial } from '../../domain/codecs.ts';
import { domainError } from '../../domain/errors.ts';
import { isMac, normaliseMac } from '../../domain/mac.ts';
import type { PortChanges, PortCreateFields } from '../../domain/port/index.ts';
import type { ResourceOptions } from '../app.ts';
import { bodyOf, decodeBody, refuseUnknownKeys } from '../body.ts';
import {
  canonicalUuid,
  commonListArgs,
  envelope,
  isUuidLike,
  parseBoolean,
  queryOf,
  rejectUnexpected,
  returnFields,
  stringArg,
  stringListArg,
  type Query,
  type SortSpec,
  type VersionedFields,
} from '../collection.ts';
import type { NodeView, PortFilters, PortgroupView, PortView } from '../deps.ts';
import { clientError, fromDomainError, notAcceptable, notFound } from '../http-errors.ts';
import { applyPatch } from '../patch.ts';
import { allows, requireVersion } from '../plugins/versions.ts';
import { pyRepr } from '../pyjson.ts';
import { jsonSchemaOf } from '../schema.ts';
import { selfAndBookmark } from '../url.ts';
import { nowOf, write } from './common.ts';
import { created, nextPage, patchRequest, sanitized, showFields, stamps } from './crud.ts';
import { nodeLookup } from './node-lookup.ts';

const tags = ['ports'];

export const portVersionedFields: VersionedFields = {
  internal_info: 18,
  local_link_connection: 19,
  pxe_enabled: 19,
  portgroup_uuid: 24,
  physical_network: 34,
  is_smartnic: 53,
};

const DEFAULT_FIELDS = ['uuid', 'address'];
const PATCH_ALLOWED = ['address', 'extra', 'is_smartnic', 'local_link_connection', 'node_uuid', 'physical_network', 'portgroup_uuid', 'pxe_enabled'];
const portFieldNames = ['uuid', 'created_at', 'updated_at', 'address', 'extra', 'internal_info', 'is_smartnic', 'local_link_connection', 'physical_network', 'pxe_enabled', 'node_uuid', 'links', 'portgroup_uuid'];
const sortSpec: SortSpec = {
  invalid: ['extra', 'internal_info', 'local_link_connection'],
  known: ['uuid', 'address', 'node_uuid', 'portgroup_uuid', 'pxe_enabled', 'physical_network', 'is_smartnic', 'created_at', 'updated_at'],
  versioned: portVersionedFields,
};

const str = nullable(t.string);
const boolish = t.union([t.string, t.boolean, t.null]);
const portProps = {
  address: t.string,
  extra: nullable(t.UnknownRecord),
  is_smartnic: boolish,
  local_link_connection: nullable(t.UnknownRecord),
  node_uuid: t.string,
  physical_network: str,
  portgroup_uuid: str,
  pxe_enabled: boolish,
  uuid: str,
};
export const PortBody = t.intersection([t.type({ address: t.string, node_uuid: t.string }), partial(portProps)]);
const portKeys = Object.keys(portProps);

const llcKeys = ['port_id', 'switch_id', 'switch_info', 'hostname', 'network_type'];
const datapathId = /^(0x)?[0-9a-f]{16}$/i;

/** api_utils LOCAL_LINK_SCHEMA: known keys, strings, switch_id a MAC or an OpenFlow datapath id. */
const validateLocalLink = (req: FastifyRequest, llc: Record<string, unknown>, smartnic: boolean): void => {
  const err = (m: string) => clientError(`Schema error for local_link_connection: ${m}`, 400, 'InvalidParameterValue');
  const extra = Object.keys(llc).filter((k) => !llcKeys.includes(k));
  if (extra.length) throw err(`Additional properties are not allowed (${extra.map((k) => `'${k}'`).join(', ')} ${extra.length === 1 ? 'was' : 'were'} unexpected)`);
  for (const [k, v] of Object.entries(llc)) if (typeof v !== 'string') throw err(`${pyRepr(v)} is not of type 'string'`);
  if ('network_type' in llc && !allows(req, 64)) throw notAcceptable();
  if (llc.network_type !== undefined && llc.network_type !== 'managed' && llc.network_type !== 'unmanaged') {
    throw err(`${pyRepr(llc.network_type)} is not one of ['managed', 'unmanaged']`);
  }
  if (typeof llc.switch_id === 'string' && !isMac(llc.switch_id) && !datapathId.test(llc.switch_id)) {
    throw clientError(`Expected a MAC address or OpenFlow datapath ID but received ${llc.switch_id}.`, 400, 'InvalidSwitchID');
  }
  if (Object.keys(llc).length === 0 || llc.network_type === 'unmanaged') return;
  const ok = smartnic ? typeof llc.port_id === 'string' && typeof llc.hostname === 'string' : typeof llc.port_id === 'string' && typeof llc.switch_id === 'string';
  if (!ok) throw err(`${pyRepr(llc)} is not valid under any of the given schemas`);
};

type PortBodyT = t.TypeOf<typeof PortBody>;
export interface ValidPort {
  address: string;
  node_uuid: string;
  uuid?: string;
  extra?: Record<string, unknown>;
  is_smartnic?: boolean;
  local_link_connection?: Record<string, unknown>;
  physical_network?: string | null;
  portgroup_uuid?: string | null;
  pxe_enabled?: boolean;
}

/** PORT_SCHEMA then PORT_VALIDATOR_EXTRA: MAC, UUIDs, booleans, local_link_connection. */
const validatePort = (req: FastifyRequest, value: unknown): ValidPort => {
  refuseUnknownKeys(value, portKeys, 'port');
  const b: PortBodyT = decodeBody(PortBody, value, 'port');
  if (typeof b.physical_network === 'string' && b.physical_network.length > 64) throw clientError(`Schema error for port: ${pyRepr(b.physical_network)} is too long`);
  if (!isMac(b.address)) throw fromDomainError(domainError('InvalidMAC', `Expected a MAC address but received ${b.address}.`));
  for (const k of ['node_uuid', 'portgroup_uuid', 'uuid'] as const) {
    const v = b[k];
    if (typeof v === 'string' && !isUuidLike(v)) throw clientError(`Expected UUID for ${k}: ${v}`);
  }
  const out: ValidPort = { address: normaliseMac(b.address), node_uuid: canonicalUuid(b.node_uuid) };
  if (typeof b.uuid === 'string') out.uuid = canonicalUuid(b.uuid);
  if (b.extra) out.extra = b.extra;
  const smart = typeof b.is_smartnic === 'string' ? parseBoolean('is_smartnic', b.is_smartnic) : b.is_smartnic;
  if (typeof smart === 'boolean') out.is_smartnic = smart;
  const pxe = typeof b.pxe_enabled === 'string' ? parseBoolean('pxe_enabled', b.pxe_enabled) : b.pxe_enabled;
  if (typeof pxe === 'boolean') out.pxe_enabled = pxe;
  if (b.local_link_connection) {
    validateLocalLink(req, b.local_link_connection, out.is_smartnic === true);
    out.local_link_connection = b.local_link_connection;
  }
  if (b.physical_network !== undefined) out.physical_network = b.physical_network;
  if (b.portgroup_uuid !== undefined) out.portgroup_uuid = b.portgroup_uuid === null ? null : canonicalUuid(b.portgroup_uuid);
  return out;
};

/** _check_allowed_port_fields: fields (or body keys, patch paths) newer than the version → 406. */
const checkPortFields = (req: FastifyRequest, fields: Iterable<string> | undefined): void => {
  if (!fields) return;
  for (const f of fields) {
    const minor = portVersionedFields[f];
    if (minor !== undefined && f !== 'internal_info' && !allows(req, minor)) throw notAcceptable();
  }
};

/** port convert_with_links + port_sanitize. */
export const portJson = (req: FastifyRequest, p: PortView, fields?: readonly string[]): Record<string, unknown> => {
  const out: Record<string, unknown> = {
    ...stamps(p),
    address: p.address,
    extra: p.extra ?? {},
    internal_info: p.internal_info ?? {},
    is_smartnic: p.is_smartnic,
    local_link_connection: p.local_link_connection ?? {},
    physical_network: p.physical_network,
    pxe_enabled: p.pxe_enabled,
    node_uuid: p.node_uuid,
    links: selfAndBookmark(req.baseUrl, 'ports', p.uuid),
    portgroup_uuid: p.portgroup_uuid,
  };
  return sanitized(req, out, fields, portFieldNames, portVersionedFields);
};

export const portRoutes = async (app: FastifyInstance, ctx: ResourceOptions): Promise<void> => {
  const { deps, config } = ctx;
  const ports = deps.readModels.ports;
  const lookup = nodeLookup(deps.readModels.nodes);

  const findPortgroup = async (ident: string): Promise<PortgroupView | undefined> =>
    isUuidLike(ident) ? deps.readModels.portgroups.get(canonicalUuid(ident)) : deps.readModels.portgroups.getByName(ident);

  const portUuidParam = (req: FastifyRequest): string => {
    const id = (req.params as { port_uuid: string }).port_uuid;
    if (!isUuidLike(id)) throw clientError(`Expected UUID for port_uuid: ${id}`);
    return canonicalUuid(id);
  };
  const load = async (uuid: string): Promise<PortView> => {
    const p = await ports.get(uuid);
    if (!p) throw fromDomainError(domainError('PortNotFound', `Port ${uuid} could not be found.`));
    return p;
  };

  interface Scope {
    node?: NodeView;
    portgroup?: PortgroupView;
    resource: string;
  }

  const list = async (req: FastifyRequest, detailPath: boolean, scope: Scope) => {
    const query: Query = queryOf(req);
    const paging = ['marker', 'limit', 'sort_key', 'sort_dir'];
    const filters = scope.node || scope.portgroup ? ['address'] : ['node', 'node_uuid', 'address', 'portgroup', 'shard'];
    rejectUnexpected(query, detailPath ? [...filters, ...paging] : [...filters, ...paging, 'fields', 'detail']);
    const args = commonListArgs(req, query, { maxLimit: config.maxLimit, sort: sortSpec });
    checkPortFields(req, args.fields);
    checkPortFields(req, [args.sortKey]);
    const nodeArg = stringArg(query, 'node_uuid') ?? stringArg(query, 'node');
    const pgArg = stringArg(query, 'portgroup');
    const shard = stringListArg(query, 'shard');
    const address = stringArg(query, 'address');
    if (pgArg !== undefined && !allows(req, 24)) throw notAcceptable();
    if (shard !== undefined && !allows(req, 82)) throw notAcceptable();
    if ([nodeArg, pgArg, shard].filter((x) => x !== undefined).length > 1) {
      throw fromDomainError(domainError('OperationNotPermitted', 'Operation not permitted.'));
    }
    const fields = detailPath ? undefined : returnFields(req, args.fields, args.detail, DEFAULT_FIELDS);
    const f: PortFilters = {};
    let node = scope.node;
    if (nodeArg !== undefined) {
      if (!allows(req, 5) && !isUuidLike(nodeArg)) throw notAcceptable();
      node = await lookup.resolve(req, nodeArg);
    }
    if (node) f.node_uuid = node.uuid;
    let pg = scope.portgroup;
    if (pgArg !== undefined) {
      pg = await findPortgroup(pgArg);
      if (!pg) throw fromDomainError(domainError('PortgroupNotFound', `Portgroup ${pgArg} could not be found.`));
    }
    if (pg) f.portgroup_uuid = pg.uuid;
    if (shard !== undefined) f.shard = shard;
    let rows: PortView[];
    if (address !== undefined) {
      // a MAC filter returns that one port or nothing, without paging (_get_ports_by_address)
      const page = await ports.list({ limit: 1, sortKey: 'id', sortDir: 'asc', filters: { ...f, address: address.toLowerCase() } });
      rows = E.isRight(page) ? page.right : [];
    } else {
      const page = await ports.list({ limit: args.limit, marker: args.marker, sortKey: args.sortKey, sortDir: args.sortDir, filters: f });
      if (E.isLeft(page)) throw fromDomainError(page.left);
      rows = page.right;
    }
    const items = rows.map((p) => portJson(req, p, fields));
    const next = address !== undefined ? undefined : nextPage(req, scope.resource, detailPath, items, args, fields);
    return envelope('ports', items, next);
  };

  app.get('/v1/ports', { schema: { tags, summary: 'List ports (node, node_uuid, address, portgroup ≥1.24, shard ≥1.82)' } }, async (req) => list(req, false, { resource: 'ports' }));
  app.get('/v1/ports/detail', { schema: { tags, summary: 'List ports with every field' } }, async (req) => list(req, true, { resource: 'ports' }));

  app.get('/v1/ports/:port_uuid', { schema: { tags, summary: 'Show a port' } }, async (req) => {
    const fields = showFields(req);
    checkPortFields(req, fields);
    return portJson(req, await load(portUuidParam(req)), fields);
  });

  app.get('/v1/ports/:port_uuid/detail', { schema: { hide: true } }, async () => {
    throw notFound();
  });

  /** The cross-aggregate rules of a port (the command handler leaves them to its caller). */
  const checkReferences = async (req: FastifyRequest, port: { node_uuid: string; portgroup_uuid?: string | null; pxe_enabled?: boolean; extra?: Record<string, unknown> }, self?: string) => {
    const node = await lookup.referenced(req, port.node_uuid);
    if (node.provision_state === 'inspecting' && allows(req, 39)) {
      throw clientError(self ? `Cannot update port "${self}" on "${node.uuid}" while it is in state "inspecting".` : `Cannot create port on node "${node.uuid}" while it is in state "inspecting".`, 409);
    }
    if (port.portgroup_uuid) {
      const pg = await deps.readModels.portgroups.get(port.portgroup_uuid);
      if (!pg) throw clientError(`Portgroup ${port.portgroup_uuid} could not be found.`, 400, 'PortgroupNotFound');
      if (pg.node_uuid !== node.uuid) throw clientError(`Port group ${pg.uuid} is not associated with node ${node.uuid}.`, 400, 'InvalidParameterValue');
      const vif = isPlainObject(port.extra) && port.extra.vif_port_id;
      if ((port.pxe_enabled !== false || vif) && !pg.standalone_ports_supported) {
        throw clientError(
          `Port group ${pg.uuid} doesn't support standalone ports. This port cannot be created as a member of that port group because either 'extra/vif_port_id' was specified or 'pxe_enabled' was set to True.`,
          409,
          'Conflict',
        );
      }
    }
    return node;
  };

  app.post('/v1/ports', { schema: { tags, summary: 'Create a port (201 + Location)', body: jsonSchemaOf(t.exact(PortBody)) } }, async (req, reply) => {
    rejectUnexpected(queryOf(req), []);
    const raw = bodyOf(req.body);
    const body = validatePort(req, raw);
    checkPortFields(req, Object.keys(raw as object));
    await checkReferences(req, body);
    const uuid = body.uuid ?? randomUUID();
    const { uuid: _u, ...fields } = body;
    await write(ctx, req, 'port', uuid, { type: 'CreatePort', data: { uuid, at: nowOf(ctx), fields: fields as PortCreateFields } });
    created(req, reply, 'ports', uuid);
    return portJson(req, await load(uuid));
  });

  app.patch('/v1/ports/:port_uuid', { schema: { tags, summary: 'Update a port (JSON patch)', body: { type: 'array', items: { type: 'object' } } } }, async (req) => {
    const { patch, paths: touched } = patchRequest(req, PATCH_ALLOWED);
    checkPortFields(req, touched);
    if (patch.some((p) => p.path.startsWith('/local_link_connection/network_type')) && !allows(req, 64)) throw notAcceptable();
    const current = await load(portUuidParam(req));
    const doc: Record<string, unknown> = {
      uuid: current.uuid,
      address: current.address,
      extra: current.extra,
      is_smartnic: current.is_smartnic,
      local_link_connection: current.local_link_connection,
      node_uuid: current.node_uuid,
      physical_network: current.physical_network,
      portgroup_uuid: current.portgroup_uuid,
      pxe_enabled: current.pxe_enabled,
    };
    const patched = applyPatch(doc, patch);
    const valid = validatePort(req, patched);
    await checkReferences(req, { ...valid, pxe_enabled: valid.pxe_enabled ?? true }, current.uuid);
    const changes: Record<string, unknown> = {};
    const after: Record<string, unknown> = {
      address: valid.address,
      extra: valid.extra ?? {},
      is_smartnic: valid.is_smartnic ?? false,
      local_link_connection: valid.local_link_connection ?? {},
      node_uuid: valid.node_uuid,
      physical_network: valid.physical_network ?? null,
      portgroup_uuid: valid.portgroup_uuid ?? null,
      pxe_enabled: valid.pxe_enabled ?? true,
    };
    for (const [k, v] of Object.entries(after)) if (JSON.stringify(v) !== JSON.stringify((current as unknown as Record<string, unknown>)[k] ?? null)) changes[k] = v;
    if (Object.keys(changes).length > 0) {
      await write(ctx, req, 'port', current.uuid, { type: 'UpdatePort', data: { uuid: current.uuid, at: nowOf(ctx), changes: changes as PortChanges } });
    }
    return portJson(req, await load(current.uuid));
  });

  app.delete('/v1/ports/:port_uuid', { schema: { tags, summary: 'Delete a port: 204' } }, async (req, reply) => {
    rejectUnexpected(queryOf(req), []);
    const p = await load(portUuidParam(req));
    await write(ctx, req, 'port', p.uuid, { type: 'DeletePort', data: { uuid: p.uuid, at: nowOf(ctx) } });
    return reply.code(204).send();
  });

  // ---- sub-collections: read-only -------------------------------------------------------------

  const forbidden = async () => {
    throw fromDomainError(domainError('OperationNotPermitted', 'Operation not permitted.'));
  };
  const nodeScope = async (req: FastifyRequest): Promise<Scope> => {
    const ident = lookup.identOf(req);
    const node = await lookup.resolve(req, ident);
    return { node, resource: `nodes/${ident}/ports` };
  };
  app.get('/v1/nodes/:node_ident/ports', { schema: { tags, summary: "A node's ports" } }, async (req) => list(req, false, await nodeScope(req)));
  app.get('/v1/nodes/:node_ident/ports/detail', { schema: { tags, summary: "A node's ports with every field" } }, async (req) => list(req, true, await nodeScope(req)));
  for (const m of ['post', 'patch', 'delete'] as const) {
    app[m]('/v1/nodes/:node_ident/ports', { schema: { hide: true } }, forbidden);
    app[m]('/v1/nodes/:node_ident/ports/:port_uuid', { schema: { hide: true } }, forbidden);
  }
  app.get('/v1/nodes/:node_ident/ports/:port_uuid', { schema: { hide: true } }, forbidden);

  const pgScope = async (req: FastifyRequest): Promise<Scope> => {
    requireVersion(req, 24, 'not-found');
    const ident = (req.params as { portgroup_ident: string }).portgroup_ident;
    const pg = await findPortgroup(ident);
    if (!pg) throw fromDomainError(domainError('PortgroupNotFound', `Portgroup ${ident} could not be found.`));
    return { portgroup: pg, resource: `portgroups/${ident}/ports` };
  };
  app.get('/v1/portgroups/:portgroup_ident/ports', { schema: { tags: ['portgroups'], summary: "A portgroup's ports (≥1.24)" } }, async (req) => list(req, false, await pgScope(req)));
  app.get('/v1/portgroups/:portgroup_ident/ports/detail', { schema: { tags: ['portgroups'], summary: "A portgroup's ports with every field (≥1.24)" } }, async (req) => list(req, true, await pgScope(req)));
  for (const m of ['post', 'patch', 'delete'] as const) {
    app[m]('/v1/portgroups/:portgroup_ident/ports', { schema: { hide: true } }, forbidden);
    app[m]('/v1/portgroups/:portgroup_ident/ports/:port_uuid', { schema: { hide: true } }, forbidden);
  }
};

