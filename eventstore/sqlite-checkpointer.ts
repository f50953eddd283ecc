// WAL checkpoints off the append path. SQLite checkpoints in the connection whose COMMIT makes the
// WAL pass `wal_autocheckpoint` pages, and a checkpoint fsyncs the WAL and the database file: the
// committing append then waits ~10–30 ms for the disk (measured: on 20,000 single appends ~1 s of
// a 2.5 s run was spent blocked in those fsyncs, while the CPU time was the same with checkpoints
// off). Here a worker thread of the writing process, with a connection of its own, runs PASSIVE
// checkpoints (they never block readers or writers) as the WAL grows, so appends only write to the
// WAL. Every connection keeps a larger `wal_autocheckpoint` (sqlite.ts) as the fallback that bounds
// the WAL under sustained load (SQLite restarts the WAL only when every frame has been copied
// back): that checkpoint finds almost everything copied already, so its fsyncs are short.
//
// Checkpointing does not change what a commit guarantees: an acknowledged append is in the WAL
// before append() resolves, whoever copies it back to the database file later.
//
// One worker per database file per process, shared by the stores of that file. It is started
// when a checkpoint is due (a process that writes little never starts one) and ends itself after
// IDLE_EXIT_MS without work, so an idle process does not keep its ~5 MiB (starting one costs
// ~100 ms of CPU: a process writing steadily keeps it).

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * A writing connection's own wal_autocheckpoint (pages) while the worker checkpoints for it: only
 * bounds the WAL should the worker fall behind (the event store's and the read models' files)
 */
export const FALLBACK_AUTOCHECKPOINT_PAGES = 12_000;
/** frames estimated in the WAL since the last checkpoint request before asking for another */
const CHECKPOINT_EVERY_FRAMES = 4_000;
/** the worker ends itself after this long without a checkpoint to run */
const IDLE_EXIT_MS = 1_500;

// CommonJS, evaluated in the worker: no TypeScript loader needed there.
// state (shared memory, because the writing thread may be in a loop of promise jobs that never
// lets it read messages): [0] 1 while a checkpoint is asked for or running, [1] checkpoints run,
// [2] 1 while a worker takes requests.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const state = new Int32Array(workerData.state);
let db;
try {
  db = new Database(workerData.path, { timeout: 0, fileMustExist: true });
  db.pragma('wal_autocheckpoint = 0');
  db.pragma('cache_size = -1024');
  // a checkpoint syncs as the writing connections do (synchronous NORMAL/FULL sync the WAL before
  // copying it back and the database file after)
  db.pragma('synchronous = ' + workerData.synchronous);
} catch (e) {
  db = undefined; // checkpoints are then no-ops; the writers' own autocheckpoint remains
}
const checkpoint = () => {
  try {
    // PASSIVE: copy what it can, never wait for (or block) readers and writers
    if (db) db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // busy (another checkpoint runs) or failing: the writers' own autocheckpoint remains
  }
  Atomics.add(state, 1, 1);
  Atomics.store(state, 0, 0);
};
const end = () => {
  Atomics.store(state, 2, 0);
  try { if (db) db.close(); } catch {}
  parentPort.close();
};
let idle;
const arm = () => {
  clearTimeout(idle);
  idle = setTimeout(() => {
    // a request that raced in is still served: its message is on the way
    if (Atomics.load(state, 0) === 1) return arm();
    end();
  }, workerData.idleMs);
};
parentPort.on('message', (m) => {
  if (m === 'close') return end();
  checkpoint();
  arm();
});
Atomics.store(state, 2, 1);
// started for a request: serve it at once
if (Atomics.load(state, 0) === 1) checkpoint();
arm();
`;

const driverPath = createRequire(import.meta.url).resolve('better-sqlite3');

interface Shared {
  worker: Worker | undefined;
  refs: number;
  state: Int32Array;
  /** estimated WAL frames written since the last request */
  frames: number;
  synchronous: string;
  /** no worker can be started (the platform refused): the writers' autocheckpoint does it all */
  unavailable: boolean;
}

const byPath = new Map<string, Shared>();

export interface Checkpointer {
  /** a group commit wrote `events` events (in one transaction) */
  committed(events: number): void;
  /** a commit wrote about `frames` pages to the WAL (a writer other than the event store's) */
  wroteFrames(frames: number): void;
  /** checkpoints the workers have run (tests read it) */
  readonly checkpoints: number;
  /** whether a worker is up and taking requests now */
  readonly running: boolean;
  release(): Promise<void>;
}

const spawn = (path: string, s: Shared): Worker | undefined => {
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path, synchronous: s.synchronous, driver: driverPath, state: s.state.buffer, idleMs: IDLE_EXIT_MS },
      // plain CommonJS: not the parent's flags (`--import tsx` would load a TypeScript loader here)
      execArgv: [],
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8, codeRangeSizeMb: 2, stackSizeMb: 1 },
    });
  } catch {
    s.unavailable = true;
    return undefined;
  }
  worker.unref();
  const gone = () => {
    if (s.worker !== worker) return;
    s.worker = undefined;
    // a request it did not take is asked again of the next worker
    Atomics.store(s.state, 0, 0);
  };
  worker.on('error', gone);
  worker.on('exit', gone);
  return worker;
};

export const acquireCheckpointer = (path: string, synchronous: string): Checkpointer => {
  let s = byPath.get(path);
  if (!s) {
    s = { worker: undefined, refs: 0, state: new Int32Array(new SharedArrayBuffer(12)), frames: 0, synchronous, unavailable: false };
    byPath.set(path, s);
  }
  s.refs++;
  const shared = s;
  let released = false;
  const wroteFrames = (frames: number): void => {
    shared.frames += frames;
    if (shared.frames < CHECKPOINT_EVERY_FRAMES || shared.unavailable) return;
    if (Atomics.compareExchange(shared.state, 0, 0, 1) !== 0) return; // one is asked for already
    shared.frames = 0;
    if (shared.worker && Atomics.load(shared.state, 2) === 1) shared.worker.postMessage('ckpt');
    // none, or the last one is ending: a new one serves the request as it starts
    else shared.worker = spawn(path, shared);
  };
  return {
    // per commit: the table's last leaf and a leaf of each of the two indexes; batches fill
    // pages (about 7 events per table page)
    committed: (events: number) => wroteFrames(3 + (events >> 2)),
    wroteFrames,
    get checkpoints() {
      return Atomics.load(shared.state, 1);
    },
    get running() {
      return Atomics.load(shared.state, 2) === 1;
    },
    async release(): Promise<void> {
      if (released) return;
      released = true;
      if (--shared.refs > 0) return;
      byPath.delete(path);
      const w = shared.worker;
      shared.worker = undefined;
      if (!w) return;
      const exited = new Promise<void>((r) => w.once('exit', () => r()));
      w.postMessage('close');
      // a checkpoint in progress finishes first; never wait for ever
      const timer = setTimeout(() => void w.terminate(), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
};
