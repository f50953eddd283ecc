// ironlog's TypeScript runs through tsx, whose module hooks a worker thread does not inherit: a
// worker registers them first, then imports its TypeScript entry. Used by the rebuild's partition
// workers (projections/rebuild.ts) and by `IRONLOG_START_WORKER=1` (cli/start.ts).

import { Worker, type WorkerOptions } from 'node:worker_threads';

/** A worker thread running the TypeScript module at `entry` (a file URL). */
export const typescriptWorker = (entry: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker => {
  const api = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`, {
    ...options,
    eval: true,
  });
};
