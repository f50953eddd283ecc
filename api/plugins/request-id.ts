// `Openstack-Request-Id: req-<uuid>` on every response (reference §1.3). The id is fastify's own
// request id, so pino's request logs carry it (as `request_id`). An inbound
// `X-Openstack-Request-Id` of the right shape is kept: Ironic keeps it as the global request id
// that ties a request to what it caused elsewhere; we answer with it too, so an operator's own
// id can be followed through our logs and the events' correlation ids.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { globalPlugin } from '../plugin.ts';

export const REQUEST_ID_HEADER = 'Openstack-Request-Id';
export const INBOUND_REQUEST_ID_HEADER = 'x-openstack-request-id';
const idFormat = /^req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$/;

export const isRequestId = (s: string): boolean => idFormat.test(s);

/** fastify's genReqId option. */
export const genReqId = (req: IncomingMessage): string => {
  const inbound = req.headers[INBOUND_REQUEST_ID_HEADER];
  if (typeof inbound === 'string' && idFormat.test(inbound)) return inbound;
  return `req-${randomUUID()}`;
};

export const requestIdPlugin = globalPlugin('ironlog-request-id', async (app) => {
  app.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done) => {
    reply.header(REQUEST_ID_HEADER, req.id);
    done();
  });
});
