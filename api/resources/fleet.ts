// The fleet as the conductors make it up: /v1/drivers (reference §3.6: hardware types served by
// live conductors, their interfaces and properties), /v1/conductors (§3.7, ≥1.49: the conductors
// read model plus any in-process conductor), /v1/shards (§3.10, ≥1.82).

import * as E from 'fp-ts/lib/Either.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { domainError } from '../../domain/errors.ts';
import type { ResourceOptions } from '../app.ts';
import {
  booleanArg,
  checkAllowSpecifyFields,
  checkInvalidFields,
  envelope,
  integerArg,
  nextUrl,
  queryOf,
  rejectUnexpected,
  returnFields,
  sanitize,
  stringArg,
  stringListArg,
  validateLimit,
  validateSortDir,
} from '../collection.ts';
import { interfaceNames, type ConductorView, type HardwareTypeInfo } from '../deps.ts';
import { clientError, fromDomainError, notAcceptable, notFound } from '../http-errors.ts';
import { allows, requireVersion } from '../plugins/versions.ts';
import { selfAndBookmark } from '../url.ts';
import { showFields } from './crud.ts';

const driverNotFound = (name: string) => clientError(`Could not find the following driver(s) or hardware type(s): ${name}.`, 404, 'DriverNotFound');

/** Interface fields of a driver newer than the requested version (driver hide_fields_in_newer_versions). */
const interfaceMinor: Readonly<Record<string, number>> = { storage: 33, rescue: 38, bios: 40 };

/** driver convert_with_links */
export const driverJson = (req: FastifyRequest, hw: HardwareTypeInfo, detail: boolean): Record<string, unknown> => {
  const base = req.baseUrl;
  const out: Record<string, unknown> = { name: hw.name, hosts: [...hw.hosts].sort(), links: selfAndBookmark(base, 'drivers', hw.name) };
  if (allows(req, 14)) out.properties = selfAndBookmark(base, 'drivers', `${hw.name}/properties`);
  if (allows(req, 30)) {
    out.type = 'dynamic';
    if (detail) {
      for (const iface of [...interfaceNames].sort()) {
        if (interfaceMinor[iface] !== undefined && !allows(req, interfaceMinor[iface]!)) continue;
        const set = hw.interfaces[iface];
        out[`default_${iface}_interface`] = set?.default ?? null;
        out[`enabled_${iface}_interfaces`] = set ? [...set.enabled] : [];
      }
    }
  }
  return out;
};

const conductorFieldNames = ['created_at', 'updated_at', 'hostname', 'conductor_group', 'drivers', 'links', 'alive'];
const conductorSortable = ['hostname', 'conductor_group', 'created_at', 'updated_at'];

/** Ironic's timestamps end in `+00:00`; the membership log's are JavaScript's `Z` form. */
const ironicTime = (s: string | null): string | null => (s === null ? null : s.replace(/Z$/, '+00:00'));

export const conductorJson = (req: FastifyRequest, c: ConductorView, fields?: readonly string[]): Record<string, unknown> => {
  const out: Record<string, unknown> = {
    created_at: ironicTime(c.created_at),
    updated_at: ironicTime(c.updated_at),
    hostname: c.hostname,
    conductor_group: c.conductor_group,
    drivers: [...c.drivers],
    links: selfAndBookmark(req.baseUrl, 'conductors', c.hostname),
    alive: c.alive,
  };
  if (fields) checkInvalidFields(fields, conductorFieldNames);
  return sanitize(out, fields);
};

export const fleetRoutes = async (app: FastifyInstance, ctx: ResourceOptions): Promise<void> => {
  const { deps, config } = ctx;

  // ---- drivers ---------------------------------------------------------------------------------

  const hardwareType = (name: string): HardwareTypeInfo => {
    const hw = deps.conductors.hardwareTypes().get(name);
    if (!hw) throw driverNotFound(name);
    return hw;
  };

  app.get('/v1/drivers', { schema: { tags: ['drivers'], summary: 'List the hardware types live conductors serve (?type, ?detail ≥1.30, ?fields ≥1.77)' } }, async (req) => {
    const query = queryOf(req);
    rejectUnexpected(query, ['type', 'detail', 'fields']);
    const type = stringArg(query, 'type');
    const detail = booleanArg(query, 'detail');
    const fields = stringListArg(query, 'fields');
    if ((type !== undefined || detail !== undefined) && !allows(req, 30)) throw notAcceptable();
    if (fields !== undefined && !allows(req, 77)) throw notAcceptable();
    if (type !== undefined && type !== 'classic' && type !== 'dynamic') throw clientError('"type" filter must be one of "classic" or "dynamic", if specified.');
    if (fields !== undefined && detail) throw clientError('Can not specify ?detail=True and fields in the same request.');
    if (type === 'classic') return { drivers: [] };
    const all = [...deps.conductors.hardwareTypes().values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    return {
      drivers: all.map((hw) => {
        const d = driverJson(req, hw, detail === true || fields !== undefined);
        if (fields) checkInvalidFields(fields, Object.keys(d));
        return sanitize(d, fields);
      }),
    };
  });

  app.get('/v1/drivers/:driver_name', { schema: { tags: ['drivers'], summary: 'Show a hardware type with its interfaces' } }, async (req) => {
    const query = queryOf(req);
    rejectUnexpected(query, ['fields']);
    const fields = stringListArg(query, 'fields');
    if (fields !== undefined && !allows(req, 77)) throw notAcceptable();
    const d = driverJson(req, hardwareType((req.params as { driver_name: string }).driver_name), true);
    if (fields) checkInvalidFields(fields, Object.keys(d));
    return sanitize(d, fields);
  });

  app.get('/v1/drivers/:driver_name/properties', { schema: { tags: ['drivers'], summary: "The properties a hardware type's default interfaces take" } }, async (req) => {
    rejectUnexpected(queryOf(req), []);
    return hardwareType((req.params as { driver_name: string }).driver_name).properties;
  });

  // ---- conductors (≥1.49) ----------------------------------------------------------------------

  /** The read model's conductors, with the in-process one (if any) that the log does not list. */
  const allConductors = async (): Promise<ConductorView[]> => {
    const page = await deps.readModels.conductors.list({ limit: 100_000, sortKey: 'id', sortDir: 'asc', filters: {} });
    const listed = E.isRight(page) ? page.right : [];
    const extra = deps.conductors.extraConductors().filter((c) => !listed.some((l) => l.hostname === c.hostname));
    return [...listed, ...extra];
  };

  app.get('/v1/conductors', { schema: { tags: ['conductors'], summary: 'List conductors (≥1.49), alive or not' } }, async (req) => {
    requireVersion(req, 49, 'not-found');
    const query = queryOf(req);
    rejectUnexpected(query, ['marker', 'limit', 'sort_key', 'sort_dir', 'fields', 'detail']);
    const limit = validateLimit(integerArg(query, 'limit'), config.maxLimit);
    const sortDir = validateSortDir(stringArg(query, 'sort_dir') ?? 'asc');
    const sortKey = stringArg(query, 'sort_key') ?? 'id';
    if (sortKey === 'alive' || sortKey === 'drivers') throw clientError(`The sort_key value ${sortKey} is an invalid field for sorting`);
    if (sortKey !== 'id' && !conductorSortable.includes(sortKey)) throw clientError(`The sort_key value "${sortKey}" is an invalid field for sorting`);
    const marker = stringArg(query, 'marker');
    const args = stringListArg(query, 'fields');
    checkAllowSpecifyFields(req, args);
    const fields = returnFields(req, args, booleanArg(query, 'detail'), ['hostname', 'conductor_group', 'alive']);
    let rows = await allConductors();
    if (sortKey !== 'id') {
      const key = sortKey as keyof ConductorView;
      rows = [...rows].sort((a, b) => {
        const x = String(a[key] ?? '');
        const y = String(b[key] ?? '');
        return x < y ? -1 : x > y ? 1 : 0;
      });
    }
    if (sortDir === 'desc') rows.reverse();
    if (marker !== undefined) {
      const i = rows.findIndex((c) => c.hostname === marker);
      if (i < 0) throw fromDomainError(domainError('ConductorNotFound', `Conductor ${marker} could not be found.`));
      rows = rows.slice(i + 1);
    }
    const items = rows.slice(0, limit).map((c) => conductorJson(req, c, fields));
    const next = nextUrl(req.baseUrl, 'conductors', items, limit, [
      ['sort_key', sortKey],
      ['sort_dir', sortDir],
      ['fields', fields],
    ], 'hostname');
    return envelope('conductors', items, next);
  });

  app.get('/v1/conductors/:hostname', { schema: { tags: ['conductors'], summary: 'Show a conductor (≥1.49)' } }, async (req) => {
    requireVersion(req, 49, 'not-found');
    const fields = showFields(req);
    const hostname = (req.params as { hostname: string }).hostname;
    const c = (await allConductors()).find((x) => x.hostname === hostname);
    if (!c) throw fromDomainError(domainError('ConductorNotFound', `Conductor ${hostname} could not be found.`));
    return conductorJson(req, c, fields);
  });

  // ---- shards (≥1.82) --------------------------------------------------------------------------

  app.get('/v1/shards', { schema: { tags: ['shards'], summary: 'Nodes per shard (≥1.82), most first; no shard = "None"' } }, async (req) => {
    requireVersion(req, 82, 'not-found');
    rejectUnexpected(queryOf(req), []);
    return { shards: await deps.readModels.shards() };
  });
  app.get('/v1/shards/:shard', { schema: { hide: true } }, async () => {
    throw notFound();
  });
};

