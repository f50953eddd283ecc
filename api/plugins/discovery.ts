// Version discovery (reference §1.1, §1.2): `GET /` (no version handling at all) and `GET /v1`
// (version-negotiated; its resource links depend on the requested version). Neither needs a login.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { makeLink, type Link } from '../url.ts';
import { MAX_VERSION, MIN_VERSION, allows } from './versions.ts';

export const versionDocument = (base: string) => ({
  id: 'v1',
  links: [makeLink('self', base, 'v1', '', true)],
  status: 'CURRENT',
  min_version: MIN_VERSION,
  version: MAX_VERSION,
});

export const rootDocument = (base: string) => ({
  name: 'OpenStack Ironic API',
  description: 'Ironic is an OpenStack project which enables the provision and management of baremetal machines.',
  default_version: versionDocument(base),
  versions: [versionDocument(base)],
});

const resourceLinks = (base: string, resource: string): Link[] => [
  makeLink('self', base, resource, ''),
  makeLink('bookmark', base, resource, '', true),
];

/** Resources listed in /v1 only from the version that introduced them, in Ironic's order. */
const gated: ReadonlyArray<readonly [string, number]> = [
  ['portgroups', 23],
  ['volume', 32],
  ['lookup', 22],
  ['heartbeat', 22],
  ['conductors', 49],
  ['allocations', 52],
  ['events', 54],
  ['deploy_templates', 55],
  ['shards', 82],
];

export const v1Document = (req: FastifyRequest): Record<string, unknown> => {
  const base = req.baseUrl;
  const doc: Record<string, unknown> = {
    id: 'v1',
    links: [
      makeLink('self', base, 'v1', '', true),
      makeLink('describedby', 'https://docs.openstack.org', '/ironic/latest/contributor/', 'webapi.html', true, 'text/html'),
    ],
    media_types: { base: 'application/json', type: 'application/vnd.openstack.ironic.v1+json' },
    chassis: resourceLinks(base, 'chassis'),
    nodes: resourceLinks(base, 'nodes'),
    ports: resourceLinks(base, 'ports'),
    drivers: resourceLinks(base, 'drivers'),
    version: versionDocument(base),
  };
  for (const [name, minor] of gated) if (allows(req, minor)) doc[name] = resourceLinks(base, name);
  return doc;
};

const linkSchema = {
  type: 'object',
  properties: { href: { type: 'string' }, rel: { type: 'string' }, type: { type: 'string' } },
};
const versionSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    links: { type: 'array', items: linkSchema },
    status: { type: 'string' },
    min_version: { type: 'string' },
    version: { type: 'string' },
  },
};

export const discoveryRoutes = async (app: FastifyInstance): Promise<void> => {
  app.get(
    '/',
    {
      schema: {
        summary: 'API root: the available major versions',
        tags: ['discovery'],
        security: [],
        response: {
          200: {
            type: 'object',
            properties: { name: { type: 'string' }, description: { type: 'string' }, default_version: versionSchema, versions: { type: 'array', items: versionSchema } },
          },
        },
      },
    },
    async (req) => rootDocument(req.baseUrl),
  );
  app.get(
    '/v1',
    {
      schema: {
        summary: 'The v1 API: its resources (as allowed by the requested microversion) and version range',
        tags: ['discovery'],
        security: [],
        response: { 200: { type: 'object', additionalProperties: true } },
      },
    },
    async (req) => v1Document(req),
  );
};
