// Path normalisation done before routing (reference §1.1), and the URLs Ironic puts in bodies.
//  * a trailing slash is stripped (`/v1/` = `/v1`, `/v1/nodes/` = `/v1/nodes`);
//  * a trailing `.json` is stripped (old content-type-by-extension compatibility); lookups by
//    name retry with `.json` appended when the stripped name is not found (jsonSuffixOf);
//  * a path whose first segment is not `v1` is re-routed into v1 (`/nodes` = `/v1/nodes`),
//    except the few paths of our own that live outside the API (`/metrics`).

import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';

/** Paths served outside `/v1` (ours, not Ironic's). */
export const outsideV1 = new Set(['/metrics']);

const jsonSuffix = new WeakSet<IncomingMessage>();

export const normalisePath = (path: string): { path: string; hadJsonSuffix: boolean } => {
  let p = path.endsWith('/') ? path.replace(/\/+$/, '') : path;
  let hadJsonSuffix = false;
  if (p.endsWith('.json')) {
    p = p.slice(0, -5);
    hadJsonSuffix = true;
  }
  if (p === '') return { path: '/', hadJsonSuffix };
  if (!p.startsWith('/')) p = '/' + p;
  if (outsideV1.has(p)) return { path: p, hadJsonSuffix };
  // the first segment is not v1
  if (p !== '/v1' && !p.startsWith('/v1/')) p = '/v1' + p;
  return { path: p, hadJsonSuffix };
};

/** fastify's rewriteUrl: runs before routing, on the raw request. */
export const rewriteUrl = (req: IncomingMessage): string => {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q);
  const { path, hadJsonSuffix } = normalisePath(rawPath);
  if (hadJsonSuffix) jsonSuffix.add(req);
  return path + query;
};

/** Whether the request path had a `.json` suffix that was stripped before routing. */
export const jsonSuffixOf = (req: FastifyRequest): boolean => jsonSuffix.has(req.raw);

/** The request path after normalisation, without the query string. */
export const pathOf = (req: FastifyRequest): string => {
  const q = req.url.indexOf('?');
  return q < 0 ? req.url : req.url.slice(0, q);
};

/**
 * BASE of every link (§1.2): `[api]public_endpoint` when configured, else the request's host URL
 * (scheme://host[:port], as webob's host_url).
 */
export const publicUrl = (req: FastifyRequest, publicEndpoint: string | undefined): string => {
  if (publicEndpoint) return publicEndpoint.replace(/\/+$/, '');
  const host = req.headers.host ?? `${req.hostname}`;
  return `${req.protocol}://${host}`;
};

export interface Link {
  href: string;
  rel: string;
  type?: string;
}

/** Ironic's link.build_url: `BASE/v1/<res>/<args>`, or `BASE/<res>/<args>` for bookmarks. */
export const buildUrl = (base: string, resource: string, args: string, bookmark = false): string => {
  const head = bookmark ? `${base}/${resource}` : `${base}/v1/${resource}`;
  return args.startsWith('?') ? head + args : `${head}/${args}`;
};

export const makeLink = (rel: string, base: string, resource: string, args: string, bookmark = false, type?: string): Link => {
  const link: Link = { href: buildUrl(base, resource, args, bookmark), rel };
  if (type) link.type = type;
  return link;
};

/** The `links` of an item or sub-resource: self (with /v1) and bookmark (without). */
export const selfAndBookmark = (base: string, resource: string, args: string): Link[] => [
  makeLink('self', base, resource, args),
  makeLink('bookmark', base, resource, args, true),
];
