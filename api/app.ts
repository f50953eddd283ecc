// The API application: a fastify instance made of plugins, in the order requests meet them.
//   request ids → errors (one handler, body parsing, 404/405) → base URL → auth → versions →
//   metrics → OpenAPI collection → discovery and resources → the OpenAPI document route.
// Hooks run in registration order, so a request is authenticated before its version is
// negotiated (as Ironic's auth middleware sits outside pecan) and both happen before routing.

import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ApiConfig } from './config.ts';
import type { ApiDeps } from './deps.ts';
import { auditRoutes } from './audit/index.ts';
import { authPlugin } from './plugins/auth.ts';
import { baseUrlPlugin } from './plugins/base-url.ts';
import { discoveryRoutes } from './plugins/discovery.ts';
import { errorsPlugin, frameworkErrors } from './plugins/errors.ts';
import { metricsPlugin } from './plugins/metrics.ts';
import { openapiPlugin, openapiRoute } from './plugins/openapi.ts';
import { genReqId, requestIdPlugin } from './plugins/request-id.ts';
import { versionsPlugin } from './plugins/versions.ts';
import { chassisRoutes } from './resources/chassis.ts';
import { agentRoutes } from './resources/agent.ts';
import { allocationRoutes } from './resources/allocations.ts';
import { deployTemplateRoutes } from './resources/deploy-templates.ts';
import { fleetRoutes } from './resources/fleet.ts';
import { portgroupRoutes } from './resources/portgroups.ts';
import { portRoutes } from './resources/ports.ts';
import { volumeRoutes } from './resources/volume.ts';
import { nodeDataRoutes } from './resources/node-data.ts';
import { nodeExtraRoutes } from './resources/node-extras.ts';
import { nodeHistoryRoutes } from './resources/node-history.ts';
import { nodeStateRoutes } from './resources/node-states.ts';
import { nodeRoutes } from './resources/nodes.ts';
import { vendorPassthruRoutes } from './resources/vendor-passthru.ts';
import { indicatorRoutes } from './resources/indicators.ts';
import { driverRaidRoutes } from './resources/driver-raid.ts';
import { rewriteUrl } from './url.ts';

export interface BuildOptions {
  /** pino options or false; default: pino at config.logLevel */
  logger?: FastifyServerOptions['logger'];
}

export interface ResourceOptions {
  deps: ApiDeps;
  config: ApiConfig;
}

export const buildApp = (deps: ApiDeps, config: ApiConfig, options: BuildOptions = {}): FastifyInstance => {
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    genReqId,
    requestIdHeader: false,
    rewriteUrl,
    bodyLimit: config.bodyLimit,
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors,
    exposeHeadRoutes: false,
  });

  // Route schemas document the API (OpenAPI); decoding is io-ts's, with Ironic's messages, and
  // responses are written as built (key order matters to Ironic's clients' eyes, not to JSON).
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  void app.register(requestIdPlugin);
  void app.register(errorsPlugin);
  void app.register(baseUrlPlugin, config.publicEndpoint ? { publicEndpoint: config.publicEndpoint } : {});
  void app.register(authPlugin, {
    strategy: config.authStrategy,
    htpasswdFile: config.htpasswdFile,
    cacheTtlMs: config.authCacheSeconds * 1000,
  });
  void app.register(versionsPlugin);
  void app.register(metricsPlugin);
  void app.register(openapiPlugin);

  void app.register(discoveryRoutes);
  const resourceOptions: ResourceOptions = { deps, config };
  void app.register(chassisRoutes, resourceOptions);
  void app.register(nodeRoutes, resourceOptions);
  void app.register(nodeStateRoutes, resourceOptions);
  void app.register(nodeExtraRoutes, resourceOptions);
  void app.register(nodeHistoryRoutes, resourceOptions);
  void app.register(portRoutes, resourceOptions);
  void app.register(portgroupRoutes, resourceOptions);
  void app.register(allocationRoutes, resourceOptions);
  void app.register(deployTemplateRoutes, resourceOptions);
  void app.register(volumeRoutes, resourceOptions);
  void app.register(fleetRoutes, resourceOptions);
  void app.register(nodeDataRoutes, resourceOptions);
  void app.register(agentRoutes, resourceOptions);
  void app.register(vendorPassthruRoutes, resourceOptions);
  void app.register(indicatorRoutes, resourceOptions);
  void app.register(driverRaidRoutes, resourceOptions);
  if (deps.store) {
    // the log-backed extensions; /timeline is served by node-history.ts from the read model
    const store = deps.store;
    void app.register(auditRoutes, {
      store,
      resolveNode: async (ident: string) => (await deps.readModels.nodes.getByName(ident))?.uuid,
      maxLimit: config.maxLimit,
      timeline: false,
    });
  }

  void app.register(openapiRoute);
  return app;
};
