// Asking a conductor for work that records no command (vendor passthru, indicators, driver
// extensions) and turning its answer into Ironic's: the node's owner (Ironic's get_topic_for:
// 503 with no conductor alive, 400 NoValidHost with none for the node's driver and group) or any
// conductor serving a hardware type (get_topic_for_driver: an unknown driver is DriverNotFound).

import * as E from 'fp-ts/lib/Either.js';
import type { FastifyRequest } from 'fastify';
import * as t from 'io-ts';
import { nullable } from '../../domain/codecs.ts';
import { domainError } from '../../domain/errors.ts';
import type { ResourceOptions } from '../app.ts';
import type { NodeView } from '../deps.ts';
import { ApiError, clientError, fromDomainError } from '../http-errors.ts';
import { commandMeta, noOwnerError, placementOf, requireOwner, waitForWrite } from './common.ts';

const malformed = (action: string) =>
  new ApiError(503, `The conductor sent a malformed answer to ${action}.`, 'controller', {}, undefined, 'TemporaryFailure');

/** Runs a node action on the node's owner; the answer decoded with `codec`. */
export const askOwner = async <A>(ctx: ResourceOptions, req: FastifyRequest, n: NodeView, action: string, args: Record<string, unknown>, codec: t.Decoder<unknown, A>): Promise<A> => {
  const placement = placementOf(n);
  requireOwner(ctx, placement);
  const r = await ctx.deps.conductors.call(placement, action, args, commandMeta(req));
  if (E.isLeft(r)) throw fromDomainError(r.left.errorClass === 'NoValidHost' ? noOwnerError(ctx, placement) : r.left);
  const decoded = codec.decode(r.right);
  if (E.isLeft(decoded)) throw malformed(action);
  return decoded.right;
};

/** A node action that wrote to the node: wait until the read models show it (read-your-writes). */
export const PositionC = t.type({ position: nullable(t.string) });
export const settlePosition = async (ctx: ResourceOptions, req: FastifyRequest, p: t.TypeOf<typeof PositionC>): Promise<void> =>
  waitForWrite(ctx, req, p.position === null ? undefined : BigInt(p.position));

/** HashRingManager.get_ring's DriverNotFound, as get_topic_for_driver raises it. */
export const unknownDriver = (name: string) => clientError(`The driver '${name}' is unknown.`, 404, 'DriverNotFound');

/** Runs a driver action on a conductor serving `driver`. */
export const askForDriver = async <A>(ctx: ResourceOptions, req: FastifyRequest, driver: string, action: string, args: Record<string, unknown>, codec: t.Decoder<unknown, A>): Promise<A> => {
  const types = ctx.deps.conductors.hardwareTypes();
  if (types.size === 0) throw fromDomainError(domainError('TemporaryFailure', 'Resource temporarily unavailable, please retry.'));
  if (!types.has(driver)) throw unknownDriver(driver);
  const r = await ctx.deps.conductors.callDriver(driver, action, args, commandMeta(req));
  if (E.isLeft(r)) throw fromDomainError(r.left);
  const decoded = codec.decode(r.right);
  if (E.isLeft(decoded)) throw malformed(action);
  return decoded.right;
};
