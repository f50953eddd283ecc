// The embedded store's write path: appends issued in one turn of the event loop are committed in
// one transaction, each with its own expected-revision check and its own result or error; a busy
// write lock is waited for without blocking the event loop and without SQLite's sleeping busy
// handler; an append is acknowledged only once its COMMIT is done; the background checkpointer.
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ev } from '../../eventstore/contract.ts';
import { DuplicateEventId, StoreUnavailable, WrongExpectedRevision } from '../../eventstore/errors.ts';
import type { AppendResult } from '../../eventstore/port.ts';
import { SqliteEventStore } from '../../eventstore/sqlite.ts';

const root = mkdtempSync(join(tmpdir(), 'ironlog-es-group-'));
let n = 0;
const freshPath = () => join(root, `t${n++}`, 'events.sqlite');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

test.after(() => rmSync(root, { recursive: true, force: true }));

const settle = <T>(ps: Promise<T>[]) => Promise.allSettled(ps);

/** An atomic append of two new streams, one event each (a name claim and its node, say). */
const both = (store: SqliteEventStore, [a, b]: [string, string], [ea, eb]: ReturnType<typeof ev>[]) =>
  store.appendToStreams([
    { streamId: a, events: [ea!], expected: 'no_stream' },
    { streamId: b, events: [eb!], expected: 'no_stream' },
  ]);

test('atomic multi-stream appends join the group: all or nothing each, one transaction for all', async () => {
  const store = new SqliteEventStore({ path: freshPath() });
  await store.append('claim-taken', [ev('Claimed')], 'no_stream');
  const before = { ...store.writeStats };
  const good1 = [ev('Claimed'), ev('Created')];
  const bad = [ev('Claimed'), ev('Created')];
  const good2 = [ev('Claimed'), ev('Created')];
  const retry = [ev('Claimed'), ev('Created')];
  const first = await both(store, ['claim-r', 'node-r'], retry);
  const results = await Promise.allSettled([
    both(store, ['claim-1', 'node-1'], good1),
    // the node stream is new but the claim is taken: neither is written
    both(store, ['node-2', 'claim-taken'], [bad[1]!, bad[0]!]),
    both(store, ['claim-3', 'node-3'], good2),
    // a retry of a stored atomic append: its original results, nothing written
    both(store, ['claim-r', 'node-r'], retry),
    store.append('node-plain', [ev('Plain')], 'no_stream'),
  ]);
  assert.equal(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
  assert.is(store.writeStats.transactions - before.transactions, 2, 'the first atomic append alone, then one transaction for the five');
  const err = (results[1] as PromiseRejectedResult).reason;
  assert.ok(err instanceof WrongExpectedRevision, String(err));
  assert.is(err.streamId, 'claim-taken');
  assert.equal(await store.readStream('node-2'), [], 'the refused atomic append wrote none of its streams');
  assert.equal((await store.readStream('claim-taken')).length, 1);
  const all = await store.readAll();
  const at = (id: string) => all.find((e) => e.id === id)!;
  const r1 = (results[0] as PromiseFulfilledResult<AppendResult[]>).value;
  assert.equal(r1.map((r) => r.position), [at(good1[0]!.id).position, at(good1[1]!.id).position]);
  assert.equal(r1.map((r) => r.nextExpectedRevision), [0n, 0n]);
  assert.ok(at(good2[1]!.id), 'the atomic append after the refused one is stored');
  assert.equal((results[3] as PromiseFulfilledResult<AppendResult[]>).value, first, 'the retry gets the original results');
  assert.is(all.filter((e) => e.id === retry[1]!.id).length, 1, 'the retry wrote nothing');
  await store.close();
});

test('appends of one tick share one transaction; a wrong expected revision fails alone, the others commit', async () => {
  const store = new SqliteEventStore({ path: freshPath() });
  await store.append('node-a', [ev('A0')], 'no_stream');
  const before = { ...store.writeStats };

  const a1 = ev('A1');
  const b0 = ev('B0');
  const wrong = ev('Wrong');
  const c = [ev('C0'), ev('C1')];
  const a2 = ev('A2');
  const results = await settle<AppendResult>([
    store.append('node-a', [a1], 0n),
    store.append('node-b', [b0], 'no_stream'),
    store.append('node-a', [wrong], 7n), // the stream is at 1 by then: refused, alone
    store.append('node-c', c, 'no_stream'),
    store.append('node-a', [a2], 1n), // sees a1, appended before it in the same transaction
  ]);

  assert.is(store.writeStats.transactions - before.transactions, 1, 'one transaction for the five appends');
  assert.is(store.writeStats.appends - before.appends, 5);
  assert.equal(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  const err = (results[2] as PromiseRejectedResult).reason;
  assert.ok(err instanceof WrongExpectedRevision, String(err));
  assert.is(err.actual, 1n);

  assert.equal((await store.readStream('node-a')).map((e) => e.type), ['A0', 'A1', 'A2']);
  assert.equal((await store.readStream('node-b')).map((e) => e.type), ['B0']);
  assert.equal((await store.readStream('node-c')).map((e) => e.type), ['C0', 'C1']);
  assert.not.ok((await store.readAll()).some((e) => e.id === wrong.id), 'the refused event is not stored');

  // each result names its own events
  const ok = results.filter((r): r is PromiseFulfilledResult<AppendResult> => r.status === 'fulfilled').map((r) => r.value);
  const all = await store.readAll();
  const at = (id: string) => all.find((e) => e.id === id)!;
  assert.equal(ok.map((r) => r.position), [at(a1.id).position, at(b0.id).position, at(c[1]!.id).position, at(a2.id).position]);
  assert.equal(ok.map((r) => r.nextExpectedRevision), [1n, 0n, 1n, 2n]);
  await store.close();
});

test('in one group: a retry of a stored append gets its original result, a reused id and an unserialisable event fail alone', async () => {
  const store = new SqliteEventStore({ path: freshPath() });
  const first = [ev('X0'), ev('X1')];
  const original = await store.append('node-x', first, 'no_stream');
  const taken = ev('Taken');
  await store.append('node-y', [taken], 'no_stream');
  const before = store.writeStats.transactions;

  const ok1 = ev('Ok1');
  const ok2 = ev('Ok2');
  const results = await settle<AppendResult>([
    store.append('node-z', [ok1], 'no_stream'),
    store.append('node-x', first, 'no_stream'), // the retry of `original`
    store.append('node-z', [ev('Reuses'), { ...taken }], 0n), // an id stored in node-y
    store.append('node-z', [ev('Bad', { n: 1n })], 'any'), // JSON cannot hold a bigint
    store.append('node-z', [ok2], 0n),
  ]);
  assert.is(store.writeStats.transactions - before, 1);
  assert.equal(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
  assert.equal((results[1] as PromiseFulfilledResult<AppendResult>).value, original, 'the retry is answered with the original result');
  assert.ok((results[2] as PromiseRejectedResult).reason instanceof DuplicateEventId);
  assert.instance((results[3] as PromiseRejectedResult).reason, TypeError);
  assert.equal((await store.readStream('node-z')).map((e) => e.type), ['Ok1', 'Ok2'], 'the failed appends left nothing behind');
  assert.equal((await store.readStream('node-x')).map((e) => e.type), ['X0', 'X1'], 'the retry wrote nothing');
  await store.close();
});

test('an append resolves only after its COMMIT: another connection sees it when the promise settles', async () => {
  const path = freshPath();
  const store = new SqliteEventStore({ path });
  await store.append('node-seed', [ev('Seed')], 'no_stream'); // creates the file
  const other = new Database(path, { readonly: true });
  const count = other.prepare('SELECT count(*) FROM events').pluck();
  const seenAtResolve: number[] = [];
  const ps = Array.from({ length: 20 }, (_, i) =>
    store.append(`node-d${i}`, [ev('D')], 'no_stream').then((r) => {
      seenAtResolve.push(count.get() as number);
      return r;
    }),
  );
  // nothing is written before the group is flushed: the appends are not yet acknowledged either
  assert.is(count.get(), 1);
  await Promise.all(ps);
  assert.ok(seenAtResolve.every((c) => c === 21), `every resolution saw all 21 events (saw ${seenAtResolve.join(',')})`);
  other.close();
  await store.close();
});

test('a busy write lock is waited for without blocking the event loop, and the waiting appends commit together', async () => {
  const path = freshPath();
  const store = new SqliteEventStore({ path });
  await store.append('node-l', [ev('L0')], 'no_stream');
  const locker = new Database(path);
  locker.exec('BEGIN IMMEDIATE');
  const t0 = performance.now();
  const before = { ...store.writeStats };
  const first = store.append('node-l', [ev('L1')], 0n);
  // the loop keeps turning while the append waits for the lock
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 5);
  await sleep(60);
  const second = store.append('node-l', [ev('L2')], 1n); // issued while the first one waits
  await sleep(60);
  // a blocked loop would run no timer at all in those 120 ms; a loaded machine runs fewer than 24
  assert.ok(ticks >= 4, `timers ran while the lock was held (${ticks} ticks of 5 ms in 120 ms)`);
  assert.ok(store.writeStats.lockRetries - before.lockRetries >= 4, `the lock was retried (${store.writeStats.lockRetries - before.lockRetries} times)`);
  locker.exec('COMMIT');
  const released = performance.now();
  const [r1, r2] = await Promise.all([first, second]);
  const waitedAfterRelease = performance.now() - released;
  clearInterval(ticker);
  assert.is(r1.nextExpectedRevision, 1n);
  assert.is(r2.nextExpectedRevision, 2n);
  assert.is(store.writeStats.transactions - before.transactions, 1, 'both waiting appends in one transaction');
  // SQLite's busy handler would sleep up to 100 ms between attempts by now; the retry is 1–2 ms
  assert.ok(waitedAfterRelease < 80, `committed ${waitedAfterRelease.toFixed(1)} ms after the lock was released`);
  assert.ok(performance.now() - t0 >= 120);
  locker.close();
  await store.close();
});

test('a lock held past the busy timeout fails each waiting append after its own timeout, and the store recovers', async () => {
  const path = freshPath();
  const store = new SqliteEventStore({ path, busyTimeoutMs: 150 });
  await store.append('node-t', [ev('T0')], 'no_stream');
  const locker = new Database(path);
  locker.exec('BEGIN IMMEDIATE');
  const t0 = performance.now();
  const early = store.append('node-t', [ev('T1')], 0n).then(
    () => undefined,
    (e: unknown) => ({ e, at: performance.now() - t0 }),
  );
  await sleep(100);
  const late = store.append('node-t', [ev('T2')], 0n).then(
    () => undefined,
    (e: unknown) => ({ e, at: performance.now() - t0 }),
  );
  const e1 = await early;
  assert.ok(e1 && e1.e instanceof StoreUnavailable && /locked/.test((e1.e as Error).message), String(e1?.e));
  assert.ok(e1.at >= 140 && e1.at < 1_000, `the first gave up after its timeout (${e1.at.toFixed(0)} ms)`);
  const e2 = await late;
  assert.ok(e2 && e2.e instanceof StoreUnavailable);
  assert.ok(e2.at >= 240, `the second waited its own full timeout (gave up at ${e2.at.toFixed(0)} ms)`);
  locker.exec('ROLLBACK');
  locker.close();
  assert.is((await store.append('node-t', [ev('T3')], 0n)).nextExpectedRevision, 1n);
  assert.equal((await store.readStream('node-t')).map((e) => e.type), ['T0', 'T3']);
  await store.close();
});

test('close() commits appends still queued; appends after close are StoreUnavailable', async () => {
  const path = freshPath();
  const store = new SqliteEventStore({ path });
  const queued = store.append('node-q', [ev('Q0')], 'no_stream');
  await store.close();
  assert.is((await queued).nextExpectedRevision, 0n);
  const err = await store.append('node-q', [ev('Q1')], 0n).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof StoreUnavailable);
  const reopened = new SqliteEventStore({ path });
  assert.equal((await reopened.readStream('node-q')).map((e) => e.type), ['Q0']);
  await reopened.close();
});

test('a writing store checkpoints in the background: the WAL stays bounded and the file stays sound', async () => {
  const path = freshPath();
  const store = new SqliteEventStore({ path });
  let walMax = 0;
  const payload = 'x'.repeat(2_000);
  // ~3 WAL frames (pages of 4 KiB) a commit: without checkpoints the WAL would pass 90 MiB
  const count = 8_000;
  for (let i = 0; i < count; i++) {
    await store.append(`node-w${i % 50}`, [ev('W', { payload, i })], 'any');
    if (i % 100 === 0) walMax = Math.max(walMax, existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);
  }
  const checkpointer = (store as unknown as { checkpointer?: { checkpoints: number; running: boolean } }).checkpointer;
  assert.ok(checkpointer, 'a writing store has a checkpointer');
  // the requests are ~1,300 appends apart: write on until the worker has just run one, then it is
  // up for its idle time (waiting a fixed time instead raced its idle exit on a loaded machine)
  const ran = checkpointer.checkpoints;
  for (let i = 0; i < 4_000 && checkpointer.checkpoints === ran; i++) {
    await store.append(`node-w${i % 50}`, [ev('W', { payload, i })], 'any');
    if (i % 100 === 0) await sleep(1);
  }
  const extra = (await store.readAll()).length - count;
  assert.ok(checkpointer.checkpoints > 0, `the background checkpointer ran (${checkpointer.checkpoints})`);
  assert.ok(checkpointer.running, 'its worker is up while the store writes');
  // idle, the worker ends itself (an idle process does not keep its memory) ...
  for (let i = 0; i < 60 && checkpointer.running; i++) await sleep(50);
  assert.not.ok(checkpointer.running, 'the worker ended after 1.5 s without work');
  // ... and writing again starts one again
  const before = checkpointer.checkpoints;
  for (let i = 0; i < 2_000; i++) await store.append(`node-w${i % 50}`, [ev('W', { payload, i })], 'any');
  for (let i = 0; i < 40 && checkpointer.checkpoints === before; i++) await sleep(50);
  assert.ok(checkpointer.checkpoints > before, 'checkpoints go on after the worker came back');
  // the writer restarts the WAL once it passes 12,000 pages (~48 MiB) and everything is copied back
  assert.ok(walMax < 75 * 1024 * 1024, `WAL stayed under 75 MiB (max ${(walMax / 1048576).toFixed(1)} MiB)`);
  assert.is((await store.readAll()).length, count + extra + 2_000);
  await store.close();
  const db = new Database(path, { readonly: true });
  assert.is(db.pragma('integrity_check', { simple: true }), 'ok');
  assert.is(db.prepare('SELECT count(*) FROM events').pluck().get(), count + extra + 2_000);
  db.close();
});

test('a subscription with select gets only the selected events, the others are not decoded', async () => {
  const path = freshPath();
  const store = new SqliteEventStore({ path });
  await store.append('node-s1', [ev('Keep', { i: 0 }), ev('Drop', { i: 1 }), ev('Keep', { i: 2 })], 'no_stream');
  await store.append('node-s2', [ev('Drop', { i: 3 })], 'no_stream');
  // a corrupt event among the passed-over ones does not stop the subscription
  const raw = new Database(path);
  raw.prepare("UPDATE events SET data = '{not json' WHERE stream_id = 'node-s2'").run();
  raw.close();
  const asked: string[] = [];
  const got: unknown[] = [];
  let failed: Error | undefined;
  const sub = store.subscribeToAll(
    {
      after: 'start',
      select: (stream, revision, type) => {
        asked.push(`${stream}@${revision}:${type}`);
        return type === 'Keep';
      },
      onError: (e) => (failed = e),
    },
    (events) => void got.push(...events.map((e) => (e.data as { i: number }).i)),
  );
  await sub.caughtUp;
  await store.append('node-s1', [ev('Drop', { i: 4 }), ev('Keep', { i: 5 })], 2n);
  for (let i = 0; i < 400 && got.length < 3; i++) await sleep(5);
  assert.equal(got, [0, 2, 5]);
  assert.equal(asked.slice(0, 4), ['node-s1@0:Keep', 'node-s1@1:Drop', 'node-s1@2:Keep', 'node-s2@0:Drop']);
  assert.is(failed, undefined);
  await sub.stop();
  await store.close();
});

test.run();
