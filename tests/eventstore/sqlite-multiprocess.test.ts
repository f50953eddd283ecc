// The embedded store shared by real processes: cross-process subscriptions, competing writers,
// a writer killed mid-append, a locked file. Children are `node --import tsx fixtures/*.ts`.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ev } from '../../eventstore/contract.ts';
import { StoreUnavailable } from '../../eventstore/errors.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { SqliteEventStore } from '../../eventstore/sqlite.ts';

const repo = new URL('../..', import.meta.url).pathname;
const fixture = (name: string) => join(repo, 'tests', 'eventstore', 'fixtures', name);
const root = mkdtempSync(join(tmpdir(), 'ironlog-es-mp-'));
let n = 0;
const freshPath = () => join(root, `t${n++}`, 'events.sqlite');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();

interface Child {
  proc: ChildProcessWithoutNullStreams;
  lines: string[];
  waitForLine: (pred: (l: string) => boolean, timeoutMs?: number) => Promise<string>;
  exited: Promise<number | null>;
  stderr: () => string;
}

const children = new Set<ChildProcessWithoutNullStreams>();

const start = (script: string, args: string[], env: Record<string, string> = {}): Child => {
  const proc = spawn(process.execPath, ['--import', 'tsx', fixture(script), ...args], {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(proc);
  const lines: string[] = [];
  let partial = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => {
    const text = partial + d.toString();
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const closed = new Promise<number | null>((res) => proc.on('close', (code) => (children.delete(proc), res(code))));
  // never wait for a child forever: a hung child fails the test instead of hanging the file
  const exited = Promise.race([
    closed,
    new Promise<never>((_, rej) =>
      setTimeout(() => {
        proc.kill('SIGKILL');
        rej(new Error(`${script} did not exit within 45 s; stderr: ${err}`));
      }, 45_000).unref(),
    ),
  ]);
  exited.catch(() => undefined);
  const waitForLine = async (pred: (l: string) => boolean, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = lines.find(pred);
      if (hit !== undefined) return hit;
      if (proc.exitCode !== null) throw new Error(`${script} exited (${proc.exitCode}) before the expected line: ${err}`);
      if (Date.now() > deadline) throw new Error(`${script}: no expected line within ${timeoutMs} ms (${lines.length} lines so far); stderr: ${err}`);
      await sleep(5);
    }
  };
  return { proc, lines, waitForLine, exited, stderr: () => err };
};

test.after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const measureCrossProcessLatency = async (): Promise<number[]> => {
  const path = freshPath();
  const store = new SqliteEventStore({ path });
  const received = new Map<string, number>();
  const sub = store.subscribeToAll({ after: 'end' }, (batch) => {
    const t = now();
    for (const e of batch) received.set(e.id, t);
  });
  await sub.caughtUp;
  const count = 25;
  const child = start('appender.ts', [path, 'paced', String(count), '40', 'node-paced']);
  await child.waitForLine((l) => l === 'ready');
  child.proc.stdin.end('go\n');
  assert.is(await child.exited, 0, child.stderr());
  const acks = child.lines.filter((l) => l.startsWith('ack ')).map((l) => {
    const [, id, , t] = l.split(' ');
    return { id: id!, t: Number(t) };
  });
  assert.is(acks.length, count);
  const deadline = Date.now() + 1_000;
  while (received.size < count && Date.now() < deadline) await sleep(5);
  await store.close();
  return acks.map((a) => {
    const got = received.get(a.id);
    assert.ok(got !== undefined, `event ${a.id} was delivered`);
    return got - a.t;
  });
};

test('a subscription sees another process’s appends within 100 ms', async () => {
  // Latency is measured from the writer's acknowledgement (its clock and ours are the same
  // machine's) to the handler call. On a machine shared with other work a single scheduling stall
  // can exceed the bound, so one re-measurement is allowed, and reported.
  let latencies = await measureCrossProcessLatency();
  let max = Math.max(...latencies);
  if (max >= 100) {
    console.log(`  cross-process latency: first run had max ${max.toFixed(1)} ms (load ${JSON.stringify(loadavg())}), measuring again`);
    latencies = await measureCrossProcessLatency();
    max = Math.max(...latencies);
  }
  const mean = latencies.reduce((x, y) => x + y, 0) / latencies.length;
  console.log(`  cross-process latency: max ${max.toFixed(1)} ms, mean ${mean.toFixed(1)} ms over ${latencies.length} appends`);
  assert.ok(max < 100, `every append was seen within 100 ms (max ${max.toFixed(1)} ms)`);
});

test('two processes appending with expected revisions: never both succeed, nothing lost or duplicated', async () => {
  const path = freshPath();
  new SqliteEventStore({ path }).close(); // create the schema before the race
  const streams = ['node-a', 'node-b', 'node-c'];
  const perWriter = 400;
  const writers = ['w1', 'w2'].map((w) => start('appender.ts', [path, 'contend', w, streams.join(','), String(perWriter)]));
  await Promise.all(writers.map((w) => w.waitForLine((l) => l === 'ready')));
  for (const w of writers) w.proc.stdin.end('go\n');
  const codes = await Promise.all(writers.map((w) => w.exited));
  assert.equal(codes, [0, 0], writers.map((w) => w.stderr()).join('\n'));

  const acked = new Map<string, string>(); // "stream@revision" -> event id
  let conflicts = 0;
  for (const w of writers) {
    for (const l of w.lines) {
      const [kind, a, b, c] = l.split(' ');
      if (kind === 'ok') {
        const key = `${a}@${b}`;
        assert.not.ok(acked.has(key), `${key} was acknowledged to both writers`);
        acked.set(key, c!);
      } else if (kind === 'conflicts') conflicts += Number(a);
    }
  }
  const store = new SqliteEventStore({ path });
  let stored = 0;
  for (const s of streams) {
    const events = await store.readStream(s);
    stored += events.length;
    events.forEach((e, i) => {
      assert.is(e.revision, BigInt(i), 'revisions are contiguous');
      assert.is(acked.get(`${s}@${e.revision}`), e.id, `${s}@${e.revision} is the acknowledged event`);
    });
  }
  console.log(`  ${acked.size} appends acknowledged, ${conflicts} conflicts`);
  assert.is(stored, acked.size, 'every acknowledged append is stored, and nothing else');
  assert.is(acked.size + conflicts, 2 * perWriter, 'every attempt either succeeded or conflicted');
  assert.ok(conflicts > 0, 'the writers really competed');
  await store.close();
});

test('SIGKILL of a writer in a tight append loop loses no acknowledged event and leaves a sound file', async () => {
  const path = freshPath();
  new SqliteEventStore({ path }).close();
  const child = start('appender.ts', [path, 'loop', 'node-crash']);
  await child.waitForLine(() => child.lines.length >= 2_000, 40_000);
  await sleep(Math.random() * 50); // land the kill at an arbitrary point of the loop
  child.proc.kill('SIGKILL');
  await child.exited;
  // only complete lines count: each was printed after its append resolved
  const acks = child.lines.filter((l) => /^\d+ [0-9a-f-]{36}$/.test(l)).map((l) => l.split(' ') as [string, string]);
  assert.ok(acks.length >= 2_000);

  assert.is(withRaw(path, (db) => db.pragma('integrity_check', { simple: true })), 'ok');
  const store = new SqliteEventStore({ path });
  const all = await store.readAll();
  const byPosition = new Map<bigint, RecordedEvent>(all.map((e) => [e.position, e]));
  for (const [pos, id] of acks) {
    assert.is(byPosition.get(BigInt(pos))?.id, id, `acknowledged event at ${pos} survived`);
  }
  console.log(`  ${acks.length} acknowledged before SIGKILL, ${all.length} stored`);
  const r = await store.append('node-crash-0', [ev('AfterCrash')], 'any');
  assert.ok(r.position > BigInt(acks[acks.length - 1]![0]));
  await store.close();
});

test('a database locked by another process makes append fail with StoreUnavailable in bounded time', async () => {
  const path = freshPath();
  const setup = new SqliteEventStore({ path });
  await setup.append('node-1', [ev('Before')], 'no_stream');
  await setup.close();
  const locker = start('locker.ts', [path]);
  await locker.waitForLine((l) => l === 'locked');

  const store = new SqliteEventStore({ path, busyTimeoutMs: 400 });
  const t0 = performance.now();
  let err: unknown;
  try {
    await store.append('node-1', [ev('Blocked')], 0n);
  } catch (e) {
    err = e;
  }
  const took = performance.now() - t0;
  assert.ok(err instanceof StoreUnavailable, String(err));
  assert.match(err.message, /locked/);
  assert.ok(took >= 300 && took < 3_000, `gave up after the busy timeout (${took.toFixed(0)} ms)`);
  assert.equal((await store.readStream('node-1')).map((e) => e.type), ['Before'], 'reads still work under WAL');

  // the timeout also comes from IRONLOG_SQLITE_BUSY_TIMEOUT_MS
  process.env.IRONLOG_SQLITE_BUSY_TIMEOUT_MS = '200';
  const viaEnv = new SqliteEventStore({ path });
  delete process.env.IRONLOG_SQLITE_BUSY_TIMEOUT_MS;
  const t1 = performance.now();
  const err2 = await viaEnv.append('node-1', [ev('Blocked')], 0n).then(() => undefined, (e: unknown) => e);
  assert.ok(err2 instanceof StoreUnavailable);
  assert.ok(performance.now() - t1 < 2_000);
  await viaEnv.close();

  locker.proc.stdin.write('release\n');
  assert.is(await locker.exited, 0);
  const r = await store.append('node-1', [ev('After')], 0n);
  assert.is(r.nextExpectedRevision, 1n);
  await store.close();
});

const withRaw = <T>(path: string, f: (db: Database.Database) => T): T => {
  const db = new Database(path);
  try {
    return f(db);
  } finally {
    db.close();
  }
};

test.run();
