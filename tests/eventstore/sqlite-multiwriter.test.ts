// Several processes writing the one SQLite file at once through the group-commit path: bursts of
// appends issued in one tick (so each process commits them in shared transactions) contending for
// the write lock with the other processes. Every acknowledged append lands exactly once, where it
// was acknowledged; nothing else is written.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SqliteEventStore } from '../../eventstore/sqlite.ts';

const repo = new URL('../..', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'ironlog-es-mw-'));
const children = new Set<ChildProcessWithoutNullStreams>();

test.after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

interface Writer {
  lines: string[];
  ready: Promise<void>;
  exited: Promise<number | null>;
  go: () => void;
  stderr: () => string;
}

const writer = (path: string, name: string, rounds: number, width: number): Writer => {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(repo, 'tests', 'eventstore', 'fixtures', 'appender.ts'), path, 'burst', name, String(rounds), String(width)], {
    cwd: repo,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(proc);
  const lines: string[] = [];
  let partial = '';
  let err = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (onReady = r));
  proc.stdout.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) {
      lines.push(l);
      if (l === 'ready') onReady();
    }
  });
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = Promise.race([
    new Promise<number | null>((res) => proc.on('close', (code) => (children.delete(proc), res(code)))),
    new Promise<never>((_, rej) =>
      setTimeout(() => {
        proc.kill('SIGKILL');
        rej(new Error(`writer ${name} did not finish within 50 s: ${err}`));
      }, 50_000).unref(),
    ),
  ]);
  exited.catch(() => undefined);
  return { lines, ready, exited, go: () => proc.stdin.end('go\n'), stderr: () => err };
};

test('three processes bursting appends at one file: every acknowledged append stored once, where acknowledged, nothing else', async () => {
  const path = join(root, 'events.sqlite');
  await new SqliteEventStore({ path }).close(); // the schema exists before the race
  const rounds = 120;
  const width = 10;
  const names = ['w1', 'w2', 'w3'];
  const writers = names.map((w) => writer(path, w, rounds, width));
  await Promise.all(writers.map((w) => w.ready));
  for (const w of writers) w.go();
  const codes = await Promise.all(writers.map((w) => w.exited));
  assert.equal(codes, [0, 0, 0], writers.map((w) => w.stderr()).join('\n'));

  const acked = new Map<string, string>(); // "stream@revision" -> event id
  let transactions = 0;
  let appends = 0;
  let lockRetries = 0;
  for (const w of writers) {
    for (const l of w.lines) {
      const [kind, a, b, c] = l.split(' ');
      if (kind === 'ok') {
        const key = `${a}@${b}`;
        assert.not.ok(acked.has(key), `${key} was acknowledged twice`);
        acked.set(key, c!);
      } else if (kind === 'stats') {
        transactions += Number(a);
        appends += Number(b);
        lockRetries += Number(c);
      }
    }
  }
  const expected = names.length * rounds * (width + 1);
  assert.is(acked.size, expected, 'every append was acknowledged');
  console.log(`  ${appends} appends in ${transactions} transactions, ${lockRetries} busy lock attempts`);
  assert.ok(transactions < appends / 2, 'appends of one tick shared transactions');
  assert.ok(lockRetries > 0, 'the processes really contended for the write lock');

  const store = new SqliteEventStore({ path });
  const all = await store.readAll();
  assert.is(all.length, expected, 'nothing more is stored than was acknowledged');
  const ids = new Set(all.map((e) => e.id));
  assert.is(ids.size, all.length, 'no event stored twice');
  for (const e of all) {
    assert.is(acked.get(`${e.streamId}@${e.revision}`), e.id, `${e.streamId}@${e.revision} is the acknowledged event`);
  }
  const shared = await store.readStream('node-shared');
  assert.is(shared.length, names.length * rounds);
  shared.forEach((e, i) => assert.is(e.revision, BigInt(i), 'revisions are contiguous'));
  for (let i = 1; i < all.length; i++) assert.ok(all[i]!.position > all[i - 1]!.position);
  await store.close();
});

test.run();
