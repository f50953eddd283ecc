// /v1/nodes (reference §3.2): list (every filter), detail, show, create (201), JSON-patch with
// Ironic's patch rules, delete (204); and the chassis' node sub-collection. Nodes are addressed
// by UUID or (≥1.5) name; a stripped `.json` suffix is tried again when the name is not found.
// Provisioning rules (which states allow a delete, protected nodes, associated instances, driver
// and conductor availability) belong to the domain: the API passes DomainErrors through.

import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as t from 'io-ts';
import { nullable, partial } from '../../domain/codecs.ts';
import { domainError } from '../../domain/errors.ts';
import { updatableFieldNames, type CreateFields, type UpdatableFields } from '../../domain/node/node.ts';
import { sealSecrets, type SecretScope } from '../../domain/secrets.ts';
import type { ResourceOptions } from '../app.ts';
import { bodyOf, decodeBody, refuseUnknownKeys } from '../body.ts';
import {
  booleanArg,
  canonicalUuid,
  checkAllowedFields,
  commonListArgs,
  envelope,
  isUuidLike,
  nextUrl,
  parseBoolean,
  queryOf,
  rejectUnexpected,
  returnFields,
  stringArg,
  stringListArg,
  uuidArg,
  versionedTable,
  type Query,
  type SortSpec,
} from '../collection.ts';
import type { NodeFilters, NodeView } from '../deps.ts';
import { resolveInterfaces, type InterfaceFields } from '../hardware.ts';
import { ApiError, clientError, fromDomainError, notAcceptable } from '../http-errors.ts';
import { applyPatch, checkAllowedPaths, validatePatchDocument, type PatchOp } from '../patch.ts';
import { allows } from '../plugins/versions.ts';
import { pyRepr } from '../pyjson.ts';
import { jsonSchemaOf } from '../schema.ts';
import { commandMeta, noOwnerError, nowOf, placementOf, requireOwner, waitForWrite, write } from './common.ts';
import { showFields } from './crud.ts';
import { checkNodeQueryFields, listBody, NodeRenderCache, nodeJson, nodeObjectFields, nodeVersionedFields, type NodeJsonContext } from './node-json.ts';
import { checkNameAcceptable, nodeLookup, nodeNotFound } from './node-lookup.ts';

/** what fastify sets for a serialized object; the cached renders go out as bytes with the same type */
const JSON_TYPE = 'application/json; charset=utf-8';

export { isValidLogicalName, reservedNodeNames } from './node-lookup.ts';

// ---- the node body (node_schema) ---------------------------------------------------------------

const str = nullable(t.string);
const dict = nullable(t.UnknownRecord);
const boolish = t.union([t.string, t.boolean, t.null]);

const interfaceProps = {
  bios_interface: str,
  boot_interface: str,
  console_interface: str,
  deploy_interface: str,
  inspect_interface: str,
  management_interface: str,
  network_interface: str,
  power_interface: str,
  raid_interface: str,
  rescue_interface: str,
  storage_interface: str,
  vendor_interface: str,
};

const nodeProps = {
  automated_clean: boolish,
  boot_mode: str,
  chassis_uuid: str,
  conductor_group: str,
  console_enabled: boolish,
  description: str,
  driver: t.string,
  driver_info: dict,
  extra: dict,
  instance_info: dict,
  instance_uuid: str,
  lessee: str,
  maintenance: boolish,
  name: str,
  network_data: dict,
  owner: str,
  properties: dict,
  resource_class: str,
  retired: boolish,
  retired_reason: str,
  secure_boot: boolish,
  shard: str,
  uuid: str,
  ...interfaceProps,
};

export const NodeCreateBody = t.intersection([t.type({ driver: t.string }), partial(nodeProps)]);
const NodePatchedBody = partial({ ...nodeProps, protected: boolish, protected_reason: str });
const createKeys = Object.keys(nodeProps);
const patchKeys = [...createKeys, 'protected', 'protected_reason'];

type NodeBody = t.TypeOf<typeof NodePatchedBody>;

/** node_validator: the schema, lengths, then NODE_VALIDATE_EXTRA (booleans and UUIDs). */
const validateNodeBody = (value: unknown, keys: readonly string[]): NodeBody => {
  refuseUnknownKeys(value, keys, 'node');
  const body: NodeBody = keys === createKeys ? decodeBody(NodeCreateBody, value, 'node') : decodeBody(NodePatchedBody, value, 'node');
  if (typeof body.description === 'string' && body.description.length > 4096) {
    throw clientError(`Schema error for node: ${pyRepr(body.description)} is too long`);
  }
  if (typeof body.resource_class === 'string' && body.resource_class.length > 80) {
    throw clientError(`Schema error for node: ${pyRepr(body.resource_class)} is too long`);
  }
  for (const k of ['automated_clean', 'console_enabled', 'protected', 'maintenance', 'retired'] as const) {
    const v = body[k];
    if (typeof v === 'string') (body as Record<string, unknown>)[k] = parseBoolean(k, v);
  }
  if (typeof body.secure_boot === 'string') body.secure_boot = parseBoolean('secure_boot', body.secure_boot);
  for (const k of ['chassis_uuid', 'instance_uuid', 'uuid'] as const) {
    const v = body[k];
    if (typeof v === 'string' && !isUuidLike(v)) throw clientError(`Expected UUID for ${k}: ${v}`);
  }
  if (typeof body.conductor_group === 'string' && !/^[a-zA-Z0-9_\-.]*$/.test(body.conductor_group)) {
    throw clientError(`Invalid conductor group ${body.conductor_group}: it may only contain letters, digits, '_', '-' and '.'`);
  }
  return body;
};

/** reject_fields_in_newer_versions (POST): a too-new field with a non-empty value → 406. */
const rejectNewerFields = (req: FastifyRequest, body: Record<string, unknown>): void => {
  const table = versionedTable(nodeVersionedFields);
  if (allows(req, table.newest)) return;
  for (const [field, minor] of table.pairs) {
    if (allows(req, minor)) continue;
    if (field === 'name' && (body.name === undefined || body.name === null)) continue;
    const empty = field === 'conductor_group' ? '' : null;
    const v = body[field] === undefined ? empty : body[field];
    if (v !== empty) throw notAcceptable();
  }
};

/** reject_patch_in_newer_versions: any non-remove op on a too-new root field → 406. */
const rejectNewerPatch = (req: FastifyRequest, patch: readonly PatchOp[]): void => {
  const table = versionedTable(nodeVersionedFields);
  if (allows(req, table.newest)) return;
  for (const [field, minor] of table.pairs) {
    if (!allows(req, minor) && patch.some((p) => p.path === `/${field}` && p.op !== 'remove')) throw notAcceptable();
  }
};

const PATCH_ALLOWED_FIELDS = [
  'automated_clean', 'bios_interface', 'boot_interface', 'chassis_uuid', 'conductor_group', 'console_interface',
  'deploy_interface', 'description', 'driver', 'driver_info', 'extra', 'inspect_interface', 'instance_info',
  'instance_uuid', 'lessee', 'maintenance', 'management_interface', 'name', 'network_data', 'network_interface',
  'owner', 'power_interface', 'properties', 'protected', 'protected_reason', 'raid_interface', 'rescue_interface',
  'resource_class', 'retired', 'retired_reason', 'shard', 'storage_interface', 'vendor_interface',
];

const UPDATE_ALLOWED_STATES = [
  'deploy failed', 'inspecting', 'inspect failed', 'inspect wait', 'clean failed', 'error', 'verifying',
  'adopt failed', 'rescue failed', 'unrescue failed',
];

/** The fields the domain lets a user set (node.ts userProps); the schema's other keys are ignored. */
const writableFields: readonly (keyof UpdatableFields)[] = updatableFieldNames;

const secretScopes: ReadonlyArray<[keyof UpdatableFields, SecretScope]> = [
  ['driver_info', 'driver_info'],
  ['instance_info', 'instance_info'],
];


// ---- lists -------------------------------------------------------------------------------------

export const provisionStates = [
  'enroll', 'manageable', 'available', 'active', 'error', 'rescue', 'verifying', 'deploying', 'wait call-back',
  'deploy failed', 'cleaning', 'clean wait', 'clean failed', 'deleting', 'inspecting', 'inspect failed',
  'inspect wait', 'adopting', 'adopt failed', 'rescuing', 'rescue wait', 'rescue failed', 'unrescuing', 'unrescue failed',
];
const validFaults = ['power failure', 'clean failure', 'rescue abort failure'];

const DEFAULT_FIELDS = ['instance_uuid', 'maintenance', 'power_state', 'provision_state', 'uuid', 'name'];

const invalidSortKeys = ['properties', 'driver_info', 'extra', 'instance_info', 'driver_internal_info', 'clean_step', 'deploy_step', 'raid_config', 'target_raid_config', 'traits', 'network_data'];
const sortSpec: SortSpec = {
  invalid: invalidSortKeys,
  known: ['uuid', 'created_at', 'updated_at', ...nodeObjectFields.filter((f) => !invalidSortKeys.includes(f))],
  versioned: nodeVersionedFields,
};

const filterArgs = ['chassis_uuid', 'instance_uuid', 'associated', 'maintenance', 'retired', 'provision_state', 'driver', 'resource_class', 'fault', 'conductor_group', 'conductor', 'owner', 'description_contains', 'lessee', 'project', 'shard', 'sharded'];
const pagingArgs = ['marker', 'limit', 'sort_key', 'sort_dir'];

const minimal = (minor: number) => notAcceptable(`Request not acceptable. The minimal required API version should be 1.${minor}`);

/** The filters of get_all/detail, parsed and version-checked in Ironic's order. */
const parseFilters = (req: FastifyRequest, query: Query, chassisFromPath?: string): { filters: NodeFilters; conductor?: string } => {
  const f: NodeFilters = {};
  const chassisUuid = chassisFromPath ?? uuidArg(query, 'chassis_uuid');
  if (chassisUuid !== undefined) f.chassis_uuid = canonicalUuid(chassisUuid);
  const instanceUuid = uuidArg(query, 'instance_uuid');
  if (instanceUuid !== undefined) f.instance_uuid = canonicalUuid(instanceUuid);
  const set = <K extends keyof NodeFilters>(k: K, v: NodeFilters[K] | undefined) => {
    if (v !== undefined) f[k] = v;
  };
  set('associated', booleanArg(query, 'associated'));
  set('maintenance', booleanArg(query, 'maintenance'));
  set('retired', booleanArg(query, 'retired'));
  const provisionState = stringArg(query, 'provision_state');
  const driver = stringArg(query, 'driver');
  const resourceClass = stringArg(query, 'resource_class');
  const fault = stringArg(query, 'fault');
  const conductorGroup = stringArg(query, 'conductor_group');
  const conductor = stringArg(query, 'conductor');
  const owner = stringArg(query, 'owner');
  const lessee = stringArg(query, 'lessee');
  const shard = stringListArg(query, 'shard');
  const sharded = booleanArg(query, 'sharded');
  set('project', stringArg(query, 'project'));
  set('description_contains', stringArg(query, 'description_contains'));

  if (provisionState !== undefined) {
    if (!allows(req, 9)) throw notAcceptable();
    if (!provisionStates.includes(provisionState)) throw clientError(`Provision state "${provisionState}" is not valid`);
    f.provision_state = provisionState;
  }
  if (driver !== undefined && !allows(req, 16)) throw minimal(16);
  set('driver', driver);
  if (resourceClass !== undefined && !allows(req, 21)) throw minimal(21);
  set('resource_class', resourceClass);
  if (fault !== undefined) {
    if (!allows(req, 42)) throw minimal(42);
    if (!validFaults.includes(fault)) {
      throw clientError(`Unrecognized fault "${fault}" is specified, allowed faults are (${validFaults.map((x) => `'${x}'`).join(', ')})`);
    }
    f.fault = fault;
  }
  if (conductorGroup !== undefined && !allows(req, 46)) throw minimal(46);
  if (conductorGroup !== undefined) f.conductor_group = conductorGroup.toLowerCase();
  if (conductor !== undefined && !allows(req, 49)) throw minimal(49);
  if (owner !== undefined && !allows(req, 50)) throw minimal(50);
  set('owner', owner);
  if (lessee !== undefined && !allows(req, 65)) throw minimal(65);
  set('lessee', lessee);
  if ((shard !== undefined || sharded !== undefined) && !allows(req, 82)) throw minimal(82);
  set('shard', shard);
  set('sharded', sharded);
  return conductor === undefined ? { filters: f } : { filters: f, conductor };
};

// ---- routes ------------------------------------------------------------------------------------

const tags = ['nodes'];
const nodeSchema = { type: 'object', additionalProperties: true };
const identParams = { type: 'object', properties: { node_ident: { type: 'string', description: 'UUID or name (≥1.5)' } } };

/** Seals the clear secrets of the dicts a write carries (the domain refuses clear ones). */
const sealed = <T extends Partial<Record<keyof UpdatableFields, unknown>>>(ctx: ResourceOptions, fields: T): T => {
  const out = { ...fields } as Record<string, unknown>;
  for (const [k, scope] of secretScopes) {
    const v = out[k];
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out[k] = sealSecrets(v as Record<string, unknown>, ctx.deps.secrets, scope);
  }
  return out as T;
};

/** The driver's interfaces checked and (at create, or with reset_interfaces) filled in. */
const interfacesFor = (ctx: ResourceOptions, driver: string, group: string, uuid: string, given: InterfaceFields, resolveMissing: boolean): InterfaceFields => {
  const hw = ctx.deps.conductors.hardwareTypes().get(driver);
  if (!hw) throw fromDomainError(noOwnerError(ctx, { uuid, group, driver }));
  requireOwner(ctx, { uuid, group, driver });
  const r = resolveInterfaces(hw, given, resolveMissing);
  if ('error' in r) throw fromDomainError(r.error);
  return r.ok;
};

const interfaceKeys = Object.keys(interfaceProps) as Array<keyof InterfaceFields>;

export const nodeRoutes = async (app: FastifyInstance, ctx: ResourceOptions): Promise<void> => {
  const { deps, config } = ctx;
  const jsonCtx: NodeJsonContext = { conductorFor: (n) => deps.conductors.ownerOf(placementOf(n)) };
  const nodes = deps.readModels.nodes;
  const lookup = nodeLookup(nodes);
  const { resolve, identOf } = lookup;

  const renders = new NodeRenderCache();
  const list = async (req: FastifyRequest, reply: FastifyReply, detailPath: boolean, chassisUuid?: string) => {
    const query = queryOf(req);
    rejectUnexpected(query, detailPath ? [...filterArgs, ...pagingArgs] : [...filterArgs, ...pagingArgs, 'fields', 'detail']);
    const args = commonListArgs(req, query, { maxLimit: config.maxLimit, sort: sortSpec });
    checkAllowedFields(req, args.fields, nodeVersionedFields);
    const { filters, conductor } = parseFilters(req, query, chassisUuid);
    const fields = detailPath ? undefined : returnFields(req, args.fields, args.detail, DEFAULT_FIELDS);
    checkNodeQueryFields(fields);
    const listOptions = { limit: args.limit, marker: args.marker, sortKey: args.sortKey, sortDir: args.sortDir, filters };
    const resource = chassisUuid !== undefined ? `chassis/${chassisUuid}/nodes` : 'nodes';
    const nextOf = (items: readonly Record<string, unknown>[]) =>
      nextUrl(req.baseUrl, detailPath ? `${resource}/detail` : resource, items, filters.instance_uuid ? 0 : args.limit, [
        ['sort_key', args.sortKey],
        ['sort_dir', args.sortDir],
        ['associated', filters.associated || undefined],
        ['maintenance', filters.maintenance || undefined],
        ['retired', filters.retired || undefined],
        ['detail', detailPath ? undefined : args.detail],
        ['fields', fields],
      ]);
    if (fields === undefined && conductor === undefined && nodes.listRows) {
      // full nodes: (uuid, revision) rows first, and a document is read only for a render the cache lacks
      const page = await nodes.listRows(listOptions);
      if (E.isLeft(page)) throw fromDomainError(page.left);
      const bodies: Buffer[] = [];
      for (const n of page.right) {
        const b = renders.fullRow(req, n, jsonCtx);
        if (b) bodies.push(b);
      }
      return reply.type(JSON_TYPE).send(renders.list('nodes', bodies, nextOf(page.right as unknown as Record<string, unknown>[])));
    }
    const page = await nodes.list(listOptions);
    if (E.isLeft(page)) throw fromDomainError(page.left);
    let rows = page.right;
    if (conductor !== undefined) rows = rows.filter((n) => jsonCtx.conductorFor(n) === conductor);
    // full nodes come from the render cache, already encoded; picked fields are cheap to render
    const items = fields === undefined ? undefined : rows.map((n) => nodeJson(req, n, fields, jsonCtx));
    const next = nextOf(items ?? (rows as unknown as Record<string, unknown>[]));
    if (items) return envelope('nodes', items, next);
    return reply.type(JSON_TYPE).send(listBody('nodes', rows.map((n) => renders.full(req, n, jsonCtx)), next));
  };

  const fieldsOfShow = (req: FastifyRequest): string[] | undefined => {
    const fields = showFields(req);
    checkAllowedFields(req, fields, nodeVersionedFields);
    checkNodeQueryFields(fields);
    return fields;
  };

  app.get('/v1/nodes', { schema: { tags, summary: 'List nodes (filters, fields, detail, paging)' } }, async (req, reply) => list(req, reply, false));
  app.get('/v1/nodes/detail', { schema: { tags, summary: 'List nodes with every field' } }, async (req, reply) => list(req, reply, true));

  app.get('/v1/nodes/:node_ident', { schema: { tags, summary: 'Show a node', params: identParams, response: { 200: nodeSchema } } }, async (req, reply) => {
    const ident = identOf(req);
    if (nodes.rowOf && isUuidLike(ident) && Object.keys(queryOf(req)).length === 0) {
      // by uuid, whole, nothing else asked: from the render cache without reading the stored document
      const row = await nodes.rowOf(canonicalUuid(ident));
      const bytes = row && renders.fullRow(req, row, jsonCtx);
      if (bytes) return reply.type(JSON_TYPE).send(bytes);
    }
    const node = await resolve(req, ident);
    const fields = fieldsOfShow(req);
    return fields ? nodeJson(req, node, fields, jsonCtx) : reply.type(JSON_TYPE).send(renders.full(req, node, jsonCtx));
  });

  const requireChassis = async (chassisUuid: string): Promise<void> => {
    // ChassisNotFound re-coded to 400: a reference inside a node body, not the resource asked for
    if (!(await deps.readModels.chassis.get(canonicalUuid(chassisUuid)))) throw clientError(`Chassis ${chassisUuid} could not be found.`, 400, 'ChassisNotFound');
  };

  app.post(
    '/v1/nodes',
    { schema: { tags, summary: 'Create (enroll) a node', body: jsonSchemaOf(t.exact(partial(nodeProps))), response: { 201: nodeSchema } } },
    async (req, reply) => {
      rejectUnexpected(queryOf(req), []);
      const raw = bodyOf(req.body);
      const body = validateNodeBody(raw, createKeys);
      rejectNewerFields(req, body as Record<string, unknown>);
      const uuid = body.uuid ? canonicalUuid(body.uuid) : randomUUID();
      if (body.name !== undefined && body.name !== null) checkNameAcceptable(req, body.name, `Cannot create node with invalid name '${body.name}'`);
      if (body.chassis_uuid) await requireChassis(body.chassis_uuid);
      const given = body as Record<string, unknown>;
      const fields: Record<string, unknown> = { driver: body.driver! };
      for (const k of writableFields) {
        const v = given[k];
        if (v !== undefined && v !== null && k !== 'driver') fields[k] = v;
        else if (v === null && !['driver_info', 'extra', 'instance_info', 'properties', 'network_data', 'maintenance', 'protected', 'retired'].includes(k)) fields[k] = null;
      }
      fields.conductor_group = String(body.conductor_group || '').toLowerCase();
      if (typeof fields.chassis_uuid === 'string') fields.chassis_uuid = canonicalUuid(fields.chassis_uuid);
      if (typeof fields.instance_uuid === 'string') fields.instance_uuid = canonicalUuid(fields.instance_uuid);
      Object.assign(fields, interfacesFor(ctx, body.driver!, fields.conductor_group as string, uuid, fields as InterfaceFields, true));
      await write(ctx, req, 'node', uuid, {
        type: 'CreateNode',
        data: {
          uuid,
          at: nowOf(ctx),
          fields: sealed(ctx, fields) as CreateFields,
          initial_provision_state: allows(req, 11) ? 'enroll' : 'available',
        },
      });
      const node = await nodes.get(uuid);
      if (!node) throw nodeNotFound(uuid);
      // the full render, kept in the render cache: the node's first show or list reuses it
      return reply.code(201).header('location', `${req.baseUrl}/v1/nodes/${uuid}`).type(JSON_TYPE).send(renders.full(req, node, jsonCtx));
    },
  );

  app.patch(
    '/v1/nodes/:node_ident',
    {
      schema: {
        tags,
        summary: 'Update a node (JSON patch, RFC 6902: add/replace/remove)',
        params: identParams,
        querystring: { type: 'object', properties: { reset_interfaces: { type: 'boolean', description: '≥1.45, only with a driver change' } } },
        body: { type: 'array', items: { type: 'object', properties: { op: { type: 'string', enum: ['add', 'replace', 'remove'] }, path: { type: 'string' }, value: {} }, required: ['op', 'path'] } },
        response: { 200: nodeSchema },
      },
    },
    async (req) => {
      const ident = identOf(req);
      const query = queryOf(req);
      rejectUnexpected(query, ['reset_interfaces']);
      const resetInterfaces = booleanArg(query, 'reset_interfaces');
      const patch = validatePatchDocument(bodyOf(req.body));
      if (resetInterfaces !== undefined && !allows(req, 45)) throw notAcceptable();
      checkAllowedPaths(patch, PATCH_ALLOWED_FIELDS);
      rejectNewerPatch(req, patch);
      const patchValues = (path: string) => patch.filter((p) => p.path === path && p.op !== 'remove').map((p) => p.value);
      if (resetInterfaces && patchValues('/driver').length === 0) {
        throw clientError("The reset_interfaces parameter can only be used when changing the node's driver.");
      }
      const description = patchValues('/description');
      if (description.length && typeof description[0] === 'string' && description[0].length > 4096) {
        throw clientError('Cannot update node with description exceeding 4096 characters');
      }
      const node = await resolve(req, ident);
      const onlyRemovesInstance = patch.length === 1 && patch[0]!.op === 'remove' && patch[0]!.path === '/instance_uuid';
      if (node.maintenance && onlyRemovesInstance) {
        // always allowed: the way out for a node stuck with a stale instance
      } else if (node.target_provision_state && !UPDATE_ALLOWED_STATES.includes(node.provision_state)) {
        throw clientError(`Node ${ident} can not be updated while a state transition is in progress.`, 409);
      } else if (node.provision_state === 'inspecting' && allows(req, 39)) {
        throw clientError(`Cannot update node "${node.uuid}" while it is in state "inspecting".`, 409);
      }
      for (const name of patchValues('/name')) {
        if (typeof name === 'string') checkNameAcceptable(req, name, `Node ${ident}: Cannot change name to invalid name '${name}'`);
        else if (!allows(req, 5)) throw notAcceptable();
      }

      const current = node as unknown as Record<string, unknown>;
      const before: Record<string, unknown> = {};
      for (const f of [...nodeObjectFields, 'uuid', 'created_at', 'updated_at', 'chassis_uuid']) before[f] = current[f] ?? null;
      const patched = applyPatch(before, patch);
      const candidate: Record<string, unknown> = {};
      for (const k of patchKeys) if (k in patched) candidate[k] = patched[k];
      const valid = validateNodeBody(candidate, patchKeys) as Record<string, unknown>;
      valid.conductor_group = String(valid.conductor_group ?? '').toLowerCase();
      if (valid.protected === null || valid.protected === undefined) valid.protected = false;
      for (const k of ['maintenance', 'retired'] as const) if (valid[k] === null || valid[k] === undefined) valid[k] = false;
      for (const k of ['driver_info', 'extra', 'instance_info', 'properties', 'network_data']) if (valid[k] === null) valid[k] = {};

      const changes: Record<string, unknown> = {};
      for (const k of writableFields) {
        const now = valid[k] === undefined ? null : valid[k];
        const was = current[k] ?? null;
        if (JSON.stringify(now) !== JSON.stringify(was)) changes[k] = now;
      }
      if ('uuid' in valid && typeof valid.uuid === 'string' && canonicalUuid(valid.uuid) !== node.uuid) {
        throw clientError(`Cannot patch /uuid. Only the following can be updated: ${PATCH_ALLOWED_FIELDS.join(', ')}`);
      }
      if ('chassis_uuid' in changes) {
        if (changes.chassis_uuid) {
          changes.chassis_uuid = canonicalUuid(String(changes.chassis_uuid));
          await requireChassis(String(changes.chassis_uuid));
        } else if (node.chassis_uuid && !allows(req, 25)) throw notAcceptable();
      }
      if (typeof changes.instance_uuid === 'string') changes.instance_uuid = canonicalUuid(changes.instance_uuid);
      if ('driver' in changes && node.console_enabled) {
        throw clientError(`Node ${ident} can not update the driver while the console is enabled. Please stop the console first.`, 409);
      }
      const driver = String(changes.driver ?? node.driver);
      const group = String(changes.conductor_group ?? node.conductor_group);
      // update_node is an RPC to the (new) owner: none alive is 503, none for the driver 400
      requireOwner(ctx, { uuid: node.uuid, group, driver });
      if ('driver' in changes || 'conductor_group' in changes || interfaceKeys.some((k) => k in changes)) {
        // a driver change re-validates every interface (reset_interfaces: unspecified ones take the new defaults)
        const given: InterfaceFields = {};
        for (const k of interfaceKeys) {
          const specified = k in changes;
          const v = specified ? changes[k] : resetInterfaces ? undefined : current[k];
          if (v !== undefined) given[k] = v as string | null;
        }
        const resolved = interfacesFor(ctx, driver, group, node.uuid, given, Boolean(resetInterfaces));
        for (const k of interfaceKeys) if (k in resolved && JSON.stringify(resolved[k] ?? null) !== JSON.stringify(current[k] ?? null)) changes[k] = resolved[k];
      }
      if (Object.keys(changes).length > 0) {
        await write(ctx, req, 'node', node.uuid, {
          type: 'UpdateNode',
          data: { uuid: node.uuid, at: nowOf(ctx), changes: sealed(ctx, changes) as UpdatableFields, microversion: req.apiVersion.minor },
        });
      }
      const updated = await nodes.get(node.uuid);
      if (!updated) throw nodeNotFound(ident);
      return nodeJson(req, updated, undefined, jsonCtx);
    },
  );

  app.delete('/v1/nodes/:node_ident', { schema: { tags, summary: 'Delete a node (and its ports, portgroups, volume connectors and targets)', params: identParams } }, async (req, reply) => {
    rejectUnexpected(queryOf(req), []);
    const node = await resolve(req, identOf(req));
    requireOwner(ctx, placementOf(node));
    const meta = commandMeta(req);
    await write(ctx, req, 'node', node.uuid, { type: 'DeleteNode', data: { uuid: node.uuid, at: nowOf(ctx), allow_deleting_available: true } }, meta);
    await deleteDependents(node, meta.correlationId, meta.actor, req);
    return reply.code(204).send();
  });

  /** Ironic's destroy_node takes the node's ports, portgroups, volume connectors/targets and allocation with it. */
  const deleteDependents = async (node: NodeView, correlationId: string, actor: string, req: FastifyRequest): Promise<void> => {
    const all = async <V extends { uuid: string }>(q: { list: (o: { limit: number; sortKey: string; sortDir: 'asc'; filters: { node_uuid: string } }) => Promise<E.Either<unknown, V[]>> }) => {
      const r = await q.list({ limit: 100_000, sortKey: 'id', sortDir: 'asc', filters: { node_uuid: node.uuid } });
      return E.isRight(r) ? r.right.map((d) => d.uuid) : [];
    };
    const at = nowOf(ctx);
    let last: bigint | undefined;
    const run = async (r: Promise<E.Either<unknown, { position: bigint | undefined }>>) => {
      const done = await r;
      if (E.isRight(done) && done.right.position !== undefined) last = done.right.position;
    };
    const meta = () => ({ actor, correlationId, commandId: randomUUID() });
    for (const uuid of await all(deps.readModels.ports)) await run(deps.commands.execute('port', uuid, { type: 'DeletePort', data: { uuid, at } }, meta()));
    for (const uuid of await all(deps.readModels.portgroups)) await run(deps.commands.execute('portgroup', uuid, { type: 'DeletePortgroup', data: { uuid, at } }, meta()));
    for (const uuid of await all(deps.readModels.volumeConnectors)) await run(deps.commands.execute('volumeconnector', uuid, { type: 'DeleteVolumeConnector', data: { uuid, at } }, meta()));
    for (const uuid of await all(deps.readModels.volumeTargets)) await run(deps.commands.execute('volumetarget', uuid, { type: 'DeleteVolumeTarget', data: { uuid, at } }, meta()));
    if (node.allocation_uuid) {
      const uuid = node.allocation_uuid;
      await run(deps.commands.execute('allocation', uuid, { type: 'DeleteAllocation', data: { uuid, at } }, meta()));
    }
    await waitForWrite(ctx, req, last);
  };

  // /detail only exists on the collection; Ironic answers a node's /detail with 404
  app.get('/v1/nodes/:node_ident/detail', { schema: { hide: true } }, async () => {
    throw new ApiError(404, 'Resource could not be found.');
  });

  // ---- /v1/chassis/{uuid}/nodes: the chassis' nodes, read-only ------------------------------------

  const chassisParam = (req: FastifyRequest): string => {
    const uuid = (req.params as { chassis_uuid: string }).chassis_uuid;
    if (!isUuidLike(uuid)) throw clientError(`Expected UUID for chassis_uuid: ${uuid}`);
    return canonicalUuid(uuid);
  };
  const forbidden = async () => {
    throw fromDomainError(domainError('OperationNotPermitted', 'Operation not permitted.'));
  };
  app.get('/v1/chassis/:chassis_uuid/nodes', { schema: { tags: ['chassis'], summary: "List a chassis' nodes" } }, async (req, reply) => list(req, reply, false, chassisParam(req)));
  app.get('/v1/chassis/:chassis_uuid/nodes/detail', { schema: { tags: ['chassis'], summary: "List a chassis' nodes with every field" } }, async (req, reply) =>
    list(req, reply, true, chassisParam(req)),
  );
  app.post('/v1/chassis/:chassis_uuid/nodes', { schema: { hide: true } }, forbidden);
  app.get('/v1/chassis/:chassis_uuid/nodes/:node_ident', { schema: { hide: true } }, forbidden);
  app.patch('/v1/chassis/:chassis_uuid/nodes/:node_ident', { schema: { hide: true } }, forbidden);
  app.delete('/v1/chassis/:chassis_uuid/nodes/:node_ident', { schema: { hide: true } }, forbidden);
};
