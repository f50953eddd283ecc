// The provision state machine's vocabulary, worded exactly as Ironic words it (reference §4.1,
// §4.2, §4.4). Strings here are wire values: they appear in API bodies and in stored events.

import * as t from 'io-ts';

/** The 24 stored provision states (ironic/common/states.py). */
export const ProvisionStates = {
  ENROLL: 'enroll',
  VERIFYING: 'verifying',
  MANAGEABLE: 'manageable',
  INSPECTING: 'inspecting',
  INSPECTWAIT: 'inspect wait',
  INSPECTFAIL: 'inspect failed',
  CLEANING: 'cleaning',
  CLEANWAIT: 'clean wait',
  CLEANFAIL: 'clean failed',
  AVAILABLE: 'available',
  DEPLOYING: 'deploying',
  DEPLOYWAIT: 'wait call-back',
  DEPLOYFAIL: 'deploy failed',
  ACTIVE: 'active',
  DELETING: 'deleting',
  ERROR: 'error',
  ADOPTING: 'adopting',
  ADOPTFAIL: 'adopt failed',
  RESCUING: 'rescuing',
  RESCUEWAIT: 'rescue wait',
  RESCUEFAIL: 'rescue failed',
  RESCUE: 'rescue',
  UNRESCUING: 'unrescuing',
  UNRESCUEFAIL: 'unrescue failed',
} as const;
export type ProvisionState = (typeof ProvisionStates)[keyof typeof ProvisionStates];
export const provisionStates: readonly ProvisionState[] = Object.values(ProvisionStates);

const keysOf = <K extends string>(values: readonly K[]): { [k in K]: null } =>
  Object.fromEntries(values.map((v) => [v, null])) as { [k in K]: null };

export const ProvisionStateC = t.keyof(keysOf(provisionStates), 'ProvisionState');
export const isProvisionState = (s: unknown): s is ProvisionState => ProvisionStateC.is(s);

/** The events the state machine reacts to: API verbs map onto some, the conductor fires the rest. */
export const provisionEvents = [
  'manage',
  'provide',
  'inspect',
  'clean',
  'adopt',
  'deploy',
  'rebuild',
  'delete',
  'abort',
  'rescue',
  'unrescue',
  'done',
  'fail',
  'wait',
  'resume',
] as const;
export type ProvisionEvent = (typeof provisionEvents)[number];
export const ProvisionEventC = t.keyof(keysOf(provisionEvents), 'ProvisionEvent');

/** Events only the conductor fires (they are never an API verb's event). */
export const internalProvisionEvents = ['done', 'fail', 'wait', 'resume'] as const;
export type InternalProvisionEvent = (typeof internalProvisionEvents)[number];

/** Body keys a verb may carry besides `target`; `minMicroversion` is the minor of 1.x. */
export interface VerbBodyKey {
  readonly minMicroversion: number;
  readonly required?: boolean;
}

export interface ProvisionVerb {
  /** the `target` the API receives */
  readonly verb: string;
  /** the state machine event it fires */
  readonly event: ProvisionEvent;
  /** the minor of 1.x the verb needs (below it: 406) */
  readonly minMicroversion: number;
  /** the conductor RPC Ironic routes it to; a hint for our conductors */
  readonly rpc: string;
  readonly bodyKeys: Readonly<Record<string, VerbBodyKey>>;
}

const deployBody = {
  // a string (gzip+base64) from 1.1, a dict from 1.56 (vendor_data inside it from 1.59)
  configdrive: { minMicroversion: 1 },
  deploy_steps: { minMicroversion: 69 },
} as const;

/** Reference §4.2, keyed by the API `target`. */
export const provisionVerbs = {
  active: { verb: 'active', event: 'deploy', minMicroversion: 1, rpc: 'do_node_deploy', bodyKeys: deployBody },
  deploy: { verb: 'deploy', event: 'deploy', minMicroversion: 73, rpc: 'do_node_deploy', bodyKeys: deployBody },
  rebuild: {
    verb: 'rebuild',
    event: 'rebuild',
    minMicroversion: 1,
    rpc: 'do_node_deploy',
    bodyKeys: { configdrive: { minMicroversion: 35 }, deploy_steps: { minMicroversion: 69 } },
  },
  deleted: { verb: 'deleted', event: 'delete', minMicroversion: 1, rpc: 'do_node_tear_down', bodyKeys: {} },
  undeploy: { verb: 'undeploy', event: 'delete', minMicroversion: 73, rpc: 'do_node_tear_down', bodyKeys: {} },
  manage: { verb: 'manage', event: 'manage', minMicroversion: 4, rpc: 'do_provisioning_action', bodyKeys: {} },
  provide: { verb: 'provide', event: 'provide', minMicroversion: 4, rpc: 'do_provisioning_action', bodyKeys: {} },
  inspect: { verb: 'inspect', event: 'inspect', minMicroversion: 6, rpc: 'inspect_hardware', bodyKeys: {} },
  clean: {
    verb: 'clean',
    event: 'clean',
    minMicroversion: 15,
    rpc: 'do_node_clean',
    bodyKeys: { clean_steps: { minMicroversion: 15, required: true }, disable_ramdisk: { minMicroversion: 70 } },
  },
  // abort of `inspect wait` needs 1.41: see abortInspectWaitMinMicroversion
  abort: { verb: 'abort', event: 'abort', minMicroversion: 13, rpc: 'do_provisioning_action', bodyKeys: {} },
  adopt: { verb: 'adopt', event: 'adopt', minMicroversion: 17, rpc: 'do_provisioning_action', bodyKeys: {} },
  rescue: {
    verb: 'rescue',
    event: 'rescue',
    minMicroversion: 38,
    rpc: 'do_node_rescue',
    bodyKeys: { rescue_password: { minMicroversion: 38, required: true } },
  },
  unrescue: { verb: 'unrescue', event: 'unrescue', minMicroversion: 38, rpc: 'do_node_unrescue', bodyKeys: {} },
} as const satisfies Record<string, ProvisionVerb>;

export type ProvisionVerbName = keyof typeof provisionVerbs;
export const provisionVerbNames = Object.keys(provisionVerbs) as ProvisionVerbName[];
export const ProvisionVerbC = t.keyof(keysOf(provisionVerbNames), 'ProvisionVerb');
export const isProvisionVerb = (v: unknown): v is ProvisionVerbName => ProvisionVerbC.is(v);
export const abortInspectWaitMinMicroversion = 41;
/** Verbs refused in maintenance (NodeInMaintenance, 400). */
export const verbsRefusedInMaintenance: readonly ProvisionVerbName[] = ['active', 'deploy', 'rebuild'];
/** Verbs a protected node refuses (NodeProtected, 403). */
export const verbsRefusedWhenProtected: readonly ProvisionVerbName[] = ['rebuild', 'deleted', 'undeploy'];

/** Allowed `interface` of a manual clean step (§4.2). */
export const cleanStepInterfaces = ['deploy', 'power', 'management', 'bios', 'raid'] as const;
/** Allowed `interface` of a user deploy step or deploy template step (§4.2, §3.9). */
export const deployStepInterfaces = [
  'deploy',
  'power',
  'management',
  'bios',
  'raid',
  'boot',
  'storage',
  'network',
  'console',
  'inspect',
  'rescue',
  'vendor',
] as const;

// ---- groups (§4.4) -------------------------------------------------------------------------
const S = ProvisionStates;

export const STABLE_STATES: ReadonlySet<ProvisionState> = new Set([
  S.ENROLL,
  S.MANAGEABLE,
  S.AVAILABLE,
  S.ACTIVE,
  S.ERROR,
  S.RESCUE,
]);
export const UNSTABLE_STATES: ReadonlySet<ProvisionState> = new Set([
  S.DEPLOYING,
  S.DEPLOYWAIT,
  S.CLEANING,
  S.CLEANWAIT,
  S.VERIFYING,
  S.DELETING,
  S.INSPECTING,
  S.INSPECTWAIT,
  S.ADOPTING,
  S.RESCUING,
  S.RESCUEWAIT,
  S.UNRESCUING,
]);
export const UPDATE_ALLOWED_STATES: ReadonlySet<ProvisionState> = new Set([
  S.DEPLOYFAIL,
  S.INSPECTING,
  S.INSPECTFAIL,
  S.INSPECTWAIT,
  S.CLEANFAIL,
  S.ERROR,
  S.VERIFYING,
  S.ADOPTFAIL,
  S.RESCUEFAIL,
  S.UNRESCUEFAIL,
]);
/** Ironic's tuple order (its error message prints it); `available` is added by config. */
export const DELETE_ALLOWED_STATES_BASE: readonly ProvisionState[] = [S.MANAGEABLE, S.ENROLL, S.ADOPTFAIL];
export const deleteAllowedStates = (allowDeletingAvailable = true): readonly ProvisionState[] =>
  allowDeletingAvailable ? [...DELETE_ALLOWED_STATES_BASE, S.AVAILABLE] : DELETE_ALLOWED_STATES_BASE;
export const DELETE_ALLOWED_STATES: ReadonlySet<ProvisionState> = new Set(deleteAllowedStates(true));
export const STUCK_STATES_TREATED_AS_FAIL: ReadonlySet<ProvisionState> = new Set([
  S.DEPLOYING,
  S.CLEANING,
  S.VERIFYING,
  S.INSPECTING,
  S.ADOPTING,
  S.RESCUING,
  S.UNRESCUING,
  S.DELETING,
]);
export const LOOKUP_ALLOWED_STATES: ReadonlySet<ProvisionState> = new Set([
  S.DEPLOYING,
  S.DEPLOYWAIT,
  S.CLEANING,
  S.CLEANWAIT,
  S.INSPECTING,
  S.INSPECTWAIT,
  S.RESCUING,
  S.RESCUEWAIT,
]);
export const FASTTRACK_LOOKUP_ALLOWED_STATES: ReadonlySet<ProvisionState> = new Set([
  ...LOOKUP_ALLOWED_STATES,
  S.ENROLL,
  S.MANAGEABLE,
  S.AVAILABLE,
]);
export const FAILURE_STATES: ReadonlySet<ProvisionState> = new Set([
  S.DEPLOYFAIL,
  S.CLEANFAIL,
  S.INSPECTFAIL,
  S.RESCUEFAIL,
  S.UNRESCUEFAIL,
  S.ADOPTFAIL,
]);
/** Wait states survive a conductor take-over; a callback timeout fails them (§6.4). */
export const WAIT_STATES: ReadonlySet<ProvisionState> = new Set([S.DEPLOYWAIT, S.CLEANWAIT, S.RESCUEWAIT, S.INSPECTWAIT]);
/** States where an agent heartbeat is acted on (§7.2). */
export const HEARTBEAT_ALLOWED_STATES: ReadonlySet<ProvisionState> = new Set([S.DEPLOYWAIT, S.CLEANWAIT, S.RESCUEWAIT]);

export const isStable = (s: ProvisionState): boolean => STABLE_STATES.has(s);

/** §4.1 "Default target while in it"; null for stable states. Cleaning states default to
 * `available`: manual cleaning overrides it with `manageable` (see transitions.ts). */
export const defaultTarget: Readonly<Record<ProvisionState, ProvisionState | null>> = {
  enroll: null,
  verifying: S.MANAGEABLE,
  manageable: null,
  inspecting: S.MANAGEABLE,
  'inspect wait': S.MANAGEABLE,
  'inspect failed': S.MANAGEABLE,
  cleaning: S.AVAILABLE,
  'clean wait': S.AVAILABLE,
  'clean failed': S.AVAILABLE,
  available: null,
  deploying: S.ACTIVE,
  'wait call-back': S.ACTIVE,
  'deploy failed': S.ACTIVE,
  active: null,
  deleting: S.AVAILABLE,
  error: null,
  adopting: S.ACTIVE,
  'adopt failed': S.ACTIVE,
  rescuing: S.RESCUE,
  'rescue wait': S.RESCUE,
  'rescue failed': S.RESCUE,
  rescue: null,
  unrescuing: S.ACTIVE,
  'unrescue failed': S.ACTIVE,
};

/** How the API shows a stored state at an older microversion (§3.2 "Field version hiding"). */
export const provisionStateAtMicroversion = (state: ProvisionState, minor: number): ProvisionState | null => {
  if (minor < 2 && state === S.AVAILABLE) return null;
  if (minor < 39 && state === S.INSPECTWAIT) return S.INSPECTING;
  return state;
};
