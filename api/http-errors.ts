// Errors the API raises, as values with everything the error handler needs to shape Ironic's body
// (reference §2.1): the status, the message, and which of Ironic's two inner formats applies.
//   controller: {"faultcode": "Client"|"Server", "faultstring": ..., "debuginfo": null}
//   webob:      {"code": N, "title": ..., "description": ...} (routing-level errors in pecan)
// Both are double-encoded: {"error_message": "<the inner object as a JSON string>"}.

import type { DomainError } from '../domain/errors.ts';
import { pyJsonDumps } from './pyjson.ts';

export type ErrorStyle = 'controller' | 'webob';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly style: ErrorStyle = 'controller',
    /** response headers the error carries (version headers on 406s, WWW-Authenticate on 401s) */
    readonly headers: Readonly<Record<string, string>> = {},
    /** extra top-level body keys, beside error_message */
    readonly extraBody?: Readonly<Record<string, unknown>>,
    /** the Ironic exception class, for logs */
    readonly errorClass?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const isApiError = (e: unknown): e is ApiError => e instanceof ApiError;

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export const statusTitle = (status: number): string => titles[status] ?? (status >= 500 ? 'Internal Server Error' : 'Bad Request');

/** Ironic's ClientSideError / Invalid family: 400 unless told otherwise. */
export const clientError = (message: string, status = 400, errorClass = 'Invalid'): ApiError =>
  new ApiError(status, message, 'controller', {}, undefined, errorClass);

/** exception.NotAcceptable: a field, filter or verb newer than the requested version. */
export const notAcceptable = (message = 'Request not acceptable.'): ApiError =>
  new ApiError(406, message, 'controller', {}, undefined, 'NotAcceptable');

/** exception.NotFound (controller style), e.g. a version-gated sub-resource. */
export const notFound = (message = 'Resource could not be found.'): ApiError =>
  new ApiError(404, message, 'controller', {}, undefined, 'NotFound');

/** A webob/pecan routing error: unknown resource, wrong method, bad version header. */
export const webobError = (status: number, description: string, headers: Record<string, string> = {}): ApiError =>
  new ApiError(status, description, 'webob', headers);

export const methodNotAllowed = (method: string, allow: readonly string[] = []): ApiError =>
  webobError(405, `The method ${method} is not allowed for this resource.`, allow.length ? { allow: allow.join(', ') } : {});

export const fromDomainError = (e: DomainError): ApiError =>
  new ApiError(e.status, e.message, 'controller', {}, undefined, e.errorClass);

/** The inner object of an error body, before the outer encoding. */
export const innerError = (status: number, message: string, style: ErrorStyle): Record<string, unknown> =>
  style === 'webob'
    ? { code: status, title: statusTitle(status), description: message }
    : { faultcode: status >= 500 ? 'Server' : 'Client', faultstring: message, debuginfo: null };

/** The complete body, double-encoded as Ironic's ParsableErrorMiddleware does. */
export const errorBody = (status: number, message: string, style: ErrorStyle, extra?: Readonly<Record<string, unknown>>): string =>
  pyJsonDumps({ error_message: pyJsonDumps(innerError(status, message, style)), ...(extra ?? {}) });
