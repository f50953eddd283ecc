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
import { randomUUID } from 'node:crypto';
import { execute } from '../../command-handling/execute.ts';
import { actorForConductor } from '../../domain/metadata.ts';
import type { Node, NodeCommandOf, Step, StepKind } from '../../domain/node/index.ts';
import type { ProvisionEvent, ProvisionState } from '../../domain/provision/states.ts';
import { failureText } from '../../drivers/base.ts';
import type { Driver } from '../../drivers/hardware-type.ts';
import type { Executor } from './executor.ts';
import { firstStart, planSteps, recordedPlan, resumePoint, runSteps, wipePlan, type StepsOutcome } from './steps.ts';
import type { NodeTask, TaskCommand } from './task.ts';

/** What the user asked for (the ProvisionActionRequested event, or the command itself). */
export type ProvisionRequest = Omit<NodeCommandOf<'RequestProvisionAction'>['data'], 'uuid' | 'at'>;

export interface Operation {
  /** for logs and history: deploy, clean, verify... */
  readonly name: string;
  /** what is recorded with the reservation, before the API's request is answered (the plan of steps) */
  prepare?(node: Node): TaskCommand[];
  run(task: NodeTask): Promise<void>;
}

/** Ironic's node_history_record(..., error=True): every failure the conductor records is also an ERROR entry. */
export const errorHistory = (host: string, event: string, eventType: string): TaskCommand => ({
  type: 'RecordHistory',
  data: { entry: { uuid: randomUUID(), severity: 'ERROR', event, event_type: eventType, conductor: host, user: null } },
});

/** The history event_type of each operation's failures (Ironic's states.* names). */
const eventTypes: Record<string, string> = {
  verify: 'verify',
  clean: 'cleaning',
  deploy: 'deploying',
  'tear down': 'deleting',
  inspect: 'introspection',
  adopt: 'adoption',
  rescue: 'rescue',
  unrescue: 'unrescue',
  abort: 'provisioning',
};

/** Writes a task's commands while it may still write; false once a write is refused. */
class Flow {
  private refused = false;
  constructor(readonly ex: Executor, readonly task: NodeTask, readonly driver: Driver, readonly what: string) {}

  get stopped(): boolean {
    return this.refused || this.task.signal.aborted;
  }

  /** One append of all `commands`. */
  async apply(...commands: TaskCommand[]): Promise<boolean> {
    if (this.stopped) return false;
    if (commands.length === 0) return true;
    const r = await this.task.applyAll(commands);
    if (E.isLeft(r)) {
      this.refused = true;
      this.ex.log.warn({ node: this.task.uuid, operation: this.what, commands: commands.map((c) => c.type), err: r.left.message }, 'node task stopped: write refused');
      return false;
    }
    return true;
  }

  event(event: ProvisionEvent, lastError?: string | null): TaskCommand {
    return { type: 'ApplyProvisionEvent', data: { event, ...(lastError !== undefined ? { last_error: lastError } : {}) } };
  }

  get release(): TaskCommand {
    return this.task.releaseCommand();
  }

  /** Fires `fail` with last_error (and its history entry) and releases the node (the plan, if any, is wiped). */
  fail(lastError: string, plan?: StepKind, extra: TaskCommand[] = []): Promise<boolean> {
    return this.apply(
      ...(plan ? [wipePlan(plan)] : []),
      this.event('fail', lastError),
      errorHistory(this.task.holder.host, lastError, eventTypes[this.what] ?? 'provisioning'),
      ...extra,
      this.release,
    );
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

  /** The end of a step sequence: the pending completion when every step ran, else undefined. */
  async afterSteps(outcome: StepsOutcome, kind: StepKind, onFailure?: (message: string) => Promise<unknown>): Promise<TaskCommand[] | undefined> {
    switch (outcome.kind) {
      case 'done':
        return this.stopped ? undefined : outcome.pending;
      case 'aborted':
      case 'refused':
        return undefined;
      case 'wait':
        await this.apply(this.event('wait'), this.release);
        return undefined;
      case 'failed':
        if (onFailure) await onFailure(outcome.message);
        else await this.fail(outcome.message, kind);
        return undefined;
    }
  }
}

/** The flow of an operation; without a driver for the node, the operation fails at once. */
const flowFor = async (ex: Executor, task: NodeTask, what: string): Promise<Flow | undefined> => {
  const driver = ex.driverOf(task.node);
  if (E.isRight(driver)) return new Flow(ex, task, driver.right, what);
  ex.log.error({ node: task.uuid, err: driver.left.message }, 'no driver for the node');
  const failed = await task.applyAll([
    { type: 'ApplyProvisionEvent', data: { event: 'fail', last_error: driver.left.message } },
    errorHistory(task.holder.host, driver.left.message, eventTypes[what] ?? 'provisioning'),
    task.releaseCommand(),
  ]);
  if (E.isLeft(failed)) await task.release();
  return undefined;
};

// ---- verify (enroll → verifying) ------------------------------------------------------------------

const verify = (ex: Executor): Operation => ({
  name: 'verify',
  run: async (task) => {
    const f = await flowFor(ex, task, 'verify');
    if (!f) return;
    const read = await f.call(
      async () => {
        await f.driver.power.validate(task);
        return f.driver.power.getPowerState(task);
      },
      (e) => `Failed to get power state for node ${task.uuid}. Error: ${e}`,
    );
    if (!read) return;
    await f.apply(
      ...(read.value !== task.node.power_state ? [{ type: 'ObservePowerState', data: { power_state: read.value } } as TaskCommand] : []),
      f.event('done'),
      f.release,
    );
  },
});

// ---- cleaning ---------------------------------------------------------------------------------------

const cleaningDisabled = (ex: Executor, node: Node): boolean => !(node.automated_clean ?? ex.deps.settings.automatedClean);

/** The plan (PlanSteps) to record with the reservation; a plan error is kept for run() to fail with. */
const planner = (ex: Executor, kind: StepKind, requested: readonly Step[] | undefined, manual: boolean) => {
  let planError: string | undefined;
  const prepare = (node: Node): TaskCommand[] => {
    const driver = ex.driverOf(node);
    if (E.isLeft(driver)) return [];
    const plan = planSteps(driver.right, kind, node, requested, manual);
    if (E.isLeft(plan)) {
      planError = plan.left;
      return [];
    }
    return [{ type: 'PlanSteps', data: { kind, steps: plan.right } }, ...firstStart(kind, plan.right)];
  };
  return { prepare, error: () => planError };
};

/** Runs the recorded clean plan from `from`, then ends the cleaning (done, or manage for a manual clean). */
const cleanSteps = async (f: Flow, from: number, fromStarted = false): Promise<void> => {
  const task = f.task;
  const manual = task.node.target_provision_state === 'manageable';
  const steps = recordedPlan(task.node, 'clean') ?? [];
  const prepared = await f.call(() => f.driver.deploy.prepareCleaning(task), (e) => `Failed to prepare node ${task.uuid} for cleaning: ${e}`, 'clean');
  if (!prepared) return;
  if (prepared.value === 'wait') {
    await f.apply(f.event('wait'), f.release);
    return;
  }
  const outcome = await runSteps(task, f.driver, 'clean', steps, from, fromStarted);
  const pending = await f.afterSteps(outcome, 'clean', async (message) => {
    // cleaning_error_handler: a failed step also puts the node in maintenance (fault: clean failure)
    await f.driver.deploy.tearDownCleaning(task).catch(() => undefined);
    await f.fail(message, 'clean', [{ type: 'SetMaintenance', data: { reason: message, fault: 'clean failure' } }]);
  });
  if (!pending) return;
  const torn = await f.call(() => f.driver.deploy.tearDownCleaning(task), (e) => `Failed to tear down from cleaning for node ${task.uuid}, reason: ${e}`, 'clean');
  if (!torn) return;
  await f.apply(...pending, wipePlan('clean'), f.event(manual ? 'manage' : 'done'), f.release);
};

const clean = (ex: Executor, request: ProvisionRequest | undefined, manual: boolean): Operation => {
  const plan = planner(ex, 'clean', request?.clean_steps, manual);
  return {
    name: manual ? 'manual clean' : 'automated clean',
    prepare: (node) => (!manual && cleaningDisabled(ex, node) ? [] : plan.prepare(node)),
    run: async (task) => {
      const f = await flowFor(ex, task, 'clean');
      if (!f) return;
      if (!manual && cleaningDisabled(ex, task.node)) {
        // Ironic: "Automated cleaning is disabled, node has been successfully moved to AVAILABLE state"
        await f.apply(f.event('done'), f.release);
        return;
      }
      const error = plan.error();
      if (error !== undefined) return void (await f.fail(error, 'clean'));
      const validated = await f.call(
        async () => {
          await f.driver.power.validate(task);
          await f.driver.network.validate(task);
        },
        (e) => `Validation of node ${task.uuid} for cleaning failed: ${e}`,
        'clean',
      );
      if (!validated) return;
      await cleanSteps(f, 0, true);
    },
  };
};

/** Takeover's resumer for cleaning: the plan is in the log; continue from `fromStep`. */
export const resumeClean = async (ex: Executor, task: NodeTask, fromStep: number): Promise<void> => {
  const f = await flowFor(ex, task, 'clean');
  if (f) await cleanSteps(f, fromStep);
};

// ---- deploying --------------------------------------------------------------------------------------

const deploySteps = async (f: Flow, from: number, fromStarted = false): Promise<void> => {
  const task = f.task;
  const steps = recordedPlan(task.node, 'deploy') ?? [];
  const outcome = await runSteps(task, f.driver, 'deploy', steps, from, fromStarted);
  const pending = await f.afterSteps(outcome, 'deploy');
  if (!pending) return;
  await f.apply(
    ...pending,
    wipePlan('deploy'),
    f.event('done'),
    // Ironic records which conductor deployed it: _sync_local_state takes it over elsewhere later
    ...(task.node.conductor_affinity !== task.holder.host ? [{ type: 'UpdateNodeInternal', data: { changes: { conductor_affinity: task.holder.host } } } as TaskCommand] : []),
    f.release,
  );
};

const deploy = (ex: Executor, request: ProvisionRequest | undefined): Operation => {
  const plan = planner(ex, 'deploy', request?.deploy_steps, false);
  return {
    name: request?.verb === 'rebuild' ? 'rebuild' : 'deploy',
    prepare: (node) => [
      // Ironic keeps the configdrive in instance_info (sealed here, as every secret)
      ...(request?.configdrive !== undefined
        ? [{ type: 'UpdateNodeInternal', data: { changes: { instance_info: { ...node.instance_info, configdrive: request.configdrive } } } } as TaskCommand]
        : []),
      ...plan.prepare(node),
    ],
    run: async (task) => {
      const f = await flowFor(ex, task, 'deploy');
      if (!f) return;
      const error = plan.error();
      if (error !== undefined) return void (await f.fail(error, 'deploy'));
      const prepared = await f.call(
        async () => {
          await f.driver.deploy.prepare(task);
          await f.driver.storage.attachVolumes(task);
        },
        (e) => `Failed to prepare to deploy: ${e}`,
        'deploy',
      );
      if (!prepared) return;
      await deploySteps(f, 0, true);
    },
  };
};

/** Takeover's resumer for deployments: continue the recorded plan from `fromStep`. */
export const resumeDeploy = async (ex: Executor, task: NodeTask, fromStep: number): Promise<void> => {
  const f = await flowFor(ex, task, 'deploy');
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
    const f = await flowFor(ex, task, 'tear down');
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
    // plan the automated clean before entering it, so a takeover finds cleaning with its plan
    const cleaning = !cleaningDisabled(ex, task.node);
    if (!cleaning) {
      await f.apply(wipePlan('deploy'), f.event('clean'), f.event('done'), f.release);
      return;
    }
    const plan = planSteps(f.driver, 'clean', task.node, undefined, false);
    if (E.isLeft(plan)) return void (await f.fail(plan.left));
    if (!(await f.apply(wipePlan('deploy'), { type: 'PlanSteps', data: { kind: 'clean', steps: plan.right } }, f.event('clean'), ...firstStart('clean', plan.right)))) return;
    await cleanSteps(f, 0, true);
  },
});

// ---- inspection, adoption, rescue -------------------------------------------------------------------

const inspect = (ex: Executor): Operation => ({
  name: 'inspect',
  run: async (task) => {
    const f = await flowFor(ex, task, 'inspect');
    if (!f) return;
    const r = await f.call(() => f.driver.inspect.inspectHardware(task), (e) => `Failed to inspect hardware. Reason: ${e}`);
    if (!r) return;
    await f.apply(f.event(r.value === 'inspect wait' ? 'wait' : 'done'), f.release);
  },
});

const adopt = (ex: Executor): Operation => ({
  name: 'adopt',
  run: async (task) => {
    const f = await flowFor(ex, task, 'adopt');
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
    await f.apply(
      ...(task.node.conductor_affinity !== task.holder.host ? [{ type: 'UpdateNodeInternal', data: { changes: { conductor_affinity: task.holder.host } } } as TaskCommand] : []),
      f.event('done'),
      f.release,
    );
  },
});

const rescue = (ex: Executor, request: ProvisionRequest | undefined): Operation => ({
  name: 'rescue',
  run: async (task) => {
    const f = await flowFor(ex, task, 'rescue');
    if (!f) return;
    if (request?.rescue_password !== undefined) {
      const info = { ...task.node.instance_info, rescue_password: request.rescue_password };
      if (!(await f.apply({ type: 'UpdateNodeInternal', data: { changes: { instance_info: info } } }))) return;
    }
    const r = await f.call(() => f.driver.rescue.rescue(task), (e) => `Failed to rescue node ${task.uuid}: ${e}`);
    if (!r) return;
    await f.apply(f.event(r.value === 'rescue wait' ? 'wait' : 'done'), f.release);
  },
});

const unrescue = (ex: Executor): Operation => ({
  name: 'unrescue',
  run: async (task) => {
    const f = await flowFor(ex, task, 'unrescue');
    if (!f) return;
    const r = await f.call(() => f.driver.rescue.unrescue(task), (e) => `Failed to unrescue node ${task.uuid}: ${e}`);
    if (!r) return;
    const { rescue_password: gone, ...info } = task.node.instance_info;
    await f.apply(
      ...(gone !== undefined ? [{ type: 'UpdateNodeInternal', data: { changes: { instance_info: info } } } as TaskCommand] : []),
      f.event('done'),
      f.release,
    );
  },
});

/** After `abort` of a wait state: clean up what the wait left, and say why the node failed. */
const aborted = (ex: Executor, state: ProvisionState): Operation => ({
  name: 'abort',
  run: async (task) => {
    const f = await flowFor(ex, task, 'abort');
    if (!f) return;
    let lastError: string;
    try {
      if (state === 'clean failed') {
        await f.driver.deploy.tearDownCleaning(task);
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
    await f.apply(
      ...(state === 'clean failed' ? [wipePlan('clean')] : []),
      // the aborted wait's ramdisk is gone with its token (Ironic wipes it on power off)
      { type: 'ClearAgentToken', data: {} },
      { type: 'UpdateNodeInternal', data: { changes: { last_error: lastError } } },
      f.release,
    );
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
