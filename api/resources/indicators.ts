// A node's indicators (reference §3.2, ≥1.63; Ironic's IndicatorController), through the
// management interface of the node's owning conductor:
//   GET /v1/nodes/{node}/management/indicators        → {indicators: [{name: "<led>@<component>",
//                                                        component, readonly, states, links}]}
//   GET /v1/nodes/{node}/management/indicators/{i@c}   → {state}
//   PUT /v1/nodes/{node}/management/indicators/{i@c}   {state} → 204
// Below 1.63 the sub-resource does not exist: 404, as for the other version-gated sub-resources.
// An indicator name without `@` is 400 ('Malformed indicator name "X"'); an unknown component or
// indicator, a read-only indicator or a state the indicator does not have are the driver's 400s.
// `state` is one of ON, OFF, BLINKING (UNKNOWN is only ever read); it is matched without regard
// to case and sent upper-cased (ironic.common.indicator_states). Setting one records what the
// driver keeps (fake-hardware: driver_internal_info.fake_indicators) and answers once the read
// models show it.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as t from 'io-ts';
import { partial } from '../../domain/codecs.ts';
import type { ResourceOptions } from '../app.ts';
import { queryOf, rejectUnexpected } from '../collection.ts';
import { clientError } from '../http-errors.ts';
import { requireVersion } from '../plugins/versions.ts';
import { pyRepr } from '../pyjson.ts';
import { selfAndBookmark } from '../url.ts';
import { askOwner, PositionC, settlePosition } from './conductor-call.ts';
import { nodeLookup } from './node-lookup.ts';
import { argsBody } from './node-states.ts';

const tags = ['nodes'];
const MIN_MINOR = 63;

const SupportedC = t.record(t.string, t.record(t.string, partial({ readonly: t.boolean, states: t.array(t.string) })));
const StateC = t.string;

/** IndicatorAtComponent(unique_name=...) */
const parseIndicator = (unique: string): { name: string; component: string } => {
  const at = unique.indexOf('@');
  if (at < 0) throw clientError(`Malformed indicator name "${unique}"`, 400, 'InvalidParameterValue');
  return { name: unique.slice(0, at), component: unique.slice(at + 1) };
};

const listSchema = {
  type: 'object',
  properties: {
    indicators: {
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string' }, component: { type: 'string' }, readonly: { type: 'boolean' }, states: { type: 'array', items: { type: 'string' } }, links: { type: 'array' } } },
    },
  },
};

export const indicatorRoutes = async (app: FastifyInstance, ctx: ResourceOptions): Promise<void> => {
  const lookup = nodeLookup(ctx.deps.readModels.nodes);
  const indicatorOf = (req: FastifyRequest) => parseIndicator((req.params as { indicator: string }).indicator);

  app.get(
    '/v1/nodes/:node_ident/management/indicators',
    { schema: { tags, summary: "The node's indicators (≥1.63)", response: { 200: listSchema } } },
    async (req) => {
      requireVersion(req, MIN_MINOR, 'not-found');
      rejectUnexpected(queryOf(req), []);
      const ident = lookup.identOf(req);
      const n = await lookup.resolve(req, ident);
      const supported = await askOwner(ctx, req, n, 'get_supported_indicators', {}, SupportedC);
      const indicators = [];
      for (const [component, names] of Object.entries(supported)) {
        for (const [name, fields] of Object.entries(names)) {
          const unique = `${name}@${component}`;
          indicators.push({
            name: unique,
            component,
            readonly: fields.readonly ?? true,
            states: fields.states ?? [],
            // Ironic links them under the node as the request named it
            links: selfAndBookmark(req.baseUrl, 'nodes', `${ident}/management/indicators/${unique}`),
          });
        }
      }
      return { indicators };
    },
  );

  app.get(
    '/v1/nodes/:node_ident/management/indicators/:indicator',
    { schema: { tags, summary: "An indicator's state (≥1.63): {state: ON|OFF|BLINKING|UNKNOWN}", response: { 200: { type: 'object', properties: { state: { type: 'string' } } } } } },
    async (req) => {
      requireVersion(req, MIN_MINOR, 'not-found');
      rejectUnexpected(queryOf(req), []);
      const n = await lookup.resolve(req, lookup.identOf(req));
      const { name, component } = indicatorOf(req);
      const state = await askOwner(ctx, req, n, 'get_indicator_state', { component, indicator: name }, StateC);
      return { state };
    },
  );

  app.put(
    '/v1/nodes/:node_ident/management/indicators/:indicator',
    {
      schema: {
        tags,
        summary: 'Set an indicator (≥1.63): 204',
        body: { type: 'object', required: ['state'], properties: { state: { type: 'string', enum: ['ON', 'OFF', 'BLINKING'] } } },
      },
    },
    async (req, reply) => {
      requireVersion(req, MIN_MINOR, 'not-found');
      rejectUnexpected(queryOf(req), []);
      const body = argsBody(req, ['state']);
      if (body.state === undefined || body.state === null) throw clientError('Missing argument: "state"');
      if (typeof body.state !== 'string') throw clientError(`Expected string for state: ${pyRepr(body.state)}`);
      const state = body.state.toUpperCase();
      const n = await lookup.resolve(req, lookup.identOf(req));
      const { name, component } = indicatorOf(req);
      const written = await askOwner(ctx, req, n, 'set_indicator_state', { component, indicator: name, state }, PositionC);
      await settlePosition(ctx, req, written);
      return reply.code(204).send();
    },
  );
};
