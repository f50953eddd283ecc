// Commands on the membership ring. Only conductors issue them (never the API).

import * as t from 'io-ts';
import { HardwareInterfaces } from './events.ts';

export const RegisterConductor = t.type({
  type: t.literal('RegisterConductor'),
  hostname: t.string,
  incarnation: t.string,
  group: t.string,
  hardwareTypes: t.array(t.string),
  interfaces: HardwareInterfaces,
});
export type RegisterConductor = t.TypeOf<typeof RegisterConductor>;

export const DeclareConductorLost = t.type({
  type: t.literal('DeclareConductorLost'),
  hostname: t.string,
  /** the run the declarer last knew; a newer run of the same host is left alone */
  incarnation: t.string,
  declaredBy: t.string,
  silentForMs: t.number,
});
export type DeclareConductorLost = t.TypeOf<typeof DeclareConductorLost>;

export const LeaveConductor = t.type({
  type: t.literal('LeaveConductor'),
  hostname: t.string,
  incarnation: t.string,
});
export type LeaveConductor = t.TypeOf<typeof LeaveConductor>;

export const MembershipCommand = t.union([RegisterConductor, DeclareConductorLost, LeaveConductor]);
export type MembershipCommand = t.TypeOf<typeof MembershipCommand>;
