// THE provision transition table (reference §4.3, from ironic/common/states.py), as data.
// Every other part of ironlog asks this table; nothing else encodes a transition.

import * as E from 'fp-ts/lib/Either.js';
import { domainError, type DomainError } from '../errors.ts';
import {
  ProvisionStates as S,
  defaultTarget,
  isStable,
  provisionVerbs,
  type ProvisionEvent,
  type ProvisionState,
  type ProvisionVerbName,
} from './states.ts';

/**
 * What target_provision_state becomes after the transition:
 * - `null`: cleared (the new state is stable)
 * - `keep`: unchanged (wait/resume, and failures of a cleaning that may be manual or automated)
 * - a state: set to it (an explicit override such as manual clean → manageable)
 */
export type TargetRule = null | 'keep' | ProvisionState;

/** Who fires the event: a user verb through the API, or the conductor. */
export type Trigger = 'api' | 'internal';

export interface TransitionRow {
  readonly from: ProvisionState;
  readonly event: ProvisionEvent;
  readonly to: ProvisionState;
  readonly target: TargetRule;
  readonly trigger: Trigger;
}

const row = (
  from: ProvisionState,
  event: ProvisionEvent,
  to: ProvisionState,
  target: TargetRule,
  trigger: Trigger,
): TransitionRow => ({ from, event, to, target, trigger });

export const transitionTable: readonly TransitionRow[] = [
  row(S.ENROLL, 'manage', S.VERIFYING, S.MANAGEABLE, 'api'),
  row(S.VERIFYING, 'done', S.MANAGEABLE, null, 'internal'),
  row(S.VERIFYING, 'fail', S.ENROLL, null, 'internal'),
  row(S.MANAGEABLE, 'provide', S.CLEANING, S.AVAILABLE, 'api'),
  row(S.MANAGEABLE, 'clean', S.CLEANING, S.MANAGEABLE, 'api'),
  row(S.MANAGEABLE, 'inspect', S.INSPECTING, S.MANAGEABLE, 'api'),
  row(S.MANAGEABLE, 'adopt', S.ADOPTING, S.ACTIVE, 'api'),
  row(S.AVAILABLE, 'manage', S.MANAGEABLE, null, 'api'),
  row(S.AVAILABLE, 'deploy', S.DEPLOYING, S.ACTIVE, 'api'),
  row(S.CLEANING, 'wait', S.CLEANWAIT, 'keep', 'internal'),
  row(S.CLEANWAIT, 'resume', S.CLEANING, 'keep', 'internal'),
  row(S.CLEANING, 'done', S.AVAILABLE, null, 'internal'),
  row(S.CLEANING, 'manage', S.MANAGEABLE, null, 'internal'),
  row(S.CLEANING, 'fail', S.CLEANFAIL, 'keep', 'internal'),
  row(S.CLEANWAIT, 'fail', S.CLEANFAIL, 'keep', 'internal'),
  row(S.CLEANWAIT, 'abort', S.CLEANFAIL, 'keep', 'api'),
  row(S.CLEANFAIL, 'manage', S.MANAGEABLE, null, 'api'),
  row(S.INSPECTING, 'done', S.MANAGEABLE, null, 'internal'),
  row(S.INSPECTING, 'wait', S.INSPECTWAIT, S.MANAGEABLE, 'internal'),
  row(S.INSPECTING, 'fail', S.INSPECTFAIL, S.MANAGEABLE, 'internal'),
  row(S.INSPECTWAIT, 'done', S.MANAGEABLE, null, 'internal'),
  row(S.INSPECTWAIT, 'fail', S.INSPECTFAIL, S.MANAGEABLE, 'internal'),
  row(S.INSPECTWAIT, 'abort', S.INSPECTFAIL, S.MANAGEABLE, 'api'),
  row(S.INSPECTFAIL, 'manage', S.MANAGEABLE, null, 'api'),
  row(S.INSPECTFAIL, 'inspect', S.INSPECTING, S.MANAGEABLE, 'api'),
  row(S.DEPLOYING, 'wait', S.DEPLOYWAIT, S.ACTIVE, 'internal'),
  row(S.DEPLOYWAIT, 'resume', S.DEPLOYING, S.ACTIVE, 'internal'),
  row(S.DEPLOYING, 'done', S.ACTIVE, null, 'internal'),
  row(S.DEPLOYING, 'fail', S.DEPLOYFAIL, S.ACTIVE, 'internal'),
  row(S.DEPLOYWAIT, 'fail', S.DEPLOYFAIL, S.ACTIVE, 'internal'),
  row(S.DEPLOYFAIL, 'rebuild', S.DEPLOYING, S.ACTIVE, 'api'),
  row(S.DEPLOYFAIL, 'deploy', S.DEPLOYING, S.ACTIVE, 'api'),
  row(S.ACTIVE, 'rebuild', S.DEPLOYING, S.ACTIVE, 'api'),
  row(S.ERROR, 'rebuild', S.DEPLOYING, S.ACTIVE, 'api'),
  row(S.ACTIVE, 'delete', S.DELETING, S.AVAILABLE, 'api'),
  row(S.DEPLOYWAIT, 'delete', S.DELETING, S.AVAILABLE, 'api'),
  row(S.DEPLOYFAIL, 'delete', S.DELETING, S.AVAILABLE, 'api'),
  row(S.ERROR, 'delete', S.DELETING, S.AVAILABLE, 'api'),
  row(S.RESCUE, 'delete', S.DELETING, S.AVAILABLE, 'api'),
  row(S.RESCUEWAIT, 'delete', S.DELETING, S.AVAILABLE, 'api'),
  row(S.RESCUEFAIL, 'delete', S.DELETING, S.AVAILABLE, 'api'),
  row(S.UNRESCUEFAIL, 'delete', S.DELETING, S.AVAILABLE, 'api'),
  row(S.DELETING, 'clean', S.CLEANING, S.AVAILABLE, 'internal'),
  row(S.DELETING, 'fail', S.ERROR, null, 'internal'),
  row(S.ADOPTING, 'done', S.ACTIVE, null, 'internal'),
  row(S.ADOPTING, 'fail', S.ADOPTFAIL, S.ACTIVE, 'internal'),
  row(S.ADOPTFAIL, 'adopt', S.ADOPTING, S.ACTIVE, 'api'),
  row(S.ADOPTFAIL, 'manage', S.MANAGEABLE, null, 'api'),
  row(S.ACTIVE, 'rescue', S.RESCUING, S.RESCUE, 'api'),
  row(S.RESCUE, 'rescue', S.RESCUING, S.RESCUE, 'api'),
  row(S.RESCUEFAIL, 'rescue', S.RESCUING, S.RESCUE, 'api'),
  row(S.UNRESCUEFAIL, 'rescue', S.RESCUING, S.RESCUE, 'api'),
  row(S.RESCUING, 'wait', S.RESCUEWAIT, S.RESCUE, 'internal'),
  row(S.RESCUEWAIT, 'resume', S.RESCUING, S.RESCUE, 'internal'),
  row(S.RESCUING, 'done', S.RESCUE, null, 'internal'),
  row(S.RESCUING, 'fail', S.RESCUEFAIL, S.RESCUE, 'internal'),
  row(S.RESCUEWAIT, 'fail', S.RESCUEFAIL, S.RESCUE, 'internal'),
  row(S.RESCUEWAIT, 'abort', S.RESCUEFAIL, S.RESCUE, 'api'),
  row(S.RESCUE, 'unrescue', S.UNRESCUING, S.ACTIVE, 'api'),
  row(S.RESCUEFAIL, 'unrescue', S.UNRESCUING, S.ACTIVE, 'api'),
  row(S.UNRESCUEFAIL, 'unrescue', S.UNRESCUING, S.ACTIVE, 'api'),
  row(S.UNRESCUING, 'done', S.ACTIVE, null, 'internal'),
  row(S.UNRESCUING, 'fail', S.UNRESCUEFAIL, S.ACTIVE, 'internal'),
];

const key = (from: ProvisionState, event: ProvisionEvent): string => `${from}\u0000${event}`;
const index: ReadonlyMap<string, TransitionRow> = new Map(transitionTable.map((r) => [key(r.from, r.event), r]));

export const findTransition = (from: ProvisionState, event: ProvisionEvent): TransitionRow | undefined =>
  index.get(key(from, event));

/** The events that have a row from `state` (Ironic's is_actionable_event, per state). */
export const eventsFrom = (state: ProvisionState): ProvisionEvent[] =>
  transitionTable.filter((r) => r.from === state).map((r) => r.event);

export interface ProvisionPosition {
  readonly state: ProvisionState;
  readonly target: ProvisionState | null;
}

export interface TransitionContext {
  /** the node the message names (Ironic prints the UUID) */
  readonly node?: string;
  /** what the user asked for, when it differs from the event (`active` → deploy) */
  readonly action?: string;
}

export const invalidStateRequested = (action: string, node: string, state: ProvisionState | null): DomainError =>
  domainError(
    'InvalidStateRequested',
    `The requested action "${action}" can not be performed on node "${node}" while it is in state "${state}".`,
  );

const applyTargetRule = (rule: TargetRule, to: ProvisionState, current: ProvisionState | null): ProvisionState | null => {
  if (rule === 'keep') return current ?? defaultTarget[to];
  if (rule === null || isStable(to)) return null;
  return rule;
};

/** The pure state machine: where (state, target) goes on `event`, or InvalidStateRequested (400). */
export const transition = (
  state: ProvisionState,
  target: ProvisionState | null,
  event: ProvisionEvent,
  ctx: TransitionContext = {},
): E.Either<DomainError, ProvisionPosition> => {
  const r = findTransition(state, event);
  if (!r) return E.left(invalidStateRequested(ctx.action ?? event, ctx.node ?? '(unknown)', state));
  return E.right({ state: r.to, target: applyTargetRule(r.target, r.to, target) });
};

/** Whether an API verb has a row from `state` (rows fired by the conductor do not count). */
export const verbAllowedIn = (verb: ProvisionVerbName, state: ProvisionState): boolean => {
  const r = findTransition(state, provisionVerbs[verb].event);
  return r !== undefined && r.trigger === 'api';
};

/** The power verbs table lives with the power states; re-exported so both tables are found here. */
export { powerVerbs, type PowerTarget } from '../power/states.ts';
