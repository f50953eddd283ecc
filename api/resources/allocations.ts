// /v1/allocations (reference §3.8, ≥1.52; GET below it → 404, writes → 405): list (node,
// resource_class, state, owner ≥1.60), show by UUID or name, create (201, state `allocating`;
// the conductor then picks a node), PATCH name/extra (≥1.57), delete (refused while its node is
// active or in a transition, unless in maintenance); /v1/nodes/{node}/allocation.

import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as t from 'io-ts';
import { nullable, partial } from '../../domain/codecs.ts';
import { allocationDeleteRefused, type AllocationChanges, type AllocationCreateFields } from '../../domain/allocation/index.ts';
import { domainError } from '../../domain/errors.ts';
import type { ResourceOptions } from '../app.ts';
import { bodyOf, decodeBody, refuseUnknownKeys } from '../body.ts';
import {
  canonicalUuid,
  checkAllowedFields,
  commonListArgs,
  envelope,
  isUuidLike,
  queryOf,
  rejectUnexpected,
  stringArg,
  type SortSpec,
  type VersionedFields,
} from '../collection.ts';
import type { AllocationFilters, AllocationView, NodeView } from '../deps.ts';
import { clientError, fromDomainError, notAcceptable } from '../http-errors.ts';
import { applyPatch } from '../patch.ts';
import { allows, requireVersion } from '../plugins/versions.ts';
import { pyRepr } from '../pyjson.ts';
import { jsonSchemaOf } from '../schema.ts';
import { selfAndBookmark } from '../url.ts';
import { commandMeta, nowOf, waitForWrite, write } from './common.ts';
import { created, nextPage, patchRequest, sanitized, showFields, stamps } from './crud.ts';
import { validateTrait } from './node-extras.ts';
import { isValidLogicalName, nodeLookup } from './node-lookup.ts';

const tags = ['allocations'];
const versioned: VersionedFields = { owner: 60 };
const fieldNames = ['uuid', 'created_at', 'updated_at', 'name', 'node_uuid', 'state', 'last_error', 'resource_class', 'traits', 'candidate_nodes', 'extra', 'owner', 'links'];
const sortSpec: SortSpec = {
  invalid: ['extra', 'candidate_nodes', 'traits'],
  known: ['uuid', 'name', 'node_uuid', 'state', 'last_error', 'resource_class', 'owner', 'created_at', 'updated_at'],
  versioned,
};
const states = ['allocating', 'active', 'error'];

const str = nullable(t.string);
const props = {
  candidate_nodes: nullable(t.array(t.string)),
  extra: nullable(t.UnknownRecord),
  name: str,
  node: str,
  owner: str,
  resource_class: str,
  traits: nullable(t.array(t.string)),
  uuid: str,
};
export const AllocationBody = partial(props);
const keys = Object.keys(props);

export const allocationJson = (req: FastifyRequest, a: AllocationView, fields?: readonly string[]): Record<string, unknown> => {
  const out: Record<string, unknown> = {
    ...stamps(a),
    name: a.name,
    node_uuid: a.node_uuid,
    state: a.state,
    last_error: a.last_error,
    resource_class: a.resource_class,
    traits: a.traits ?? [],
    candidate_nodes: a.candidate_nodes ?? [],
    extra: a.extra ?? {},
    owner: a.owner,
    links: selfAndBookmark(req.baseUrl, 'allocations', a.uuid),
  };
  return sanitized(req, out, fields, fieldNames, versioned);
};

export const allocationRoutes = async (app: FastifyInstance, ctx: ResourceOptions): Promise<void> => {
  const { deps, config } = ctx;
  const allocations = deps.readModels.allocations;
  const lookup = nodeLookup(deps.readModels.nodes);
  const readGate = (req: FastifyRequest) => requireVersion(req, 52, 'not-found');
  const writeGate = (req: FastifyRequest, minor = 52) => requireVersion(req, minor, 'method-not-allowed');
  const checkFields = (req: FastifyRequest, fields: readonly string[] | undefined) => checkAllowedFields(req, fields, versioned);
  const notFoundError = (ident: string) => fromDomainError(domainError('AllocationNotFound', `Allocation ${ident} could not be found.`));

  const load = async (req: FastifyRequest): Promise<AllocationView> => {
    const ident = (req.params as { allocation_ident: string }).allocation_ident;
    if (!isUuidLike(ident) && !isValidLogicalName(ident)) throw clientError(`Expected a logical name or UUID but received ${ident}.`, 400, 'InvalidUuidOrName');
    const a = isUuidLike(ident) ? await allocations.get(canonicalUuid(ident)) : await allocations.getByName(ident);
    if (!a) throw notFoundError(ident);
    return a;
  };

  app.get('/v1/allocations', { schema: { tags, summary: 'List allocations (≥1.52)' } }, async (req) => {
    readGate(req);
    const query = queryOf(req);
    rejectUnexpected(query, ['node', 'resource_class', 'state', 'owner', 'marker', 'limit', 'sort_key', 'sort_dir', 'fields']);
    const args = commonListArgs(req, query, { maxLimit: config.maxLimit, sort: sortSpec });
    checkFields(req, args.fields);
    const f: AllocationFilters = {};
    const nodeArg = stringArg(query, 'node');
    if (nodeArg !== undefined) f.node_uuid = (await lookup.resolve(req, nodeArg)).uuid;
    const rc = stringArg(query, 'resource_class');
    if (rc !== undefined) f.resource_class = rc;
    const state = stringArg(query, 'state');
    if (state !== undefined) {
      if (!states.includes(state)) throw clientError(`Invalid allocation state ${state}. Valid states are: ${states.join(', ')}`);
      f.state = state;
    }
    const owner = stringArg(query, 'owner');
    if (owner !== undefined) {
      if (!allows(req, 60)) throw notAcceptable();
      f.owner = owner;
    }
    const page = await allocations.list({ limit: args.limit, marker: args.marker, sortKey: args.sortKey, sortDir: args.sortDir, filters: f });
    if (E.isLeft(page)) throw fromDomainError(page.left);
    const items = page.right.map((a) => allocationJson(req, a, args.fields));
    // no `detail` here (rejectUnexpected refuses it), so the link carries none
    const next = nextPage(req, 'allocations', false, items, args, args.fields);
    return envelope('allocations', items, next);
  });

  app.get('/v1/allocations/:allocation_ident', { schema: { tags, summary: 'Show an allocation (UUID or name)' } }, async (req) => {
    readGate(req);
    const fields = showFields(req);
    checkFields(req, fields);
    return allocationJson(req, await load(req), fields);
  });

  app.post('/v1/allocations', { schema: { tags, summary: 'Create an allocation (≥1.52): 201, state allocating', body: jsonSchemaOf(t.exact(AllocationBody)) } }, async (req, reply) => {
    writeGate(req);
    rejectUnexpected(queryOf(req), []);
    const raw = bodyOf(req.body);
    refuseUnknownKeys(raw, keys, 'allocation');
    const b = decodeBody(AllocationBody, raw, 'allocation');
    if (b.node !== undefined && b.node !== null && !allows(req, 58)) throw notAcceptable();
    if (b.owner !== undefined && b.owner !== null && !allows(req, 60)) throw notAcceptable();
    if (typeof b.resource_class === 'string' && b.resource_class.length > 80) throw clientError(`Schema error for allocation: ${pyRepr(b.resource_class)} is too long`);
    if (typeof b.uuid === 'string' && !isUuidLike(b.uuid)) throw clientError(`Expected UUID for uuid: ${b.uuid}`);
    if (typeof b.name === 'string' && (!isValidLogicalName(b.name) || isUuidLike(b.name))) throw clientError(`Cannot create allocation with invalid name '${b.name}'`);
    const traits = (b.traits ?? []).map((x) => validateTrait(x, `Invalid trait ${pyRepr(x)}`));
    let node: NodeView | undefined;
    if (typeof b.node === 'string') {
      node = await lookup.referenced(req, b.node);
      if (node.allocation_uuid) throw clientError(`Node ${node.uuid} already has an allocation ${node.allocation_uuid}`, 409, 'Conflict');
      if (b.resource_class && node.resource_class !== b.resource_class) {
        throw clientError(`Cannot create allocation with resource class ${b.resource_class} for node ${node.uuid} with resource class ${node.resource_class}`);
      }
      if (!traits.every((x) => node!.traits.includes(x))) throw clientError(`Cannot create allocation with traits ${traits.join(', ')} for node ${node.uuid} with traits ${node.traits.join(', ')}`);
    } else if (!b.resource_class) {
      throw clientError('The resource_class field is mandatory when not backfilling');
    }
    const candidates: string[] = [];
    for (const ident of b.candidate_nodes ?? []) {
      const c = await lookup.find(req, ident);
      if (!c) throw clientError(`Candidate node ${ident} could not be found.`, 400, 'InvalidParameterValue');
      if (!candidates.includes(c.uuid)) candidates.push(c.uuid);
    }
    const uuid = typeof b.uuid === 'string' ? canonicalUuid(b.uuid) : randomUUID();
    const fields: AllocationCreateFields = {
      name: b.name ?? null,
      resource_class: b.resource_class ?? node?.resource_class ?? null,
      traits,
      candidate_nodes: candidates,
      extra: (b.extra as Record<string, unknown> | null | undefined) ?? {},
      owner: b.owner ?? null,
      node_uuid: node?.uuid ?? null,
    };
    const meta = commandMeta(req);
    await write(ctx, req, 'allocation', uuid, { type: 'CreateAllocation', data: { uuid, at: nowOf(ctx), fields } }, meta);
    // Ironic's create_allocation RPC is a cast: the allocation is answered while it is allocating
    const started = await deps.conductors.allocate(uuid, meta);
    if (E.isLeft(started)) req.log.warn({ allocation: uuid, error: started.left.message }, 'allocation not started');
    const a = await allocations.get(uuid);
    if (!a) throw notFoundError(uuid);
    created(req, reply, 'allocations', uuid);
    return allocationJson(req, a);
  });

  app.patch('/v1/allocations/:allocation_ident', { schema: { tags, summary: 'Update an allocation\'s name and extra (≥1.57)', body: { type: 'array', items: { type: 'object' } } } }, async (req) => {
    writeGate(req, 57);
    const { patch } = patchRequest(req, ['name', 'extra']);
    const current = await load(req);
    const patched = applyPatch({ name: current.name, extra: current.extra }, patch);
    const name = patched.name ?? null;
    if (name !== null && (typeof name !== 'string' || !isValidLogicalName(name) || isUuidLike(name))) {
      throw clientError(`Allocation ${current.uuid}: Cannot change name to invalid name '${String(name)}'`);
    }
    const extra = patched.extra ?? {};
    if (typeof extra !== 'object' || Array.isArray(extra)) throw clientError(`Schema error for allocation: ${pyRepr(extra)} is not of type 'object'`);
    const changes: AllocationChanges = {};
    if (name !== current.name) changes.name = name as string | null;
    if (JSON.stringify(extra) !== JSON.stringify(current.extra)) changes.extra = extra as Record<string, unknown>;
    if (Object.keys(changes).length > 0) {
      await write(ctx, req, 'allocation', current.uuid, { type: 'UpdateAllocation', data: { uuid: current.uuid, at: nowOf(ctx), changes } });
    }
    const updated = await allocations.get(current.uuid);
    return allocationJson(req, updated ?? current);
  });

  /** Ironic's destroy_allocation: refused while the node is active or busy, then the node is freed. */
  const destroy = async (req: FastifyRequest, a: AllocationView): Promise<void> => {
    const node = a.node_uuid ? await deps.readModels.nodes.get(a.node_uuid) : undefined;
    if (node && !node.maintenance && (node.provision_state === 'active' || node.target_provision_state !== null)) {
      throw fromDomainError(allocationDeleteRefused(a.uuid, node.uuid, node.provision_state));
    }
    const meta = commandMeta(req);
    await write(ctx, req, 'allocation', a.uuid, { type: 'DeleteAllocation', data: { uuid: a.uuid, at: nowOf(ctx) } }, meta);
    if (node && node.allocation_uuid === a.uuid) {
      const changes: Record<string, unknown> = { allocation_uuid: null };
      if (node.instance_uuid === a.uuid) changes.instance_uuid = null;
      const r = await deps.commands.execute('node', node.uuid, { type: 'UpdateNodeInternal', data: { uuid: node.uuid, at: nowOf(ctx), changes } }, { ...meta, commandId: randomUUID() });
      if (E.isRight(r)) await waitForWrite(ctx, req, r.right.position);
      else req.log.warn({ node: node.uuid, error: r.left.message }, 'could not clear the node\'s allocation');
    }
  };

  app.delete('/v1/allocations/:allocation_ident', { schema: { tags, summary: 'Delete an allocation: 204' } }, async (req, reply) => {
    writeGate(req);
    rejectUnexpected(queryOf(req), []);
    await destroy(req, await load(req));
    return reply.code(204).send();
  });

  // ---- /v1/nodes/{node}/allocation -------------------------------------------------------------

  const nodeAllocation = async (req: FastifyRequest): Promise<AllocationView> => {
    const ident = lookup.identOf(req);
    const node = await lookup.resolve(req, ident);
    const a = node.allocation_uuid ? await allocations.get(node.allocation_uuid) : undefined;
    if (!a) throw fromDomainError(domainError('AllocationNotFound', `Allocation for node ${ident} could not be found.`));
    return a;
  };
  app.get('/v1/nodes/:node_ident/allocation', { schema: { tags, summary: "A node's allocation (≥1.52)" } }, async (req) => {
    readGate(req);
    const fields = showFields(req);
    return allocationJson(req, await nodeAllocation(req), fields);
  });
  app.delete('/v1/nodes/:node_ident/allocation', { schema: { tags, summary: "Delete a node's allocation (≥1.52): 204" } }, async (req, reply) => {
    writeGate(req);
    rejectUnexpected(queryOf(req), []);
    await destroy(req, await nodeAllocation(req));
    return reply.code(204).send();
  });
};
