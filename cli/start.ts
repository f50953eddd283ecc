// `ironlog start` (`npm start`): the whole service in one process on one machine — the API (with
// the projector), IRONLOG_CONDUCTORS conductors, and the publisher of events to NATS — over the
// embedded store unless EVENTSTORE_URL says otherwise. One process keeps the idle footprint
// small; each part is also a command of its own (`ironlog api`, `ironlog conductor`) for
// deployments that spread them over machines. IRONLOG_START_WORKER=1 runs the conductors and the
// publisher in a worker thread (cli/start-background.ts): two cores, ~40 MB more idle RSS.
// The API listens once the conductors serve, so the first request finds a conductor.

import { hostname } from 'node:os';
import { typescriptWorker } from '../runtime/typescript-worker.ts';
import { pino } from 'pino';
import { loadApiConfig } from '../api/config.ts';
import { loadConfig } from '../config/index.ts';
import type { BackgroundJob, BackgroundMessage } from './start-background.ts';
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
  const hosts = Array.from({ length: count }, (_, i) => (count === 1 ? host : `${host}-${i + 1}`));
  const { run: runApi } = await import('./api.ts');
  // once the API listens and the conductors serve, every module is loaded: the transpiler's
  // helper processes are idle memory from then on (cli/transpiler.ts)
  let waitingFor = 2;
  const started = () => {
    if (--waitingFor === 0) void releaseTranspiler();
  };
  const job: BackgroundJob = { hosts, natsUrl };
  let backgroundServes!: () => void;
  const serving = new Promise<void>((resolve) => { backgroundServes = resolve; });
  const onBackgroundStarted = () => {
    backgroundServes();
    started();
  };
  const background = env.IRONLOG_START_WORKER === '1' ? inWorker(job, until, onBackgroundStarted) : inThisThread(job, until, onBackgroundStarted);
  // a background that fails stops everything (and is the exit code's reason)
  void background.then(undefined, () => {
    backgroundServes();
    stopAll();
  });

  const api = runApi([], {
    env,
    until,
    listenAfter: serving,
    onListening: (url) => {
      const where = env.IRONLOG_START_WORKER === '1' ? ' and the publisher in a worker thread' : '';
      say(`ironlog is up: Ironic v1 API at ${url} (${count} conductor${count > 1 ? 's' : ''}${where}, data in ${base.store.dataDir})`);
      started();
    },
  });
  const codes = await Promise.all([api, background]);
  await nats.stop();
  return codes.find((c) => c !== 0) ?? 0;
};

/** The conductors and the publisher on this thread (the default: one heap, the smallest footprint). */
const inThisThread = async (job: BackgroundJob, until: Promise<void>, onStarted: () => void): Promise<number> => {
  const { runBackground } = await import('./start-background.ts');
  return runBackground(job, until, onStarted);
};

/**
 * The conductors and the publisher in a worker thread (cli/start-background.ts), on the machine's
 * other core: the main thread keeps the API and the projector (runtime/typescript-worker.ts).
 */
const inWorker = (job: BackgroundJob, until: Promise<void>, onStarted: () => void): Promise<number> =>
  new Promise<number>((resolve, reject) => {
    const worker = typescriptWorker(new URL('./start-background.ts', import.meta.url), { workerData: { ironlogBackground: job } });
    let code: number | undefined;
    worker.on('message', (m: BackgroundMessage) => {
      if (m.type === 'started') onStarted();
      else if (m.type === 'done') code = m.code;
      else if (m.type === 'failed') reject(new Error(`ironlog start: the conductors' thread failed: ${m.message}`));
    });
    worker.on('error', reject);
    worker.on('exit', (exit) => resolve(code ?? (exit === 0 ? 0 : 1)));
    void until.then(() => worker.postMessage({ type: 'stop' }));
  });
