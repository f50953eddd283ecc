// The provisioning operations, as Ironic's conductor runs them in a worker after the API's 202
// (reference §4.3, §6): one per transient state the node has just entered. Each runs inside a
// NodeTask (the node reserved by this conductor at its ring epoch) and ends by firing the state
// machine's internal event (done / fail / wait / clean / manage) and releasing the reservation.
//
//   verifying  → power validate + read the power state      → done (manageable) | fail (enroll)
//   cleaning   → prepare, clean steps, tear down cleaning   → done (available) | manage (manual) | fail
//   deploying  → prepare, deploy steps                      → done (active) | fail (deploy failed)
//   deleting   → tear down, drop the instance, then clean   → clean → … → available | fail (error)
//   inspecting → inspect_hardware                           → done (manageable) | wait | fail
//   adopting   → boot validate, take over                   → done (active) | fail (adopt failed)
//   rescuing   → rescue                                     → done (rescue) | wait | fail
//   unrescuing → unrescue                                   → done (active) | fail
//   (abort)    → clean up what the aborted wait left behind (last_error says it was aborted)
//
// A refused append (the fence: this conductor no longer owns the node; or the node changed under
// us) or an aborted task ends the operation at once without writing more: the node's new owner
// takes it over from the log.

import * as E from 'fp-ts/lib/Either.js';
import { execute } from '../../command-handling/execute.ts';
import type { DomainError } from '../../domain/errors.ts';
import { actorForConductor } from '../../domain/metadata.ts';
import type { Node, NodeCommandOf, Step, StepKind } from '../../domain/node/index.ts';
import type { ProvisionEvent, ProvisionState } from '../../domain/provision/states.ts';
import { failureText } from '../../drivers/base.ts';
import type { Driver } from '../../drivers/hardware-type.ts';
import type { Executor } from './executor.ts';
import { planSteps, recordedPlan, resumePoint, runSteps, wipePlan, type StepsOutcome } from './steps.ts';
import type { NodeTask, TaskCommand } from './task.ts';

/** What the user asked for (the ProvisionActionRequested event, or the command itself). */
export type ProvisionRequest = Omit<NodeCommandOf<'RequestProvisionAction'>['data'], 'uuid' | 'at'>;

export interface Operation {
  /** for logs and history: deploy, clean, verify... */
  readonly name: string;
  /** what must be recorded before the API's request is answered (the plan of steps) */
  prepare?(task: NodeTask): Promise<E.Either<DomainError, unknown>>;
  run(task: NodeTask): Promise<void>;
}

/** Applies commands in order while the task may still write; false once one is refused. */
class Flow {
  private refused = false;
  constructor(readonly ex: Executor, readonly task: NodeTask, readonly driver: Driver, readonly what: string) {}

  get stopped(): boolean {
    return this.refused || this.task.signal.aborted;
  }

  async apply(command: TaskCommand): Promise<boolean> {
    if (this.stopped) return false;
    const r = await this.task.apply(command);
    if (E.isLeft(r)) {
      this.refused = true;
      this.ex.log.warn({ node: this.task.uuid, operation: this.what, command: command.type, err: r.left.message }, 'node task stopped: write refused');
      return false;
    }
    return true;
  }

  event(event: ProvisionEvent, lastError?: string | null): Promise<boolean> {
    return this.apply({ type: 'ApplyProvisionEvent', data: { event, ...(lastError !== undefined ? { last_error: lastError } : {}) } });
  }

  release(): Promise<boolean> {
    return this.apply({ type: 'ReleaseNode', data: { host: this.task.holder.host } });
  }

  async fail(lastError: string, plan?: StepKind): Promise<void> {
    if (plan) await wipePlan(this.task, plan);
    await this.event('fail', lastError);
    await this.release();
  }

  /** Runs a driver call; a failure becomes `fail(message(e))`. Undefined when the flow must stop. */
  async call<T>(f: () => Promise<T>, message: (e: string) => string, plan?: StepKind): Promise<{ value: T } | undefined> {
    if (this.stopped) return undefined;
    try {
      const value = await f();
      return this.stopped ? undefined : { value };
    } catch (e) {
      if (this.stopped) return undefined;
      await this.fail(message(failureText(e)), plan);
      return undefined;
    }
  }

  /** The end of a step sequence; true when every step completed. */
  async afterSteps(outcome: StepsOutcome, kind: StepKind, onFailure?: (message: string) => Promise<void>): Promise<boolean> {
    switch (outcome.kind) {
      case 'done':
        return !this.stopped;
      case 'aborted':
      case 'refused':
        return false;
      case 'wait':
        await this.event('wait');
        await this.release();
        return false;
      case 'failed':
        if (onFailure) await onFailure(outcome.message);
        else await this.fail(outcome.message, kind);
        return false;
    }
  }
}

const flowFor = (ex: Executor, task: NodeTask, what: string): Flow | undefined => {
  const driver = ex.driverOf(task.node);
  if (E.isLeft(driver)) {
    ex.log.error({ node: task.uuid, err: driver.left.message }, 'no driver for the node');
    return undefined;
  }
  return new Flow(ex, task, driver.right, what);
};

// ---- verify (enroll → verifying) ------------------------------------------------------------------

const verify = (ex: Executor): Operation => ({
  name: 'verify',
  run: async (task) => {
    const f = flowFor(ex, task, 'verify');
    if (!f) return;
    const read = await f.call(
      async () => {
        await f.driver.power.validate(task);
        return f.driver.power.getPowerState(task);
      },
      (e) => `Failed to get power state for node ${task.uuid}. Error: ${e}`,
    );
    if (!read) return;
    if (read.value !== task.node.power_state) await f.apply({ type: 'ObservePowerState', data: { power_state: read.value } });
    await f.event('done');
    await f.release();
  },
});

// ---- cleaning ---------------------------------------------------------------------------------------

const cleaningDisabled = (ex: Executor, node: Node): boolean => !(node.automated_clean ?? ex.deps.settings.automatedClean);

/** Plans (PlanSteps) when the plan is fine; a plan error is kept for run() to fail the node with. */
const planner = (ex: Executor, kind: StepKind, requested: readonly Step[] | undefined, manual: boolean) => {
  let planError: string | undefined;
  const prepare = async (task: NodeTask): Promise<E.Either<DomainError, unknown>> => {
    const driver = ex.driverOf(task.node);
    if (E.isLeft(driver)) return driver;
    const plan = planSteps(driver.right, kind, task.node, requested, manual);
    if (E.isLeft(plan)) {
      planError = plan.left;
      return E.right(undefined);
    }
    return task.apply({ type: 'PlanSteps', data: { kind, steps: plan.right } });
  };
  return { prepare, error: () => planError };
};

/** Runs the recorded clean plan from `from`, then ends the cleaning (done, or manage for a manual clean). */
const cleanSteps = async (f: Flow, from: number): Promise<void> => {
  const task = f.task;
  const manual = task.node.target_provision_state === 'manageable';
  const steps = recordedPlan(task.node, 'clean') ?? [];
  const prepared = await f.call(() => f.driver.deploy.prepareCleaning(task), (e) => `Failed to prepare node ${task.uuid} for cleaning: ${e}`, 'clean');
  if (!prepared) return;
  if (prepared.value === 'wait') {
    await f.event('wait');
    await f.release();
    return;
  }
  const outcome = await runSteps(task, f.driver, 'clean', steps, from);
  const ok = await f.afterSteps(outcome, 'clean', async (message) => {
    // cleaning_error_handler: a failed step also puts the node in maintenance (fault: clean failure)
    await f.driver.deploy.tearDownCleaning(task).catch(() => undefined);
    await wipePlan(task, 'clean');
    await f.event('fail', message);
    await f.apply({ type: 'SetMaintenance', data: { reason: message, fault: 'clean failure' } });
    await f.release();
  });
  if (!ok) return;
  const torn = await f.call(() => f.driver.deploy.tearDownCleaning(task), (e) => `Failed to tear down from cleaning for node ${task.uuid}, reason: ${e}`, 'clean');
  if (!torn) return;
  await wipePlan(task, 'clean');
  await f.event(manual ? 'manage' : 'done');
  await f.release();
};

const clean = (ex: Executor, request: ProvisionRequest | undefined, manual: boolean): Operation => {
  const plan = planner(ex, 'clean', request?.clean_steps, manual);
  return {
    name: manual ? 'manual clean' : 'automated clean',
    prepare: async (task) => (!manual && cleaningDisabled(ex, task.node) ? E.right(undefined) : plan.prepare(task)),
    run: async (task) => {
      const f = flowFor(ex, task, 'clean');
      if (!f) return;
      if (!manual && cleaningDisabled(ex, task.node)) {
        // Ironic: "Automated cleaning is disabled, node has been successfully moved to AVAILABLE state"
        await f.event('done');
        await f.release();
        return;
      }
      const error = plan.error();
      if (error !== undefined) return f.fail(error, 'clean');
      const validated = await f.call(
        async () => {
          await f.driver.power.validate(task);
          await f.driver.network.validate(task);
        },
        (e) => `Validation of node ${task.uuid} for cleaning failed: ${e}`,
        'clean',
      );
      if (!validated) return;
      await cleanSteps(f, 0);
    },
  };
};

/** Takeover's resumer for cleaning: the plan is in the log; continue from `fromStep`. */
export const resumeClean = async (ex: Executor, task: NodeTask, fromStep: number): Promise<void> => {
  const f = flowFor(ex, task, 'clean');
  if (f) await cleanSteps(f, fromStep);
};

// ---- deploying --------------------------------------------------------------------------------------

const deploySteps = async (f: Flow, from: number): Promise<void> => {
  const task = f.task;
  const steps = recordedPlan(task.node, 'deploy') ?? [];
  const outcome = await runSteps(task, f.driver, 'deploy', steps, from);
  if (!(await f.afterSteps(outcome, 'deploy'))) return;
  await wipePlan(task, 'deploy');
  await f.event('done');
  // Ironic records which conductor deployed it: _sync_local_state takes it over elsewhere later
  if (task.node.conductor_affinity !== task.holder.host) {
    await f.apply({ type: 'UpdateNodeInternal', data: { changes: { conductor_affinity: task.holder.host } } });
  }
  await f.release();
};

const deploy = (ex: Executor, request: ProvisionRequest | undefined): Operation => {
  const plan = planner(ex, 'deploy', request?.deploy_steps, false);
  return {
    name: request?.verb === 'rebuild' ? 'rebuild' : 'deploy',
    prepare: plan.prepare,
    run: async (task) => {
      const f = flowFor(ex, task, 'deploy');
      if (!f) return;
      const error = plan.error();
      if (error !== undefined) return f.fail(error, 'deploy');
      if (request?.configdrive !== undefined) {
        if (!(await f.apply({ type: 'UpdateNodeInternal', data: { changes: { instance_info: { ...task.node.instance_info, configdrive: request.configdrive } } } }))) return;
      }
      const prepared = await f.call(
        async () => {
          await f.driver.deploy.prepare(task);
          await f.driver.storage.attachVolumes(task);
        },
        (e) => `Failed to prepare to deploy: ${e}`,
        'deploy',
      );
      if (!prepared) return;
      await deploySteps(f, 0);
    },
  };
};

/** Takeover's resumer for deployments: continue the recorded plan from `fromStep`. */
export const resumeDeploy = async (ex: Executor, task: NodeTask, fromStep: number): Promise<void> => {
  const f = flowFor(ex, task, 'deploy');
  if (f) await deploySteps(f, fromStep);
};

// ---- deleting (tear down, then automated clean) -----------------------------------------------------

const deleteAllocation = async (ex: Executor, task: NodeTask, allocation: string): Promise<void> => {
  const r = await execute(ex.deps.store, 'allocation', allocation, {
    commandId: `${task.uuid}:teardown:${allocation}`,
    actor: actorForConductor(task.holder.host),
    command: { type: 'DeleteAllocation', data: { uuid: allocation, at: new Date().toISOString() } },
  });
  if (E.isLeft(r) && r.left.errorClass !== 'AllocationNotFound') {
    ex.log.warn({ node: task.uuid, allocation, err: r.left.message }, 'could not delete the allocation of a torn down node');
  }
};

const tearDown = (ex: Executor, from: ProvisionState | undefined): Operation => ({
  name: 'tear down',
  run: async (task) => {
    const f = flowFor(ex, task, 'tear down');
    if (!f) return;
    const node = task.node;
    const torn = await f.call(
      async () => {
        await f.driver.storage.detachVolumes(task);
        await f.driver.deploy.tearDown(task);
        await f.driver.deploy.cleanUp(task);
        if (from === 'rescue' || from === 'rescue wait' || from === 'rescue failed' || from === 'unrescue failed') await f.driver.rescue.cleanUp(task);
        await f.driver.network.unconfigureTenantNetworks(task);
      },
      (e) => `Failed to tear down. Error: ${e}`,
      'deploy',
    );
    if (!torn) return;
    if (node.allocation_uuid !== null) await deleteAllocation(ex, task, node.allocation_uuid);
    const changes: Record<string, unknown> = {};
    if (Object.keys(node.instance_info).length > 0) changes.instance_info = {};
    if (node.instance_uuid !== null) changes.instance_uuid = null;
    if (node.allocation_uuid !== null) changes.allocation_uuid = null;
    if (Object.keys(changes).length > 0 && !(await f.apply({ type: 'UpdateNodeInternal', data: { changes } }))) return;
    await wipePlan(task, 'deploy');
    // plan the automated clean before entering it, so a takeover finds cleaning with its plan
    const cleaning = !cleaningDisabled(ex, task.node);
    if (cleaning) {
      const plan = planSteps(f.driver, 'clean', task.node, undefined, false);
      if (E.isLeft(plan)) return f.fail(plan.left);
      if (!(await f.apply({ type: 'PlanSteps', data: { kind: 'clean', steps: plan.right } }))) return;
    }
    if (!(await f.event('clean'))) return;
    if (!cleaning) {
      await f.event('done');
      await f.release();
      return;
    }
    await cleanSteps(f, 0);
  },
});

// ---- inspection, adoption, rescue -------------------------------------------------------------------

const inspect = (ex: Executor): Operation => ({
  name: 'inspect',
  run: async (task) => {
    const f = flowFor(ex, task, 'inspect');
    if (!f) return;
    const r = await f.call(() => f.driver.inspect.inspectHardware(task), (e) => `Failed to inspect hardware. Reason: ${e}`);
    if (!r) return;
    await f.event(r.value === 'inspect wait' ? 'wait' : 'done');
    await f.release();
  },
});

const adopt = (ex: Executor): Operation => ({
  name: 'adopt',
  run: async (task) => {
    const f = flowFor(ex, task, 'adopt');
    if (!f) return;
    const r = await f.call(
      async () => {
        await f.driver.boot.validate(task);
        // Ironic's _do_takeover
        await f.driver.deploy.prepare(task);
        await f.driver.deploy.takeOver(task);
        if (task.node.console_enabled) await f.driver.console.startConsole(task);
      },
      (e) => `Error while attempting to adopt node ${task.uuid}: ${e}.`,
    );
    if (!r) return;
    if (task.node.conductor_affinity !== task.holder.host) {
      if (!(await f.apply({ type: 'UpdateNodeInternal', data: { changes: { conductor_affinity: task.holder.host } } }))) return;
    }
    await f.event('done');
    await f.release();
  },
});

const rescue = (ex: Executor, request: ProvisionRequest | undefined): Operation => ({
  name: 'rescue',
  run: async (task) => {
    const f = flowFor(ex, task, 'rescue');
    if (!f) return;
    if (request?.rescue_password !== undefined) {
      const info = { ...task.node.instance_info, rescue_password: request.rescue_password };
      if (!(await f.apply({ type: 'UpdateNodeInternal', data: { changes: { instance_info: info } } }))) return;
    }
    const r = await f.call(() => f.driver.rescue.rescue(task), (e) => `Failed to rescue node ${task.uuid}: ${e}`);
    if (!r) return;
    await f.event(r.value === 'rescue wait' ? 'wait' : 'done');
    await f.release();
  },
});

const unrescue = (ex: Executor): Operation => ({
  name: 'unrescue',
  run: async (task) => {
    const f = flowFor(ex, task, 'unrescue');
    if (!f) return;
    const r = await f.call(() => f.driver.rescue.unrescue(task), (e) => `Failed to unrescue node ${task.uuid}: ${e}`);
    if (!r) return;
    if ('rescue_password' in task.node.instance_info) {
      const { rescue_password: _gone, ...info } = task.node.instance_info;
      if (!(await f.apply({ type: 'UpdateNodeInternal', data: { changes: { instance_info: info } } }))) return;
    }
    await f.event('done');
    await f.release();
  },
});

/** After `abort` of a wait state: clean up what the wait left, and say why the node failed. */
const aborted = (ex: Executor, state: ProvisionState): Operation => ({
  name: 'abort',
  run: async (task) => {
    const f = flowFor(ex, task, 'abort');
    if (!f) return;
    let lastError: string;
    try {
      if (state === 'clean failed') {
        await f.driver.deploy.tearDownCleaning(task);
        await wipePlan(task, 'clean');
        lastError = 'By request, the clean operation was aborted';
      } else if (state === 'inspect failed') {
        await f.driver.inspect.abort(task);
        lastError = 'Inspection was aborted by request.';
      } else {
        await f.driver.rescue.cleanUp(task);
        lastError = 'Rescue operation was aborted by request.';
      }
    } catch (e) {
      lastError = `Failed to clean up after the aborted operation on node ${task.uuid}: ${failureText(e)}`;
    }
    await f.apply({ type: 'UpdateNodeInternal', data: { changes: { last_error: lastError } } });
    await f.release();
  },
});

/**
 * The operation a node needs after a provision transition. `event` is the transition's event
 * (undefined for an operation found in the log without its request: see pickup.ts).
 */
export const operationFor = (
  ex: Executor,
  node: Node,
  event: ProvisionEvent | undefined,
  request: ProvisionRequest | undefined,
  from?: ProvisionState,
): Operation | undefined => {
  switch (node.provision_state) {
    case 'verifying':
      return verify(ex);
    case 'cleaning':
      return clean(ex, request, node.target_provision_state === 'manageable');
    case 'deploying':
      return deploy(ex, request);
    case 'deleting':
      return tearDown(ex, from);
    case 'inspecting':
      return inspect(ex);
    case 'adopting':
      return adopt(ex);
    case 'rescuing':
      return rescue(ex, request);
    case 'unrescuing':
      return unrescue(ex);
    case 'clean failed':
    case 'inspect failed':
    case 'rescue failed':
      return event === 'abort' ? aborted(ex, node.provision_state) : undefined;
    default:
      return undefined;
  }
};

/** A deploy or clean whose plan is recorded: continue it from its resume point instead. */
export const resumableFromLog = (ex: Executor, node: Node): Operation | undefined => {
  const kind: StepKind | undefined = node.provision_state === 'deploying' ? 'deploy' : node.provision_state === 'cleaning' ? 'clean' : undefined;
  if (kind === undefined || recordedPlan(node, kind) === undefined) return undefined;
  const from = resumePoint(node, kind);
  return {
    name: `${kind} (resumed from step ${from})`,
    run: (task) => (kind === 'deploy' ? resumeDeploy(ex, task, from) : resumeClean(ex, task, from)),
  };
};
