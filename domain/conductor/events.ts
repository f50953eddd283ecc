// Conductor membership events. They all live in the one `membership-ring` stream
// (domain/streams.ts), appended with an expected revision, so their `epoch` (1, 2, 3, ...) is a
// total order: the ring in force after epoch N is a fold of the first N events.
//
// Heartbeats are not events (one a second per conductor would drown the log); only the
// decisions they lead to are: a conductor joins, is declared lost, or leaves.
//
// `incarnation` names one run of a conductor (a fresh id each time it registers). A loss or a
// departure names the incarnation it is about, so a stale "X is lost" decided about a previous
// run cannot remove a conductor that has meanwhile come back, and a fenced writer is recognised
// by its incarnation, not just its hostname.

import * as t from 'io-ts';
import { nullable } from '../codecs.ts';

/** Ironic's conductor_hardware_interfaces rows, grouped: hardware type -> interface type -> names. */
export const InterfaceSet = t.type({ enabled: t.array(t.string), default: t.string });
export const HardwareInterfaces = t.record(t.string, t.record(t.string, InterfaceSet));
export type HardwareInterfaces = t.TypeOf<typeof HardwareInterfaces>;

export const ConductorRegistered = t.type({
  type: t.literal('ConductorRegistered'),
  data: t.type({
    epoch: t.number,
    hostname: t.string,
    incarnation: t.string,
    /** lowercased, "" is the default group */
    group: t.string,
    hardwareTypes: t.array(t.string),
    interfaces: HardwareInterfaces,
    /** the incarnation this one replaces (a restart before the old run was declared lost) */
    replaces: nullable(t.string),
  }),
});
export type ConductorRegistered = t.TypeOf<typeof ConductorRegistered>;

export const ConductorLost = t.type({
  type: t.literal('ConductorLost'),
  data: t.type({
    epoch: t.number,
    hostname: t.string,
    incarnation: t.string,
    /** the conductor whose watch declared it */
    declaredBy: t.string,
    /** how long the declarer had heard nothing from it */
    silentForMs: t.number,
  }),
});
export type ConductorLost = t.TypeOf<typeof ConductorLost>;

export const ConductorLeft = t.type({
  type: t.literal('ConductorLeft'),
  data: t.type({
    epoch: t.number,
    hostname: t.string,
    incarnation: t.string,
  }),
});
export type ConductorLeft = t.TypeOf<typeof ConductorLeft>;

export const MembershipEvent = t.union([ConductorRegistered, ConductorLost, ConductorLeft]);
export type MembershipEvent = t.TypeOf<typeof MembershipEvent>;

export const membershipEventTypes: ReadonlySet<string> = new Set(['ConductorRegistered', 'ConductorLost', 'ConductorLeft']);
