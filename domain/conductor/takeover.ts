// What a conductor does with a node it has just come to own (reference §6.4, issue 3), decided
// from the node's state as replayed from its stream. Pure: the shell (conductor/takeover.ts)
// supplies time, ids and which operations it can resume, and appends the commands in order.
//
// Rules:
//   - a reservation not held by this run (a lost conductor's, a previous owner's, this host's
//     previous run's) is force-released and re-taken at the current ring epoch;
//   - an operation whose steps are recorded (deploying / cleaning with planned steps) is resumed
//     from the first step not completed, when the shell has a resumer for it;
//   - any other interrupted operation in STUCK_STATES_TREATED_AS_FAIL gets `fail`;
//   - a pending power operation is failed ("... aborted due to conductor take over");
//   - wait states are carried over untouched: their timeouts run from provision_updated_at;
//   - maintenance nodes only have their reservation taken (Ironic fails nothing in maintenance);
//   - conductor_affinity becomes this host; a history entry records the takeover.

import type { NodeCommand } from '../node/commands.ts';
import type { Node } from '../node/node.ts';
import { STUCK_STATES_TREATED_AS_FAIL, WAIT_STATES, type ProvisionState } from '../provision/states.ts';

export type ResumableOperation = 'deploy' | 'clean';

export interface TakeoverContext {
  /** this conductor's hostname */
  host: string;
  /** the ring epoch this run works under */
  epoch: number;
  /** the epoch at which this run joined: a reservation by this host from before it is stale */
  joinedAt: number;
  /** ISO time of the decision */
  at: string;
  /** a fresh id for the history entry */
  historyId: string;
  /** can the shell resume this kind of operation? */
  canResume: (op: ResumableOperation) => boolean;
}

export type TakeoverAction =
  | { kind: 'none' }
  | { kind: 'resume'; operation: ResumableOperation; fromStep: number }
  | { kind: 'fail'; from: ProvisionState; lastError: string }
  | { kind: 'carry-wait'; state: ProvisionState; since: string | null };

export interface TakeoverPlan {
  action: TakeoverAction;
  /** the commands to apply, in order (empty: nothing to do) */
  commands: NodeCommand[];
  /** after the commands the reservation is held by this run (a resume keeps it until done) */
  keepsReservation: boolean;
  summary: string;
}

const operationOf: Partial<Record<ProvisionState, ResumableOperation>> = { deploying: 'deploy', cleaning: 'clean' };

const operationWords: Partial<Record<ProvisionState, string>> = {
  deploying: 'deployment',
  cleaning: 'cleaning',
  verifying: 'verification',
  inspecting: 'inspection',
  adopting: 'adoption',
  rescuing: 'rescue',
  unrescuing: 'unrescue',
  deleting: 'tear down',
};

/** The step to resume from: a started but unfinished step runs again (steps are idempotent). */
const resumeIndex = (node: Node, op: ResumableOperation): number | undefined => {
  const dii = node.driver_internal_info as Record<string, unknown>;
  const steps = dii[`${op}_steps`];
  if (!Array.isArray(steps)) return undefined;
  const index = dii[`${op}_step_index`];
  const current = op === 'deploy' ? node.deploy_step : node.clean_step;
  if (typeof index !== 'number') return 0;
  return Object.keys(current).length > 0 ? index : index + 1;
};

/** Does this run hold the node's reservation? */
export const heldByThisRun = (node: Node, ctx: Pick<TakeoverContext, 'host' | 'joinedAt'>): boolean =>
  node.reservation === ctx.host && node.reservation_epoch !== null && node.reservation_epoch >= ctx.joinedAt;

/**
 * Does a node this conductor owns need a takeover at all? Only when another run's reservation is
 * on it (a lost or departed conductor's, a previous owner's, this host's previous run's), or when
 * an `active` node was last taken care of by another conductor (Ironic's _sync_local_state).
 * An unreserved node in a transient state is not taken over: the API appends the transition
 * before a conductor starts the work, so "unreserved and deploying" is also a deploy about to
 * start; picking those up belongs to the executor that starts operations.
 */
export const needsTakeover = (node: Node, ctx: Pick<TakeoverContext, 'host' | 'joinedAt'>, runningHere: boolean): boolean => {
  if (runningHere) return false;
  if (node.reservation !== null) return !heldByThisRun(node, ctx);
  return node.provision_state === 'active' && node.conductor_affinity !== null && node.conductor_affinity !== ctx.host;
};

export const planTakeover = (node: Node, ctx: TakeoverContext): TakeoverPlan => {
  const { uuid } = node;
  const at = ctx.at;
  const holder = { host: ctx.host, ring_epoch: ctx.epoch };
  const commands: NodeCommand[] = [];
  const previous = node.reservation ?? node.conductor_affinity;

  if (node.reservation !== null && !heldByThisRun(node, ctx)) {
    commands.push({ type: 'ReleaseNode', data: { uuid, at, host: ctx.host, force: true } });
  }
  if (!heldByThisRun(node, ctx)) commands.push({ type: 'ReserveNode', data: { uuid, at, host: ctx.host, ring_epoch: ctx.epoch } });

  let action: TakeoverAction = { kind: 'none' };
  if (!node.maintenance) {
    const op = operationOf[node.provision_state];
    const from = op !== undefined && ctx.canResume(op) ? resumeIndex(node, op) : undefined;
    if (op !== undefined && from !== undefined) {
      action = { kind: 'resume', operation: op, fromStep: from };
    } else if (STUCK_STATES_TREATED_AS_FAIL.has(node.provision_state)) {
      const what = operationWords[node.provision_state] ?? node.provision_state;
      action = { kind: 'fail', from: node.provision_state, lastError: `The ${what} can't be resumed by conductor ${ctx.host}. Moving to fail state.` };
    } else if (WAIT_STATES.has(node.provision_state)) {
      action = { kind: 'carry-wait', state: node.provision_state, since: node.provision_updated_at };
    }
    if (node.target_power_state !== null) {
      commands.push({ type: 'FailPowerState', data: { uuid, at, error: 'Pending power operation was aborted due to conductor take over', holder } });
    }
    if (action.kind === 'fail') {
      commands.push({ type: 'ApplyProvisionEvent', data: { uuid, at, event: 'fail', last_error: action.lastError, holder } });
    }
  }
  if (node.conductor_affinity !== ctx.host) {
    commands.push({ type: 'UpdateNodeInternal', data: { uuid, at, changes: { conductor_affinity: ctx.host }, holder } });
  }
  const summary =
    action.kind === 'resume'
      ? `resuming ${action.operation} from step ${action.fromStep}`
      : action.kind === 'fail'
        ? `failing the interrupted ${operationWords[action.from] ?? action.from}`
        : action.kind === 'carry-wait'
          ? `carrying over ${action.state}`
          : 'nothing in flight';
  commands.push({
    type: 'RecordHistory',
    data: {
      uuid,
      at,
      entry: {
        uuid: ctx.historyId,
        severity: action.kind === 'fail' ? 'ERROR' : 'INFO',
        event: `Conductor ${ctx.host} took over node ${uuid}${previous ? ` from ${previous}` : ''} at ring epoch ${ctx.epoch}: ${summary}.`,
        event_type: 'takeover',
        conductor: ctx.host,
        user: null,
      },
    },
  });
  const keepsReservation = action.kind === 'resume';
  if (!keepsReservation) commands.push({ type: 'ReleaseNode', data: { uuid, at, host: ctx.host } });
  return { action, commands, keepsReservation, summary };
};
