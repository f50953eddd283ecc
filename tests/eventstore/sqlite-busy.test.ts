// The SQLite store's connection rests without a busy handler (eventstore/sqlite.ts: the group
// commit's BEGIN IMMEDIATE must come back at once when the lock is taken); what must wait for a
// lock switches the handler on for itself. Held by another thread for ~300 ms: a write lock is
// waited for by setStreamMetadata and appendSync within the busy timeout instead of failing at
// once, and the connection goes back to no handler afterwards (a group commit's busy lock is
// retried by the store, not waited for inside SQLite). (Reads retry with the handler when they
// meet SQLITE_BUSY; in WAL mode only a crash recovery makes them, which a test cannot time.)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EventData } from '../../eventstore/port.ts';
import { SqliteEventStore } from '../../eventstore/sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'ironlog-es-busy-'));
const ev = (type: string, i: number): EventData => ({
  id: `${type}-${i}`,
  type,
  data: { i },
  metadata: { correlationId: 'c', causationId: 'c', actor: 'test', timestamp: new Date(0).toISOString() },
});

/** Another thread takes the write lock of the file, tells us, holds it for `ms` and lets go. Resolves once it holds it. */
const holdLock = async (path: string, ms: number): Promise<{ released: Promise<void> }> => {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const Database = require(workerData.module);
    const db = new Database(workerData.path, { timeout: 5000 });
    db.exec('BEGIN IMMEDIATE');
    parentPort.postMessage('held');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.ms);
    if (db.inTransaction) db.exec('COMMIT');
    db.close();
    parentPort.postMessage('released');
  `;
  const worker = new Worker(code, { eval: true, workerData: { path, ms, module: import.meta.resolve('better-sqlite3').replace('file://', '') } });
  const released = new Promise<void>((resolve, reject) => {
    worker.on('message', (m) => m === 'released' && resolve());
    worker.on('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    worker.on('message', (m) => m === 'held' && resolve());
    worker.on('error', reject);
  });
  // (wrapped: an async function returning the promise itself would wait for it)
  return { released: released.then(() => worker.terminate().then(() => undefined)) };
};

let store: SqliteEventStore;
let path: string;

test.before(async () => {
  path = join(dir, 'events.sqlite');
  store = new SqliteEventStore({ path, busyTimeoutMs: 3000 });
  await store.append('node-a', [ev('A', 0), ev('A', 1)], 'no_stream');
});

test.after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const waited = async (what: string, run: () => unknown): Promise<unknown> => {
  const { released } = await holdLock(path, 300);
  const t0 = performance.now();
  let out: unknown;
  try {
    out = await run();
  } finally {
    await released;
  }
  const ms = performance.now() - t0;
  assert.ok(ms >= 150, `${what} waited for the lock (${ms.toFixed(0)} ms)`);
  assert.ok(ms < 2500, `${what} did not wait for the whole timeout (${ms.toFixed(0)} ms)`);
  return out;
};

test('a held write lock: setStreamMetadata and appendSync wait for it', async () => {
  await waited('setStreamMetadata', () => store.setStreamMetadata('node-a', { custom: { k: 1 } }));
  assert.equal((await store.getStreamMetadata('node-a'))?.custom, { k: 1 });
  const r = (await waited('appendSync', () => store.appendSync('node-a', [ev('A', 2)], 1n))) as { nextExpectedRevision: bigint };
  assert.is(r.nextExpectedRevision, 2n);
});

test('afterwards the group commit still does not wait inside SQLite: a busy lock is retried by the store', async () => {
  const before = store.writeStats.lockRetries;
  const { released } = await holdLock(path, 200);
  const appended = store.append('node-a', [ev('A', 3)], 2n);
  await released;
  assert.is((await appended).nextExpectedRevision, 3n);
  assert.ok(store.writeStats.lockRetries - before >= 3, `the lock was retried by the store (${store.writeStats.lockRetries - before} times), not waited for in SQLite`);
});

test.run();
