// `ironlog conductor --host NAME [--group G]`: one conductor process. It reads the same variables
// as `npm start` (conventions.md, conductor/README.md); flags override IRONLOG_CONDUCTOR_HOST and
// IRONLOG_CONDUCTOR_GROUP. SIGTERM/SIGINT is a clean shutdown (finish taken work, leave the ring).
// It serves node work with the provisioning executor (conductor/executor/) unless the caller
// plugs in its own handlers or resumers (the conductor tests do).

import { pino } from 'pino';
import { loadConfig } from '../config/index.ts';
import { openSharedEventStore } from '../eventstore/open.ts';
import type { ConductorConfig } from '../conductor/config.ts';
import { connectNats } from '../conductor/nats.ts';
import { startConductor, type Conductor } from '../conductor/conductor.ts';
import { startTakeover, type Resumer, type Takeover } from '../conductor/takeover.ts';
import type { AnyWorkHandler, NodeWorkHandler } from '../conductor/work-server.ts';
import type { Log } from '../conductor/log.ts';
import { conductorExecutor, type ConductorExecutor } from '../conductor/executor/index.ts';
import type { HardwareInterfaces, ResumableOperation } from '../domain/conductor/index.ts';
import type { EventStore } from '../eventstore/port.ts';

const usage = 'usage: ironlog conductor [--host NAME] [--group GROUP]\n';

/** What handlers and resumers get to work with. */
export interface ConductorRuntime {
  store: EventStore;
  config: ConductorConfig;
  log: Log;
  conductor: () => Conductor;
  /** takeover and its tracker of running operations (available once started) */
  takeover: () => Takeover;
}

export interface ConductorExtras {
  /** node work handlers by action (provisioning, power...) */
  handlers?: (rt: ConductorRuntime) => Record<string, NodeWorkHandler>;
  /** work not about one node (driver properties...), served to any conductor of the group */
  anyHandlers?: (rt: ConductorRuntime) => Record<string, AnyWorkHandler>;
  /** how to resume operations with recorded steps after a takeover */
  resumers?: (rt: ConductorRuntime) => Partial<Record<ResumableOperation, Resumer>>;
  /** the hardware interfaces to register (default: every interface `fake`, network `noop`) */
  interfaces?: (rt: ConductorRuntime) => HardwareInterfaces;
  /** periodic work started once the conductor serves; returns its stop (which may wait for running tasks) */
  background?: (rt: ConductorRuntime) => () => Promise<void>;
  /** called once the conductor is registered and serving */
  onStarted?: (rt: ConductorRuntime) => void;
  /** resolves to stop the conductor (tests, the all-in-one `start`); default: SIGTERM/SIGINT */
  until?: Promise<void>;
}

export const parseArgs = (args: string[]): { host?: string; group?: string } | string => {
  const out: { host?: string; group?: string } = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (flag !== '--host' && flag !== '--group') return `unknown argument "${a}"`;
    const value = inline ?? args[++i];
    if (value === undefined) return `${flag} needs a value`;
    if (flag === '--host') out.host = value;
    else out.group = value;
  }
  return out;
};

/** The provisioning executor as `run`'s extras: node work, resumers, pickup and power sync. */
export const executorExtras = (): ConductorExtras => {
  let exec: ConductorExecutor | undefined;
  const get = (rt: ConductorRuntime) => (exec ??= conductorExecutor(rt));
  return {
    handlers: (rt) => get(rt).handlers,
    anyHandlers: (rt) => get(rt).anyHandlers,
    resumers: (rt) => get(rt).resumers,
    interfaces: (rt) => get(rt).interfaces,
    background: (rt) => {
      const started = get(rt).start();
      return async () => {
        started.stop();
        // Ironic's graceful shutdown: let running tasks finish; whatever is left is taken over
        await get(rt).executor.drain(rt.config.gracefulShutdownTimeoutS * 1000);
      };
    },
  };
};

export const run = async (args: string[], given: ConductorExtras = {}): Promise<number> => {
  const extras: ConductorExtras = given.handlers || given.resumers ? given : { ...executorExtras(), ...given };
  const parsed = parseArgs(args);
  if (typeof parsed === 'string') {
    process.stderr.write(`ironlog conductor: ${parsed}\n${usage}`);
    return 2;
  }
  const env = { ...process.env };
  if (parsed.host !== undefined) env.IRONLOG_CONDUCTOR_HOST = parsed.host;
  if (parsed.group !== undefined) env.IRONLOG_CONDUCTOR_GROUP = parsed.group;
  const base = loadConfig(env);
  const config = base.conductor;
  const log = pino({ level: env.IRONLOG_LOG_LEVEL || 'info', base: { conductor: config.host } });

  const store = await openSharedEventStore({ dataDir: base.store.dataDir, eventstoreUrl: base.store.eventstoreUrl });
  const nc = await connectNats(config.natsServers, { name: `ironlog-conductor-${config.host}` });
  let conductor: Conductor | undefined;
  let takeover: Takeover | undefined;
  const rt: ConductorRuntime = {
    store,
    config,
    log,
    conductor: () => {
      if (!conductor) throw new Error('conductor not started yet');
      return conductor;
    },
    takeover: () => {
      if (!takeover) throw new Error('takeover not started yet');
      return takeover;
    },
  };
  try {
    const interfaces = extras.interfaces?.(rt);
    conductor = await startConductor(config, {
      store,
      nc,
      log,
      handlers: extras.handlers?.(rt) ?? {},
      ...(extras.anyHandlers ? { anyHandlers: extras.anyHandlers(rt) } : {}),
      ...(interfaces ? { interfaces } : {}),
    });
    takeover = await startTakeover({
      conductor,
      store,
      log,
      resumers: extras.resumers?.(rt) ?? {},
      timeouts: config.callbackTimeouts,
      periodicMs: config.checkProvisionStateIntervalS * 1000,
    });
    const stopBackground = extras.background?.(rt);
    extras.onStarted?.(rt);
    log.info({ group: config.group, hardwareTypes: config.hardwareTypes, epoch: conductor.view.state.epoch, nats: config.natsServers }, 'conductor started');

    await (extras.until ??
      new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      }));
    log.info({}, 'conductor stopping');
    await conductor.server.stop();
    await stopBackground?.();
    await takeover.stop();
    await conductor.stop({ leave: true });
    return 0;
  } finally {
    await nc.drain().catch(() => undefined);
    await store.close();
  }
};
