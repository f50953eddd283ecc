// One entry point for "run this command against that aggregate": picks the kind's binding,
// the stream, and the claim checks. The API and the conductors call this.

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
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
  /** a create with an id nobody has used yet: no read of the stream first (handle.ts `assumeNew`) */
  assumeNew?: boolean;
}

type Decoder = { decode: (u: unknown) => E.Either<t.Errors, unknown> };

/**
 * A kind's commands are a union of `{type: literal, data}` messages (domain/codecs.ts `message`).
 * io-ts decodes a union by trying every member, and a member (`t.type`) checks all of its props
 * even once `type` has failed: a CreateNode was checked against the data codec of every node
 * command (~0.17 ms of a create, twice the API's own body decoding). The member named by `type`
 * is the only one that can accept the command, so it decides alone; a command it refuses is
 * decoded by the whole union again, for the union's error message.
 */
const membersByType = new Map<t.Mixed, Map<string, Decoder>>();
export const memberIndex = (codec: t.Mixed): Map<string, Decoder> => {
  let index = membersByType.get(codec);
  if (index) return index;
  index = new Map();
  const shared = new Set<string>();
  if (codec instanceof t.UnionType) {
    for (const member of codec.types as t.Mixed[]) {
      const literal = member instanceof t.InterfaceType ? (member.props as Record<string, t.Mixed>).type : undefined;
      if (!(literal instanceof t.LiteralType) || typeof literal.value !== 'string') continue;
      // two members with one type: the union's order decides, so neither is indexed
      if (index.has(literal.value)) shared.add(literal.value);
      else index.set(literal.value, member);
    }
  }
  for (const type of shared) index.delete(type);
  membersByType.set(codec, index);
  return index;
};

export const decodeCommand = (codec: t.Mixed, command: unknown): E.Either<t.Errors, unknown> => {
  const type = typeof command === 'object' && command !== null ? (command as { type?: unknown }).type : undefined;
  const member = typeof type === 'string' ? memberIndex(codec).get(type) : undefined;
  if (member) {
    const decoded = member.decode(command);
    if (E.isRight(decoded)) return decoded;
  }
  return codec.decode(command);
};

/** Decodes the command with its kind's codec first: nothing undecoded reaches the domain. */
export const execute = async (
  store: EventStore,
  kind: AggregateKind,
  id: string,
  envelope: CommandEnvelope<unknown>,
  options: ExecuteOptions = {},
): Promise<E.Either<DomainError, Handled<unknown>>> => {
  const decoded = decodeCommand(commandCodecs[kind] as t.Mixed, envelope.command);
  if (E.isLeft(decoded)) return E.left(domainError('Invalid', `Invalid ${kind} command: ${firstError(decoded.left)}`));
  return handleCommand(bindingFor(kind), streamId(kind, id), { ...envelope, command: decoded.right }, {
    store,
    now: options.now,
    guard: options.guard,
    extraMetadata: options.extraMetadata,
    ...(options.assumeNew ? { assumeNew: true } : {}),
    ownerHolds: ownerHoldsFor(store),
  });
};
