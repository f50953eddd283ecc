// The background half of `ironlog start` (cli/start.ts): the conductors and the publisher of
// events to NATS. They talk to the API only through the log and NATS, so they can run on the
// API's thread (the default) or, with IRONLOG_START_WORKER=1, in a worker thread of their own:
// on a second core they stop taking turns with the API (measured: about half the main thread's
// CPU per create and per node lifecycle) but the second V8 heap, the worker's own module hooks
// thread and malloc arena cost ~40 MB of idle RSS (api/README.md, "Where the time goes").
//
// Protocol of the worker with the main thread (parentPort messages):
//   ← {type: 'started'}         once every conductor is registered and serving
//   → {type: 'stop'}            finish taken work, leave the ring, stop publishing
//   ← {type: 'done', code}      everything stopped (then the thread ends)
//   ← {type: 'failed', message} it could not start or stop cleanly

import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { loadConfig } from '../config/index.ts';
import { openSharedEventStore } from '../eventstore/open.ts';
import { startPublisher } from '../publisher/index.ts';
import { releaseTranspiler } from './transpiler.ts';

/** What cli/start.ts hands the worker (workerData). */
export interface BackgroundJob {
  /** conductor host names, one conductor each */
  hosts: string[];
  natsUrl: string;
}

export type BackgroundMessage = { type: 'started' } | { type: 'done'; code: number } | { type: 'failed'; message: string };

/**
 * Runs the conductors and the publisher until `until` resolves; `onStarted` once every conductor
 * serves. Returns the first non-zero exit code of the conductors (0 when all stopped cleanly).
 */
export const runBackground = async (job: BackgroundJob, until: Promise<void>, onStarted: () => void): Promise<number> => {
  // the conductors read process.env (cli/conductor.ts); a worker's is a copy of the main thread's
  const base = loadConfig(process.env);
  const log = pino({ level: process.env.IRONLOG_LOG_LEVEL || 'info', base: { service: 'ironlog' } });
  let waitingFor = job.hosts.length;
  const started = () => {
    if (--waitingFor === 0) onStarted();
  };
  const { run: runConductor } = await import('./conductor.ts');
  const conductors = job.hosts.map((host) => runConductor(['--host', host], { until, onStarted: started }));

  // the store of this process's API and conductors (eventstore/open.ts openSharedEventStore)
  const publisherStore = await openSharedEventStore({ dataDir: base.store.dataDir, eventstoreUrl: base.store.eventstoreUrl });
  const publisher = startPublisher({
    store: publisherStore,
    natsUrl: job.natsUrl,
    dataDir: base.store.dataDir,
    log: log.child({ part: 'publisher' }),
  });
  const codes = await Promise.all(conductors);
  await publisher.stop();
  await publisherStore.close();
  return codes.find((c) => c !== 0) ?? 0;
};

if (parentPort && (workerData as { ironlogBackground?: BackgroundJob } | undefined)?.ironlogBackground) {
  const port = parentPort;
  const job = (workerData as { ironlogBackground: BackgroundJob }).ironlogBackground;
  const send = (m: BackgroundMessage) => port.postMessage(m);
  let stop!: () => void;
  const until = new Promise<void>((resolve) => { stop = resolve; });
  port.on('message', (m: { type?: string }) => {
    if (m?.type === 'stop') stop();
  });
  runBackground(job, until, () => {
    // every module of this thread is loaded: its transpiler helpers are idle memory from now on
    void releaseTranspiler();
    send({ type: 'started' });
  }).then(
    (code) => {
      send({ type: 'done', code });
      port.close();
    },
    (err: unknown) => {
      send({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      port.close();
    },
  );
}
