// Behaviour of the embedded SQLite adapter beyond the port's contract: corrupt rows, duplicate ids,
// unusable files, settings, and a million-event subscription in bounded memory.
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ev } from '../../eventstore/contract.ts';
import { CorruptStoredEvent, DuplicateEventId, StoreUnavailable } from '../../eventstore/errors.ts';
import { openEventStore } from '../../eventstore/open.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { SqliteEventStore } from '../../eventstore/sqlite.ts';

const root = mkdtempSync(join(tmpdir(), 'ironlog-es-sqlite-'));
let n = 0;
const freshPath = () => join(root, `t${n++}`, 'events.sqlite');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const rejects = async (p: Promise<unknown>): Promise<unknown> => {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.unreachable('expected a rejection');
};
const throws = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  assert.unreachable('expected a throw');
};

const withRaw = <T>(path: string, f: (db: Database.Database) => T): T => {
  const db = new Database(path);
  try {
    return f(db);
  } finally {
    db.close();
  }
};

test.after(() => rmSync(root, { recursive: true, force: true }));

// ---- corrupt stored events ----------------------------------------------------------------------

test('garbage JSON in data is CorruptStoredEvent naming stream and revision, for every reader', async () => {
  const path = freshPath();
  const store = new SqliteEventStore({ path });
  await store.append('node-1', [ev('A'), ev('B'), ev('C')], 'no_stream');
  await store.append('node-2', [ev('D')], 'no_stream');
  withRaw(path, (db) => db.prepare("UPDATE events SET data = '{\"broken\": ' WHERE stream_id = 'node-1' AND revision = 1").run());

  const e1 = await rejects(store.readStream('node-1'));
  assert.ok(e1 instanceof CorruptStoredEvent, String(e1));
  assert.is(e1.streamId, 'node-1');
  assert.is(e1.revision, 1n);
  assert.match(e1.message, 'node-1@1');
  assert.match(e1.reason, /data is not valid JSON/);

  const e2 = await rejects(store.readAll());
  assert.ok(e2 instanceof CorruptStoredEvent);
  assert.is(e2.revision, 1n);

  // a filter that excludes the broken stream reads past it
  assert.equal((await store.readAll({ streamPrefixes: ['node-2'] })).map((e) => e.type), ['D']);

  const seen: RecordedEvent[] = [];
  let failure: Error | undefined;
  const sub = store.subscribeToAll({ after: 'start', onError: (e) => (failure = e) }, (b) => void seen.push(...b));
  const caught = await sub.caughtUp.then(() => 'caught up', (e: Error) => e);
  assert.ok(caught instanceof CorruptStoredEvent, 'caughtUp rejects: the log cannot be read past the corrupt event');
  assert.ok(failure instanceof CorruptStoredEvent);
  assert.equal(seen.map((e) => e.type), ['A'], 'events before the corrupt one are delivered, none after');
  assert.is(sub.lastPosition(), seen[0]!.position);
  await store.close();
});

test('garbage or non-object metadata is CorruptStoredEvent too', async () => {
  const path = freshPath();
  const store = new SqliteEventStore({ path });
  await store.append('node-1', [ev('A'), ev('B')], 'no_stream');
  withRaw(path, (db) => {
    db.prepare("UPDATE events SET metadata = 'not json' WHERE revision = 0").run();
    db.prepare("UPDATE events SET metadata = '[1,2]' WHERE revision = 1").run();
  });
  const e0 = await rejects(store.readStream('node-1', { maxCount: 1 }));
  assert.ok(e0 instanceof CorruptStoredEvent && e0.revision === 0n && /metadata is not valid JSON/.test(e0.reason));
  const e1 = await rejects(store.readStream('node-1', { fromRevision: 1n }));
  assert.ok(e1 instanceof CorruptStoredEvent && e1.revision === 1n && /not a JSON object/.test(e1.reason));
  await store.close();
});

// ---- duplicate ids and retries --------------------------------------------------------------------

test("a retry with 'any' is recognised by its ids", async () => {
  const store = new SqliteEventStore({ path: freshPath() });
  const batch = [ev('A'), ev('B')];
  const r = await store.append('node-1', batch, 'any');
  await store.append('node-1', [ev('C')], 'any');
  assert.equal(await store.append('node-1', batch, 'any'), r);
  assert.equal(await store.append('node-1', batch, 'stream_exists'), r);
  assert.is((await store.readStream('node-1')).length, 3);
  await store.close();
});

test('ids reused in another stream, out of order, or twice in one append are DuplicateEventId and write nothing', async () => {
  const store = new SqliteEventStore({ path: freshPath() });
  const [a, b] = [ev('A'), ev('B')];
  await store.append('node-1', [a, b], 'no_stream');
  const head = await store.headPosition();

  const other = await rejects(store.append('node-2', [a], 'any'));
  assert.ok(other instanceof DuplicateEventId, String(other));
  assert.match(other.message, 'node-1');

  const reversed = await rejects(store.append('node-1', [b, a], 'any'));
  assert.ok(reversed instanceof DuplicateEventId);

  const partial = await rejects(store.append('node-1', [ev('New'), b], 'any'));
  assert.ok(partial instanceof DuplicateEventId);

  const twice = ev('Twice');
  const inBatch = await rejects(store.append('node-3', [twice, twice], 'no_stream'));
  assert.ok(inBatch instanceof DuplicateEventId);
  assert.is(inBatch.eventId, twice.id);

  assert.is(await store.headPosition(), head, 'nothing was written');
  assert.equal(await store.readStream('node-3'), []);
  await store.close();
});

test('an empty append checks the expected revision and writes nothing', async () => {
  const store = new SqliteEventStore({ path: freshPath() });
  const r = await store.append('node-1', [ev('A')], 'no_stream');
  assert.equal(await store.append('node-1', [], 0n), r);
  assert.ok((await rejects(store.append('node-1', [], 'no_stream'))) instanceof Error);
  assert.is((await store.readStream('node-1')).length, 1);
  await store.close();
});

test('an empty log: head is start, reads are empty, a subscription catches up at once', async () => {
  const store = new SqliteEventStore({ path: freshPath() });
  assert.is(await store.headPosition(), 'start');
  assert.equal(await store.readAll(), []);
  const seen: RecordedEvent[] = [];
  const sub = store.subscribeToAll({ after: 'end' }, (b) => void seen.push(...b));
  await sub.caughtUp;
  assert.is(sub.lastPosition(), 'start');
  await store.append('node-1', [ev('First')], 'no_stream');
  for (let i = 0; i < 200 && seen.length === 0; i++) await sleep(5);
  assert.equal(seen.map((e) => e.type), ['First']);
  assert.is(seen[0]!.position, 1n);
  await store.close();
});

test('a handler may stop its own subscription, or close the store, without deadlock', async () => {
  const store = new SqliteEventStore({ path: freshPath(), batchSize: 2 });
  await store.append('node-1', [ev('A'), ev('B'), ev('C'), ev('D')], 'no_stream');
  const seen: string[] = [];
  const sub = store.subscribeToAll({ after: 'start' }, async (b) => {
    seen.push(...b.map((e) => e.type));
    await sub.stop();
  });
  await sleep(50);
  assert.equal(seen, ['A', 'B'], 'the first batch only');
  const seen2: string[] = [];
  store.subscribeToAll({ after: 'start' }, async (b) => {
    seen2.push(...b.map((e) => e.type));
    await store.close();
  });
  await sleep(50);
  assert.equal(seen2, ['A', 'B']);
  assert.ok(store.isClosed);
});

// ---- settings and files ---------------------------------------------------------------------------

test('WAL mode, synchronous NORMAL by default, IRONLOG_SQLITE_SYNCHRONOUS overrides', async () => {
  const path = freshPath();
  const store = new SqliteEventStore({ path });
  await store.append('node-1', [ev('A')], 'no_stream');
  assert.is(withRaw(path, (db) => db.pragma('journal_mode', { simple: true })), 'wal');
  const pragma = (s: SqliteEventStore) => (s as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true });
  assert.is(pragma(store), 1, 'NORMAL');
  await store.close();
  process.env.IRONLOG_SQLITE_SYNCHRONOUS = 'full';
  try {
    const full = new SqliteEventStore({ path });
    assert.is(pragma(full), 2, 'FULL');
    await full.close();
    process.env.IRONLOG_SQLITE_SYNCHRONOUS = 'sometimes';
    assert.throws(() => new SqliteEventStore({ path }), /IRONLOG_SQLITE_SYNCHRONOUS/);
  } finally {
    delete process.env.IRONLOG_SQLITE_SYNCHRONOUS;
  }
});

test('reopening a store keeps its events and positions go on increasing', async () => {
  const path = freshPath();
  const s1 = new SqliteEventStore({ path });
  const r1 = await s1.append('node-1', [ev('A')], 'no_stream');
  await s1.close();
  const s2 = new SqliteEventStore({ path });
  const r2 = await s2.append('node-1', [ev('B')], 0n);
  assert.ok(r2.position > r1.position);
  assert.equal((await s2.readStream('node-1')).map((e) => e.type), ['A', 'B']);
  await s2.close();
});

test('a path below a regular file is StoreUnavailable', async () => {
  const file = join(root, `plain-${n++}`);
  writeFileSync(file, 'not a directory');
  const e = throws(() => new SqliteEventStore({ path: join(file, 'sub', 'events.sqlite') }));
  assert.ok(e instanceof StoreUnavailable, String(e));
  assert.match(e.message, /cannot create the directory/);
  const viaOpen = await rejects(openEventStore({ dataDir: file }));
  assert.ok(viaOpen instanceof StoreUnavailable, String(viaOpen));
});

test('a directory where the file should be is StoreUnavailable', () => {
  const path = freshPath();
  mkdirSync(path, { recursive: true });
  const e = throws(() => new SqliteEventStore({ path }));
  assert.ok(e instanceof StoreUnavailable, String(e));
  assert.match(e.message, /cannot open event store/);
});

test('a file that is not a database is StoreUnavailable', () => {
  const path = freshPath();
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, Buffer.alloc(8192, 'garbage!'));
  const e = throws(() => new SqliteEventStore({ path }));
  assert.ok(e instanceof StoreUnavailable, String(e));
  assert.match(e.message, /SQLITE_NOTADB|not a database/);
});

test('a closed store is StoreUnavailable', async () => {
  const store = new SqliteEventStore({ path: freshPath() });
  await store.close();
  assert.ok((await rejects(store.append('node-1', [ev('A')], 'any'))) instanceof StoreUnavailable);
  assert.ok((await rejects(store.readAll())) instanceof StoreUnavailable);
});

test('openEventStore picks sqlite in <dataDir>/events.sqlite, and rejects a non-esdb URL', async () => {
  const dataDir = join(root, `data-${n++}`);
  const store = await openEventStore({ dataDir });
  assert.is(store.name, 'sqlite');
  assert.is((store as SqliteEventStore).path, join(dataDir, 'events.sqlite'));
  await store.close();
  assert.ok((await rejects(openEventStore({ dataDir, eventstoreUrl: 'http://localhost:2113' }))) instanceof Error);
});

// ---- several stores on one file in one process ----------------------------------------------------

test('a subscription sees appends through another store on the same file at once', async () => {
  const path = freshPath();
  const reader = new SqliteEventStore({ path, pollIntervalMs: 10_000 }); // polling cannot be what wakes it
  const writer = new SqliteEventStore({ path });
  const seen: string[] = [];
  const sub = reader.subscribeToAll({ after: 'end' }, (b) => void seen.push(...b.map((e) => e.type)));
  await sub.caughtUp;
  const t0 = performance.now();
  await writer.append('node-1', [ev('A')], 'no_stream');
  while (seen.length < 1 && performance.now() - t0 < 2_000) await sleep(1);
  assert.equal(seen, ['A']);
  assert.ok(performance.now() - t0 < 100, `took ${performance.now() - t0} ms`);
  await reader.close();
  await writer.close();
});

// ---- large logs -----------------------------------------------------------------------------------

test('a 1,000,000-event catch-up arrives in bounded batches without holding the log in memory', async () => {
  const path = freshPath();
  const store = new SqliteEventStore({ path });
  await store.append('node-seed', [ev('Seed')], 'no_stream');
  const total = 1_000_000;
  withRaw(path, (db) => {
    const meta = JSON.stringify({ correlationId: 'c', causationId: 'c', actor: 'bulk', timestamp: new Date().toISOString() });
    db.prepare(
      `WITH RECURSIVE seq(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq WHERE x < ?)
       INSERT INTO events (stream_id, revision, event_id, type, data, metadata, created)
       SELECT 'node-' || (x % 1000), x / 1000, 'bulk-' || x, 'Bulk', '{"x":' || x || ',"pad":"' || hex(randomblob(16)) || '"}', ?, 0 FROM seq`,
    ).run(total - 1, meta);
  });
  global.gc?.();
  const baseline = process.memoryUsage().heapUsed;
  let count = 0;
  let maxBatch = 0;
  let peak = 0;
  let last = 0n;
  let ordered = true;
  const t0 = performance.now();
  const sub = store.subscribeToAll({ after: 'start' }, (batch) => {
    count += batch.length;
    maxBatch = Math.max(maxBatch, batch.length);
    for (const e of batch) {
      if (e.position <= last) ordered = false;
      last = e.position;
    }
    if (count % 100_000 < batch.length) peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
  });
  await sub.caughtUp;
  const seconds = (performance.now() - t0) / 1000;
  await sub.stop();
  console.log(`  1M catch-up: ${Math.round(count / seconds)} events/s, max batch ${maxBatch}, peak extra heap ${(peak / 2 ** 20).toFixed(0)} MiB`);
  assert.is(count, total);
  assert.ok(ordered, 'positions strictly increase');
  assert.ok(maxBatch <= 5_000, `batches are bounded (max ${maxBatch})`);
  assert.ok(peak < 300 * 2 ** 20, `extra heap stayed bounded (${(peak / 2 ** 20).toFixed(0)} MiB)`);
  await store.close();
});

test.run();
