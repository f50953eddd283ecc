// The provisioning executor: what a conductor does with the node work it receives (Ironic's
// conductor manager), over the drivers of drivers/. Plugged into `ironlog conductor` through
// cli/conductor.ts `run(args, extras)`; conductor/README.md lists its actions.

import type { HardwareInterfaces, ResumableOperation } from '../../domain/conductor/index.ts';
import type { Node } from '../../domain/node/index.ts';
import type { EventStore } from '../../eventstore/port.ts';
import { registeredInterfaces, type HardwareType } from '../../drivers/hardware-type.ts';
import { hardwareTypes as builtInHardwareTypes } from '../../drivers/registry.ts';
import type { ConductorConfig } from '../config.ts';
import type { Conductor } from '../conductor.ts';
import type { Log } from '../log.ts';
import type { ResumeContext, Resumer, Takeover } from '../takeover.ts';
import type { AnyWorkHandler, NodeWorkHandler } from '../work-server.ts';
import { agentAwareResumer, HEARTBEAT_ACTION, heartbeatHandler } from './agent-heartbeat.ts';
import { Executor } from './executor.ts';
import { driverHandlers, indicatorHandlers } from './extensions.ts';
import { NODE_COMMAND_ACTION, nodeCommandHandler } from './node-command.ts';
import { startPickup, type Pickup } from './pickup.ts';
import { startPowerSync, type PowerSync } from './power-sync.ts';
import { resumeClean, resumeDeploy } from './provision.ts';
import { anyHandlers, queryHandlers } from './queries.ts';
import type { NodeTask } from './task.ts';

export { NODE_COMMAND_ACTION } from './node-command.ts';

/** What the executor needs from its conductor process (cli/conductor.ts ConductorRuntime fits). */
export interface ExecutorRuntime {
  store: EventStore;
  config: ConductorConfig;
  log: Log;
  conductor: () => Conductor;
  takeover: () => Takeover;
}

export interface ConductorExecutor {
  readonly executor: Executor;
  handlers: Record<string, NodeWorkHandler>;
  anyHandlers: Record<string, AnyWorkHandler>;
  resumers: Partial<Record<ResumableOperation, Resumer>>;
  /** the interfaces to register in the membership log, per hardware type served */
  interfaces: HardwareInterfaces;
  /** starts the periodic work once the conductor serves (pickup, power sync); returns its stop */
  start(): { pickup: Pickup; powerSync: PowerSync; stop(): void };
}

export interface ExecutorOptions {
  /** hardware types by name (default: drivers/registry.ts with the configured fake delay) */
  hardwareTypes?: ReadonlyMap<string, HardwareType>;
}

export const conductorExecutor = (rt: ExecutorRuntime, o: ExecutorOptions = {}): ConductorExecutor => {
  const { config } = rt;
  const types = o.hardwareTypes ?? builtInHardwareTypes({ fake: { stepDelayMs: config.fakeStepDelayMs } });
  const ex = new Executor({
    host: config.host,
    store: rt.store,
    log: rt.log,
    conductor: rt.conductor,
    takeover: rt.takeover,
    hardwareTypes: types,
    settings: {
      automatedClean: config.automatedClean,
      syncPowerStateIntervalS: config.syncPowerStateIntervalS,
      powerStateSyncMaxRetries: config.powerStateSyncMaxRetries,
      pickupIntervalS: config.checkProvisionStateIntervalS,
    },
  });
  let pickup: Pickup | undefined;

  const resumer =
    (run: (ex: Executor, task: NodeTask, fromStep: number) => Promise<void>): Resumer =>
    async (node: Node, fromStep: number, ctx: ResumeContext) => {
      ex.busy.add(node.uuid);
      try {
        const writer = rt.conductor().membership.writer;
        const task = ex.newTask({ node, fence: ctx.fence, writer, epoch: ctx.holder.ring_epoch, opId: ex.opId('resume', node.uuid) }, ctx.signal);
        await run(ex, task, fromStep);
      } finally {
        ex.busy.delete(node.uuid);
      }
    };

  const interfaces: HardwareInterfaces = {};
  for (const name of config.hardwareTypes) {
    const hw = types.get(name);
    if (hw) interfaces[name] = registeredInterfaces(hw);
    else rt.log.warn({ hardwareType: name }, 'no driver for an enabled hardware type: its nodes cannot be provisioned');
  }

  return {
    executor: ex,
    handlers: {
      [NODE_COMMAND_ACTION]: nodeCommandHandler(ex, (uuid) => pickup?.check(uuid)),
      ...queryHandlers(ex),
      [HEARTBEAT_ACTION]: heartbeatHandler(ex),
      ...indicatorHandlers(ex),
    },
    anyHandlers: { ...anyHandlers(ex), ...driverHandlers(ex) },
    resumers: { deploy: resumer(agentAwareResumer('deploy', resumeDeploy)), clean: resumer(agentAwareResumer('clean', resumeClean)) },
    interfaces,
    start: () => {
      pickup = startPickup(ex, Math.max(1, config.checkProvisionStateIntervalS) * 1000);
      const powerSync = startPowerSync(ex, config.syncPowerStateIntervalS * 1000, config.powerStateSyncMaxRetries);
      const started = pickup;
      return {
        pickup: started,
        powerSync,
        stop: () => {
          started.stop();
          powerSync.stop();
        },
      };
    },
  };
};
