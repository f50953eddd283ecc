// Every request knows the BASE its links are built from (reference §1.2): the configured public
// endpoint (Ironic's [api]public_endpoint), or the URL of the host the client asked for.

import type { FastifyRequest } from 'fastify';
import { globalPlugin } from '../plugin.ts';
import { publicUrl } from '../url.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** scheme://host[:port] (or the public endpoint), without a trailing slash */
    baseUrl: string;
  }
}

export const baseUrlPlugin = globalPlugin<{ publicEndpoint?: string }>('ironlog-base-url', async (app, opts) => {
  app.decorateRequest('baseUrl', '');
  // callback hooks here and in the other plugins: an async hook costs every request a promise
  app.addHook('onRequest', (req: FastifyRequest, _reply, done) => {
    req.baseUrl = publicUrl(req, opts.publicEndpoint);
    done();
  });
});
