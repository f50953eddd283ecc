// One error handler for the whole API: every 4xx/5xx leaves in Ironic's double-encoded format
// (reference §2.1), whatever raised it: an ApiError, a DomainError value from domain/, an io-ts
// decode failure reported as an ApiError, or fastify itself (malformed JSON, a body over the
// limit, a bad Content-Type, a malformed URL). Fastify's own errors are client errors here,
// never 500s. Unknown paths get webob's 404, a known path with the wrong method webob's 405.
//
// Bodies are parsed as JSON whatever their Content-Type, as webob's request.json does: clients
// such as `curl -d` that send form content types with a JSON body work against Ironic too.

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError } from '../../domain/errors.ts';
import { ApiError, clientError, errorBody, fromDomainError, isApiError, methodNotAllowed, webobError } from '../http-errors.ts';
import { globalPlugin } from '../plugin.ts';
import { pathOf } from '../url.ts';

const fastifyErrorToApi = (err: FastifyError): ApiError | undefined => {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return clientError('Request body is too large.', 413);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return clientError('Unsupported Media Type: the Content-Type header cannot be parsed.', 415);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return clientError('Request body size did not match Content-Length.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return clientError('Request body is empty.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return clientError(`Invalid JSON in request body: ${err.message}`);
    case 'FST_ERR_BAD_URL':
      return webobError(400, 'The request URL is malformed.');
    case 'FST_ERR_VALIDATION':
      return clientError(err.message);
    default:
      return undefined;
  }
};

/** Turns anything thrown while serving a request into the ApiError it answers with. */
export const toApiError = (err: unknown): ApiError => {
  if (isApiError(err)) return err;
  if (isDomainError(err)) return fromDomainError(err);
  if (err instanceof SyntaxError) return clientError(`Invalid JSON in request body: ${err.message}`);
  const fe = err as Partial<FastifyError> | undefined;
  if (fe && typeof fe === 'object' && typeof fe.code === 'string') {
    const mapped = fastifyErrorToApi(fe as FastifyError);
    if (mapped) return mapped;
  }
  const status = fe && typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  const message = err instanceof Error ? err.message : String(err);
  // a framework error that says "client" stays a client error; anything else is ours (500)
  if (status >= 400 && status < 500) return clientError(message, status);
  return new ApiError(500, message || 'Internal Server Error');
};

export const sendApiError = (reply: FastifyReply, e: ApiError): FastifyReply => {
  for (const [k, v] of Object.entries(e.headers)) reply.header(k, v);
  return reply
    .code(e.status)
    .header('content-type', 'application/json')
    .send(errorBody(e.status, e.message, e.style, e.extraBody));
};

// ---- 405 detection -------------------------------------------------------------------------------

interface KnownRoute {
  re: RegExp;
  methods: Set<string>;
}

const patternOf = (url: string): RegExp => {
  const body = url
    .split('/')
    .map((seg) => {
      if (seg === '*') return '.*';
      if (seg.startsWith(':')) return '[^/]+';
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${body}$`);
};

const parseJsonBody = (_req: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void): void => {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.length === 0) {
    done(null, undefined);
    return;
  }
  try {
    // a "__proto__" key is dropped (prototype pollution further on); the reviver that drops it
    // costs a call per value, so it runs only where such a key can be: spelled out, or escaped
    const risky = text.includes('__proto__') || text.includes('\\u');
    done(null, risky ? JSON.parse(text, (key, value: unknown) => (key === '__proto__' ? undefined : value)) : JSON.parse(text));
  } catch (e) {
    done(clientError(`Invalid JSON in request body: ${(e as Error).message}`));
  }
};

export const errorsPlugin = globalPlugin('ironlog-errors', async (app: FastifyInstance) => {
  const routes = new Map<string, KnownRoute>();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    let known = routes.get(route.url);
    if (!known) {
      known = { re: patternOf(route.url), methods: new Set() };
      routes.set(route.url, known);
    }
    for (const m of methods) known.methods.add(m.toUpperCase());
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, parseJsonBody);

  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const e = toApiError(err);
    if (e.status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ status: e.status, error: e.message, errorClass: e.errorClass }, 'request refused');
    return sendApiError(reply, e);
  });

  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    const path = pathOf(req);
    const allowed = new Set<string>();
    for (const r of routes.values()) if (r.re.test(path)) for (const m of r.methods) allowed.add(m);
    if (allowed.size > 0) return sendApiError(reply, methodNotAllowed(req.method, [...allowed].sort()));
    return sendApiError(reply, webobError(404, 'The resource could not be found.'));
  });

  // Ironic's method.expose: a 204, or a 202 without a body, has no body and no content type.
  app.addHook('onSend', (_req, reply, payload, done) => {
    const code = reply.statusCode;
    if (code === 204 || (code === 202 && (payload === undefined || payload === null || payload === ''))) {
      reply.removeHeader('content-type');
      reply.removeHeader('content-length');
      return done(null, null);
    }
    // a large JSON body is encoded once (as a Buffer) instead of measured and then encoded
    if (typeof payload === 'string' && payload.length > 65536) return done(null, Buffer.from(payload, 'utf8'));
    done(null, payload);
  });
});

/** fastify's frameworkErrors option: errors raised before routing (e.g. a malformed URL). */
export const frameworkErrors = (err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void => {
  void sendApiError(reply, toApiError(err));
};
