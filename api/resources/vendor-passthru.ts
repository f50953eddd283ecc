// Vendor passthru (reference §3.2, §3.6): a node's (`/v1/nodes/{node}/vendor_passthru`) on the
// node's owning conductor, a hardware type's (`/v1/drivers/{name}/vendor_passthru`) on any
// conductor serving it. The method is named by `?method=` or, as python-ironicclient sends it,
// by the path segment after `vendor_passthru/` (pecan's `_default(ident, method)` takes either).
// The body is passed through (no body = `{}`), with the HTTP method of the request; the answer
// is Ironic's api_utils.vendor_passthru: 202 with no body for an async method, 200 with the
// method's return value (JSON; no body when it returned nothing) for a synchronous one, the raw
// value for an `attach` method. Unknown methods, methods that do not take this HTTP method and
// missing arguments are the conductor's 400s.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as t from 'io-ts';
import { isPlainObject } from '../../domain/codecs.ts';
import type { ResourceOptions } from '../app.ts';
import { bodyOf } from '../body.ts';
import { queryOf, rejectUnexpected, stringArg } from '../collection.ts';
import { clientError } from '../http-errors.ts';
import { pyJsonDumps, pyRepr } from '../pyjson.ts';
import { askForDriver, askOwner } from './conductor-call.ts';
import { nodeLookup } from './node-lookup.ts';

const PassthruReplyC = t.type({ return: t.unknown, async: t.boolean, attach: t.boolean });
const MethodC = t.type({ http_methods: t.array(t.string), async: t.boolean, description: t.string, attach: t.boolean });
const NodeMethodsC = t.record(t.string, t.intersection([MethodC, t.type({ require_exclusive_lock: t.boolean })]));
const DriverMethodsC = t.record(t.string, MethodC);

const httpMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

const methodSchema = { type: 'object', additionalProperties: { type: 'object', properties: { http_methods: { type: 'array', items: { type: 'string' } }, async: { type: 'boolean' }, description: { type: 'string' }, attach: { type: 'boolean' } } } };
const callDescription =
  'Calls a vendor method: the body is passed to it. 202 (no body) for an async method, 200 with its return value for a synchronous one; an unknown method, a method that does not take this HTTP method, or a missing method name → 400.';

/** The method name: the path segment (python-ironicclient) or `?method=`; nothing else in the query. */
const methodOf = (req: FastifyRequest): string => {
  const query = queryOf(req);
  const fromPath = (req.params as { method?: string }).method;
  if (fromPath !== undefined) {
    rejectUnexpected(query, []);
    return fromPath;
  }
  rejectUnexpected(query, ['method']);
  const m = stringArg(query, 'method');
  if (m === undefined) throw clientError('Missing argument: "method"');
  if (m === '') throw clientError('Method not specified');
  return m;
};

/** Ironic's @method.body('data'): the JSON body, handed to the method as its keyword arguments. */
const dataOf = (req: FastifyRequest): Record<string, unknown> => {
  const b = bodyOf(req.body);
  if (!isPlainObject(b)) throw clientError(`Invalid data for the vendor method: ${pyRepr(b)} is not a JSON object`);
  return b;
};

const answer = (reply: FastifyReply, r: t.TypeOf<typeof PassthruReplyC>) => {
  if (r.async) return reply.code(202).send();
  const value = r.return;
  if (value === null || value === undefined) return reply.code(200).send();
  if (r.attach) {
    // attached values are served as they are (Ironic wraps them in a BytesIO)
    return reply.code(200).type('application/octet-stream').send(typeof value === 'string' ? value : pyJsonDumps(value));
  }
  return reply.code(200).type('application/json').send(pyJsonDumps(value));
};

export const vendorPassthruRoutes = async (app: FastifyInstance, ctx: ResourceOptions): Promise<void> => {
  const lookup = nodeLookup(ctx.deps.readModels.nodes);
  const node = async (req: FastifyRequest) => lookup.resolve(req, lookup.identOf(req));
  const driverName = (req: FastifyRequest) => (req.params as { driver_name: string }).driver_name;

  // ---- node ----------------------------------------------------------------------------------

  app.get(
    '/v1/nodes/:node_ident/vendor_passthru/methods',
    { schema: { tags: ['nodes'], summary: "The node's vendor methods: {method: {http_methods, async, description, attach, require_exclusive_lock}}", response: { 200: methodSchema } } },
    async (req) => {
      rejectUnexpected(queryOf(req), []);
      const n = await node(req);
      return askOwner(ctx, req, n, 'vendor_passthru_methods', {}, NodeMethodsC);
    },
  );

  const nodeCall = async (req: FastifyRequest, reply: FastifyReply) => {
    const method = methodOf(req);
    const info = dataOf(req);
    const n = await node(req);
    return answer(reply, await askOwner(ctx, req, n, 'vendor_passthru', { method, http_method: req.method, info }, PassthruReplyC));
  };
  for (const url of ['/v1/nodes/:node_ident/vendor_passthru', '/v1/nodes/:node_ident/vendor_passthru/:method']) {
    app.route({
      method: [...httpMethods],
      url,
      schema: { tags: ['nodes'], summary: `Node vendor passthru${url.endsWith(':method') ? ' (method in the path)' : ' (?method=NAME)'}`, description: callDescription },
      handler: nodeCall,
    });
  }

  // ---- driver --------------------------------------------------------------------------------

  app.get(
    '/v1/drivers/:driver_name/vendor_passthru/methods',
    { schema: { tags: ['drivers'], summary: "The hardware type's driver-level vendor methods: {method: {http_methods, async, description, attach}}", response: { 200: methodSchema } } },
    async (req) => {
      rejectUnexpected(queryOf(req), []);
      return askForDriver(ctx, req, driverName(req), 'driver_vendor_passthru_methods', {}, DriverMethodsC);
    },
  );

  const driverCall = async (req: FastifyRequest, reply: FastifyReply) => {
    const method = methodOf(req);
    const info = dataOf(req);
    return answer(reply, await askForDriver(ctx, req, driverName(req), 'driver_vendor_passthru', { method, http_method: req.method, info }, PassthruReplyC));
  };
  for (const url of ['/v1/drivers/:driver_name/vendor_passthru', '/v1/drivers/:driver_name/vendor_passthru/:method']) {
    app.route({
      method: [...httpMethods],
      url,
      schema: { tags: ['drivers'], summary: `Driver vendor passthru${url.endsWith(':method') ? ' (method in the path)' : ' (?method=NAME)'}`, description: callDescription },
      handler: driverCall,
    });
  }
};
