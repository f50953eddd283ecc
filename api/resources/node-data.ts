// Small read-only corners of Ironic's API that ironlog has no data for yet, answered as Ironic
// answers a node without it: inventory (≥1.81, 404 until inspection stores one), BIOS settings
// (≥1.40, none), and external network events (POST /v1/events, ≥1.54: validated, then only
// logged, as Ironic's noop handling does).

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isPlainObject } from '../../domain/codecs.ts';
import { isMac } from '../../domain/mac.ts';
import type { ResourceOptions } from '../app.ts';
import { bodyOf } from '../body.ts';
import { queryOf, rejectUnexpected } from '../collection.ts';
import { clientError } from '../http-errors.ts';
import { requireVersion } from '../plugins/versions.ts';
import { pyRepr } from '../pyjson.ts';
import { nodeLookup } from './node-lookup.ts';

const networkEvents = ['network.bind_port', 'network.unbind_port', 'network.delete_port'];
const eventKeys = ['event', 'port_id', 'mac_address', 'status', 'device_id', 'binding:host_id', 'binding:vnic_type'];
const requiredKeys = ['event', 'port_id', 'mac_address', 'status'];

/** EVENTS_SCHEMA / NETWORK_EVENT_SCHEMA */
const validateEvents = (body: unknown): void => {
  const err = (m: string) => clientError(`Schema error for event: ${m}`);
  if (!isPlainObject(body)) throw err(`${pyRepr(body)} is not of type 'object'`);
  const extra = Object.keys(body).filter((k) => k !== 'events');
  if (extra.length) throw err(`Additional properties are not allowed (${extra.map((k) => `'${k}'`).join(', ')} ${extra.length === 1 ? 'was' : 'were'} unexpected)`);
  if (!Array.isArray(body.events)) throw err(body.events === undefined ? "'events' is a required property" : `${pyRepr(body.events)} is not of type 'array'`);
  if (body.events.length < 1) throw err('[] is too short');
  for (const e of body.events) {
    if (!isPlainObject(e)) throw err(`${pyRepr(e)} is not valid under any of the given schemas`);
    for (const k of requiredKeys) if (!(k in e)) throw err(`'${k}' is a required property`);
    const unknown = Object.keys(e).filter((k) => !eventKeys.includes(k));
    if (unknown.length) throw err(`${pyRepr(e)} is not valid under any of the given schemas`);
    if (typeof e.event !== 'string' || !networkEvents.includes(e.event)) throw err(`${pyRepr(e.event)} is not one of [${networkEvents.map((n) => `'${n}'`).join(', ')}]`);
    for (const k of ['port_id', 'mac_address', 'status']) if (typeof e[k] !== 'string') throw err(`${pyRepr(e[k])} is not of type 'string'`);
    if (!isMac(e.mac_address as string)) throw clientError(`Expected a MAC address but received ${String(e.mac_address)}.`, 400, 'InvalidMAC');
  }
};

export const nodeDataRoutes = async (app: FastifyInstance, ctx: ResourceOptions): Promise<void> => {
  const lookup = nodeLookup(ctx.deps.readModels.nodes);
  const node = async (req: FastifyRequest) => lookup.resolve(req, lookup.identOf(req));

  app.get('/v1/nodes/:node_ident/inventory', { schema: { tags: ['nodes'], summary: "A node's inspection inventory (≥1.81)" } }, async (req) => {
    requireVersion(req, 81, 'not-found');
    rejectUnexpected(queryOf(req), []);
    const n = await node(req);
    throw clientError(`Node inventory for node ${n.uuid} could not be found.`, 404, 'NodeInventoryNotFound');
  });

  app.get('/v1/nodes/:node_ident/bios', { schema: { tags: ['nodes'], summary: "A node's BIOS settings (≥1.40)" } }, async (req) => {
    requireVersion(req, 40, 'not-found');
    rejectUnexpected(queryOf(req), ['detail', 'fields']);
    await node(req);
    return { bios: [] };
  });

  app.get('/v1/nodes/:node_ident/bios/:setting', { schema: { tags: ['nodes'], summary: 'One BIOS setting (≥1.40)' } }, async (req) => {
    requireVersion(req, 40, 'not-found');
    rejectUnexpected(queryOf(req), []);
    const n = await node(req);
    const name = (req.params as { setting: string }).setting;
    throw clientError(`Node ${n.uuid} doesn't have a BIOS setting '${name}'`, 404, 'BIOSSettingNotFound');
  });

  app.post(
    '/v1/events',
    {
      schema: {
        tags: ['events'],
        summary: 'External network events (≥1.54): validated and logged, 204',
        body: { type: 'object', required: ['events'], properties: { events: { type: 'array', minItems: 1, items: { type: 'object' } } } },
      },
    },
    async (req, reply) => {
      requireVersion(req, 54, 'not-found');
      rejectUnexpected(queryOf(req), []);
      const body = bodyOf(req.body);
      validateEvents(body);
      req.log.info({ events: (body as { events: unknown[] }).events }, 'external events received');
      return reply.code(204).send();
    },
  );
};
