// Fastify encapsulates every plugin in its own scope. Framework plugins (errors, auth, versions,
// request ids, metrics) must instead decorate and hook the root instance so that every resource
// registered later sees them: this is what the `fastify-plugin` package does, by this symbol.

import type { FastifyPluginAsync, FastifyPluginOptions } from 'fastify';

export const globalPlugin = <O extends FastifyPluginOptions>(name: string, fn: FastifyPluginAsync<O>): FastifyPluginAsync<O> => {
  const marked = fn as FastifyPluginAsync<O> & Record<symbol, unknown>;
  marked[Symbol.for('skip-override')] = true;
  marked[Symbol.for('fastify.display-name')] = name;
  return marked;
};
