// The SQLite adapter's shared window of recent events: subscribers of several store objects on one
// file in one process are served the events this process commits (and the ranges one of them read)
// from memory, parsed once, instead of each re-reading SQLite. Every subscription still gets every
// event it asked for exactly once and in order, while appends run in bursts (group commits, atomic
// multi-stream appends, failing appends rolled back inside a group) here and in another process
// (those are read from SQLite: the fallback path).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EventData, RecordedEvent, SubscribeOptions } from '../../eventstore/port.ts';
import { SqliteEventStore, sharedEventsHeld } from '../../eventstore/sqlite.ts';

const repo = new URL('../..', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'ironlog-es-shared-'));
const opened = new Set<SqliteEventStore>();
const open = (path: string, o: { pollIntervalMs?: number } = {}) => {
  const s = new SqliteEventStore({ path, ...o });
  opened.add(s);
  return s;
};
// a failed test must not leave subscriptions polling (the process would not exit)
test.after(async () => {
  for (const s of opened) await s.close().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

const md = () => ({ correlationId: randomUUID(), causationId: randomUUID(), actor: 'test', timestamp: new Date().toISOString() });
const ev = (type: string, data: unknown): EventData => ({ id: randomUUID(), type, data, metadata: md() });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Tap {
  name: string;
  got: RecordedEvent[];
  failed: Error | undefined;
  stop: () => Promise<void>;
  caughtUp: Promise<void>;
}

const tap = (store: SqliteEventStore, name: string, options: Omit<SubscribeOptions, 'onError'> = {}): Tap => {
  const t: Tap = { name, got: [], failed: undefined, stop: async () => undefined, caughtUp: Promise.resolve() };
  const sub = store.subscribeToAll({ after: 'start', ...options, onError: (e) => (t.failed = e) }, async (events) => {
    t.got.push(...events);
    if (events.length % 3 === 0) await sleep(1); // handlers that take a while now and then
  });
  t.stop = () => sub.stop();
  t.caughtUp = sub.caughtUp;
  return t;
};

/** what a subscription with these options must have received: read straight from the log */
const expectedFor = (all: RecordedEvent[], prefixes?: string[], select?: (s: string, r: bigint, t: string) => boolean) =>
  all.filter((e) => (!prefixes || prefixes.some((p) => e.streamId.startsWith(p))) && (!select || select(e.streamId, e.revision, e.type)));

const key = (e: RecordedEvent) => `${e.position}/${e.streamId}/${e.revision}/${e.id}/${e.type}/${JSON.stringify(e.data)}/${JSON.stringify(e.metadata)}/${e.created.getTime()}`;

const assertExactlyOnceInOrder = (t: Tap, expected: RecordedEvent[]) => {
  assert.is(t.failed, undefined, `${t.name} failed: ${t.failed?.message}`);
  assert.is(t.got.length, expected.length, `${t.name}: ${t.got.length} events delivered, ${expected.length} expected`);
  for (let i = 1; i < t.got.length; i++) assert.ok(t.got[i]!.position > t.got[i - 1]!.position, `${t.name}: out of order at ${i}`);
  for (let i = 0; i < expected.length; i++) assert.is(key(t.got[i]!), key(expected[i]!), `${t.name}: event ${i} differs from the log`);
};

const waitUntil = async (what: string, cond: () => boolean, ms = 20_000) => {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
};

const lastOf = (t: Tap) => t.got[t.got.length - 1]?.position ?? 0n;

/** bursts of appends issued in one tick through both stores: group commits, an atomic multi-stream
 *  append, and in each burst two appends that fail inside their group (one after writing a row) */
const burst = async (stores: SqliteEventStore[], round: number, width: number) => {
  const issued: Promise<unknown>[] = [];
  // fails after writing its first row (its second event reuses the first one's id): rolled back
  // inside its group, between appends that commit
  const twice = ev('Never', { round });
  issued.push(
    stores[1]!.append(`node-twice-${round}`, [twice, { ...twice }], 'any').then(
      () => {
        throw new Error('an append with one id twice was accepted');
      },
      () => undefined,
    ),
  );
  for (let k = 0; k < width; k++) {
    const store = stores[k % stores.length]!;
    const stream = k % 3 === 0 ? `port-${k}` : `node-${k}`;
    issued.push(store.append(stream, [ev(k % 2 === 0 ? 'Even' : 'Odd', { round, k }), ev('Second', { round, k, text: 'x'.repeat(k * 10) })], 'any'));
  }
  issued.push(
    stores[1]!.append('node-1', [ev('Never', { round })], 'no_stream').then(
      () => {
        throw new Error('an append with a wrong expected revision was accepted');
      },
      () => undefined,
    ),
  );
  issued.push(stores[1]!.appendToStreams([{ streamId: `claim-${round}`, events: [ev('Claimed', { round })], expected: 'no_stream' }, { streamId: 'node-atomic', events: [ev('Atomic', { round })], expected: 'any' }]));
  await Promise.all(issued);
};

test('two store objects on one file: every subscriber gets every event once, in order; the second reads none of this process’s commits from SQLite', async () => {
  const path = join(root, 'one', 'events.sqlite');
  const a = open(path);
  const b = open(path);
  // events before anyone subscribes: a catch-up read from SQLite
  for (let i = 0; i < 5; i++) await a.append(`node-pre-${i}`, [ev('Pre', { i })], 'no_stream');

  const evenRevisions = (_s: string, r: bigint) => r % 2n === 0n;
  const all = tap(a, 'A: everything');
  const nodes = tap(b, 'B: node- streams', { streamPrefixes: ['node-'] });
  const picky = tap(b, 'B: selected', { streamPrefixes: ['node-', 'claim-'], select: evenRevisions });
  await Promise.all([all.caughtUp, nodes.caughtUp, picky.caughtUp]);

  const before = { a: { ...a.readStats }, b: { ...b.readStats } };
  for (let round = 0; round < 40; round++) {
    await burst([a, b], round, 12);
    if (round % 10 === 9) await sleep(5); // now and then the subscribers drain between bursts
  }
  const log = await a.readAll();
  const want = [log.length, expectedFor(log, ['node-']).length, expectedFor(log, ['node-', 'claim-'], evenRevisions).length];
  await waitUntil('the subscribers to get everything', () => all.got.length >= want[0]! && nodes.got.length >= want[1]! && picky.got.length >= want[2]!);
  await sleep(50);
  assertExactlyOnceInOrder(all, log);
  assertExactlyOnceInOrder(nodes, expectedFor(log, ['node-']));
  assertExactlyOnceInOrder(picky, expectedFor(log, ['node-', 'claim-'], evenRevisions));
  assert.ok(!log.some((e) => e.type === 'Never'), 'the rolled-back append is not in the log');

  // every event this process committed came from the shared window, to both stores' subscribers
  const committed = log.filter((e) => Number(e.position) > 5).length;
  assert.is(a.readStats.sqliteRows - before.a.sqliteRows, 0, 'A read none of this process’s commits from SQLite');
  assert.is(b.readStats.sqliteRows - before.b.sqliteRows, 0, 'B read none of this process’s commits from SQLite');
  assert.ok(b.readStats.sharedEvents - before.b.sharedEvents >= 2 * committed, `B's two subscriptions took every commit from the window (${b.readStats.sharedEvents - before.b.sharedEvents} of ${2 * committed})`);
  // the same objects, decoded once: the subscriptions share them
  const fromB = new Map(nodes.got.map((e) => [e.id, e]));
  const shared = all.got.filter((e) => Number(e.position) > 5 && fromB.has(e.id));
  assert.ok(shared.length > 0);
  assert.ok(shared.every((e) => fromB.get(e.id) === e), 'a committed event is one object for every subscriber');
  // nothing is held once every subscriber has passed it
  await waitUntil('the window to be released', () => sharedEventsHeld(path).events === 0, 5_000);

  for (const t of [all, nodes, picky]) await t.stop();
  await a.close();
  await b.close();
});

test('another process’s commits are read from SQLite once for all subscribers here (fallback), interleaved with this process’s bursts', async () => {
  const path = join(root, 'two', 'events.sqlite');
  const a = open(path, { pollIntervalMs: 5 });
  const b = open(path, { pollIntervalMs: 5 });
  const all = tap(a, 'A: everything');
  const nodes = tap(b, 'B: node- streams', { streamPrefixes: ['node-'] });
  const mine = tap(b, 'B: mutates its events', { mutatesEvents: true });
  await Promise.all([all.caughtUp, nodes.caughtUp, mine.caughtUp]);

  const child = (writer: string, rounds: number, width: number) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', join(repo, 'tests', 'eventstore', 'fixtures', 'appender.ts'), path, 'burst', writer, String(rounds), String(width)], {
      cwd: repo,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n') && !proc.stdin.writableEnded) proc.stdin.end('go\n');
    });
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 40_000);
    return new Promise<number>((resolve, reject) =>
      proc.on('close', (code) => {
        clearTimeout(timer);
        if (code !== 0) reject(new Error(`appender exited ${code}: ${err}`));
        else resolve(out.split('\n').filter((l) => l.startsWith('ok ')).length);
      }),
    );
  };

  // 1. only the other process writes: each of its events is read from SQLite by one subscriber here
  const before1 = a.readStats.sqliteRows + b.readStats.sqliteRows;
  const foreign1 = await child('w1', 30, 4);
  let head = await a.headPosition();
  await waitUntil('the subscribers to reach the head', () => lastOf(all) === head && lastOf(nodes) === head && lastOf(mine) === head);
  const read1 = a.readStats.sqliteRows + b.readStats.sqliteRows - before1;
  assert.is(foreign1, 30 * 5);
  // the subscription that mutates its events reads all of them itself; the two others share one read
  assert.ok(read1 > foreign1, `the other process's events were read from SQLite (${read1})`);
  assert.ok(read1 <= 2 * foreign1, `each was read once for the two sharing subscribers (${read1} rows read for ${foreign1} events, 3 subscribers)`);

  // 2. both processes at once
  const before2 = a.readStats.sqliteRows + b.readStats.sqliteRows;
  const other = child('w2', 40, 5);
  for (let round = 0; round < 40; round++) {
    await burst([a, b], round, 8);
    await sleep(round % 4);
  }
  const foreign2 = await other;
  assert.is(foreign2, 40 * 6);
  head = await a.headPosition();
  await waitUntil('the subscribers to reach the head', () => lastOf(all) === head && lastOf(nodes) === head && lastOf(mine) === head);
  await sleep(50);
  assert.ok(a.readStats.sqliteRows + b.readStats.sqliteRows - before2 > 0, 'the fallback path was used');

  const log = await a.readAll();
  assertExactlyOnceInOrder(all, log);
  assertExactlyOnceInOrder(nodes, expectedFor(log, ['node-']));
  assertExactlyOnceInOrder(mine, log);
  // the subscription that mutates its events never got a shared object
  const fromA = new Map(all.got.map((e) => [e.id, e]));
  assert.ok(mine.got.every((e) => fromA.get(e.id) !== e), 'mutatesEvents: objects of its own');
  const fromB = new Map(nodes.got.map((e) => [e.id, e]));
  assert.ok(all.got.some((e) => fromB.get(e.id) === e), 'the others shared objects');

  for (const t of [all, nodes, mine]) await t.stop();
  await a.close();
  await b.close();
  assert.is(sharedEventsHeld(path).events, 0, 'closing the last store drops the window');
});

test('a file recreated at the same path after every store closed: nothing stale is served', async () => {
  const dir = join(root, 'three');
  const path = join(dir, 'events.sqlite');
  let a = open(path);
  let b = open(path);
  const t1 = tap(a, 'first');
  const t2 = tap(b, 'second');
  await Promise.all([t1.caughtUp, t2.caughtUp]);
  await Promise.all([a.append('node-x', [ev('Old', { n: 1 })], 'any'), a.append('node-y', [ev('Old', { n: 2 })], 'any')]);
  await waitUntil('delivery', () => t1.got.length === 2 && t2.got.length === 2);
  await t1.stop();
  await t2.stop();
  await a.close();
  await b.close();
  rmSync(dir, { recursive: true, force: true });

  a = open(path);
  b = open(path);
  await a.append('node-z', [ev('New', { n: 3 })], 'any');
  const u1 = tap(a, 'first again');
  const u2 = tap(b, 'second again');
  await Promise.all([u1.caughtUp, u2.caughtUp]);
  await a.append('node-z', [ev('Newer', { n: 4 })], 'any');
  await waitUntil('delivery', () => u1.got.length === 2 && u2.got.length === 2);
  await sleep(20);
  for (const t of [u1, u2]) {
    assert.equal(t.got.map((e) => e.type), ['New', 'Newer'], t.name);
    assert.equal(t.got.map((e) => e.position), [1n, 2n], t.name);
  }
  await u1.stop();
  await u2.stop();
  await a.close();
  await b.close();
});

test.run();
