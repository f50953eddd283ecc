// One partition of a parallel rebuild, in a worker thread: its own bulk file, and its own catch-up
// subscription (the partition's stream prefixes): the rows the main thread reads and posts
// (feed.ts) or, for stores that cannot be read raw, its own event store connection. The main
// thread merges the partitions (rebuild.ts). Messages: {ok, events, position} or {error}; fed
// workers also {feed: 'ack'}.

import { parentPort, workerData } from 'node:worker_threads';
import { CorruptStoredEvent } from '../eventstore/errors.ts';
import { openEventStore } from '../eventstore/open.ts';
import { SqliteEventStore } from '../eventstore/sqlite.ts';
import { productionDomain } from './domain.ts';
import { ProjectionError } from './errors.ts';
import { fedStore, type DataReader } from './feed.ts';
import { readModels } from './index.ts';
import { Projector } from './projector.ts';
import type { PartitionJob } from './rebuild.ts';
import { ReadModelDb, removeDbFiles } from './store.ts';

const job = workerData as PartitionJob;

const run = async (): Promise<{ events: number; position: string }> => {
  // a catch-up reads every page once (a fed worker reads none): a large page cache would only add
  // to the memory used
  const own = await openEventStore({ dataDir: job.location.dataDir, eventstoreUrl: job.location.eventstoreUrl, sqlite: { batchSize: job.batchSize, cacheSizeKib: 4096 } });
  let store = own;
  if (job.fed && job.counter && own.readAllColumns) {
    // the data of the rows the main thread posts is read here (feed.ts); a fed event's id and
    // metadata are read back from the store if anything asks
    const readAllColumns = own.readAllColumns.bind(own);
    const readData: DataReader = (after, until, streamPrefixes) => readAllColumns(['data'], { after, until, streamPrefixes: streamPrefixes && [...streamPrefixes] });
    const lookup = own instanceof SqliteEventStore ? (p: bigint) => own.readRows(Number(p) - 1, Number(p), undefined, 1)[0] : undefined;
    store = fedStore(own, parentPort!, job.counter, readData, lookup);
  }
  removeDbFiles(job.file);
  const db = ReadModelDb.open(job.file, readModels(job.settings), { bulk: true });
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
    projector.start();
    await projector.caughtUp;
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
        // both name the stream and revision: the main thread rebuilds the same typed error
        ...(e instanceof ProjectionError || e instanceof CorruptStoredEvent ? { kind: e.kind, streamId: e.streamId, revision: String(e.revision), reason: e.reason } : {}),
      },
    });
  },
);
