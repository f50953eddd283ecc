// Prometheus metrics at `/metrics` (our extension, outside /v1): request counts and latency by
// method, route pattern and status, plus the process's default metrics. Each app has its own
// registry, so several apps in one process (tests) do not collide.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { globalPlugin } from '../plugin.ts';

export interface MetricsOptions {
  registry?: Registry;
}

declare module 'fastify' {
  interface FastifyInstance {
    metricsRegistry: Registry;
  }
}

export const metricsPlugin = globalPlugin<MetricsOptions>('ironlog-metrics', async (app, opts) => {
  const registry = opts.registry ?? new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ironlog_' });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'ironlog_api_requests_total',
    help: 'API requests served, by method, route pattern and status code',
    labelNames,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'ironlog_api_request_duration_seconds',
    help: 'API request latency in seconds, by method, route pattern and status code',
    labelNames,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.decorate('metricsRegistry', registry);

  app.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done) => {
    // the route pattern, never the raw path: node UUIDs would explode the label cardinality
    const route = req.routeOptions.url ?? 'unmatched';
    const labels = { method: req.method, route, status: String(reply.statusCode) };
    requests.inc(labels);
    latency.observe(labels, reply.elapsedTime / 1000);
    done();
  });

  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
});
