// Inputs of the audit routes: log positions, node identities, query arguments. Every bad value is
// a 400 (or the node's 404) in Ironic's error format, raised before anything is read or streamed.

import type { FastifyRequest } from 'fastify';
import { domainError } from '../../domain/errors.ts';
import type { EventStore } from '../../eventstore/port.ts';
import { clientError, fromDomainError, type ApiError } from '../http-errors.ts';
import type { Masker } from '../../publisher/wire.ts';

/** What the audit routes read: one node's stream, and the log from a position. */
export type AuditStore = Pick<EventStore, 'readStream' | 'subscribeToAll'>;

/**
 * Turns a node name into its UUID (undefined: no such node). Without one, the routes take UUIDs
 * only. The read model can answer it: `async (name) => (await readModels.nodes.getByName(name))?.uuid`.
 */
export type NodeResolver = (name: string) => Promise<string | undefined>;

export interface AuditOptions {
  store: AuditStore;
  /** masks secrets in event data and node state; default publisher/wire.ts maskDeep */
  mask?: Masker;
  resolveNode?: NodeResolver;
}

type Query = Record<string, string | string[] | undefined>;

export const queryOf = (req: FastifyRequest): Query => (req.query ?? {}) as Query;

export const rejectUnexpected = (query: Query, allowed: readonly string[]): void => {
  const extra = Object.keys(query).filter((k) => !allowed.includes(k));
  if (extra.length) throw clientError(`Unexpected arguments: ${extra.join(', ')}`);
};

/** One value (a repeated argument is refused). */
export const single = (query: Query, name: string): string | undefined => {
  const v = query[name];
  if (Array.isArray(v)) throw clientError(`Argument ${name} may be given only once.`);
  return v;
};

/** Comma-separated and/or repeated values, blanks dropped. */
export const list = (query: Query, name: string): string[] => {
  const v = query[name];
  const raw = v === undefined ? [] : Array.isArray(v) ? v : [v];
  return raw.flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
};

const POSITION = /^\d{1,20}$/;

/** A log position as the API takes it: a non-negative decimal integer. */
export const parsePosition = (raw: string, what: string): bigint => {
  const s = raw.trim();
  if (!POSITION.test(s)) throw clientError(`Invalid ${what} "${raw}": expected a log position (a non-negative integer).`);
  return BigInt(s);
};

/** `start`, `end` or a position (exclusive: "I have seen up to here"). */
export const parseAfter = (raw: string, what: string): bigint | 'start' | 'end' => {
  const s = raw.trim();
  if (s === 'start' || s === 'end') return s;
  return parsePosition(s, what);
};

export const positionText = (p: bigint | 'start' | 'end'): string => (typeof p === 'bigint' ? p.toString() : p);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string): boolean => UUID.test(s);

export const nodeNotFound = (ident: string): ApiError => fromDomainError(domainError('NodeNotFound', `Node ${ident} could not be found.`));

/** A node UUID (lowercased) from a UUID or, with a resolver, a name. */
export const resolveNodeIdent = async (ident: string, resolver: NodeResolver | undefined): Promise<string> => {
  if (isUuid(ident)) return ident.toLowerCase();
  if (!resolver) throw clientError(`Expected a node UUID, got "${ident}".`);
  const uuid = await resolver(ident);
  if (!uuid) throw nodeNotFound(ident);
  return uuid.toLowerCase();
};

/** The `{node_ident}` path parameter, for route schemas. */
export const identParams = {
  type: 'object',
  properties: { node_ident: { type: 'string', description: 'node UUID (or name, when the API resolves names)' } },
  required: ['node_ident'],
};

export const nodeIdentOf = (req: FastifyRequest): string => (req.params as { node_ident: string }).node_ident;

/** The request's public base URL when api/plugins/base-url.ts set one, else '' (relative links). */
export const baseUrlOf = (req: FastifyRequest): string => {
  const b = (req as unknown as { baseUrl?: unknown }).baseUrl;
  return typeof b === 'string' ? b : '';
};
