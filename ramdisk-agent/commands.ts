// The agent's command extensions (IPA's deploy, clean and standby extensions), the subset the
// conductor's agent deploy uses, and the record of every command of this ramdisk session
// (GET /v1/commands). One command runs at a time: another request meanwhile is AgentIsBusy (409).

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentError, decodeOrThrow, ExecuteStepParamsC, FinalizeRescueParamsC, ImageInfoC, type Step } from './codecs.ts';
import { writeImage } from './image.ts';

export type CommandStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface CommandRecord {
  id: string;
  command_name: string;
  command_params: Record<string, unknown>;
  command_status: CommandStatus;
  command_error: ReturnType<AgentError['toJSON']> | null;
  command_result: Record<string, unknown> | null;
}

export interface ExtensionContext {
  imageDir: string;
  log: (msg: string, extra?: Record<string, unknown>) => void;
  /** standby.power_off, rescue.finalize_rescue: this ramdisk session ends once the reply is sent */
  endSession: (why: string) => void;
}

type Handler = (params: Record<string, unknown>, ctx: ExtensionContext) => Promise<Record<string, unknown>>;

/** the rescue password (hashed) set by rescue.finalize_rescue, for whoever logs into the rescue environment */
let rescueHash: string | undefined;
export const rescuePasswordHash = (): string | undefined => rescueHash;

const MANAGER_VERSION = { generic_hardware_manager: '1.2' };

/** In-band steps this ramdisk offers (GenericHardwareManager's, reduced). */
export const DEPLOY_STEPS = [
  {
    interface: 'deploy',
    step: 'write_image',
    priority: 80,
    reboot_requested: false,
    abortable: false,
    argsinfo: { image_info: { description: 'Information about the image to write', required: true } },
  },
];
export const CLEAN_STEPS = [
  { interface: 'deploy', step: 'erase_devices_metadata', priority: 99, reboot_requested: false, abortable: true },
  { interface: 'deploy', step: 'erase_devices', priority: 0, reboot_requested: false, abortable: true },
];

const known = (steps: ReadonlyArray<{ interface: string; step: string }>, step: Step, kind: string): void => {
  if (!steps.some((s) => s.interface === step.interface && s.step === step.step)) {
    throw new AgentError(`${kind === 'deploy' ? 'Deploy' : 'Clean'}StepError`, 400, `Unknown ${kind} step ${step.interface}.${step.step}`);
  }
};

const handlers: Record<string, Handler> = {
  'deploy.get_deploy_steps': async () => ({ deploy_steps: { GenericHardwareManager: DEPLOY_STEPS }, hardware_manager_version: MANAGER_VERSION }),
  'deploy.execute_deploy_step': async (params, ctx) => {
    const { step } = decodeOrThrow(ExecuteStepParamsC, params, 'deploy step params');
    known(DEPLOY_STEPS, step, 'deploy');
    const info = decodeOrThrow(ImageInfoC, (step.args ?? {}).image_info, 'image_info');
    const written = await writeImage(ctx.imageDir, info);
    ctx.log('image written', { image: info.id, path: written.path, bytes: written.bytes, verified_with: written.algo });
    return { deploy_result: { path: written.path, bytes: written.bytes }, deploy_step: step };
  },
  'clean.get_clean_steps': async () => ({ clean_steps: { GenericHardwareManager: CLEAN_STEPS }, hardware_manager_version: MANAGER_VERSION }),
  'clean.execute_clean_step': async (params, ctx) => {
    const { step } = decodeOrThrow(ExecuteStepParamsC, params, 'clean step params');
    known(CLEAN_STEPS, step, 'clean');
    if (step.step === 'erase_devices_metadata') {
      // nothing to wipe on a directory disk: the step only says it ran
      ctx.log('clean step ran', { step: 'erase_devices_metadata' });
      return { clean_result: { erased_metadata: true }, clean_step: step };
    }
    // erase_devices: the images written to this "disk" go
    const names = await readdir(ctx.imageDir).catch(() => [] as string[]);
    await Promise.all(names.map((n) => rm(join(ctx.imageDir, n), { force: true, recursive: true })));
    ctx.log('clean step ran', { step: 'erase_devices', removed: names.length });
    return { clean_result: { removed: names.length }, clean_step: step };
  },
  'standby.sync': async () => ({}),
  'standby.power_off': async (_params, ctx) => {
    ctx.endSession('powered off by the conductor');
    return {};
  },
  'rescue.finalize_rescue': async (params, ctx) => {
    const { rescue_password, hashed } = decodeOrThrow(FinalizeRescueParamsC, params, 'finalize_rescue params');
    if (rescue_password === '') throw new AgentError('InvalidCommandParamsError', 400, 'An empty rescue password');
    // IPA writes the crypt hash for the rescue user; this ramdisk keeps a salted hash and says so
    const salt = randomBytes(8).toString('hex');
    rescueHash = hashed ? rescue_password : `sha512$${salt}$${createHash('sha512').update(salt + rescue_password).digest('hex')}`;
    ctx.log('rescue finalized', { hashed: hashed ?? false });
    // the rescue environment heartbeats no more (IPA stops its heartbeater)
    ctx.endSession('rescue finalized');
    return {};
  },
};

export const isKnownCommand = (name: string): boolean => name in handlers;

export class CommandRunner {
  private list: CommandRecord[] = [];

  constructor(private readonly ctx: ExtensionContext, private readonly onDone: (c: CommandRecord) => void) {}

  all(): readonly CommandRecord[] {
    return this.list;
  }

  get(id: string): CommandRecord | undefined {
    return this.list.find((c) => c.id === id);
  }

  /** A new ramdisk session (after a power off) starts with no commands. */
  reset(): void {
    this.list = [];
  }

  /** Starts a command; resolves when it has ended (the record is visible at once as RUNNING). */
  start(name: string, params: Record<string, unknown>): { record: CommandRecord; done: Promise<CommandRecord> } {
    const handler = handlers[name];
    if (!handler) throw new AgentError('InvalidCommandError', 400, `Unknown command: ${name}`);
    const last = this.list.at(-1);
    if (last && last.command_status === 'RUNNING') {
      throw new AgentError('AgentIsBusy', 409, 'Agent is busy', `Command ${last.command_name} (${last.id}) is still running`);
    }
    const record: CommandRecord = { id: randomUUID(), command_name: name, command_params: params, command_status: 'RUNNING', command_error: null, command_result: null };
    this.list.push(record);
    const done = (async () => {
      try {
        record.command_result = await handler(params, this.ctx);
        record.command_status = 'SUCCEEDED';
      } catch (e) {
        const err = e instanceof AgentError ? e : new AgentError('CommandExecutionError', 500, e instanceof Error ? e.message : String(e));
        record.command_error = err.toJSON();
        record.command_status = 'FAILED';
        this.ctx.log('command failed', { command: name, error: err.message });
      }
      this.onDone(record);
      return record;
    })();
    return { record, done };
  }
}
