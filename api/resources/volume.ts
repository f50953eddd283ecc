// /v1/volume (reference §3.10, ≥1.32; below it → 404): the index, connectors and targets (list
// with a node filter, detail, fields, show, create 201, JSON-patch, delete), and the node's
// /v1/nodes/{node}/volume sub-resources. As Ironic's conductor does, changing or deleting a
// connector or target needs its node powered off; (type, connector_id) and (node, boot_index)
// are unique (409).

import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as t from 'io-ts';
import { nullable, partial } from '../../domain/codecs.ts';
import { domainError } from '../../domain/errors.ts';
import type { VolumeConnectorChanges, VolumeConnectorCreateFields } from '../../domain/volumeconnector/index.ts';
import type { VolumeTargetChanges, VolumeTargetCreateFields } from '../../domain/volumetarget/index.ts';
import type { ResourceOptions } from '../app.ts';
import { bodyOf, decodeBody, refuseUnknownKeys } from '../body.ts';
import {
  canonicalUuid,
  commonListArgs,
  envelope,
  isUuidLike,
  queryOf,
  rejectUnexpected,
  returnFields,
  stringArg,
  type SortSpec,
} from '../collection.ts';
import type { NodeView, VolumeConnectorView, VolumeTargetView } from '../deps.ts';
import { clientError, fromDomainError } from '../http-errors.ts';
import { applyPatch } from '../patch.ts';
import { requireVersion } from '../plugins/versions.ts';
import { pyRepr } from '../pyjson.ts';
import { jsonSchemaOf } from '../schema.ts';
import { makeLink, selfAndBookmark } from '../url.ts';
import { nowOf, write } from './common.ts';
import { changesFrom, created, nextPage, patchRequest, sanitized, showFields, stamps } from './crud.ts';
import { nodeLookup } from './node-lookup.ts';

const tags = ['volume'];
const connectorTypes = ['iqn', 'ip', 'mac', 'wwnn', 'wwpn', 'port', 'portal'];

const ConnectorBody = t.intersection([
  t.type({ connector_id: t.string, node_uuid: t.string, type: t.string }),
  partial({ extra: nullable(t.UnknownRecord), uuid: nullable(t.string) }),
]);
const connectorKeys = ['connector_id', 'extra', 'node_uuid', 'type', 'uuid'];
const TargetBody = t.intersection([
  t.type({ boot_index: t.union([t.number, t.string]), node_uuid: t.string, volume_id: t.string, volume_type: t.string }),
  partial({ extra: nullable(t.UnknownRecord), properties: nullable(t.UnknownRecord), uuid: nullable(t.string) }),
]);
const targetKeys = ['boot_index', 'extra', 'node_uuid', 'properties', 'uuid', 'volume_id', 'volume_type'];

const connectorFields = ['uuid', 'created_at', 'updated_at', 'connector_id', 'extra', 'type', 'links', 'node_uuid'];
const targetFields = ['uuid', 'created_at', 'updated_at', 'boot_index', 'extra', 'properties', 'volume_id', 'volume_type', 'links', 'node_uuid'];

export const connectorJson = (req: FastifyRequest, c: VolumeConnectorView, fields?: readonly string[]): Record<string, unknown> => {
  const out: Record<string, unknown> = {
    ...stamps(c),
    connector_id: c.connector_id,
    extra: c.extra ?? {},
    type: c.type,
    links: selfAndBookmark(req.baseUrl, 'volume/connectors', c.uuid),
    node_uuid: c.node_uuid,
  };
  return sanitized(req, out, fields, connectorFields);
};

export const targetJson = (req: FastifyRequest, v: VolumeTargetView, fields?: readonly string[]): Record<string, unknown> => {
  const out: Record<string, unknown> = {
    ...stamps(v),
    boot_index: v.boot_index,
    extra: v.extra ?? {},
    properties: v.properties ?? {},
    volume_id: v.volume_id,
    volume_type: v.volume_type,
    links: selfAndBookmark(req.baseUrl, 'volume/targets', v.uuid),
    node_uuid: v.node_uuid,
  };
  return sanitized(req, out, fields, targetFields);
};

interface Kind<V> {
  plural: 'connectors' | 'targets';
  what: string;
  defaultFields: string[];
  sort: SortSpec;
  toJson: (req: FastifyRequest, v: V, fields?: readonly string[]) => Record<string, unknown>;
}

export const volumeRoutes = async (app: FastifyInstance, ctx: ResourceOptions): Promise<void> => {
  const { deps, config } = ctx;
  const lookup = nodeLookup(deps.readModels.nodes);
  const gate = (req: FastifyRequest) => requireVersion(req, 32, 'not-found');
  const connectors = deps.readModels.volumeConnectors;
  const targets = deps.readModels.volumeTargets;

  const connectorKind: Kind<VolumeConnectorView> = {
    plural: 'connectors',
    what: 'volume connector',
    defaultFields: ['uuid', 'type', 'connector_id', 'node_uuid'],
    sort: { invalid: ['extra'], known: ['uuid', 'node_uuid', 'type', 'connector_id', 'created_at', 'updated_at'], versioned: {} },
    toJson: connectorJson,
  };
  const targetKind: Kind<VolumeTargetView> = {
    plural: 'targets',
    what: 'volume target',
    defaultFields: ['uuid', 'volume_type', 'boot_index', 'volume_id', 'node_uuid'],
    sort: { invalid: ['extra', 'properties'], known: ['uuid', 'node_uuid', 'volume_type', 'volume_id', 'boot_index', 'created_at', 'updated_at'], versioned: {} },
    toJson: targetJson,
  };

  const uuidParam = (req: FastifyRequest, name: string): string => {
    const id = (req.params as Record<string, string>)[name]!;
    if (!isUuidLike(id)) throw clientError(`Expected UUID for ${name}: ${id}`);
    return canonicalUuid(id);
  };

  const listOf = <V extends { uuid: string }>(kind: Kind<V>, q: { list: (o: { limit: number; marker?: string; sortKey: string; sortDir: 'asc' | 'desc'; filters: { node_uuid?: string } }) => Promise<E.Either<import('../../domain/errors.ts').DomainError, V[]>> }) =>
    async (req: FastifyRequest, detailParam: boolean, scopeNode?: NodeView, resource = `volume/${kind.plural}`) => {
      gate(req);
      const query = queryOf(req);
      const paging = ['marker', 'limit', 'sort_key', 'sort_dir', 'fields', 'detail'];
      rejectUnexpected(query, scopeNode ? paging : ['node', ...paging]);
      const args = commonListArgs(req, query, { maxLimit: config.maxLimit, sort: kind.sort });
      const fields = returnFields(req, args.fields, detailParam || args.detail, kind.defaultFields, 32);
      const nodeArg = stringArg(query, 'node');
      const node = scopeNode ?? (nodeArg !== undefined ? await lookup.resolve(req, nodeArg) : undefined);
      const page = await q.list({ limit: args.limit, marker: args.marker, sortKey: args.sortKey, sortDir: args.sortDir, filters: node ? { node_uuid: node.uuid } : {} });
      if (E.isLeft(page)) throw fromDomainError(page.left);
      const items = page.right.map((v) => kind.toJson(req, v, fields));
      const next = nextPage(req, resource, false, items, args, fields);
      return envelope(kind.plural, items, next);
    };
  const listConnectors = listOf(connectorKind, connectors);
  const listTargets = listOf(targetKind, targets);

  const poweredOff = (node: NodeView, action: string): void => {
    if (node.power_state !== 'power off') {
      throw fromDomainError(domainError('InvalidStateRequested', `The requested action "${action}" can not be performed on node "${node.uuid}" while it is in state "${node.power_state}".`));
    }
  };

  // ---- the index -------------------------------------------------------------------------------

  const index = (req: FastifyRequest, prefix: string, resource: string) => {
    const base = req.baseUrl;
    return {
      connectors: [makeLink('self', base, resource, `${prefix}connectors`), makeLink('bookmark', base, resource, `${prefix}connectors`, true)],
      links: [makeLink('self', base, resource, prefix.replace(/\/$/, '') || ''), makeLink('bookmark', base, resource, prefix.replace(/\/$/, '') || '', true)],
      targets: [makeLink('self', base, resource, `${prefix}targets`), makeLink('bookmark', base, resource, `${prefix}targets`, true)],
    };
  };
  app.get('/v1/volume', { schema: { tags, summary: 'The volume resources (≥1.32)' } }, async (req) => {
    gate(req);
    rejectUnexpected(queryOf(req), []);
    const base = req.baseUrl;
    return {
      connectors: [makeLink('self', base, 'volume', 'connectors'), makeLink('bookmark', base, 'volume', 'connectors', true)],
      links: [{ href: `${base}/v1/volume/`, rel: 'self' }, { href: `${base}/volume/`, rel: 'bookmark' }],
      targets: [makeLink('self', base, 'volume', 'targets'), makeLink('bookmark', base, 'volume', 'targets', true)],
    };
  });

  // ---- connectors ------------------------------------------------------------------------------

  const loadConnector = async (uuid: string): Promise<VolumeConnectorView> => {
    const c = await connectors.get(uuid);
    if (!c) throw fromDomainError(domainError('VolumeConnectorNotFound', `Volume connector ${uuid} could not be found.`));
    return c;
  };
  const validateConnector = (value: unknown) => {
    refuseUnknownKeys(value, connectorKeys, 'volume connector');
    const b = decodeBody(ConnectorBody, value, 'volume connector');
    for (const k of ['node_uuid', 'uuid'] as const) {
      const v = b[k];
      if (typeof v === 'string' && !isUuidLike(v)) throw clientError(`Expected UUID for ${k}: ${v}`);
    }
    if (!connectorTypes.includes(b.type)) throw clientError(`Invalid type ${b.type}. Valid types are: ${connectorTypes.join(', ')}`, 400, 'InvalidParameterValue');
    if (b.connector_id.length === 0) throw clientError("Schema error for volume connector: '' is too short");
    return {
      connector_id: b.connector_id,
      node_uuid: canonicalUuid(b.node_uuid),
      type: b.type as VolumeConnectorCreateFields['type'],
      extra: (b.extra as Record<string, unknown> | null | undefined) ?? {},
      ...(typeof b.uuid === 'string' ? { uuid: canonicalUuid(b.uuid) } : {}),
    };
  };
  const connectorUnique = async (type: string, connectorId: string, self?: string) => {
    const all = await connectors.list({ limit: 100_000, sortKey: 'id', sortDir: 'asc', filters: {} });
    if (E.isRight(all) && all.right.some((c) => c.type === type && c.connector_id === connectorId && c.uuid !== self)) {
      throw fromDomainError(domainError('VolumeConnectorTypeAndIdAlreadyExists', `A volume connector with type ${type} and connector ID ${connectorId} already exists.`));
    }
  };

  app.get('/v1/volume/connectors', { schema: { tags, summary: 'List volume connectors (≥1.32)' } }, async (req) => listConnectors(req, false));
  app.get('/v1/volume/connectors/:connector_uuid', { schema: { tags, summary: 'Show a volume connector' } }, async (req) => {
    gate(req);
    const fields = showFields(req);
    return connectorJson(req, await loadConnector(uuidParam(req, 'connector_uuid')), fields);
  });
  app.post('/v1/volume/connectors', { schema: { tags, summary: 'Create a volume connector (≥1.32): 201', body: jsonSchemaOf(t.exact(ConnectorBody)) } }, async (req, reply) => {
    gate(req);
    rejectUnexpected(queryOf(req), []);
    const { uuid: given, ...fields } = validateConnector(bodyOf(req.body));
    await lookup.referenced(req, fields.node_uuid);
    await connectorUnique(fields.type, fields.connector_id);
    const uuid = given ?? randomUUID();
    await write(ctx, req, 'volumeconnector', uuid, { type: 'CreateVolumeConnector', data: { uuid, at: nowOf(ctx), fields: fields as VolumeConnectorCreateFields } });
    created(req, reply, 'volume/connectors', uuid);
    return connectorJson(req, await loadConnector(uuid));
  });
  app.patch('/v1/volume/connectors/:connector_uuid', { schema: { tags, summary: 'Update a volume connector (JSON patch; node powered off)', body: { type: 'array', items: { type: 'object' } } } }, async (req) => {
    gate(req);
    const { patch } = patchRequest(req, ['connector_id', 'extra', 'node_uuid', 'type']);
    const current = await loadConnector(uuidParam(req, 'connector_uuid'));
    const patched = applyPatch({ uuid: current.uuid, connector_id: current.connector_id, extra: current.extra, node_uuid: current.node_uuid, type: current.type }, patch);
    const { uuid: _u, ...v } = validateConnector(patched);
    const node = await lookup.referenced(req, v.node_uuid);
    poweredOff(node, 'volume connector update');
    await connectorUnique(v.type, v.connector_id, current.uuid);
    const changes = changesFrom(current, v);
    if (Object.keys(changes).length) {
      await write(ctx, req, 'volumeconnector', current.uuid, { type: 'UpdateVolumeConnector', data: { uuid: current.uuid, at: nowOf(ctx), changes: changes as VolumeConnectorChanges } });
    }
    return connectorJson(req, await loadConnector(current.uuid));
  });
  app.delete('/v1/volume/connectors/:connector_uuid', { schema: { tags, summary: 'Delete a volume connector (node powered off): 204' } }, async (req, reply) => {
    gate(req);
    rejectUnexpected(queryOf(req), []);
    const c = await loadConnector(uuidParam(req, 'connector_uuid'));
    const node = await deps.readModels.nodes.get(c.node_uuid);
    if (node) poweredOff(node, 'volume connector deletion');
    await write(ctx, req, 'volumeconnector', c.uuid, { type: 'DeleteVolumeConnector', data: { uuid: c.uuid, at: nowOf(ctx) } });
    return reply.code(204).send();
  });

  // ---- targets ---------------------------------------------------------------------------------

  const loadTarget = async (uuid: string): Promise<VolumeTargetView> => {
    const v = await targets.get(uuid);
    if (!v) throw fromDomainError(domainError('VolumeTargetNotFound', `Volume target ${uuid} could not be found.`));
    return v;
  };
  const validateTarget = (value: unknown) => {
    refuseUnknownKeys(value, targetKeys, 'volume target');
    const b = decodeBody(TargetBody, value, 'volume target');
    for (const k of ['node_uuid', 'uuid'] as const) {
      const v = b[k];
      if (typeof v === 'string' && !isUuidLike(v)) throw clientError(`Expected UUID for ${k}: ${v}`);
    }
    const bootIndex = typeof b.boot_index === 'string' && /^\s*\d+\s*$/.test(b.boot_index) ? Number(b.boot_index) : b.boot_index;
    if (typeof bootIndex !== 'number' || !Number.isInteger(bootIndex) || bootIndex < 0) {
      throw clientError(`Invalid boot_index ${pyRepr(b.boot_index)}: it must be an integer of at least 0.`, 400, 'InvalidParameterValue');
    }
    return {
      boot_index: bootIndex,
      node_uuid: canonicalUuid(b.node_uuid),
      volume_id: b.volume_id,
      volume_type: b.volume_type,
      extra: (b.extra as Record<string, unknown> | null | undefined) ?? {},
      properties: (b.properties as Record<string, unknown> | null | undefined) ?? {},
      ...(typeof b.uuid === 'string' ? { uuid: canonicalUuid(b.uuid) } : {}),
    };
  };
  const bootIndexUnique = async (node: string, bootIndex: number, self?: string) => {
    const all = await targets.list({ limit: 100_000, sortKey: 'id', sortDir: 'asc', filters: { node_uuid: node } });
    if (E.isRight(all) && all.right.some((v) => v.boot_index === bootIndex && v.uuid !== self)) {
      throw fromDomainError(domainError('VolumeTargetBootIndexAlreadyExists', `A volume target with boot index '${bootIndex}' for the same node already exists.`));
    }
  };

  app.get('/v1/volume/targets', { schema: { tags, summary: 'List volume targets (≥1.32)' } }, async (req) => listTargets(req, false));
  app.get('/v1/volume/targets/:target_uuid', { schema: { tags, summary: 'Show a volume target' } }, async (req) => {
    gate(req);
    const fields = showFields(req);
    return targetJson(req, await loadTarget(uuidParam(req, 'target_uuid')), fields);
  });
  app.post('/v1/volume/targets', { schema: { tags, summary: 'Create a volume target (≥1.32): 201', body: jsonSchemaOf(t.exact(TargetBody)) } }, async (req, reply) => {
    gate(req);
    rejectUnexpected(queryOf(req), []);
    const { uuid: given, ...fields } = validateTarget(bodyOf(req.body));
    await lookup.referenced(req, fields.node_uuid);
    await bootIndexUnique(fields.node_uuid, fields.boot_index);
    const uuid = given ?? randomUUID();
    await write(ctx, req, 'volumetarget', uuid, { type: 'CreateVolumeTarget', data: { uuid, at: nowOf(ctx), fields: fields as VolumeTargetCreateFields } });
    created(req, reply, 'volume/targets', uuid);
    return targetJson(req, await loadTarget(uuid));
  });
  app.patch('/v1/volume/targets/:target_uuid', { schema: { tags, summary: 'Update a volume target (JSON patch; node powered off)', body: { type: 'array', items: { type: 'object' } } } }, async (req) => {
    gate(req);
    const { patch } = patchRequest(req, ['boot_index', 'extra', 'node_uuid', 'properties', 'volume_id', 'volume_type']);
    const current = await loadTarget(uuidParam(req, 'target_uuid'));
    const patched = applyPatch(
      { uuid: current.uuid, boot_index: current.boot_index, extra: current.extra, node_uuid: current.node_uuid, properties: current.properties, volume_id: current.volume_id, volume_type: current.volume_type },
      patch,
    );
    const { uuid: _u, ...v } = validateTarget(patched);
    const node = await lookup.referenced(req, v.node_uuid);
    poweredOff(node, 'volume target update');
    await bootIndexUnique(v.node_uuid, v.boot_index, current.uuid);
    const changes = changesFrom(current, v);
    if (Object.keys(changes).length) {
      await write(ctx, req, 'volumetarget', current.uuid, { type: 'UpdateVolumeTarget', data: { uuid: current.uuid, at: nowOf(ctx), changes: changes as VolumeTargetChanges } });
    }
    return targetJson(req, await loadTarget(current.uuid));
  });
  app.delete('/v1/volume/targets/:target_uuid', { schema: { tags, summary: 'Delete a volume target (node powered off): 204' } }, async (req, reply) => {
    gate(req);
    rejectUnexpected(queryOf(req), []);
    const v = await loadTarget(uuidParam(req, 'target_uuid'));
    const node = await deps.readModels.nodes.get(v.node_uuid);
    if (node) poweredOff(node, 'volume target deletion');
    await write(ctx, req, 'volumetarget', v.uuid, { type: 'DeleteVolumeTarget', data: { uuid: v.uuid, at: nowOf(ctx) } });
    return reply.code(204).send();
  });

  // ---- /v1/nodes/{node}/volume -----------------------------------------------------------------

  const nodeOf = async (req: FastifyRequest) => {
    gate(req);
    const ident = lookup.identOf(req);
    return { ident, node: await lookup.resolve(req, ident) };
  };
  app.get('/v1/nodes/:node_ident/volume', { schema: { tags, summary: "A node's volume resources (≥1.32)" } }, async (req) => {
    const { ident } = await nodeOf(req);
    return index(req, `${ident}/volume/`, 'nodes');
  });
  app.get('/v1/nodes/:node_ident/volume/connectors', { schema: { tags, summary: "A node's volume connectors (≥1.32)" } }, async (req) => {
    const { ident, node } = await nodeOf(req);
    return listConnectors(req, false, node, `nodes/${ident}/volume/connectors`);
  });
  app.get('/v1/nodes/:node_ident/volume/targets', { schema: { tags, summary: "A node's volume targets (≥1.32)" } }, async (req) => {
    const { ident, node } = await nodeOf(req);
    return listTargets(req, false, node, `nodes/${ident}/volume/targets`);
  });
  const forbidden = async () => {
    throw fromDomainError(domainError('OperationNotPermitted', 'Operation not permitted.'));
  };
  for (const m of ['post', 'patch', 'delete'] as const) {
    app[m]('/v1/nodes/:node_ident/volume/connectors', { schema: { hide: true } }, forbidden);
    app[m]('/v1/nodes/:node_ident/volume/targets', { schema: { hide: true } }, forbidden);
  }
};
