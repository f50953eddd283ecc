// Power states and the targets PUT /states/power accepts (reference §4.6).

import * as t from 'io-ts';

export const PowerStates = { POWER_ON: 'power on', POWER_OFF: 'power off' } as const;
/** What power_state / target_power_state may hold (besides null). */
export type PowerState = (typeof PowerStates)[keyof typeof PowerStates];
export const PowerStateC = t.keyof({ 'power on': null, 'power off': null }, 'PowerState');

export interface PowerVerb {
  readonly target: string;
  /** the target_power_state set while the operation runs */
  readonly targetPowerState: PowerState;
  /** minor of 1.x */
  readonly minMicroversion: number;
  readonly soft: boolean;
}

/** The five API targets; soft ones (and `timeout`) need 1.27. Others never get stored. */
export const powerVerbs = {
  'power on': { target: 'power on', targetPowerState: 'power on', minMicroversion: 1, soft: false },
  'power off': { target: 'power off', targetPowerState: 'power off', minMicroversion: 1, soft: false },
  rebooting: { target: 'rebooting', targetPowerState: 'power on', minMicroversion: 1, soft: false },
  'soft rebooting': { target: 'soft rebooting', targetPowerState: 'power on', minMicroversion: 27, soft: true },
  'soft power off': { target: 'soft power off', targetPowerState: 'power off', minMicroversion: 27, soft: true },
} as const satisfies Record<string, PowerVerb>;

export type PowerTarget = keyof typeof powerVerbs;
export const powerTargets = Object.keys(powerVerbs) as PowerTarget[];
export const PowerTargetC = t.keyof(
  { 'power on': null, 'power off': null, rebooting: null, 'soft rebooting': null, 'soft power off': null },
  'PowerTarget',
);
export const isPowerTarget = (v: unknown): v is PowerTarget => PowerTargetC.is(v);
/** `timeout` in the body needs 1.27 too; it is an int ≥ 1. */
export const powerTimeoutMinMicroversion = 27;
/** [conductor]soft_power_off_timeout */
export const defaultSoftPowerOffTimeoutSeconds = 600;
