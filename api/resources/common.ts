// What every resource does around a write: build the command's metadata from the request,
// dispatch, turn a DomainError into Ironic's answer, and wait until the read models have applied
// the write (so the response, and any GET after it, shows it).

import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { FastifyRequest } from 'fastify';
import type { ApiConfig } from '../config.ts';
import type { ApiCommand, ApiDeps, CommandMeta } from '../deps.ts';
import { ApiError, fromDomainError } from '../http-errors.ts';

export const commandMeta = (req: FastifyRequest): CommandMeta => ({
  actor: req.authUser || 'anonymous',
  correlationId: req.id,
  commandId: randomUUID(),
});

export const dispatchAndWait = async (deps: ApiDeps, config: ApiConfig, req: FastifyRequest, command: ApiCommand): Promise<bigint> => {
  const result = await deps.commands.dispatch(command, commandMeta(req));
  if (E.isLeft(result)) throw fromDomainError(result.left);
  const { position } = result.right;
  try {
    await deps.readModels.waitForPosition(position, config.readYourWritesTimeoutMs);
  } catch (e) {
    req.log.warn({ err: e, position: position.toString() }, 'read model did not catch up');
    throw new ApiError(503, 'The write was accepted but the read model did not catch up in time; retry the read.', 'controller', {}, undefined, 'TemporaryFailure');
  }
  return position;
};

/** Item links go through a parameter so the route's own query never leaks into them. */
export type Params<K extends string> = Record<K, string>;
