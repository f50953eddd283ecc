// `ironlog projections rebuild [--verify]` as a real child process: verify passes on a consistent
// store (also while a live projector keeps projecting), fails listing every difference after the
// live read-model file is tampered with, and a plain rebuild swaps a correct file back in.

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../config/index.ts';
import { openEventStore } from '../../eventstore/open.ts';
import type { EventStore } from '../../eventstore/port.ts';
import { startReadModels } from '../../projections/runtime.ts';
import { nodeLife, toEventData, uuidFor } from '../projections/node-events.ts';
import { DomainWriter, removeTempDirs, tempDir } from '../projections/support.ts';
import { runCli } from './run-cli.ts';

const dir = tempDir();
const env = { IRONLOG_DATA_DIR: dir };
const config = loadConfig(env);
let store: EventStore;
let w: DomainWriter;

const seed = async (from: number, count: number) => {
  for (let i = from; i < from + count; i++) {
    const uuid = uuidFor(0xc11, i);
    const events = [...nodeLife({ uuid, name: `node-${i}`, start: Date.UTC(2024, 0, 1) + i * 60_000, conductor: 'c1' }, 30 + i)];
    await store.append(`node-${uuid}`, events.map((e) => toEventData(e, `corr-${i}`)), 'no_stream');
  }
};

const project = async () => {
  const rm = startReadModels(store, config);
  await rm.projector.caughtUp;
  await rm.stop();
};

test.before(async () => {
  store = await openEventStore({ dataDir: dir });
  w = new DomainWriter(store);
  await seed(0, 12);
  await w.command('port', uuidFor(0x90, 1), { type: 'CreatePort', data: { fields: { node_uuid: uuidFor(0xc11, 0), address: '52:54:00:00:00:01' } } });
  await w.command('port', uuidFor(0x90, 2), { type: 'CreatePort', data: { fields: { node_uuid: uuidFor(0xc11, 1), address: '52:54:00:00:00:02' } } });
  await w.command('conductor', 'ring', { type: 'RegisterConductor', data: { hostname: 'c1', incarnation: 'i1', group: '', hardwareTypes: ['fake-hardware'], interfaces: {} } });
  await project();
});

test.after(async () => {
  await store.close();
  removeTempDirs();
});

test('verify exits 0 on a consistent store', async () => {
  const r = await runCli(['projections', 'rebuild', '--verify'], env);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /read models verified/);
});

test('verify exits 0 while a live projector keeps up with new writes', async () => {
  const rm = startReadModels(store, config);
  await rm.projector.caughtUp;
  await seed(12, 3);
  const r = await runCli(['projections', 'rebuild', '--verify'], env);
  await rm.stop();
  assert.is(r.code, 0, r.stdout + r.stderr);
});

test('verify exits non-zero listing every difference after the live file is tampered with', async () => {
  const node = uuidFor(0xc11, 3);
  const live = new Database(config.projections.readModelsPath);
  try {
    live.prepare("UPDATE nodes SET doc = json_set(doc, '$.node.name', 'tampered') WHERE id = ?").run(node);
    live.prepare("UPDATE nodes SET provision_state = 'error' WHERE id = ?").run(uuidFor(0xc11, 4));
    live.prepare('DELETE FROM ports WHERE id = ?').run(uuidFor(0x90, 2));
    live.prepare('DELETE FROM history_timeline WHERE node_uuid = ?').run(uuidFor(0xc11, 5));
    live.prepare("UPDATE conductors SET alive = 0 WHERE id = 'c1'").run();
  } finally {
    live.close();
  }
  const r = await runCli(['projections', 'rebuild', '--verify'], env);
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, `nodes[${node}].doc.node.name: live="tampered" rebuilt="node-3"`);
  assert.match(r.stdout, `nodes[${uuidFor(0xc11, 4)}].provision_state: live="error"`);
  assert.match(r.stdout, `ports[${uuidFor(0x90, 2)}]: missing from the live read models`);
  assert.match(r.stdout, `history_timeline[${uuidFor(0xc11, 5)}]: missing from the live read models`);
  assert.match(r.stdout, 'conductors[c1].alive: live=0 rebuilt=1');
  assert.match(r.stdout, /5 differences/);
});

test('rebuild refuses while a projector holds the live file, then swaps a correct file in', async () => {
  const rm = startReadModels(store, config);
  await rm.projector.caughtUp;
  const busy = await runCli(['projections', 'rebuild'], env);
  await rm.stop();
  assert.is(busy.code, 1);
  assert.match(busy.stderr, /being written by process/);
  const r = await runCli(['projections', 'rebuild'], env);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /rebuilt 11 read models/);
  const v = await runCli(['projections', 'rebuild', '--verify'], env);
  assert.is(v.code, 0, v.stdout + v.stderr);
  // the swapped-in file is a normal live file: a projector resumes on it
  await seed(15, 1);
  await project();
  const v2 = await runCli(['projections', 'rebuild', '--verify'], env);
  assert.is(v2.code, 0, v2.stdout + v2.stderr);
});

test('verify still finds one changed timeline entry, history record or name (the fed rebuild path)', async () => {
  // the default rebuild reads the log in the main thread and projects in a worker (feed.ts)
  assert.is(config.projections.rebuildWorkers, 1);
  // the test before left the live file verified; exactly the three changes below must show
  const node = uuidFor(0xc11, 7);
  const live = new Database(config.projections.readModelsPath);
  let record: string;
  try {
    // the third entry of the node's first chunk: [position delta, type, actor, ...]
    const first = live.prepare<[string], { rowid: number; entries: string }>('SELECT rowid, entries FROM history_timeline WHERE node_uuid = ? ORDER BY first_position LIMIT 1').get(node)!;
    const chunk = JSON.parse(first.entries) as { r: number; e: unknown[][] };
    // a type of 0 repeats the previous entry's: spell entry 3's out so that only entry 2 changes
    const types: unknown[] = [];
    chunk.e.forEach((e, i) => types.push(e[1] === 0 ? types[i - 1] : e[1]));
    chunk.e[2][1] = 'ForgedEvent';
    chunk.e[3][1] = types[3];
    live.prepare('UPDATE history_timeline SET entries = ? WHERE rowid = ?').run(JSON.stringify(chunk), first.rowid);
    record = live.prepare<[], { uuid: string }>('SELECT uuid FROM node_history ORDER BY position LIMIT 1').get()!.uuid;
    live.prepare("UPDATE node_history SET event = 'forged' WHERE uuid = ?").run(record);
    live.prepare("UPDATE history_nodes SET name = 'someone-else' WHERE node_uuid = ?").run(uuidFor(0xc11, 8));
  } finally {
    live.close();
  }
  const r = await runCli(['projections', 'rebuild', '--verify'], env);
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, `history_timeline[${node}].entries[2].type: live="ForgedEvent"`);
  assert.match(r.stdout, `node_history[${record}].event: live="forged"`);
  assert.match(r.stdout, `history_nodes[${uuidFor(0xc11, 8)}].name: live="someone-else" rebuilt="node-8"`);
  assert.match(r.stdout, /^3 differences/m);
});

test('bad usage exits 2', async () => {
  const r = await runCli(['projections', 'rebuld'], env);
  assert.is(r.code, 2);
  const h = await runCli(['nope'], env);
  assert.is(h.code, 2);
});

test.run();
