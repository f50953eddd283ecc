// Uniqueness claims and the aggregate's events in ONE transaction (port.ts appendToStreams, the
// SQLite store): a failure at any point of the write leaves neither a claim without its node nor
// a node without its claim. The two-step path that stores without appendToStreams take
// (EventStoreDB) is run here too, over SQLite with the method hidden, so both stay tested.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteEventStore } from '../../eventstore/sqlite.ts';
import type { EventStore } from '../../eventstore/port.ts';
import { execute } from '../../command-handling/execute.ts';
import { uniquenessSuite } from './uniqueness-suite.ts';
import { countingStore } from '../support/counting-store.ts';

const dirs: string[] = [];
const freshFile = () => {
  const d = mkdtempSync(join(tmpdir(), 'ironlog-atomic-'));
  dirs.push(d);
  return join(d, 'events.sqlite');
};

/** The store as an adapter without multi-stream transactions sees it (EventStoreDB's case). */
const twoStep = (store: EventStore): EventStore =>
  new Proxy(store, {
    get(target, prop) {
      if (prop === 'appendToStreams') return undefined;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });

const counting = countingStore;

const at = () => new Date().toISOString();
const create = (store: EventStore, name: string, uuid = randomUUID()) =>
  execute(store, 'node', uuid, { commandId: randomUUID(), actor: 'test', command: { type: 'CreateNode', data: { uuid, at: at(), fields: { driver: 'fake-hardware', name } } } });
const rename = (store: EventStore, uuid: string, name: string) =>
  execute(store, 'node', uuid, { commandId: randomUUID(), actor: 'test', command: { type: 'UpdateNode', data: { uuid, at: at(), changes: { name } } } });

/**
 * Makes every insert of events of these types fail inside SQLite: a writer that dies there (with
 * ClaimReleased, it cannot give a claim back either, as after a crash).
 */
const failInserts = (file: string, ...types: string[]) => {
  const db = new Database(file);
  db.exec(`CREATE TRIGGER fail_insert BEFORE INSERT ON events WHEN NEW.type IN (${types.map((t) => `'${t}'`).join(', ')}) BEGIN SELECT RAISE(ABORT, 'injected failure'); END;`);
  return () => {
    db.exec('DROP TRIGGER fail_insert');
    db.close();
  };
};

// the uniqueness suite on the two-step path (claims appended first, then the node)
uniquenessSuite(test, 'sqlite without appendToStreams', async () => {
  const file = freshFile();
  const a = openSqliteEventStore({ path: file });
  const b = openSqliteEventStore({ path: file });
  return { a: twoStep(a), b: twoStep(b), close: async () => { await a.close(); await b.close(); } };
});

test('a named create is one atomic append holding the claim and the node, claim first', async () => {
  const raw = openSqliteEventStore({ path: freshFile() });
  const { store, calls } = counting(raw);
  const uuid = randomUUID();
  const r = await create(store, 'one-commit', uuid);
  assert.ok(E.isRight(r), 'created');
  assert.equal({ append: calls.append, appendToStreams: calls.appendToStreams }, { append: 0, appendToStreams: 1 }, 'one write: no separate claim append');
  const log = await raw.readAll();
  assert.equal(log.map((e) => [e.streamId, e.type]), [['claim-node-name-one-commit', 'ClaimAcquired'], [`node-${uuid}`, 'NodeCreated']]);
  if (E.isRight(r)) assert.is(r.right.position, log[1]!.position, 'the reported position covers the claim too');
  await raw.close();
});

test('a write that fails before its commit leaves no claim without its node (and the name free)', async () => {
  const file = freshFile();
  const store = openSqliteEventStore({ path: file });
  const restore = failInserts(file, 'NodeCreated', 'ClaimReleased');
  let failed: unknown;
  try {
    await create(store, 'crash-me');
  } catch (e) {
    failed = e;
  }
  assert.ok(failed instanceof Error, 'the create failed');
  assert.equal(await store.readAll(), [], 'nothing was stored: no claim without a node');
  restore();
  const again = await create(store, 'crash-me');
  assert.ok(E.isRight(again), 'the name is free at once: no orphaned claim to wait out');
  await store.close();
});

test('the same failure on the two-step path leaves the orphaned claim that blocks the name for the grace period', async () => {
  const file = freshFile();
  const real = openSqliteEventStore({ path: file });
  const store = twoStep(real);
  const restore = failInserts(file, 'NodeCreated', 'ClaimReleased');
  let failed: unknown;
  try {
    await create(store, 'orphaned');
  } catch (e) {
    failed = e;
  }
  assert.ok(failed instanceof Error, 'the create failed');
  restore();
  assert.equal((await real.readAll()).map((e) => e.type), ['ClaimAcquired'], 'the claim stayed behind');
  const again = await create(store, 'orphaned');
  assert.ok(E.isLeft(again) && again.left.errorClass === 'DuplicateName', 'a young orphaned claim is honoured');
  await real.close();
});

test('a rename releases the old name and claims the new one in the node update\'s own transaction', async () => {
  const file = freshFile();
  const store = openSqliteEventStore({ path: file });
  const uuid = randomUUID();
  assert.ok(E.isRight(await create(store, 'old-name', uuid)));
  const before = (await store.readAll()).length;
  const restore = failInserts(file, 'NodeUpdated', 'ClaimReleased');
  let failed: unknown;
  try {
    await rename(store, uuid, 'new-name');
  } catch (e) {
    failed = e;
  }
  restore();
  assert.ok(failed instanceof Error, 'the rename failed');
  assert.is((await store.readAll()).length, before, 'neither the release nor the new claim was stored');
  const other = await create(store, 'old-name');
  assert.ok(E.isLeft(other) && other.left.errorClass === 'DuplicateName', 'the old name is still held');

  assert.ok(E.isRight(await rename(store, uuid, 'new-name')), 'renamed');
  const tail = (await store.readAll()).slice(before);
  assert.equal(tail.map((e) => `${e.streamId} ${e.type}`).sort(), [
    'claim-node-name-new-name ClaimAcquired',
    'claim-node-name-old-name ClaimReleased',
    `node-${uuid} NodeUpdated`,
  ]);
  assert.is(tail.at(-1)!.streamId, `node-${uuid}`, 'the node event comes last: its position covers the claims');
  assert.ok(E.isRight(await create(store, 'old-name')), 'the old name is free');
  await store.close();
});

test('a claim stream that exists already costs one more attempt, not an error (the first attempt assumes new names)', async () => {
  const store = openSqliteEventStore({ path: freshFile() });
  const a = randomUUID();
  assert.ok(E.isRight(await create(store, 'reused', a)));
  assert.ok(E.isRight(await rename(store, a, 'moved-on')));
  // the claim stream of "reused" now ends with a release: taking it needs its revision
  const b = randomUUID();
  const r = await create(store, 'reused', b);
  assert.ok(E.isRight(r), E.isLeft(r) ? r.left.message : 'created');
  const claim = await store.readStream('claim-node-name-reused');
  assert.equal(claim.map((e) => [e.type, (e.data as { owner: string }).owner]), [
    ['ClaimAcquired', `node-${a}`],
    ['ClaimReleased', `node-${a}`],
    ['ClaimAcquired', `node-${b}`],
  ]);
  await store.close();
});

test('appendToStreams: a wrong expected revision on any stream writes nothing; a full retry returns the first results', async () => {
  const store = openSqliteEventStore({ path: freshFile() });
  const meta = { correlationId: 'c', causationId: 'c', actor: 'test', timestamp: at() };
  const ev = (type: string) => ({ id: randomUUID(), type, data: {}, metadata: meta });
  await store.append('s-1', [ev('A')], 'no_stream');
  let err: unknown;
  try {
    await store.appendToStreams!([{ streamId: 's-2', events: [ev('B')], expected: 'no_stream' }, { streamId: 's-1', events: [ev('C')], expected: 'no_stream' }]);
  } catch (e) {
    err = e;
  }
  assert.is((err as Error | undefined)?.name, 'WrongExpectedRevision');
  assert.is((await store.readAll()).length, 1, 'nothing of the failed atomic append');
  const appends = [{ streamId: 's-2', events: [ev('B')], expected: 'no_stream' as const }, { streamId: 's-1', events: [ev('C'), ev('D')], expected: 0n }];
  const first = await store.appendToStreams!(appends);
  assert.equal(first.map((r) => r.nextExpectedRevision), [0n, 2n]);
  const again = await store.appendToStreams!(appends);
  assert.equal(again, first, 'a retry returns the original results');
  assert.is((await store.readAll()).length, 4, 'and writes nothing');
  await store.close();
});

test.after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
test.run();
