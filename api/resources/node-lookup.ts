// Finding the node a request names (Ironic's get_rpc_node / get_rpc_node_with_suffix): a UUID,
// or (≥1.5) a logical name; a stripped `.json` suffix is tried again when the name is not found.
// Shared by every node sub-resource and by the resources that reference nodes (ports, ...).

import type { FastifyRequest } from 'fastify';
import { domainError } from '../../domain/errors.ts';
import { canonicalUuid, isUuidLike } from '../collection.ts';
import type { NodeQueries, NodeView } from '../deps.ts';
import { clientError, fromDomainError, notAcceptable } from '../http-errors.ts';
import { allows } from '../plugins/versions.ts';
import { jsonSuffixOf } from '../url.ts';

const logicalName = /^[A-Z0-9\-._~]+$/i;
const hostnameSafe = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9\-_]{0,62}[a-z0-9])*\.?$/;

export const isValidLogicalName = (name: string): boolean => name.length <= 255 && logicalName.test(name);

/** api utils is_valid_logical_name: hostname-safe before 1.10, RFC 3986 unreserved after. */
export const isValidNameAt = (req: FastifyRequest, name: string): boolean =>
  name.length <= 255 && (allows(req, 10) ? logicalName.test(name) : hostnameSafe.test(name));

export const reservedNodeNames = ['maintenance', 'management', 'states', 'vendor_passthru', 'detail', 'validate'];

/** _check_names_acceptable */
export const checkNameAcceptable = (req: FastifyRequest, name: string, invalidMessage: string): void => {
  if (!allows(req, 5)) throw notAcceptable();
  if (!isValidNameAt(req, name) || isUuidLike(name)) throw clientError(invalidMessage);
  if (reservedNodeNames.includes(name)) {
    throw clientError(`The word "${name}" is reserved and can not be used as a node name. Reserved words are: ${reservedNodeNames.join(', ')}.`);
  }
};

export const nodeNotFound = (ident: string) => fromDomainError(domainError('NodeNotFound', `Node ${ident} could not be found.`));

export interface NodeLookup {
  /** the node or undefined; a malformed name is 400 InvalidUuidOrName */
  find(req: FastifyRequest, ident: string): Promise<NodeView | undefined>;
  /** the node, or 404 NodeNotFound */
  resolve(req: FastifyRequest, ident: string): Promise<NodeView>;
  /** `:node_ident` of the path, checked as args.uuid_or_name */
  identOf(req: FastifyRequest, argName?: string): string;
  /** a node named in a body (port node_uuid, ...): missing is 400, not 404 */
  referenced(req: FastifyRequest, ident: string): Promise<NodeView>;
}

export const nodeLookup = (nodes: NodeQueries): NodeLookup => {
  const find = async (req: FastifyRequest, ident: string): Promise<NodeView | undefined> => {
    if (isUuidLike(ident)) return nodes.get(canonicalUuid(ident));
    if (allows(req, 5)) {
      if (isValidNameAt(req, ident)) return nodes.getByName(ident);
      throw clientError(`Expected a logical name or UUID but received ${ident}.`, 400, 'InvalidUuidOrName');
    }
    return undefined;
  };
  const resolve = async (req: FastifyRequest, ident: string): Promise<NodeView> => {
    const node = await find(req, ident);
    if (node) return node;
    if (jsonSuffixOf(req)) {
      const again = await find(req, `${ident}.json`);
      if (again) return again;
    }
    throw nodeNotFound(ident);
  };
  return {
    find,
    resolve,
    identOf: (req, argName = 'node_ident') => {
      const ident = (req.params as { node_ident: string }).node_ident;
      if (!isValidLogicalName(ident) && !isUuidLike(ident)) throw clientError(`Expected UUID or name for ${argName}: ${ident}`);
      return ident;
    },
    referenced: async (req, ident) => {
      const node = await find(req, ident);
      if (!node) throw clientError(`Node ${ident} could not be found.`, 400, 'NodeNotFound');
      return node;
    },
  };
};
