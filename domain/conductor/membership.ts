// The membership ring as a fold of its events: who is live at an epoch, and what became of the
// others (for /v1/conductors, which lists offline conductors with alive=false).

import type { HardwareInterfaces, MembershipEvent } from './events.ts';

export interface Member {
  hostname: string;
  incarnation: string;
  group: string;
  hardwareTypes: readonly string[];
  interfaces: HardwareInterfaces;
  /** the epoch at which this incarnation joined */
  joinedAt: number;
}

export interface Departed {
  hostname: string;
  incarnation: string;
  group: string;
  hardwareTypes: readonly string[];
  interfaces: HardwareInterfaces;
  reason: 'lost' | 'left';
  /** the epoch at which it stopped being a member */
  at: number;
}

export interface Membership {
  /** epoch of the last event folded in; 0 before the first */
  epoch: number;
  /** live members by hostname */
  members: Readonly<Record<string, Member>>;
  /** the last departure of each hostname that is not live now */
  departed: Readonly<Record<string, Departed>>;
}

export const emptyMembership = (): Membership => ({ epoch: 0, members: {}, departed: {} });

const without = <V>(rec: Readonly<Record<string, V>>, key: string): Record<string, V> => {
  const copy = { ...rec };
  delete copy[key];
  return copy;
};

const depart = (state: Membership, hostname: string, incarnation: string, reason: 'lost' | 'left', epoch: number): Membership => {
  const m = state.members[hostname];
  if (m === undefined || m.incarnation !== incarnation) return { ...state, epoch };
  return {
    epoch,
    members: without(state.members, hostname),
    departed: { ...state.departed, [hostname]: { ...m, reason, at: epoch } },
  };
};

export const evolveMembership = (state: Membership, event: MembershipEvent): Membership => {
  switch (event.type) {
    case 'ConductorRegistered': {
      const d = event.data;
      return {
        epoch: d.epoch,
        members: {
          ...state.members,
          [d.hostname]: {
            hostname: d.hostname,
            incarnation: d.incarnation,
            group: d.group,
            hardwareTypes: d.hardwareTypes,
            interfaces: d.interfaces,
            joinedAt: d.epoch,
          },
        },
        departed: without(state.departed, d.hostname),
      };
    }
    case 'ConductorLost':
      return depart(state, event.data.hostname, event.data.incarnation, 'lost', event.data.epoch);
    case 'ConductorLeft':
      return depart(state, event.data.hostname, event.data.incarnation, 'left', event.data.epoch);
  }
};

/**
 * The membership in force at `epoch` (inclusive; default: the end of the log). Events must be the
 * membership stream in order, as read from the store.
 */
export const membershipAt = (events: readonly MembershipEvent[], epoch?: number): Membership => {
  let state = emptyMembership();
  for (const e of events) {
    if (epoch !== undefined && e.data.epoch > epoch) break;
    state = evolveMembership(state, e);
  }
  return state;
};

/** The brief's name for it: the ring membership in force at any point of the log. */
export const ringAt = membershipAt;

export const liveMembers = (state: Membership): Member[] =>
  Object.values(state.members).sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));

/** Is this exact run of the conductor a live member? */
export const isLive = (state: Membership, hostname: string, incarnation: string): boolean =>
  state.members[hostname]?.incarnation === incarnation;
