// `ironlog start` (`npm start`): the whole service in one process on one machine — the API (with
// the projector), IRONLOG_CONDUCTORS conductors, and the publisher of events to NATS — over the
// embedded store unless EVENTSTORE_URL says otherwise. One process keeps the idle footprint
// small; each part is also a command of its own (`ironlog api`, `ironlog conductor`) for
// deployments that spread them over machines.

import { hostname } from 'node:os';
import { pino } from 'pino';
import { loadApiConfig } from '../api/config.ts';
import { loadConfig } from '../config/index.ts';
import { openEventStore } from '../eventstore/open.ts';
import { startPublisher } from '../publisher/index.ts';
import { ensureNats } from './local-nats.ts';
import { prepareFirstStart } from './first-start.ts';
import { releaseTranspiler } from './transpiler.ts';

export const run = async (args: string[]): Promise<number> => {
  if (args.length > 0) {
    process.stderr.write(`ironlog start: takes no arguments (configure it with environment variables, see README.md)\n`);
    return 2;
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  const base = loadConfig(env);
  const log = pino({ level: env.IRONLOG_LOG_LEVEL || 'info', base: { service: 'ironlog' } });
  const say = (m: string) => log.info(m);
  const apiConfig = loadApiConfig(env);
  prepareFirstStart(env, base.store.dataDir, apiConfig, say);

  const natsUrl = env.NATS_URL || 'nats://127.0.0.1:4222';
  let nats;
  try {
    nats = await ensureNats(natsUrl, base.store.dataDir, say);
  } catch (err) {
    process.stderr.write(`ironlog start: ${(err as Error).message}\n`);
    return 1;
  }
  env.NATS_URL = natsUrl;
  env.IRONLOG_API_CONDUCTORS = env.IRONLOG_API_CONDUCTORS || 'nats';

  let stopAll!: () => void;
  const until = new Promise<void>((resolve) => { stopAll = resolve; });
  process.once('SIGTERM', () => stopAll());
  process.once('SIGINT', () => stopAll());

  const count = Math.max(1, Number(env.IRONLOG_CONDUCTORS || 1));
  const host = env.IRONLOG_CONDUCTOR_HOST || hostname();
  const { run: runConductor } = await import('./conductor.ts');
  const { run: runApi } = await import('./api.ts');
  // once the API listens and every conductor serves, every module is loaded: the transpiler's
  // helper processes are idle memory from then on (cli/transpiler.ts)
  let waitingFor = count + 1;
  const started = () => {
    if (--waitingFor === 0) void releaseTranspiler();
  };
  const conductors: Promise<number>[] = [];
  for (let i = 0; i < count; i++) {
    const name = count === 1 ? host : `${host}-${i + 1}`;
    conductors.push(runConductor(['--host', name], { until, onStarted: started }));
  }

  // the publisher reads the log's tail once: a small page cache of its own (4 MiB, not 64)
  const publisherStore = await openEventStore({ dataDir: base.store.dataDir, eventstoreUrl: base.store.eventstoreUrl, sqlite: { cacheSizeKib: 4096 } });
  const publisher = startPublisher({
    store: publisherStore,
    natsUrl,
    dataDir: base.store.dataDir,
    log: log.child({ part: 'publisher' }),
  });

  const api = runApi([], {
    env,
    until,
    onListening: (url) => {
      say(`ironlog is up: Ironic v1 API at ${url} (${count} conductor${count > 1 ? 's' : ''}, data in ${base.store.dataDir})`);
      started();
    },
  });
  const codes = await Promise.all([api, ...conductors]);
  await publisher.stop();
  await publisherStore.close();
  await nats.stop();
  return codes.find((c) => c !== 0) ?? 0;
};
