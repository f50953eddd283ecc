// Microversion negotiation (reference §1.3). Only `X-OpenStack-Ironic-API-Version` is read
// (`OpenStack-API-Version` is ignored, as Ironic 21.4 does); no header means 1.1, `latest` means
// the maximum. Every request under /v1 gets the minimum/maximum headers (unless the header cannot
// be parsed at all) and the effective version header.
//
// Error style follows pecan: the /v1 index runs inside a controller method, so its 406s are
// controller-style (faultcode/faultstring); deeper paths fail in pecan's routing (_lookup), so
// theirs are webob-style (code/title/description).

import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, methodNotAllowed, notAcceptable, notFound } from '../http-errors.ts';
import { globalPlugin } from '../plugin.ts';
import { pathOf } from '../url.ts';

export const MIN_MINOR = 1;
export const MAX_MINOR = 82;
export const MIN_VERSION = `1.${MIN_MINOR}`;
export const MAX_VERSION = `1.${MAX_MINOR}`;

export const VERSION_HEADER = 'X-OpenStack-Ironic-API-Version';
export const MIN_VERSION_HEADER = 'X-OpenStack-Ironic-API-Minimum-Version';
export const MAX_VERSION_HEADER = 'X-OpenStack-Ironic-API-Maximum-Version';

export interface ApiVersion {
  major: number;
  minor: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** the negotiated microversion; set on every request under /v1 */
    apiVersion: ApiVersion;
  }
}

// Python's int(): optional sign, digits (underscores between them), surrounding whitespace.
const pyInt = /^\s*[+-]?\d+(?:_\d+)*\s*$/;

/** Parses the header as Ironic's Version.parse_headers does; undefined = unparseable. */
export const parseVersionHeader = (value: string | undefined): ApiVersion | undefined => {
  const str = value ?? MIN_VERSION;
  const parse = str.toLowerCase() === 'latest' ? MAX_VERSION : str;
  const parts = parse.split('.');
  if (parts.length !== 2 || !parts.every((p) => pyInt.test(p))) return undefined;
  const [major, minor] = parts.map((p) => parseInt(p.replace(/_/g, ''), 10)) as [number, number];
  return { major, minor };
};

export const versionString = (v: ApiVersion): string => `${v.major}.${v.minor}`;

const range = `[${MIN_VERSION}, ${MAX_VERSION}]`;

/**
 * Negotiates the version of one request: returns it, or the ApiError (406) to answer with.
 * `index` selects the controller error style of the /v1 document.
 */
export const negotiate = (header: string | undefined, index: boolean): ApiVersion | ApiError => {
  const style = index ? 'controller' : 'webob';
  const v = parseVersionHeader(header);
  if (!v) return new ApiError(406, `Invalid value for ${VERSION_HEADER} header`, style);
  const headers = { [MIN_VERSION_HEADER]: MIN_VERSION, [MAX_VERSION_HEADER]: MAX_VERSION };
  if (v.major !== 1) {
    return new ApiError(
      406,
      `Mutually exclusive versions requested. Version ${versionString(v)} requested but not supported by this service. The supported version range is: ${range}.`,
      style,
      headers,
    );
  }
  if (v.minor < MIN_MINOR || v.minor > MAX_MINOR) {
    return new ApiError(
      406,
      `Version ${versionString(v)} was requested but the minor version is not supported by this service. The supported version range is: ${range}.`,
      style,
      headers,
    );
  }
  return v;
};

const headerValue = (req: FastifyRequest): string | undefined => {
  const h = req.headers['x-openstack-ironic-api-version'];
  return Array.isArray(h) ? h.join(', ') : h;
};

export const isV1Path = (path: string): boolean => path === '/v1' || path.startsWith('/v1/');

export const versionsPlugin = globalPlugin('ironlog-versions', async (app) => {
  app.decorateRequest('apiVersion', null as unknown as ApiVersion);
  app.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done) => {
    req.apiVersion = { major: 1, minor: MIN_MINOR };
    const path = pathOf(req);
    if (!isV1Path(path)) return done();
    const result = negotiate(headerValue(req), path === '/v1');
    if (result instanceof ApiError) {
      for (const [k, v] of Object.entries(result.headers)) reply.header(k, v);
      return done(result);
    }
    reply.header(MIN_VERSION_HEADER, MIN_VERSION);
    reply.header(MAX_VERSION_HEADER, MAX_VERSION);
    reply.header(VERSION_HEADER, versionString(result));
    req.apiVersion = result;
    done();
  });
});

// ---- feature gates -----------------------------------------------------------------------------

export const allows = (req: FastifyRequest, minor: number): boolean => req.apiVersion.minor >= minor;

/**
 * Refuses a feature newer than the requested version, the way Ironic does for that feature:
 * 406 NotAcceptable (most fields, filters and verbs), 404 (a sub-resource that did not exist
 * yet), or 405 (a write method on a resource that did not exist yet).
 */
export const requireVersion = (
  req: FastifyRequest,
  minor: number,
  how: 'not-acceptable' | 'not-found' | 'method-not-allowed' = 'not-acceptable',
  message?: string,
): void => {
  if (allows(req, minor)) return;
  if (how === 'not-found') throw notFound(message);
  if (how === 'method-not-allowed') throw methodNotAllowed(req.method);
  throw notAcceptable(message);
};

/** The "...minimal required API version should be 1.N" wording some 406s use. */
export const minimalVersionMessage = (what: string, minor: number): string =>
  `${what} is not acceptable. The minimal required API version should be 1.${minor}`;
