// The agent deploy interface, Ironic's `direct` (ironic/drivers/modules/agent.py AgentDeploy with
// agent_base's HeartbeatMixin): the node boots the ramdisk, its agent looks the node up and
// heartbeats, and the conductor drives the deployment or the cleaning through the agent's command
// API (client.ts) on every heartbeat (conductor/executor/agent-heartbeat.ts).
//
// Deploy steps (reference §7.3 priorities):
//   deploy                100  boot the ramdisk (boot.prepare_ramdisk, power reboot) → wait call-back
//   write_image            80  in-band: deploy.execute_deploy_step on the agent (the image write)
//   prepare_instance_boot  60  boot.prepare_instance
//   tear_down_agent        40  standby.sync + standby.power_off on the agent, then power off
//   boot_instance          20  power on into the instance
// Clean steps (in-band, the agent's GenericHardwareManager): erase_devices_metadata 99,
// erase_devices 0 (manual only, as deployments commonly set [deploy]erase_devices_priority=0).
// prepare_cleaning boots the ramdisk (→ clean wait); tear_down_cleaning powers off.
//
// An in-band step posts its command without waiting and returns `wait`: the node waits, and the
// agent's next heartbeat says (through `inBandStatus`) whether the command finished. Power
// changes a step makes are remembered per task (`powerAfter`) for the executor to record: the
// driver itself writes nothing.

import type { Dict } from '../../domain/codecs.ts';
import type { Node, Step, StepKind } from '../../domain/node/index.ts';
import type { PowerState } from '../../domain/power/states.ts';
import { isSealed, type SealedSecret } from '../../domain/secrets.ts';
import { driverFailure, type BootInterface, type DeployInterface, type PowerInterface, type StepSpec, type Task } from '../base.ts';
import { AgentInProgress, type AgentClient, type AgentCommand, type AgentTarget } from './client.ts';

export interface AgentDeployOptions {
  client: AgentClient;
  /** opens a sealed secret (the agent token); undefined when this conductor has no secret key */
  opener: () => ((s: SealedSecret) => string) | undefined;
  /** the node's power and boot interfaces, as the executor resolves them (Ironic's task.driver) */
  interfacesOf: (node: Node) => { power: PowerInterface; boot: BootInterface };
  /** how long a best-effort call to the agent may take (power off at the end) */
  bestEffortTimeoutMs?: number;
}

export type InBandStatus =
  | { kind: 'none' }
  | { kind: 'running' }
  | { kind: 'succeeded'; result: unknown }
  | { kind: 'failed'; error: string };

/** What the heartbeat continuation needs beyond Ironic's DeployInterface. */
export interface AgentDriven {
  readonly agentDriven: true;
  /** is this step run by the agent (its completion comes with a heartbeat)? */
  isInBand(kind: StepKind, iface: string, step: string): boolean;
  /** the in-band steps the agent offers (get_deploy_steps / get_clean_steps) */
  agentSteps(task: Task, kind: StepKind): Promise<Step[]>;
  /** what the agent says of the latest command that ran this step */
  inBandStatus(task: Task, kind: StepKind, step: Step): Promise<InBandStatus>;
  /** the power state this task's driver calls left the node in, if they changed it */
  powerAfter(task: Task): PowerState | undefined;
}
export type AgentDeployInterface = DeployInterface & AgentDriven;

export const isAgentDriven = (d: DeployInterface): d is AgentDeployInterface => (d as Partial<AgentDriven>).agentDriven === true;

const commandName = (kind: StepKind): string => `${kind}.execute_${kind}_step`;

/** The instance_info keys the agent needs for the image; nothing secret (configdrive stays home). */
const IMAGE_KEYS = ['image_source', 'image_checksum', 'image_os_hash_algo', 'image_os_hash_value', 'image_disk_format', 'image_type', 'root_gb'];
const nodeInfo = (node: Node): Dict => ({
  uuid: node.uuid,
  instance_info: Object.fromEntries(IMAGE_KEYS.filter((k) => node.instance_info[k] !== undefined).map((k) => [k, node.instance_info[k]])),
});

/** Ironic's AgentDeploy write_image args: image_info built from instance_info. */
const imageInfo = (node: Node): Dict => {
  const ii = node.instance_info;
  const source = String(ii.image_source);
  return {
    image_info: {
      id: source.split('/').pop() ?? source,
      urls: [source],
      ...(ii.image_checksum !== undefined ? { checksum: ii.image_checksum } : {}),
      ...(ii.image_os_hash_algo !== undefined ? { os_hash_algo: ii.image_os_hash_algo } : {}),
      ...(ii.image_os_hash_value !== undefined ? { os_hash_value: ii.image_os_hash_value } : {}),
      disk_format: ii.image_disk_format ?? 'raw',
      container_format: 'bare',
      node_uuid: node.uuid,
      image_type: ii.image_type ?? 'whole-disk',
    },
  };
};

const errorOf = (c: AgentCommand): string => {
  const e = c.command_error as { message?: unknown; details?: unknown } | string | null | undefined;
  if (typeof e === 'string') return e;
  if (e && typeof e.details === 'string' && e.details !== '') return e.details;
  if (e && typeof e.message === 'string') return e.message;
  return JSON.stringify(e ?? null);
};

const sameStep = (params: unknown, step: Step): boolean => {
  const s = (params as { step?: { interface?: unknown; step?: unknown } } | undefined)?.step;
  return s?.interface === step.interface && s?.step === step.step;
};

/** Where the node's agent is (the url its heartbeats gave) and its token, opened. */
export const agentTarget = (task: Task, opener: AgentDeployOptions['opener']): AgentTarget => {
  const dii = task.node.driver_internal_info as Dict;
  const url = dii.agent_url;
  if (typeof url !== 'string' || url === '') throw driverFailure('InvalidState', `No agent_url for node ${task.node.uuid}: its agent has not heartbeated.`);
  const sealed = dii.agent_secret_token;
  if (!isSealed(sealed)) throw driverFailure('InvalidState', `Node ${task.node.uuid} has no agent token.`);
  const open = opener();
  if (!open) throw driverFailure('InvalidParameterValue', 'This conductor has no secret key (IRONLOG_SECRET_KEY) to open the agent token with.');
  return { url, token: open(sealed) };
};

export const agentDeploy = (o: AgentDeployOptions): AgentDeployInterface => {
  const power = new WeakMap<object, PowerState>();
  const bestEffortMs = o.bestEffortTimeoutMs ?? 5000;
  const target = (task: Task): AgentTarget => agentTarget(task, o.opener);

  const setPower = async (task: Task, state: 'power on' | 'power off'): Promise<void> => {
    await o.interfacesOf(task.node).power.setPowerState(task, state);
    power.set(task, state);
  };

  const reboot = async (task: Task): Promise<void> => {
    await o.interfacesOf(task.node).power.reboot(task);
    power.set(task, 'power on');
  };

  /** a call whose failure changes nothing (the ramdisk may already be gone) */
  const bestEffort = async (task: Task, name: string, wait: boolean): Promise<void> => {
    let t: AgentTarget;
    try {
      t = target(task);
    } catch {
      return;
    }
    await o.client.execute(t, name, {}, wait, AbortSignal.any([task.signal, AbortSignal.timeout(bestEffortMs)])).catch(() => undefined);
  };

  const inBand = (kind: StepKind, name: string, priority: number, abortable: boolean, argsFor?: (node: Node) => Dict): StepSpec => ({
    step: name,
    priority,
    abortable,
    run: async (task, args) => {
      const step = { interface: 'deploy', step: name, priority, abortable, reboot_requested: false, args: { ...args, ...(argsFor?.(task.node) ?? {}) } };
      let reply: AgentCommand;
      try {
        reply = await o.client.execute(target(task), commandName(kind), { step, node: nodeInfo(task.node), ports: [] }, false, task.signal);
      } catch (e) {
        // the agent is busy with an earlier command: wait, the next heartbeat tries again
        if (e instanceof AgentInProgress) return 'wait';
        throw e;
      }
      if (reply.command_status === 'FAILED') throw driverFailure('InvalidState', `Agent returned error for ${kind} step ${JSON.stringify({ interface: 'deploy', step: name })}: ${errorOf(reply)}`);
      return 'wait';
    },
  });

  const conductorSide = (name: string, priority: number, run: StepSpec['run']): StepSpec => ({ step: name, priority, abortable: false, run });

  const deploySteps: readonly StepSpec[] = [
    conductorSide('deploy', 100, async (task) => {
      await o.interfacesOf(task.node).boot.prepareRamdisk(task);
      await reboot(task);
      return 'wait';
    }),
    inBand('deploy', 'write_image', 80, false, imageInfo),
    conductorSide('prepare_instance_boot', 60, async (task) => {
      await o.interfacesOf(task.node).boot.prepareInstance(task);
      return 'done';
    }),
    conductorSide('tear_down_agent', 40, async (task) => {
      await bestEffort(task, 'standby.sync', true);
      await bestEffort(task, 'standby.power_off', false);
      await setPower(task, 'power off');
      return 'done';
    }),
    conductorSide('boot_instance', 20, async (task) => {
      await o.interfacesOf(task.node).boot.cleanUpRamdisk(task);
      await setPower(task, 'power on');
      return 'done';
    }),
  ];
  const cleanSteps: readonly StepSpec[] = [inBand('clean', 'erase_devices_metadata', 99, true), inBand('clean', 'erase_devices', 0, true)];
  const inBandNames: Record<StepKind, ReadonlySet<string>> = { deploy: new Set(['write_image']), clean: new Set(['erase_devices_metadata', 'erase_devices']) };

  return {
    agentDriven: true,
    getProperties: () => ({
      deploy_forces_oob_reboot: 'Whether Ironic should force a reboot of the node via out-of-band (the power interface) at the end of a deployment. Optional.',
    }),
    validate: async (task) => {
      const ii = task.node.instance_info;
      if (typeof ii.image_source !== 'string' || ii.image_source === '') {
        throw driverFailure('MissingParameterValue', "Some parameters were missing in node's instance_info. Missing are: ['image_source']");
      }
      if (ii.image_checksum === undefined && ii.image_os_hash_value === undefined) {
        throw driverFailure('MissingParameterValue', "Some parameters were missing in node's instance_info. Missing are: ['image_checksum']");
      }
      if (!o.opener()) throw driverFailure('InvalidParameterValue', 'This conductor has no secret key (IRONLOG_SECRET_KEY) to open agent tokens with.');
    },
    deploySteps,
    cleanSteps,
    prepare: async () => undefined,
    tearDown: async (task) => {
      await setPower(task, 'power off');
      return 'deleted';
    },
    cleanUp: async (task) => o.interfacesOf(task.node).boot.cleanUpRamdisk(task),
    takeOver: async () => undefined,
    prepareCleaning: async (task) => {
      await o.interfacesOf(task.node).boot.prepareRamdisk(task);
      await reboot(task);
      return 'wait';
    },
    tearDownCleaning: async (task) => {
      await bestEffort(task, 'standby.power_off', false);
      await setPower(task, 'power off');
      await o.interfacesOf(task.node).boot.cleanUpRamdisk(task);
    },

    isInBand: (kind, iface, step) => iface === 'deploy' && inBandNames[kind].has(step),
    agentSteps: async (task, kind) => {
      const reply = await o.client.execute(target(task), `${kind}.get_${kind}_steps`, { node: nodeInfo(task.node), ports: [] }, true, task.signal);
      if (reply.command_status !== 'SUCCEEDED') throw driverFailure('InvalidState', `Agent returned error for get_${kind}_steps: ${errorOf(reply)}`);
      const byManager = (reply.command_result as Record<string, unknown> | null | undefined)?.[`${kind}_steps`];
      if (typeof byManager !== 'object' || byManager === null) throw driverFailure('InvalidState', `The agent's get_${kind}_steps result has no ${kind}_steps.`);
      const steps: Step[] = [];
      for (const list of Object.values(byManager as Record<string, unknown>)) {
        if (!Array.isArray(list)) continue;
        for (const s of list as Array<Record<string, unknown>>) {
          if (typeof s.interface === 'string' && typeof s.step === 'string') {
            steps.push({ interface: s.interface, step: s.step, priority: typeof s.priority === 'number' ? s.priority : 0 });
          }
        }
      }
      return steps;
    },
    inBandStatus: async (task, kind, step) => {
      const commands = await o.client.commands(target(task), task.signal);
      const last = commands.filter((c) => c.command_name === commandName(kind) && sameStep(c.command_params, step)).at(-1);
      if (!last) return { kind: 'none' };
      if (last.command_status === 'RUNNING') return { kind: 'running' };
      if (last.command_status === 'SUCCEEDED') return { kind: 'succeeded', result: last.command_result };
      return { kind: 'failed', error: errorOf(last) };
    },
    powerAfter: (task) => power.get(task),
  };
};

