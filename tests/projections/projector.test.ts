// The projection machinery against a fake domain: batches, checkpoints, restart, read-your-writes,
// and a malformed stored event stopping the projector.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openSqliteEventStore } from '../../eventstore/sqlite.ts';
import { allDocs, findDocs, getDoc } from '../../projections/docs.ts';
import { ProjectionError } from '../../projections/errors.ts';
import { nodeHistory, resolveHistoryNode, timeline } from '../../projections/history.ts';
import { CheckpointMoved, Projector } from '../../projections/projector.ts';
import { ReadModelDb } from '../../projections/store.ts';
import { fakeDomain, fakeEvent, fakeModels, fakeNodesSpec, type FakeNode } from './fake-domain.ts';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'ironlog-proj-'));
  dirs.push(d);
  return d;
};

const setup = (dir = tempDir()) => {
  const store = openSqliteEventStore({ path: join(dir, 'events.sqlite') });
  const db = ReadModelDb.open(join(dir, 'readmodels.sqlite'), fakeModels());
  return { dir, store, db };
};

/** A started projector on the fake domain, with the errors it reports and a promise of the first. */
const startWatched = (store: ReturnType<typeof setup>['store'], db: ReadModelDb) => {
  const errors: Error[] = [];
  let first = (): void => undefined;
  const failed = new Promise<void>((resolve) => (first = resolve));
  const p = new Projector({
    store,
    db,
    domain: fakeDomain,
    onError: (e) => {
      errors.push(e);
      first();
    },
  }).start();
  return { p, errors, failed };
};

const create = async (store: ReturnType<typeof setup>['store'], name: string) => {
  const uuid = randomUUID();
  const r = await store.append(`node-${uuid}`, [fakeEvent('FakeCreated', { uuid, name })], 'no_stream');
  return { uuid, position: r.position };
};

test('projects every event once, in batches, with the checkpoint in the same commit', async () => {
  const { store, db } = setup();
  const nodes: string[] = [];
  for (let i = 0; i < 30; i++) nodes.push((await create(store, `n${i}`)).uuid);
  const last = await store.append(`node-${nodes[3]}`, [fakeEvent('FakeRenamed', { name: 'renamed' })], 0n);
  await store.append(`node-${nodes[4]}`, [fakeEvent('FakeDeleted', {})], 0n);
  await store.append('claim-name-x', [fakeEvent('Claimed', { whatever: 1 })], 'no_stream'); // not followed
  const p = new Projector({ store, db, domain: fakeDomain, maxPendingEvents: 7 }).start();
  await p.caughtUp;
  assert.is(p.applied(), 32);
  const pos = p.position();
  assert.ok(pos !== 'start' && pos >= last.position);
  assert.is(db.checkpoint(), p.position());
  const docs = allDocs(db.db, fakeNodesSpec);
  assert.is(docs.length, 29, 'the deleted node is hidden');
  assert.is(getDoc<FakeNode>(db.db, fakeNodesSpec, nodes[3])?.name, 'renamed');
  assert.is(getDoc<FakeNode>(db.db, fakeNodesSpec, nodes[4]), undefined);
  assert.equal(findDocs<FakeNode>(db.db, fakeNodesSpec, 'name', 'n7').map((d) => d.uuid), [nodes[7]]);
  assert.equal(docs.map((d) => d.uuid), nodes.filter((_, i) => i !== 4), 'creation order');
  await p.stop();
  await store.close();
  db.close();
});

test('a restart resumes after the checkpoint: nothing is applied twice', async () => {
  const { dir, store, db } = setup();
  const a = await create(store, 'a');
  const p1 = new Projector({ store, db, domain: fakeDomain }).start();
  await p1.caughtUp;
  await p1.stop();
  db.close();
  // more events while no projector runs
  await store.append(`node-${a.uuid}`, [fakeEvent('FakeRenamed', { name: 'a2' }), fakeEvent('FakeRenamed', { name: 'a3' })], 0n);
  const db2 = ReadModelDb.open(join(dir, 'readmodels.sqlite'), fakeModels());
  assert.is(db2.reset, false, 'the schema was kept');
  const p2 = new Projector({ store, db: db2, domain: fakeDomain }).start();
  await p2.caughtUp;
  assert.is(p2.applied(), 2, 'only the two new events');
  const doc = getDoc<FakeNode>(db2.db, fakeNodesSpec, a.uuid)!;
  assert.is(doc.applied, 3);
  assert.equal(doc.seen, ['FakeCreated', 'FakeRenamed', 'FakeRenamed']);
  assert.is(timeline(db2.db, a.uuid).length, 3, 'the timeline has each event once');
  // live events after restart
  const r = await store.append(`node-${a.uuid}`, [fakeEvent('FakeRenamed', { name: 'a4' })], 2n);
  await p2.waitForPosition(r.position, 2000);
  assert.is(getDoc<FakeNode>(db2.db, fakeNodesSpec, a.uuid)?.applied, 4);
  await p2.stop();
  await store.close();
  db2.close();
});

test('read-your-writes: waitForPosition resolves once the write is visible', async () => {
  const { store, db } = setup();
  const p = new Projector({ store, db, domain: fakeDomain }).start();
  await p.caughtUp;
  for (let i = 0; i < 20; i++) {
    const c = await create(store, `ryw${i}`);
    await p.waitForPosition(c.position, 2000);
    assert.is(getDoc<FakeNode>(db.db, fakeNodesSpec, c.uuid)?.name, `ryw${i}`);
  }
  // live flushes hold an event or two: they append to the node's last timeline chunk
  const one = await create(store, 'chatty');
  for (let i = 0; i < 12; i++) {
    const r = await store.append(`node-${one.uuid}`, [fakeEvent('FakeRenamed', { name: `chatty${i}` })], BigInt(i));
    await p.waitForPosition(r.position, 2000);
  }
  assert.is(timeline(db.db, one.uuid).length, 13);
  assert.equal(timeline(db.db, one.uuid).map((e) => e.revision), Array.from({ length: 13 }, (_, i) => BigInt(i)));
  assert.is((db.db.prepare('SELECT COUNT(*) AS n FROM history_timeline WHERE node_uuid = ?').get(one.uuid) as { n: number }).n, 1);
  // a position in a stream no model follows still resolves (nothing followed lies before it)
  const claim = await store.append('claim-name-zzz', [fakeEvent('Claimed', {})], 'no_stream');
  await p.waitForPosition(claim.position, 2000);
  // and one that never comes times out
  let timedOut = false;
  await p.waitForPosition(claim.position + 1000n, 100).catch(() => (timedOut = true));
  assert.ok(timedOut);
  await p.stop();
  await store.close();
  db.close();
});

test('another connection moving the checkpoint stops the projector (CheckpointMoved); its own commits do not', async () => {
  const { dir, store, db } = setup();
  const a = await create(store, 'a');
  const { p, errors, failed } = startWatched(store, db);
  await p.caughtUp;
  // the projector's own batches, one after another: no false alarm
  for (let i = 0; i < 5; i++) {
    const w = await store.append(`node-${a.uuid}`, [fakeEvent('FakeRenamed', { name: `a${i}` })], BigInt(i));
    await p.waitForPosition(w.position, 2000);
  }
  assert.equal(errors, []);
  const before = db.checkpoint();
  // a second connection (as a second projector on the file would) moves the checkpoint
  const other = ReadModelDb.open(join(dir, 'readmodels.sqlite'), fakeModels());
  other.db.transaction(() => other.writeCheckpoint(1n))();
  other.close();
  const w = await store.append(`node-${a.uuid}`, [fakeEvent('FakeRenamed', { name: 'late' })], 5n);
  const waited = await p.waitForPosition(w.position, 2000).then(() => 'resolved', (e: Error) => e);
  await failed;
  assert.instance(waited, CheckpointMoved);
  assert.instance(errors[0], CheckpointMoved);
  assert.is((errors[0] as CheckpointMoved).expected, before);
  assert.is((errors[0] as CheckpointMoved).found, 1n);
  assert.is(getDoc<FakeNode>(db.db, fakeNodesSpec, a.uuid)?.name, 'a4', 'nothing written over it');
  await p.stop();
  await store.close();
  db.close();
});

test('a malformed stored event stops the projector with an error naming stream and revision', async () => {
  const { store, db } = setup();
  const good = await create(store, 'good');
  const bad = await create(store, 'bad');
  const { p, errors, failed: p2done } = startWatched(store, db);
  await p.caughtUp;
  const w = await store.append(`node-${bad.uuid}`, [fakeEvent('FakeRenamed', { name: 42 })], 0n);
  const after = await store.append(`node-${good.uuid}`, [fakeEvent('FakeRenamed', { name: 'still' })], 0n);
  const waited = await p.waitForPosition(after.position, 2000).then(() => 'resolved', (e: Error) => e);
  await p2done;
  assert.instance(waited, ProjectionError);
  const err = errors[0] as ProjectionError;
  assert.instance(err, ProjectionError);
  assert.is(err.streamId, `node-${bad.uuid}`);
  assert.is(err.revision, 1n);
  assert.match(err.message, `node-${bad.uuid}@1`);
  const cp = db.checkpoint();
  assert.ok(cp !== 'start' && cp < w.position, 'nothing past the bad event was committed');
  assert.is(getDoc<FakeNode>(db.db, fakeNodesSpec, good.uuid)?.name, 'good');
  await p.stop();
  // a fresh projector stops on the same event again: it is never skipped
  const p3 = new Projector({ store, db, domain: fakeDomain }).start();
  const e3 = await p3.caughtUp.then(() => undefined, (e: Error) => e);
  assert.instance(e3, ProjectionError);
  assert.match(String(e3?.message), `node-${bad.uuid}@1`);
  await p3.stop();
  await store.close();
  db.close();
});

test('history: timeline with metadata, Ironic records, lookup by former name', async () => {
  const { store, db } = setup();
  const c = await create(store, 'hist');
  await store.append(`node-${c.uuid}`, [fakeEvent('FakeFailed', { message: 'deploy failed: boom' }, 'conductor:c1'), fakeEvent('FakeRenamed', { name: 'hist2' })], 0n);
  const p = new Projector({ store, db, domain: fakeDomain }).start();
  await p.caughtUp;
  const tl = timeline(db.db, c.uuid);
  assert.equal(tl.map((e) => [e.type, e.revision]), [['FakeCreated', 0n], ['FakeFailed', 1n], ['FakeRenamed', 2n]]);
  assert.is(tl[1].actor, 'conductor:c1');
  assert.match(tl[1].correlationId, /^corr-/);
  assert.match(tl[1].causationId, /^cause-/);
  assert.ok(tl[0].position < tl[1].position);
  assert.is(resolveHistoryNode(db.db, 'hist2'), c.uuid);
  assert.is(resolveHistoryNode(db.db, c.uuid), c.uuid);
  const page = nodeHistory(db.db, c.uuid);
  assert.ok('records' in page);
  if ('records' in page) {
    assert.is(page.records.length, 1);
    assert.is(page.records[0].severity, 'ERROR');
    assert.is(page.records[0].event, 'deploy failed: boom');
  }
  await p.stop();
  await store.close();
  db.close();
});

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test.run();
