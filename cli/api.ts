// `ironlog api [--dev]`: the Ironic v1-compatible REST API on IRONLOG_API_HOST:IRONLOG_API_PORT
// (127.0.0.1:6385), over the configured event store, with the projector running in this process
// (or reading the read models another process projects). Node work goes to
//   IRONLOG_API_CONDUCTORS=local (default): the in-process conductor, serving
//     IRONLOG_ENABLED_HARDWARE_TYPES (fake-hardware) as IRONLOG_CONDUCTOR_HOST (hostname);
//   IRONLOG_API_CONDUCTORS=nats: the conductors registered in the membership log, over NATS_URL
//     (they must serve the `node-command` action, api/nats-conductors.ts).
// `--dev` lets a missing IRONLOG_SECRET_KEY be generated into the data dir (conventions.md).
// SIGTERM/SIGINT stop it cleanly.

import { hostname } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../api/app.ts';
import { ConfigError, loadApiConfig } from '../api/config.ts';
import { startApiRuntime, type ApiRuntimeOptions } from '../api/runtime.ts';
import { loadConductorConfig } from '../conductor/config.ts';
import { MembershipView } from '../conductor/membership-view.ts';
import { connectNats } from '../conductor/nats.ts';
import { NodeRouter } from '../conductor/routing.ts';
import { loadConfig, readModelsFile } from '../config/index.ts';
import { openSharedEventStore } from '../eventstore/open.ts';
import { SecretKeyError, loadSecretKey } from '../secrets/key.ts';
import { createSecretBox } from '../secrets/secret-box.ts';
import { pino } from 'pino';

const usage = 'usage: ironlog api [--dev]\n';

export interface ApiRunOptions {
  env?: NodeJS.ProcessEnv;
  /** resolves to stop the API (tests, the all-in-one `start`); default: SIGTERM/SIGINT */
  until?: Promise<void>;
  /** called with the URL once listening (the port may have been chosen by the OS) */
  onListening?: (url: string) => void;
  /**
   * listen only once this settles (`ironlog start`: once its conductors serve, so a client that
   * sees the port answer never meets an empty ring — with the conductors in a worker thread they
   * start after the API is ready, not before)
   */
  listenAfter?: Promise<unknown>;
}

const listOf = (v: string | undefined): string[] | undefined => {
  const items = (v ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  return items.length ? items : undefined;
};

export const run = async (args: string[], options: ApiRunOptions = {}): Promise<number> => {
  const unknown = args.filter((a) => a !== '--dev');
  if (unknown.length > 0) {
    process.stderr.write(`ironlog api: unknown argument "${unknown[0]}"\n${usage}`);
    return 2;
  }
  const env = options.env ?? process.env;
  let apiConfig;
  let key;
  const base = loadConfig(env);
  try {
    apiConfig = loadApiConfig(env);
    key = loadSecretKey({ env, dataDir: base.store.dataDir, dev: args.includes('--dev') });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof SecretKeyError) {
      process.stderr.write(`ironlog api: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const mode = (env.IRONLOG_API_CONDUCTORS || 'local').trim();
  if (mode !== 'local' && mode !== 'nats') {
    process.stderr.write(`ironlog api: IRONLOG_API_CONDUCTORS must be "local" or "nats", got "${mode}"\n`);
    return 2;
  }
  const log = pino({ level: apiConfig.logLevel, base: { service: 'ironlog-api' } });
  const store = await openSharedEventStore({ dataDir: base.store.dataDir, eventstoreUrl: base.store.eventstoreUrl });
  let stopNats = async (): Promise<void> => undefined;
  try {
    let nats: ApiRuntimeOptions['nats'];
    if (mode === 'nats') {
      const cc = loadConductorConfig(env);
      const nc = await connectNats(cc.natsServers, { name: `ironlog-api-${hostname()}` });
      const view = new MembershipView({ store, nc, pollIntervalMs: cc.heartbeatIntervalMs, partitionExponent: cc.hashPartitionExponent });
      await view.start();
      nats = { view, router: new NodeRouter({ nc, view, rpcTimeoutMs: cc.rpcTimeoutMs, rpcDeadlineMs: cc.rpcDeadlineMs }) };
      stopNats = async () => {
        view.stop();
        await nc.drain().catch(() => undefined);
      };
    }
    const runtime = await startApiRuntime({
      ...(nats ? { nats } : {}),
      store,
      readModelsPath: join(base.store.dataDir, readModelsFile),
      readModelSettings: { nodeHistoryMaxEntries: base.projections.nodeHistoryMaxEntries },
      secrets: createSecretBox(key.key),
      conductorHost: env.IRONLOG_CONDUCTOR_HOST || hostname(),
      conductorGroup: env.IRONLOG_CONDUCTOR_GROUP || '',
      ...(listOf(env.IRONLOG_ENABLED_HARDWARE_TYPES) ? { hardwareTypes: listOf(env.IRONLOG_ENABLED_HARDWARE_TYPES)! } : {}),
      log: { warn: (o, m) => log.warn(o, m), error: (o, m) => log.error(o, m) },
    });
    try {
      const app = buildApp(runtime.deps, apiConfig, { logger: { level: apiConfig.logLevel } });
      await options.listenAfter?.catch(() => undefined);
      const url = await app.listen({ host: apiConfig.host, port: apiConfig.port });
      log.info({ url, dataDir: base.store.dataDir, auth: apiConfig.authStrategy, projector: runtime.projector ? 'in-process' : 'another process' }, 'ironlog api listening');
      options.onListening?.(url);
      await (options.until ??
        new Promise<void>((resolve) => {
          process.once('SIGTERM', () => resolve());
          process.once('SIGINT', () => resolve());
        }));
      log.info({}, 'ironlog api stopping');
      await app.close();
    } finally {
      await runtime.stop();
    }
    return 0;
  } finally {
    await stopNats();
    await store.close();
  }
};
