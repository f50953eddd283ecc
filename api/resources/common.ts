// What every resource does around a write: build the command's metadata from the request, run
// the domain command (through the command handler, or on the node's conductor), turn a
// DomainError into Ironic's answer, and wait until the read models have applied the write (so
// the response, and any GET after it, shows it).

import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { FastifyRequest } from 'fastify';
import { noValidHost } from '../../domain/conductor/index.ts';
import { domainError, type DomainError } from '../../domain/errors.ts';
import type { NodeCommand } from '../../domain/node/commands.ts';
import type { ResourceOptions } from '../app.ts';
import { isoTime } from '../command-bus.ts';
import type { CommandMeta, CommandOf, NodePlacement, NodeView, WriteKind, Written } from '../deps.ts';
import { ApiError, fromDomainError } from '../http-errors.ts';

export const commandMeta = (req: FastifyRequest): CommandMeta => ({
  actor: req.authUser || 'anonymous',
  correlationId: req.id,
  commandId: randomUUID(),
});

/** The time a command is decided at (`data.at`), in Ironic's format. */
export const nowOf = (ctx: ResourceOptions): string => isoTime(ctx.deps.clock());

export const placementOf = (n: Pick<NodeView, 'uuid' | 'conductor_group' | 'driver'>): NodePlacement => ({
  uuid: n.uuid,
  group: n.conductor_group,
  driver: n.driver,
});

/**
 * Ironic's get_topic_for without an owner: no conductor alive at all (the hash ring is empty) is
 * TemporaryFailure (503); live conductors none of which serves the node's driver and group is
 * NoValidHost (400).
 */
export const noOwnerError = (ctx: ResourceOptions, node: NodePlacement): DomainError =>
  ctx.deps.conductors.hardwareTypes().size === 0 ? domainError('TemporaryFailure', 'Resource temporarily unavailable, please retry.') : noValidHost(node);

/** Throws noOwnerError unless a live conductor owns the node. */
export const requireOwner = (ctx: ResourceOptions, node: NodePlacement): void => {
  if (ctx.deps.conductors.ownerOf(node) === null) throw fromDomainError(noOwnerError(ctx, node));
};

/** Read-your-writes: the response (and any later GET) must show what was just written. */
export const waitForWrite = async (ctx: ResourceOptions, req: FastifyRequest, position: bigint | undefined): Promise<void> => {
  if (position === undefined) return;
  try {
    await ctx.deps.readModels.waitForPosition(position, ctx.config.readYourWritesTimeoutMs);
  } catch (e) {
    req.log.warn({ err: e, position: position.toString() }, 'read model did not catch up');
    throw new ApiError(503, 'The write was accepted but the read model did not catch up in time; retry the read.', 'controller', {}, undefined, 'TemporaryFailure');
  }
};

const settle = async (ctx: ResourceOptions, req: FastifyRequest, r: E.Either<DomainError, Written>, recode?: (e: DomainError) => DomainError): Promise<Written> => {
  if (E.isLeft(r)) throw fromDomainError(recode ? recode(r.left) : r.left);
  await waitForWrite(ctx, req, r.right.position);
  return r.right;
};

/** Runs a command through the command handler, then waits for the read models. */
export const write = async <K extends WriteKind>(
  ctx: ResourceOptions,
  req: FastifyRequest,
  kind: K,
  id: string,
  command: CommandOf<K>,
  meta: CommandMeta = commandMeta(req),
): Promise<Written> => settle(ctx, req, await ctx.deps.commands.execute(kind, id, command, meta));

/** Hands a node command to the node's conductor (Ironic's RPC), then waits for the read models. */
export const conduct = async (ctx: ResourceOptions, req: FastifyRequest, node: NodeView, command: NodeCommand): Promise<Written> =>
  settle(ctx, req, await ctx.deps.conductors.request(placementOf(node), command, commandMeta(req)), (e) =>
    e.errorClass === 'NoValidHost' ? noOwnerError(ctx, placementOf(node)) : e,
  );

/** Item links go through a parameter so the route's own query never leaks into them. */
export type Params<K extends string> = Record<K, string>;
