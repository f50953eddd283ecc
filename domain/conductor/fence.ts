// Fencing: Ironic's reservation lock becomes "append with expected revision, by a writer that
// the membership log says owns the node". A conductor that was declared lost (a long GC pause,
// SIGSTOP, a partition) keeps running its old code when it wakes up; this check, made against
// the membership log right before every append to a node stream, refuses its writes.
//
// The ring itself is computed by the shell (conductor/hash-ring.ts, md5) and handed in as
// `OwnerLookup`; it is a deterministic function of the members, so this stays pure.

import * as E from 'fp-ts/lib/Either.js';
import { domainError, type DomainError } from '../errors.ts';
import { liveMembers, type Member, type Membership } from './membership.ts';

/** One run of one conductor: who is writing. */
export interface Writer {
  hostname: string;
  incarnation: string;
}

/** What the ring needs to know about a node. */
export interface NodePlacement {
  uuid: string;
  /** the node's conductor_group ("" by default); compared lowercased */
  group: string;
  /** the node's hardware type (Ironic's `driver` field) */
  driver: string;
}

export type OwnerLookup = (members: readonly Member[], node: NodePlacement) => string | undefined;

/** Stamped on what a conductor appends to a node stream: the writer and the epoch it was checked at. */
export interface OwnershipRecord {
  hostname: string;
  incarnation: string;
  epoch: number;
}

/** Ironic's wording (reference §6.2). */
export const noValidHost = (node: NodePlacement): DomainError =>
  domainError(
    'NoValidHost',
    `No valid host was found. Reason: No conductor service registered which supports driver ${node.driver} for conductor group "${node.group.toLowerCase()}".`,
  );

/** The live owner of a node, or NoValidHost. */
export const resolveOwner = (state: Membership, node: NodePlacement, ownerOf: OwnerLookup): E.Either<DomainError, Member> => {
  const hostname = ownerOf(liveMembers(state), node);
  const member = hostname === undefined ? undefined : state.members[hostname];
  return member === undefined ? E.left(noValidHost(node)) : E.right(member);
};

/**
 * May `writer` append to this node's stream under `state`? Right: the ownership record to stamp
 * on the events. Left NotOwner when the writer is no longer this live run (lost, left, or
 * replaced by a newer run of the same host) or when the ring gives the node to someone else.
 */
export const checkOwnership = (
  state: Membership,
  writer: Writer,
  node: NodePlacement,
  ownerOf: OwnerLookup,
): E.Either<DomainError, OwnershipRecord> => {
  const self = state.members[writer.hostname];
  if (self === undefined || self.incarnation !== writer.incarnation) {
    const gone = state.departed[writer.hostname];
    const why =
      self !== undefined
        ? `was replaced by a newer run (${self.incarnation}) at ring epoch ${self.joinedAt}`
        : gone !== undefined && gone.incarnation === writer.incarnation
          ? `was declared ${gone.reason === 'lost' ? 'lost' : 'departed'} at ring epoch ${gone.at}`
          : `is not a member of the ring (epoch ${state.epoch})`;
    return E.left(domainError('NotOwner', `Conductor ${writer.hostname} (run ${writer.incarnation}) ${why}; it may not write node ${node.uuid}.`));
  }
  const owner = ownerOf(liveMembers(state), node);
  if (owner !== writer.hostname) {
    return E.left(
      domainError(
        'NotOwner',
        owner === undefined
          ? `Node ${node.uuid} has no live conductor for driver ${node.driver} in group "${node.group.toLowerCase()}" at ring epoch ${state.epoch}; conductor ${writer.hostname} may not write it.`
          : `Node ${node.uuid} is owned by conductor ${owner} at ring epoch ${state.epoch}, not by ${writer.hostname}.`,
      ),
    );
  }
  return E.right({ hostname: writer.hostname, incarnation: writer.incarnation, epoch: state.epoch });
};
