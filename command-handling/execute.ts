// One entry point for "run this command against that aggregate": picks the kind's binding,
// the stream, and the claim checks. The API and the conductors call this.

import * as E from 'fp-ts/lib/Either.js';
import { commandCodecs } from '../domain/index.ts';
import { domainError, type DomainError } from '../domain/errors.ts';
import { streamId, type AggregateKind } from '../domain/streams.ts';
import { firstError } from '../domain/codecs.ts';
import type { EventStore } from '../eventstore/port.ts';
import { handleCommand, type CommandEnvelope, type Handled, type HandleOptions } from './handle.ts';
import { bindingFor, ownerHoldsFor } from './registry.ts';

export interface ExecuteOptions {
  now?: () => Date;
  guard?: HandleOptions<unknown>['guard'];
  extraMetadata?: Record<string, unknown>;
}

/** Decodes the command with its kind's codec first: nothing undecoded reaches the domain. */
export const execute = async (
  store: EventStore,
  kind: AggregateKind,
  id: string,
  envelope: CommandEnvelope<unknown>,
  options: ExecuteOptions = {},
): Promise<E.Either<DomainError, Handled<unknown>>> => {
  const decoded = (commandCodecs[kind] as { decode: (u: unknown) => E.Either<import('io-ts').Errors, unknown> }).decode(envelope.command);
  if (E.isLeft(decoded)) return E.left(domainError('Invalid', `Invalid ${kind} command: ${firstError(decoded.left)}`));
  return handleCommand(bindingFor(kind), streamId(kind, id), { ...envelope, command: decoded.right }, {
    store,
    now: options.now,
    guard: options.guard,
    extraMetadata: options.extraMetadata,
    ownerHolds: ownerHoldsFor(store),
  });
};
