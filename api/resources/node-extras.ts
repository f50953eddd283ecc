// A node's smaller sub-resources (reference §3.2): maintenance, traits (≥1.37), VIFs (≥1.28),
// validate (§5.3), management (boot device, inject NMI ≥1.29). Changes go to the node's
// conductor, as Ironic's update_node / add_node_traits / vif_attach RPCs do.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isPlainObject } from '../../domain/codecs.ts';
import type { ResourceOptions } from '../app.ts';
import { bodyOf } from '../body.ts';
import { canonicalUuid, isUuidLike, queryOf, rejectUnexpected, stringArg } from '../collection.ts';
import { interfaceNames, type NodeView } from '../deps.ts';
import { clientError, notAcceptable } from '../http-errors.ts';
import { allows, requireVersion } from '../plugins/versions.ts';
import { pyRepr } from '../pyjson.ts';
import { conduct, nowOf, placementOf, requireOwner } from './common.ts';
import { nodeLookup } from './node-lookup.ts';
import { argsBody, booleanField } from './node-states.ts';

const tags = ['nodes'];

// os_traits' standard traits are upper-case words; a custom one is CUSTOM_[A-Z0-9_]+
const CUSTOM_TRAIT = /^CUSTOM_[A-Z0-9_]+$/;
const STANDARD_TRAIT = /^[A-Z][A-Z0-9_]*$/;

/** api utils validate_trait */
export const validateTrait = (trait: unknown, prefix = 'Invalid trait'): string => {
  const error = clientError(
    `${prefix}. A valid trait must be no longer than 255 characters. Standard traits are defined in the os_traits library. A custom trait must start with the prefix CUSTOM_ and use the following characters: A-Z, 0-9 and _`,
  );
  if (typeof trait !== 'string' || trait.length < 1 || trait.length > 255) throw error;
  if (!CUSTOM_TRAIT.test(trait) && !STANDARD_TRAIT.test(trait)) throw error;
  return trait;
};

/** fake-hardware's management interface (FakeManagement): PXE only. */
const supportedBootDevices = (node: NodeView): string[] => (node.management_interface === 'fake' || node.driver === 'fake-hardware' ? ['pxe'] : ['pxe', 'disk']);
const allBootDevices = ['pxe', 'disk', 'cdrom', 'bios', 'safe', 'wanboot', 'iscsiboot', 'floppy'];

const emptyBody = (req: FastifyRequest): void => {
  const b = bodyOf(req.body);
  if (!(isPlainObject(b) && Object.keys(b).length === 0)) throw clientError(`The request body must be empty, not ${pyRepr(b)}`);
};

export const nodeExtraRoutes = async (app: FastifyInstance, ctx: ResourceOptions): Promise<void> => {
  const { deps } = ctx;
  const lookup = nodeLookup(deps.readModels.nodes);
  const node = async (req: FastifyRequest): Promise<{ ident: string; node: NodeView }> => {
    const ident = lookup.identOf(req);
    return { ident, node: await lookup.resolve(req, ident) };
  };
  /** work the conductor does without recording anything still needs a conductor */
  const requireConductor = (n: NodeView): void => {
    requireOwner(ctx, placementOf(n));
  };

  // ---- maintenance -----------------------------------------------------------------------------

  app.put('/v1/nodes/:node_ident/maintenance', { schema: { tags, summary: 'Put a node in maintenance (reason in the body or ?reason=): 202', body: { type: 'object', properties: { reason: { type: 'string' } } } } }, async (req, reply) => {
    const query = queryOf(req);
    rejectUnexpected(query, ['reason']);
    const body = argsBody(req, ['reason']);
    const fromBody = body.reason;
    if (fromBody !== undefined && fromBody !== null && typeof fromBody !== 'string') throw clientError(`Expected string for reason: ${pyRepr(fromBody)}`);
    const reason = (fromBody as string | null | undefined) ?? stringArg(query, 'reason') ?? null;
    const { node: n } = await node(req);
    await conduct(ctx, req, n, { type: 'SetMaintenance', data: { uuid: n.uuid, at: nowOf(ctx), reason } });
    return reply.code(202).send();
  });

  app.delete('/v1/nodes/:node_ident/maintenance', { schema: { tags, summary: 'Take a node out of maintenance: 202' } }, async (req, reply) => {
    rejectUnexpected(queryOf(req), []);
    const { node: n } = await node(req);
    await conduct(ctx, req, n, { type: 'ClearMaintenance', data: { uuid: n.uuid, at: nowOf(ctx) } });
    return reply.code(202).send();
  });

  // ---- traits (≥1.37) --------------------------------------------------------------------------

  app.get('/v1/nodes/:node_ident/traits', { schema: { tags, summary: "A node's traits (≥1.37)" } }, async (req) => {
    requireVersion(req, 37, 'not-found');
    rejectUnexpected(queryOf(req), []);
    const { node: n } = await node(req);
    return { traits: n.traits };
  });

  app.put('/v1/nodes/:node_ident/traits', { schema: { tags, summary: 'Replace all traits (≥1.37): 204', body: { type: 'object', required: ['traits'], properties: { traits: { type: 'array', items: { type: 'string' } } } } } }, async (req, reply) => {
    requireVersion(req, 37, 'not-found');
    rejectUnexpected(queryOf(req), []);
    const body = argsBody(req, ['traits']);
    if (!Array.isArray(body.traits)) throw clientError(`Invalid traits: ${pyRepr(body.traits ?? null)} is not a list of traits`);
    const traits = body.traits.map((x) => validateTrait(x));
    const { node: n } = await node(req);
    await conduct(ctx, req, n, { type: 'SetTraits', data: { uuid: n.uuid, at: nowOf(ctx), traits } });
    return reply.code(204).send();
  });

  app.put('/v1/nodes/:node_ident/traits/:trait', { schema: { tags, summary: 'Add one trait (≥1.37; empty body): 204 + Location' } }, async (req, reply) => {
    requireVersion(req, 37, 'not-found');
    rejectUnexpected(queryOf(req), []);
    const b = bodyOf(req.body);
    if (isPlainObject(b) && 'traits' in b) throw clientError('Cannot specify a list of traits and a single trait at the same time.');
    emptyBody(req);
    const trait = validateTrait((req.params as { trait: string }).trait);
    const { ident, node: n } = await node(req);
    await conduct(ctx, req, n, { type: 'AddTrait', data: { uuid: n.uuid, at: nowOf(ctx), trait } });
    return reply.code(204).header('location', `${req.baseUrl}/v1/nodes/${ident}/traits/${trait}`).send();
  });

  app.delete('/v1/nodes/:node_ident/traits', { schema: { tags, summary: 'Remove every trait (≥1.37): 204' } }, async (req, reply) => {
    requireVersion(req, 37, 'not-found');
    rejectUnexpected(queryOf(req), []);
    const { node: n } = await node(req);
    await conduct(ctx, req, n, { type: 'SetTraits', data: { uuid: n.uuid, at: nowOf(ctx), traits: [] } });
    return reply.code(204).send();
  });

  app.delete('/v1/nodes/:node_ident/traits/:trait', { schema: { tags, summary: 'Remove one trait (≥1.37): 204; missing → 404' } }, async (req, reply) => {
    requireVersion(req, 37, 'not-found');
    rejectUnexpected(queryOf(req), []);
    const trait = (req.params as { trait: string }).trait;
    const { node: n } = await node(req);
    await conduct(ctx, req, n, { type: 'RemoveTrait', data: { uuid: n.uuid, at: nowOf(ctx), trait } });
    return reply.code(204).send();
  });

  // ---- VIFs (≥1.28) ----------------------------------------------------------------------------

  app.get('/v1/nodes/:node_ident/vifs', { schema: { tags, summary: "A node's attached VIFs (≥1.28)" } }, async (req) => {
    requireVersion(req, 28, 'not-found');
    rejectUnexpected(queryOf(req), []);
    const { node: n } = await node(req);
    return { vifs: n.vifs.map((v) => ({ id: v.id })) };
  });

  app.post(
    '/v1/nodes/:node_ident/vifs',
    { schema: { tags, summary: 'Attach a VIF (≥1.28): 204', body: { type: 'object', required: ['id'], properties: { id: { type: 'string' }, port_uuid: { type: 'string', description: '≥1.67' }, portgroup_uuid: { type: 'string', description: '≥1.67' } } } } },
    async (req, reply) => {
      requireVersion(req, 28, 'not-found');
      rejectUnexpected(queryOf(req), []);
      const body = bodyOf(req.body);
      if (!isPlainObject(body)) throw clientError(`Schema error for vif: ${pyRepr(body)} is not of type 'object'`);
      if (typeof body.id !== 'string') throw clientError(body.id === undefined ? "Schema error for vif: 'id' is a required property" : `Schema error for vif: ${pyRepr(body.id)} is not of type 'string'`);
      const portUuid = body.port_uuid;
      const portgroupUuid = body.portgroup_uuid;
      if ((portUuid !== undefined || portgroupUuid !== undefined) && !allows(req, 67)) throw notAcceptable();
      for (const [k, v] of [['port_uuid', portUuid], ['portgroup_uuid', portgroupUuid]] as const) {
        if (v !== undefined && (typeof v !== 'string' || !isUuidLike(v))) throw clientError(`Expected UUID for ${k}: ${String(v)}`);
      }
      const { node: n } = await node(req);
      const vif: { id: string; port_uuid?: string; portgroup_uuid?: string } = { id: body.id };
      if (typeof portUuid === 'string') {
        const port = await deps.readModels.ports.get(canonicalUuid(portUuid));
        if (!port || port.node_uuid !== n.uuid) throw clientError(`Port ${portUuid} could not be found.`, 400, 'PortNotFound');
        vif.port_uuid = port.uuid;
      }
      if (typeof portgroupUuid === 'string') {
        const pg = await deps.readModels.portgroups.get(canonicalUuid(portgroupUuid));
        if (!pg || pg.node_uuid !== n.uuid) throw clientError(`Portgroup ${portgroupUuid} could not be found.`, 400, 'PortgroupNotFound');
        vif.portgroup_uuid = pg.uuid;
      }
      await conduct(ctx, req, n, { type: 'AttachVif', data: { uuid: n.uuid, at: nowOf(ctx), vif } });
      return reply.code(204).send();
    },
  );

  app.delete('/v1/nodes/:node_ident/vifs/:vif_id', { schema: { tags, summary: 'Detach a VIF (≥1.28): 204' } }, async (req, reply) => {
    requireVersion(req, 28, 'not-found');
    rejectUnexpected(queryOf(req), []);
    const vifId = (req.params as { vif_id: string }).vif_id;
    const { node: n } = await node(req);
    await conduct(ctx, req, n, { type: 'DetachVif', data: { uuid: n.uuid, at: nowOf(ctx), vif_id: vifId } });
    return reply.code(204).send();
  });

  // ---- validate (§5.3) -------------------------------------------------------------------------

  const validate = (n: NodeView): Record<string, { result: boolean; reason?: string }> => {
    requireConductor(n);
    const out: Record<string, { result: boolean; reason?: string }> = {};
    const core = ['boot', 'deploy', 'management', 'network', 'power'];
    const order = [...core, ...interfaceNames.filter((i) => !core.includes(i) && i !== 'vendor')];
    for (const iface of order) {
      const impl = (n as unknown as Record<string, unknown>)[`${iface}_interface`];
      if (typeof impl === 'string' && impl.startsWith('no-')) {
        out[iface] = { result: false, reason: `${n.driver} does not support ${iface} (disabled or not implemented).` };
      } else out[iface] = { result: true };
    }
    return out;
  };

  app.get('/v1/nodes/:node_ident/validate', { schema: { tags, summary: "Validate the node's interfaces (§5.3)" } }, async (req) => {
    rejectUnexpected(queryOf(req), []);
    const { node: n } = await node(req);
    return validate(n);
  });

  app.get('/v1/nodes/validate', { schema: { tags, summary: 'Validate a node named by ?node=' } }, async (req) => {
    const query = queryOf(req);
    rejectUnexpected(query, ['node', 'node_uuid']);
    const ident = stringArg(query, 'node') ?? stringArg(query, 'node_uuid');
    if (ident === undefined) throw clientError('Missing argument: "node"');
    return validate(await lookup.resolve(req, ident));
  });

  // ---- management ------------------------------------------------------------------------------

  app.get('/v1/nodes/:node_ident/management/boot_device', { schema: { tags, summary: 'The current boot device' } }, async (req) => {
    rejectUnexpected(queryOf(req), []);
    const { node: n } = await node(req);
    requireConductor(n);
    // FakeManagement.get_boot_device
    return { boot_device: 'pxe', persistent: false };
  });

  app.put('/v1/nodes/:node_ident/management/boot_device', { schema: { tags, summary: 'Set the boot device: 204', body: { type: 'object', required: ['boot_device'], properties: { boot_device: { type: 'string', enum: allBootDevices }, persistent: { type: 'boolean' } } } } }, async (req, reply) => {
    rejectUnexpected(queryOf(req), []);
    const body = argsBody(req, ['boot_device', 'persistent']);
    if (typeof body.boot_device !== 'string') throw clientError(body.boot_device === undefined ? 'Missing argument: "boot_device"' : `Expected string for boot_device: ${pyRepr(body.boot_device)}`);
    booleanField(body, 'persistent');
    const { node: n } = await node(req);
    requireConductor(n);
    if (!supportedBootDevices(n).includes(body.boot_device)) throw clientError(`Invalid boot device ${body.boot_device} specified.`, 400, 'InvalidParameterValue');
    return reply.code(204).send();
  });

  app.get('/v1/nodes/:node_ident/management/boot_device/supported', { schema: { tags, summary: 'The boot devices the node supports' } }, async (req) => {
    rejectUnexpected(queryOf(req), []);
    const { node: n } = await node(req);
    requireConductor(n);
    return { supported_boot_devices: supportedBootDevices(n) };
  });

  app.put('/v1/nodes/:node_ident/management/inject_nmi', { schema: { tags, summary: 'Inject an NMI (≥1.29; empty body): 204' } }, async (req, reply) => {
    requireVersion(req, 29, 'not-found');
    rejectUnexpected(queryOf(req), []);
    emptyBody(req);
    const { node: n } = await node(req);
    requireConductor(n);
    return reply.code(204).send();
  });
};
