// The `heartbeat` action (Ironic's heartbeat RPC and agent_base's HeartbeatMixin): the API has
// checked the agent's token and callback_url and forwards the heartbeat to the node's owner, which
//   * outside `wait call-back` / `clean wait` / `rescue wait` records nothing (Ironic ignores it);
//   * on a node it is working on (busy here, or reserved) skips it (NodeLocked: the agent
//     heartbeats again);
//   * otherwise records it (agent_url, agent_version, last heartbeat), and when the node's deploy
//     interface is agent-driven (drivers/agent, `direct`) and the node is not in maintenance,
//     continues the waiting deploy or clean in a task of its own, after answering (rescue: below):
//
//   1. first heartbeat of the operation: ask the agent for its steps (get_deploy_steps /
//      get_clean_steps), keep them (driver_internal_info.agent_cached_<kind>_steps) and check it
//      offers the in-band steps the plan still holds;
//   2. the current step (the one that returned `wait`):
//        - conductor-side (the `deploy` step that booted the ramdisk): the agent is up, it is done;
//        - in-band: the agent's latest command for it says RUNNING (keep waiting, release),
//          FAILED (the operation fails), SUCCEEDED (done), or nothing (never sent: run it now);
//   3. `resume` (wait → deploying / cleaning) with the step's completion, then the rest of the
//      recorded plan through steps.ts's runSteps: each step StartStep → run → CompleteStep,
//      so a takeover resumes after the last completed step; an in-band step waits again;
//   4. the end: deploy → `done` (active), clean → tear down cleaning → `done` / `manage`; the
//      agent token and url are wiped (the ramdisk is powered off; the next boot looks up again)
//      and the power state the driver left is recorded.
//
// A failure fires `fail` (deploy failed / clean failed; a clean failure also sets maintenance,
// as Ironic's cleaning_error_handler does).
//
// In `rescue wait` with the agent rescue interface (drivers/agent/rescue.ts) the heartbeat has the
// conductor call rescue.finalize_rescue on the agent, then resume → done (rescue); the token is
// wiped, as the rescue environment heartbeats no more.

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Dict } from '../../domain/codecs.ts';
import { firstError, partial } from '../../domain/codecs.ts';
import { domainError } from '../../domain/errors.ts';
import { nodeErrors, type Node, type Step, type StepKind } from '../../domain/node/index.ts';
import { HEARTBEAT_ALLOWED_STATES } from '../../domain/provision/states.ts';
import { failureText } from '../../drivers/base.ts';
import { isAgentDriven, isAgentRescue, type AgentDeployInterface, type AgentRescueInterface } from '../../drivers/agent/index.ts';
import type { Driver } from '../../drivers/hardware-type.ts';
import { findStep } from '../../drivers/hardware-type.ts';
import type { NodeWorkHandler, WorkContext } from '../work-server.ts';
import type { Executor } from './executor.ts';
import { NodeWriter, type Envelope } from './node-writer.ts';
import { errorHistory, type Operation } from './provision.ts';
import { recordedPlan, runSteps } from './steps.ts';
import type { NodeTask, TaskCommand } from './task.ts';

export const HEARTBEAT_ACTION = 'heartbeat';

/** What the API forwards (the token stays with the API, which has checked it). */
export const HeartbeatArgsC = t.intersection([t.type({ agent_url: t.string }), partial({ agent_version: t.string, agent_verify_ca: t.string })], 'HeartbeatArgs');
export type HeartbeatArgs = t.TypeOf<typeof HeartbeatArgsC>;

const positionText = (p: bigint | undefined): string | null => (p === undefined ? null : p.toString());

const kindOf = (node: Node): StepKind | undefined =>
  node.provision_state === 'wait call-back' ? 'deploy' : node.provision_state === 'clean wait' ? 'clean' : undefined;

const describe = (s: { interface: string; step: string }): string => `${s.interface}.${s.step}`;

const stepFailure = (kind: StepKind, uuid: string, step: { interface: string; step: string }, error: string): string =>
  kind === 'clean'
    ? `Node ${uuid} failed step ${JSON.stringify({ interface: step.interface, step: step.step })}: Agent returned error: ${error}`
    : `Node ${uuid} failed deploy step ${describe(step)}: Agent returned error: ${error}`;

/** One agent-driven deploy or clean inside a node task: the helpers its continuation and its resumption share. */
class AgentFlow {
  readonly uuid: string;
  readonly host: string;
  readonly manual: boolean;

  constructor(
    readonly ex: Executor,
    readonly task: NodeTask,
    readonly driver: Driver,
    readonly deploy: AgentDeployInterface,
    readonly kind: StepKind,
  ) {
    this.uuid = task.uuid;
    this.host = task.holder.host;
    this.manual = kind === 'clean' && task.node.target_provision_state === 'manageable';
  }

  async apply(...commands: TaskCommand[]): Promise<boolean> {
    if (this.task.signal.aborted) return false;
    const r = await this.task.applyAll(commands);
    if (E.isLeft(r)) this.ex.log.warn({ node: this.uuid, commands: commands.map((c) => c.type), err: r.left.message }, 'agent-driven task stopped: write refused');
    return E.isRight(r);
  }

  /** the power state the driver's calls left the node in, when it differs from the recorded one */
  powerRecord(): TaskCommand[] {
    const p = this.deploy.powerAfter(this.task);
    return p !== undefined && p !== this.task.node.power_state ? [{ type: 'RecordPowerState', data: { power_state: p } }] : [];
  }

  /** the plan and the agent's steps go with the operation; token and url with the ramdisk (powered off) */
  wipe(): TaskCommand[] {
    const k = this.kind;
    return [
      { type: 'UpdateDriverInternalInfo', data: { set: {}, unset: [`${k}_steps`, `${k}_step_index`, `agent_cached_${k}_steps`] } },
      { type: 'ClearAgentToken', data: {} },
    ];
  }

  async fail(message: string): Promise<void> {
    const extra: TaskCommand[] = [];
    if (this.kind === 'clean') {
      // cleaning_error_handler: tear down cleaning, and the node goes to maintenance
      await this.deploy.tearDownCleaning(this.task).catch(() => undefined);
      extra.push({ type: 'SetMaintenance', data: { reason: message, fault: 'clean failure' } });
    }
    await this.apply(
      ...this.wipe(),
      ...this.powerRecord(),
      { type: 'ApplyProvisionEvent', data: { event: 'fail', last_error: message } },
      errorHistory(this.host, message, this.kind === 'clean' ? 'cleaning' : 'deploying'),
      ...extra,
      this.task.releaseCommand(),
    );
  }

  /** a driver call; its failure fails the operation (undefined: stop) */
  async call<T>(f: () => Promise<T>, message: (e: string) => string): Promise<{ value: T } | undefined> {
    try {
      return { value: await f() };
    } catch (e) {
      if (this.task.signal.aborted) return undefined;
      await this.fail(message(failureText(e)));
      return undefined;
    }
  }

  /** Runs the recorded plan from `from`, then ends the operation (or waits again for the agent). */
  async runRest(from: number, fromStarted: boolean): Promise<void> {
    const { task, kind } = this;
    const steps = recordedPlan(task.node, kind) ?? [];
    const outcome = await runSteps(task, this.driver, kind, steps, from, fromStarted);
    switch (outcome.kind) {
      case 'aborted':
      case 'refused':
        return;
      case 'wait':
        await this.apply(...this.powerRecord(), { type: 'ApplyProvisionEvent', data: { event: 'wait' } }, task.releaseCommand());
        return;
      case 'failed':
        return this.fail(outcome.message);
      case 'done':
        break;
    }
    if (kind === 'deploy') {
      await this.apply(
        ...outcome.pending,
        ...this.wipe(),
        ...this.powerRecord(),
        { type: 'ApplyProvisionEvent', data: { event: 'done' } },
        ...(task.node.conductor_affinity !== this.host ? [{ type: 'UpdateNodeInternal', data: { changes: { conductor_affinity: this.host } } } as TaskCommand] : []),
        task.releaseCommand(),
      );
      return;
    }
    const torn = await this.call(() => this.deploy.tearDownCleaning(task), (e) => `Failed to tear down from cleaning for node ${this.uuid}, reason: ${e}`);
    if (!torn) return;
    await this.apply(
      ...outcome.pending,
      ...this.wipe(),
      ...this.powerRecord(),
      { type: 'ApplyProvisionEvent', data: { event: this.manual ? 'manage' : 'done' } },
      task.releaseCommand(),
    );
  }

  /** The heartbeat's part: steps 1–3 of the header, then runRest. */
  async continueAfterHeartbeat(): Promise<void> {
    const { task, kind, deploy, uuid } = this;
    const node = task.node;
    const dii = node.driver_internal_info as Dict;
    const plan = recordedPlan(node, kind);
    const index = dii[`${kind}_step_index`];
    if (!plan || typeof index !== 'number') {
      this.ex.log.warn({ node: uuid, kind }, 'heartbeat in a wait state without a recorded plan: nothing to continue');
      await this.apply(task.releaseCommand());
      return;
    }

    // 1. the agent's steps, once per operation
    const before: TaskCommand[] = [];
    if (dii[`agent_cached_${kind}_steps`] === undefined) {
      const offered = await this.call(() => deploy.agentSteps(task, kind), (e) => `Failed to get the ${kind} steps from the agent of node ${uuid}: ${e}`);
      if (!offered) return;
      const missing = plan.slice(index).filter((s) => deploy.isInBand(kind, s.interface, s.step) && !offered.value.some((o) => o.interface === s.interface && o.step === s.step));
      if (missing.length > 0) return this.fail(`The agent of node ${uuid} does not offer the ${kind} step(s) ${missing.map(describe).join(', ')}.`);
      before.push({ type: 'UpdateDriverInternalInfo', data: { set: { [`agent_cached_${kind}_steps`]: offered.value }, unset: [] } });
    }
    // the agent runs, so the node is powered on (the reboot into the ramdisk is not recorded before the wait)
    if (node.power_state !== 'power on') before.push({ type: 'RecordPowerState', data: { power_state: 'power on' } });

    // 2. where the current step stands
    const current = (kind === 'deploy' ? node.deploy_step : node.clean_step) as Partial<Step> & Dict;
    let from = index;
    let completeCurrent = false;
    if (typeof current.interface === 'string' && typeof current.step === 'string') {
      const step = current as Step;
      if (deploy.isInBand(kind, step.interface, step.step)) {
        const status = await this.call(() => deploy.inBandStatus(task, kind, step), (e) => `Failed to get the status of ${kind} step ${describe(step)} from the agent of node ${uuid}: ${e}`);
        if (!status) return;
        switch (status.value.kind) {
          case 'running':
            await this.apply(...before, task.releaseCommand());
            return;
          case 'failed':
            return this.fail(stepFailure(kind, uuid, step, status.value.error));
          case 'succeeded':
            if (kind === 'clean' && current.abort_after === true) {
              // an abort deferred until this step ended (CleanAbortDeferred)
              const message = `By request, the clean operation was aborted after completing step ${describe(step)}`;
              await deploy.tearDownCleaning(task).catch(() => undefined);
              await this.apply(
                ...before,
                { type: 'CompleteStep', data: { kind } },
                ...this.wipe(),
                ...this.powerRecord(),
                { type: 'ApplyProvisionEvent', data: { event: 'fail', last_error: message } },
                task.releaseCommand(),
              );
              return;
            }
            from = index + 1;
            completeCurrent = true;
            break;
          case 'none':
            break;
        }
      } else if (findStep(this.driver, kind, step.interface, step.step)) {
        // a conductor-side step that waited for the ramdisk to come up: the heartbeat is its end
        from = index + 1;
        completeCurrent = true;
      }
    } else {
      from = index + 1;
    }

    // 3. resume, and the rest of the plan
    const resumed = await this.apply(...before, { type: 'ApplyProvisionEvent', data: { event: 'resume' } }, ...(completeCurrent ? [{ type: 'CompleteStep', data: { kind } } as TaskCommand] : []));
    if (!resumed) return;
    await this.runRest(from, !completeCurrent && from === index);
  }
}

/**
 * Takeover's resumer of an agent-driven deploy or clean (the node was `deploying` / `cleaning`
 * under a conductor that died): the rest of the plan from `fromStep`, ended as a heartbeat's
 * continuation ends it. Nodes with other deploy interfaces resume with `generic`.
 */
export const agentAwareResumer =
  (kind: StepKind, generic: (ex: Executor, task: NodeTask, fromStep: number) => Promise<void>) =>
  async (ex: Executor, task: NodeTask, fromStep: number): Promise<void> => {
    const driver = ex.driverOf(task.node);
    // not agent-driven, or the ramdisk never called back in this operation (the takeover came
    // before the first wait): the generic path boots the ramdisk again (prepare_cleaning, deploy step)
    if (E.isLeft(driver) || !isAgentDriven(driver.right.deploy) || typeof task.node.driver_internal_info.agent_url !== 'string') {
      return generic(ex, task, fromStep);
    }
    // the ramdisk was up when the node left its wait state; an in-band step is sent to it again
    return new AgentFlow(ex, task, driver.right, driver.right.deploy, kind).runRest(fromStep, false);
  };

/** rescue wait: the agent is up, so the conductor finalizes the rescue (Ironic's _finalize_rescue). */
const rescueContinuation = (ex: Executor, rescue: AgentRescueInterface): Operation => ({
  name: 'rescue finalized by the agent',
  run: async (task: NodeTask) => {
    const host = task.holder.host;
    const apply = async (...commands: TaskCommand[]): Promise<void> => {
      if (task.signal.aborted) return;
      const r = await task.applyAll(commands);
      if (E.isLeft(r)) ex.log.warn({ node: task.uuid, err: r.left.message }, 'rescue continuation stopped: write refused');
    };
    try {
      await rescue.finalizeRescue(task);
    } catch (e) {
      if (task.signal.aborted) return;
      const message = `Failed to finalize the rescue of node ${task.uuid}: ${failureText(e)}`;
      await apply(
        { type: 'ClearAgentToken', data: {} },
        { type: 'ApplyProvisionEvent', data: { event: 'fail', last_error: message } },
        errorHistory(host, message, 'rescue'),
        task.releaseCommand(),
      );
      return;
    }
    await apply(
      ...(task.node.power_state !== 'power on' ? [{ type: 'RecordPowerState', data: { power_state: 'power on' } } as TaskCommand] : []),
      { type: 'ApplyProvisionEvent', data: { event: 'resume' } },
      { type: 'ApplyProvisionEvent', data: { event: 'done' } },
      // the rescue environment stops heartbeating: nothing uses its token again (unrescue powers off)
      { type: 'ClearAgentToken', data: {} },
      task.releaseCommand(),
    );
  },
});

const continuation = (ex: Executor, driver: Driver, deploy: AgentDeployInterface, kind: StepKind): Operation => ({
  name: `${kind} continued by the agent`,
  run: (task: NodeTask) => new AgentFlow(ex, task, driver, deploy, kind).continueAfterHeartbeat(),
});

export const heartbeatHandler = (ex: Executor): NodeWorkHandler => async (req, ctx: WorkContext) => {
  const args = HeartbeatArgsC.decode(req.args);
  if (E.isLeft(args)) return E.left(domainError('Invalid', `Invalid heartbeat: ${firstError(args.left)}`));
  const uuid = req.node.uuid;
  if (ex.isBusy(uuid)) return E.left(ex.locked(uuid));
  ex.busy.add(uuid);
  let handedOver = false;
  try {
    const writer = new NodeWriter(ex.deps.store, uuid, ctx.fence, { hostname: ctx.writer.hostname, incarnation: ctx.writer.incarnation, epoch: ctx.ownership.epoch });
    const before = await writer.current();
    if (before.status !== 'present') return E.left(nodeErrors.nodeNotFound(uuid));
    const node = before.node;
    if (!HEARTBEAT_ALLOWED_STATES.has(node.provision_state)) {
      ex.log.info({ node: uuid, provision_state: node.provision_state }, 'heartbeat in a state that takes none: ignored');
      return E.right({ result: { position: null } });
    }
    if (node.reservation !== null) return E.left(nodeErrors.nodeLocked(uuid, node.reservation));
    const { agent_url, agent_version, agent_verify_ca } = args.right;
    const heartbeat = {
      agent_url,
      ...(agent_version !== undefined ? { agent_version } : {}),
      ...(agent_verify_ca !== undefined ? { agent_verify_ca } : {}),
    };
    const driver = ex.driverOf(node);
    const kind = kindOf(node);
    const op =
      E.isLeft(driver) || node.maintenance
        ? undefined
        : kind !== undefined && isAgentDriven(driver.right.deploy)
          ? continuation(ex, driver.right, driver.right.deploy, kind)
          : node.provision_state === 'rescue wait' && isAgentRescue(driver.right.rescue)
            ? rescueContinuation(ex, driver.right.rescue)
            : undefined;
    if (!op) {
      // recorded only: a deploy interface that takes no heartbeats, rescue wait, or maintenance
      const lead: Envelope = {
        commandId: req.commandId,
        command: { type: 'RecordAgentHeartbeat', data: { uuid, at: new Date().toISOString(), ...heartbeat } },
        actor: req.actor,
        correlationId: req.correlationId ?? req.commandId,
        causationId: req.commandId,
      };
      const r = await writer.write(() => E.right([lead]), () => req.node);
      if (E.isLeft(r)) return r;
      return E.right({ result: { position: positionText(r.right.position) }, duplicate: r.right.duplicate });
    }
    const started = await ex.start(
      { node, fence: ctx.fence, writer: ctx.writer, epoch: ctx.ownership.epoch, opId: req.commandId, nodeWriter: writer, ...(req.correlationId !== undefined ? { correlationId: req.correlationId } : {}) },
      op,
      undefined,
      [{ type: 'RecordAgentHeartbeat', data: heartbeat }],
    );
    if (E.isLeft(started)) return started;
    handedOver = !started.right.written.duplicate;
    return E.right({ result: { position: positionText(started.right.written.position) }, duplicate: started.right.written.duplicate });
  } finally {
    if (!handedOver) ex.busy.delete(uuid);
  }
};
