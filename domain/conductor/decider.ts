// The membership decider. Every event it emits carries epoch = current epoch + 1; the shell
// appends it to `membership-ring` with the revision it decided on, so two conductors racing to
// declare the same loss cannot both win, and the epoch never repeats or goes back.
//
// Decisions are idempotent: declaring lost a conductor that is already gone (or has come back
// as a new incarnation), or leaving twice, decides nothing.

import * as E from 'fp-ts/lib/Either.js';
import type { Decider } from '../decider.ts';
import { domainError, type DomainError } from '../errors.ts';
import type { MembershipCommand, RegisterConductor } from './commands.ts';
import type { MembershipEvent } from './events.ts';
import { emptyMembership, evolveMembership, type Membership } from './membership.ts';

const sameStrings = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);

const validateRegistration = (c: RegisterConductor): DomainError | undefined => {
  if (c.hostname.trim() === '') return domainError('InvalidParameterValue', 'A conductor needs a non-empty hostname.');
  if (c.incarnation === '') return domainError('InvalidParameterValue', `Conductor ${c.hostname} registered without an incarnation id.`);
  if (c.hardwareTypes.length === 0) {
    // Ironic refuses to start a conductor with no enabled hardware type
    return domainError('InvalidParameterValue', `Conductor ${c.hostname} cannot start: no hardware types are enabled.`);
  }
  return undefined;
};

export const decideMembership = (command: MembershipCommand, state: Membership): E.Either<DomainError, MembershipEvent[]> => {
  const epoch = state.epoch + 1;
  switch (command.type) {
    case 'RegisterConductor': {
      const invalid = validateRegistration(command);
      if (invalid) return E.left(invalid);
      const group = command.group.toLowerCase();
      const current = state.members[command.hostname];
      if (
        current !== undefined &&
        current.incarnation === command.incarnation &&
        current.group === group &&
        sameStrings(current.hardwareTypes, command.hardwareTypes)
      ) {
        return E.right([]);
      }
      return E.right([
        {
          type: 'ConductorRegistered',
          data: {
            epoch,
            hostname: command.hostname,
            incarnation: command.incarnation,
            group,
            hardwareTypes: [...new Set(command.hardwareTypes)].sort(),
            interfaces: command.interfaces,
            // Ironic: "already online: log a warning and take it over"; the old run is fenced
            replaces: current !== undefined && current.incarnation !== command.incarnation ? current.incarnation : null,
          },
        },
      ]);
    }
    case 'DeclareConductorLost': {
      const current = state.members[command.hostname];
      if (current === undefined || current.incarnation !== command.incarnation) return E.right([]);
      if (command.declaredBy === command.hostname) {
        return E.left(domainError('InvalidParameterValue', `Conductor ${command.hostname} cannot declare itself lost.`));
      }
      return E.right([
        {
          type: 'ConductorLost',
          data: {
            epoch,
            hostname: command.hostname,
            incarnation: command.incarnation,
            declaredBy: command.declaredBy,
            silentForMs: command.silentForMs,
          },
        },
      ]);
    }
    case 'LeaveConductor': {
      const current = state.members[command.hostname];
      if (current === undefined || current.incarnation !== command.incarnation) return E.right([]);
      return E.right([{ type: 'ConductorLeft', data: { epoch, hostname: command.hostname, incarnation: command.incarnation } }]);
    }
  }
};

export const membershipDecider: Decider<MembershipCommand, MembershipEvent, Membership> = {
  initialState: emptyMembership,
  decide: decideMembership,
  evolve: evolveMembership,
};
