// Ironic's node history keeps a node's newest `[conductor] node_history_max_entries` records
// (IRONLOG_NODE_HISTORY_MAX_ENTRIES here): the live projector, trimming after every flush, and a
// rebuild (in this thread and in a fed worker thread), trimming at the end, keep the same
// records; the timeline keeps every event; marker paging runs over what is kept; a restart with a
// lower limit trims nodes that get no new record; 0 keeps everything.

// before any model is made: the worker threads of a rebuild read the same environment
process.env.IRONLOG_NODE_HISTORY_MAX_ENTRIES = '3';

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../config/index.ts';
import { openEventStore } from '../../eventstore/open.ts';
import type { EventStore } from '../../eventstore/port.ts';
import { productionDomain } from '../../projections/domain.ts';
import { historyModel, nodeHistory, timeline } from '../../projections/history.ts';
import { nodeHistoryBinding, readModels } from '../../projections/index.ts';
import type { ProjectionModel } from '../../projections/model.ts';
import { Projector } from '../../projections/projector.ts';
import { compareReadModels, rebuild } from '../../projections/rebuild.ts';
import { ReadModelDb } from '../../projections/store.ts';
import { DomainWriter, removeTempDirs, tempDir } from './support.ts';

const dir = tempDir();
const models = readModels();
const liveFile = join(dir, 'live.sqlite');
let store: EventStore;
let w: DomainWriter;

const u = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const A = u(0xa);
const B = u(0xb);
const rec = (n: number) => u(0xe00 + n);

const record = (node: string, n: number) =>
  w.events('node', node, [
    { type: 'NodeHistoryRecorded', data: { entry: { uuid: rec(n), severity: 'ERROR', event: `failure ${n}`, event_type: 'deploying', conductor: 'c1', user: null, created_at: `2024-01-01T00:${String(n).padStart(2, '0')}:00.000Z` } } },
  ]);

/** the node's kept records (uuids, oldest first) */
const kept = (db: Database.Database, node: string): string[] => {
  const page = nodeHistory(db, node);
  if (!('records' in page)) throw new Error('marker not found');
  return page.records.map((r) => r.uuid);
};

/** a live projector on `file` with `ms` until it has projected everything appended during `work` */
const live = async (file: string, ms: readonly ProjectionModel[], work: () => Promise<void>) => {
  const db = ReadModelDb.open(file, ms);
  const p = new Projector({ store, db, domain: productionDomain }).start();
  try {
    await p.caughtUp;
    await work();
    await p.waitForPosition((await store.headPosition()) as bigint, 10_000);
  } finally {
    await p.stop();
    db.close();
  }
};

test.before(async () => {
  store = await openEventStore({ dataDir: dir });
  w = new DomainWriter(store);
});

test.after(async () => {
  await store.close();
  removeTempDirs();
});

test('config: IRONLOG_NODE_HISTORY_MAX_ENTRIES defaults to Ironic\'s 300; 0 is allowed; anything else is refused', () => {
  assert.is(loadConfig({}).projections.nodeHistoryMaxEntries, 300);
  assert.is(loadConfig({ IRONLOG_NODE_HISTORY_MAX_ENTRIES: '0' }).projections.nodeHistoryMaxEntries, 0);
  assert.is(loadConfig({ IRONLOG_NODE_HISTORY_MAX_ENTRIES: ' 25 ' }).projections.nodeHistoryMaxEntries, 25);
  for (const bad of ['-1', '2.5', 'many']) assert.throws(() => loadConfig({ IRONLOG_NODE_HISTORY_MAX_ENTRIES: bad }), /IRONLOG_NODE_HISTORY_MAX_ENTRIES/);
  assert.throws(() => historyModel(nodeHistoryBinding, { maxEntries: -1 }));
});

test('live projector: a node keeps its newest 3 records, one event at a time; the timeline keeps every event', async () => {
  await live(liveFile, models, async () => {
    await w.command('node', A, { type: 'CreateNode', data: { fields: { driver: 'fake-hardware', name: 'trim-a' } } });
    await w.command('node', B, { type: 'CreateNode', data: { fields: { driver: 'fake-hardware', name: 'trim-b' } } });
    // one flush per event once live: the trim runs after each one
    for (let n = 1; n <= 7; n++) await record(A, n);
    await record(B, 20);
    await record(B, 21);
  });
  const db = new Database(liveFile, { readonly: true });
  assert.equal(kept(db, A), [rec(5), rec(6), rec(7)]);
  assert.equal(kept(db, B), [rec(20), rec(21)], 'under the limit: untouched');
  const tl = timeline(db, A);
  assert.is(tl.length, 8, 'NodeCreated and all seven NodeHistoryRecorded');
  assert.equal(tl.map((e) => e.revision), [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
  db.close();
});

test('marker paging runs over the kept records; a trimmed record is not a marker', () => {
  const db = new Database(liveFile, { readonly: true });
  const p1 = nodeHistory(db, A, { limit: 2 });
  assert.ok('records' in p1);
  if (!('records' in p1)) return;
  assert.equal(p1.records.map((r) => r.uuid), [rec(5), rec(6)]);
  assert.ok(p1.full);
  const p2 = nodeHistory(db, A, { limit: 2, marker: rec(6) });
  assert.ok('records' in p2 && p2.records.length === 1 && p2.records[0].uuid === rec(7) && !p2.full);
  assert.equal(nodeHistory(db, A, { limit: 2, marker: rec(2) }), { markerNotFound: rec(2) });
  db.close();
});

test('a rebuild (in this thread and in a fed worker thread) keeps the same records as the live projector', async () => {
  const single = join(dir, 'single.sqlite');
  const fed = join(dir, 'fed.sqlite');
  await rebuild({ store, domain: productionDomain, models, file: single });
  // no settings given: the worker builds its models with the environment's, as this thread did
  await rebuild({ store, domain: productionDomain, models, file: fed, workers: 1, location: { dataDir: dir } });
  const [l, a, b] = [liveFile, single, fed].map((f) => new Database(f, { readonly: true }));
  assert.equal(compareReadModels(l, a, models), []);
  assert.equal(compareReadModels(l, b, models), []);
  for (const d of [a, b]) {
    assert.equal(kept(d, A), [rec(5), rec(6), rec(7)]);
    assert.is(timeline(d, A).length, 8);
  }
  for (const d of [l, a, b]) d.close();
});

test('settings given to readModels and rebuild reach the worker threads, whatever the environment says', async () => {
  const settings = { nodeHistoryMaxEntries: 2 }; // the environment says 3
  const two = readModels(settings);
  const fed = join(dir, 'fed-settings.sqlite');
  await rebuild({ store, domain: productionDomain, models: two, file: fed, workers: 1, location: { dataDir: dir }, settings });
  const d = new Database(fed, { readonly: true });
  assert.equal(kept(d, A), [rec(6), rec(7)], 'the worker kept 2 records, as the given settings say');
  d.close();
});

test('a restart with a lower limit trims every node at its first flush, also nodes given no new record', async () => {
  const two = readModelsWith(2);
  await live(liveFile, two, async () => {
    await record(A, 8);
  });
  const db = new Database(liveFile, { readonly: true });
  assert.equal(kept(db, A), [rec(7), rec(8)]);
  assert.equal(kept(db, B), [rec(20), rec(21)]);
  db.close();
  await live(liveFile, readModelsWith(1), async () => {
    await w.command('node', A, { type: 'UpdateNode', data: { changes: { name: 'trim-a2' } } });
  });
  const after = new Database(liveFile, { readonly: true });
  assert.equal(kept(after, A), [rec(8)]);
  assert.equal(kept(after, B), [rec(21)], 'B had no event since the restart');
  assert.is(timeline(after, A).length, 10, 'the timeline is never trimmed');
  after.close();
});

test('0 keeps every record (a rebuild restores them from the log)', async () => {
  const all = readModelsWith(0);
  const file = join(dir, 'all.sqlite');
  await rebuild({ store, domain: productionDomain, models: all, file });
  const db = new Database(file, { readonly: true });
  assert.equal(kept(db, A), [1, 2, 3, 4, 5, 6, 7, 8].map(rec));
  assert.equal(kept(db, B), [rec(20), rec(21)]);
  db.close();
});

/** the production models with another history limit */
function readModelsWith(maxEntries: number): ProjectionModel[] {
  return readModels().map((m) => (m.name === 'history' ? historyModel(nodeHistoryBinding, { maxEntries }) : m));
}

test.run();
