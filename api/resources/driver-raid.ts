// GET /v1/drivers/{name}/raid/logical_disk_properties (reference §3.6, ≥1.12; Ironic's
// DriverRaidController): the logical disk properties of the hardware type's first RAID interface
// that is not no-raid, with their descriptions, from a conductor serving it. Below 1.12 → 406;
// an unknown driver → 404; a hardware type without RAID support → 404 (Ironic re-codes
// UnsupportedDriverExtension here). Like Ironic's, the answer is cached per driver name in this
// API process: it is the drivers' code, which does not change while they run.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as t from 'io-ts';
import type { ResourceOptions } from '../app.ts';
import { queryOf, rejectUnexpected } from '../collection.ts';
import { ApiError, isApiError } from '../http-errors.ts';
import { requireVersion } from '../plugins/versions.ts';
import { askForDriver } from './conductor-call.ts';

const PropertiesC = t.record(t.string, t.string);

export const driverRaidRoutes = async (app: FastifyInstance, ctx: ResourceOptions): Promise<void> => {
  const cache = new Map<string, Record<string, string>>();

  app.get(
    '/v1/drivers/:driver_name/raid/logical_disk_properties',
    {
      schema: {
        tags: ['drivers'],
        summary: "The logical disk properties of the hardware type's RAID interface (≥1.12): {property: description}",
        response: { 200: { type: 'object', additionalProperties: { type: 'string' } } },
      },
    },
    async (req: FastifyRequest) => {
      requireVersion(req, 12, 'not-acceptable');
      rejectUnexpected(queryOf(req), []);
      const driver = (req.params as { driver_name: string }).driver_name;
      const known = cache.get(driver);
      if (known && ctx.deps.conductors.hardwareTypes().has(driver)) return known;
      try {
        const props = await askForDriver(ctx, req, driver, 'raid_logical_disk_properties', {}, PropertiesC);
        cache.set(driver, props);
        return props;
      } catch (e) {
        if (isApiError(e) && e.errorClass === 'UnsupportedDriverExtension') throw new ApiError(404, e.message, 'controller', {}, undefined, e.errorClass);
        throw e;
      }
    },
  );
};
