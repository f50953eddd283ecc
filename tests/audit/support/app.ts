// The audit routes in a bare fastify app, listening on a real port: the API's error handler
// (Ironic's error bodies) and its no-op validator/serializer, nothing else.

import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { auditRoutes, type AuditRoutesOptions } from '../../../api/audit/index.ts';
import { errorsPlugin } from '../../../api/plugins/errors.ts';

export interface AuditApp {
  app: FastifyInstance;
  url: string;
}

export const startAuditApp = async (o: AuditRoutesOptions): Promise<AuditApp> => {
  const app = Fastify({ logger: false });
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await app.register(errorsPlugin);
  await app.register(auditRoutes, o);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}` };
};

/** Decodes Ironic's double-encoded error body. */
export const innerError = (body: string): Record<string, unknown> => {
  const outer = JSON.parse(body) as { error_message: string };
  return JSON.parse(outer.error_message) as Record<string, unknown>;
};
