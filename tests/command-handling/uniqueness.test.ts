// Ironic's unique constraints (node name, instance_uuid, port address, ...) hold with
// concurrent writers: in one process over separate connections, and across processes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { openSqliteEventStore } from '../../eventstore/sqlite.ts';
import { execute } from '../../command-handling/execute.ts';
import { uniquenessSuite } from './uniqueness-suite.ts';

const dirs: string[] = [];
const freshFile = () => {
  const d = mkdtempSync(join(tmpdir(), 'ironlog-uniq-'));
  dirs.push(d);
  return join(d, 'events.sqlite');
};

// the in-process suite, over two separate connections to one file
uniquenessSuite(test, 'sqlite', async () => {
  const file = freshFile();
  const a = openSqliteEventStore({ path: file });
  const b = openSqliteEventStore({ path: file });
  return { a, b, close: async () => { await a.close(); await b.close(); } };
});

const runChild = (file: string, prefix: string, count: number, startAt: number): Promise<{ name: string; uuid: string; ok: boolean; error?: string }[]> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', new URL('./fixtures/create-nodes.ts', import.meta.url).pathname, file, prefix, String(count), String(startAt)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim())) : reject(new Error(`child exited ${code}`))));
  });

test('two processes creating the same 40 node names: each name is taken exactly once', async () => {
  const file = freshFile();
  openSqliteEventStore({ path: file }).close(); // create the schema before the race
  const startAt = Date.now() + 1500;
  const [x, y] = await Promise.all([runChild(file, 'race', 40, startAt), runChild(file, 'race', 40, startAt)]);
  const all = [...x, ...y];
  for (let i = 0; i < 40; i++) {
    const forName = all.filter((o) => o.name === `race-${i}`);
    assert.is(forName.filter((o) => o.ok).length, 1, `race-${i} created exactly once`);
    const loser = forName.find((o) => !o.ok)!;
    assert.ok(loser.error === 'DuplicateName' || loser.error === 'InstanceAssociated', `loser error: ${loser.error}`);
  }
  // the log agrees: exactly 40 NodeCreated events, with 40 distinct names
  const store = openSqliteEventStore({ path: file });
  const created = (await store.readAll({ streamPrefixes: ['node-'] })).filter((e) => e.type === 'NodeCreated');
  assert.is(created.length, 40);
  assert.is(new Set(created.map((e) => (e.data as { node: { name: string } }).node.name)).size, 40);
  await store.close();
});

test('a retried command appends nothing new', async () => {
  const store = openSqliteEventStore({ path: freshFile() });
  const uuid = randomUUID();
  const envelope = { commandId: randomUUID(), actor: 'test', command: { type: 'CreateNode', data: { uuid, at: new Date().toISOString(), fields: { driver: 'fake-hardware', name: 'retry-me' } } } };
  const first = await execute(store, 'node', uuid, envelope);
  const second = await execute(store, 'node', uuid, envelope);
  assert.ok(E.isRight(first) && E.isRight(second));
  if (E.isRight(second)) assert.is(second.right.duplicate, true);
  const events = await store.readAll();
  assert.is(events.filter((e) => e.streamId === `node-${uuid}`).length, (await store.readStream(`node-${uuid}`)).length);
  assert.is((await store.readStream(`node-${uuid}`)).length, E.isRight(first) ? first.right.events.length : -1);
  await store.close();
});

test.after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
test.run();
