// One partition of a parallel rebuild, in a worker thread: its own event store connection, its
// own catch-up subscription (the partition's stream prefixes), its own bulk file. The main thread
// merges the partitions (rebuild.ts). Messages: {ok, events, position} or {error}.

import { parentPort, workerData } from 'node:worker_threads';
import { openEventStore } from '../eventstore/open.ts';
import { productionDomain } from './domain.ts';
import { ProjectionError } from './errors.ts';
import { fedStore } from './feed.ts';
import { readModels } from './index.ts';
import { Projector } from './projector.ts';
import type { PartitionJob } from './rebuild.ts';
import { ReadModelDb, removeDbFiles } from './store.ts';

const job = workerData as PartitionJob;

const run = async (): Promise<{ events: number; position: string }> => {
  // a catch-up reads every page once: a large page cache would only add to the memory used
  const own = await openEventStore({ dataDir: job.location.dataDir, eventstoreUrl: job.location.eventstoreUrl, sqlite: { batchSize: job.batchSize, cacheSizeKib: 4096 } });
  const store = job.fed && job.counter ? fedStore(own, parentPort!, job.counter) : own;
  removeDbFiles(job.file);
  const db = ReadModelDb.open(job.file, readModels(), { bulk: true });
  const projector = new Projector({
    store,
    db,
    domain: productionDomain,
    bulk: true,
    lease: false,
    until: job.until === null ? undefined : BigInt(job.until),
    streamPrefixes: job.prefixes,
  });
  try {
    if (process.env.RB_DEBUG) process.stderr.write(`worker ready ${performance.timeOrigin + performance.now() - Number(process.env.RB_T0 ?? 0)}\n`);
    projector.start();
    await projector.caughtUp;
    if (process.env.RB_DEBUG) process.stderr.write(`worker caught up ${performance.timeOrigin + performance.now() - Number(process.env.RB_T0 ?? 0)}\n`);
    await projector.stop();
    const err = projector.error();
    if (err) throw err;
    return { events: projector.applied(), position: String(projector.position()) };
  } finally {
    await projector.stop().catch(() => undefined);
    db.close();
    await store.close();
  }
};

run().then(
  (r) => parentPort!.postMessage({ ok: true, ...r }),
  (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    parentPort!.postMessage({
      ok: false,
      error: {
        name: e.name,
        message: e.message,
        stack: e.stack,
        ...(e instanceof ProjectionError ? { streamId: e.streamId, revision: String(e.revision), reason: e.reason } : {}),
      },
    });
  },
);
