// The agent rescue interface (Ironic's agent.AgentRescue): `rescue` boots the ramdisk and the node
// waits in `rescue wait`; the agent's heartbeat then has the conductor call
// `rescue.finalize_rescue` with the rescue password (opened from instance_info, where it is
// sealed), and the node becomes `rescue`. The rescue environment stops heartbeating after that
// (as IPA does), so its token is wiped with the continuation's end. `unrescue` powers off, boots
// the instance and powers on (→ active).

import type { Dict } from '../../domain/codecs.ts';
import type { Node } from '../../domain/node/index.ts';
import type { PowerState } from '../../domain/power/states.ts';
import { isSealed, type SealedSecret } from '../../domain/secrets.ts';
import { driverFailure, type BootInterface, type PowerInterface, type RescueInterface, type Task } from '../base.ts';
import type { AgentClient } from './client.ts';
import { agentTarget } from './deploy.ts';

export interface AgentRescueOptions {
  client: AgentClient;
  opener: () => ((s: SealedSecret) => string) | undefined;
  interfacesOf: (node: Node) => { power: PowerInterface; boot: BootInterface };
}

export interface AgentRescueInterface extends RescueInterface {
  readonly agentDriven: true;
  /** rescue.finalize_rescue on the agent (the password goes over the agent's API, as Ironic sends it) */
  finalizeRescue(task: Task): Promise<void>;
  powerAfter(task: Task): PowerState | undefined;
}

export const isAgentRescue = (r: RescueInterface): r is AgentRescueInterface => (r as Partial<AgentRescueInterface>).agentDriven === true;

export const agentRescue = (o: AgentRescueOptions): AgentRescueInterface => {
  const power = new WeakMap<object, PowerState>();
  return {
    agentDriven: true,
    getProperties: () => ({
      rescue_kernel: 'URL or Glance UUID of the rescue kernel. Optional for fake boot.',
      rescue_ramdisk: 'URL or Glance UUID of the rescue ramdisk with the agent. Optional for fake boot.',
    }),
    validate: async () => {
      if (!o.opener()) throw driverFailure('InvalidParameterValue', 'This conductor has no secret key (IRONLOG_SECRET_KEY) to open agent tokens with.');
    },
    rescue: async (task) => {
      const { boot, power: p } = o.interfacesOf(task.node);
      await boot.prepareRamdisk(task);
      await p.reboot(task);
      power.set(task, 'power on');
      return 'rescue wait';
    },
    unrescue: async (task) => {
      const { boot, power: p } = o.interfacesOf(task.node);
      await p.setPowerState(task, 'power off');
      await boot.cleanUpRamdisk(task);
      await boot.prepareInstance(task);
      await p.setPowerState(task, 'power on');
      power.set(task, 'power on');
      return 'active';
    },
    cleanUp: async (task) => o.interfacesOf(task.node).boot.cleanUpRamdisk(task),
    finalizeRescue: async (task) => {
      const sealed = (task.node.instance_info as Dict).rescue_password;
      const open = o.opener();
      if (!isSealed(sealed)) throw driverFailure('MissingParameterValue', `Node ${task.node.uuid} has no rescue_password in instance_info.`);
      if (!open) throw driverFailure('InvalidParameterValue', 'This conductor has no secret key (IRONLOG_SECRET_KEY) to open the rescue password with.');
      const reply = await o.client.execute(agentTarget(task, o.opener), 'rescue.finalize_rescue', { rescue_password: open(sealed), hashed: false }, true, task.signal);
      if (reply.command_status !== 'SUCCEEDED') throw driverFailure('InvalidState', `Agent failed to finalize rescue: ${JSON.stringify(reply.command_error ?? null)}`);
    },
    powerAfter: (task) => power.get(task),
  };
};
