// Appending membership decisions: decide on the freshest view, append to `membership-ring` with the
// revision decided on, and on a lost race read again and decide again (the second decision is
// usually "nothing to do": someone else already declared the same loss). Then tell every process
// over NATS to re-read the ring.

import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { NatsConnection } from 'nats';
import { decideMembership, type MembershipCommand, type MembershipEvent } from '../domain/conductor/index.ts';
import type { DomainError } from '../domain/errors.ts';
import { membershipStream } from '../domain/streams.ts';
import { actorForConductor, eventIdFor } from '../domain/metadata.ts';
import type { EventStore } from '../eventstore/port.ts';
import { isWrongExpectedRevision } from '../eventstore/errors.ts';
import type { MembershipView } from './membership-view.ts';
import { subjects } from './subjects.ts';

export interface MembershipLogDeps {
  store: EventStore;
  view: MembershipView;
  nc?: NatsConnection;
  /** the conductor issuing the command (the event's actor) */
  actorHost: string;
}

export const appendMembership = async (
  deps: MembershipLogDeps,
  command: MembershipCommand,
  maxAttempts = 20,
): Promise<E.Either<DomainError, MembershipEvent[]>> => {
  for (let attempt = 1; ; attempt++) {
    await deps.view.refresh();
    const decided = decideMembership(command, deps.view.state);
    if (E.isLeft(decided) || decided.right.length === 0) return decided;
    // a fresh command id per decision: two different decisions racing for the same epoch must
    // never look like a retry of one another to the store
    const commandId = randomUUID();
    const timestamp = new Date().toISOString();
    try {
      await deps.store.append(
        membershipStream,
        decided.right.map((e, i) => ({
          id: eventIdFor(commandId, i),
          type: e.type,
          data: e.data,
          metadata: { correlationId: commandId, causationId: commandId, actor: actorForConductor(deps.actorHost), timestamp, commandId },
        })),
        deps.view.revision === undefined ? 'no_stream' : deps.view.revision,
      );
    } catch (e) {
      if (!isWrongExpectedRevision(e) || attempt >= maxAttempts) throw e;
      continue;
    }
    await deps.view.refresh();
    deps.nc?.publish(subjects.membershipChanged, JSON.stringify({ epoch: deps.view.state.epoch }));
    return decided;
  }
};
