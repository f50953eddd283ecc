// `ironlog history <node>` as a real child process: the node's full timeline (type, revision,
// position, actor, correlation and causation ids, time) and its Ironic history records.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openEventStore } from '../../eventstore/open.ts';
import type { EventStore } from '../../eventstore/port.ts';
import { nodeLife, toEventData, uuidFor, type Emitted } from '../projections/node-events.ts';
import { DomainWriter, removeTempDirs, tempDir } from '../projections/support.ts';
import { runCli } from './run-cli.ts';

const dir = tempDir();
const env = { IRONLOG_DATA_DIR: dir };
let store: EventStore;
const uuid = uuidFor(0xabc, 1);
let life: Emitted[];

test.before(async () => {
  store = await openEventStore({ dataDir: dir });
  life = [...nodeLife({ uuid, name: 'web-1', start: Date.UTC(2024, 0, 1), conductor: 'c1' }, 60)];
  // in a few appends, with different correlation ids
  for (let i = 0; i < life.length; i += 20) {
    await store.append(`node-${uuid}`, life.slice(i, i + 20).map((e) => toEventData(e, `corr-${i / 20}`)), i === 0 ? 'no_stream' : BigInt(i - 1));
  }
  const w = new DomainWriter(store);
  await w.command('node', uuidFor(0xabc, 2), { type: 'CreateNode', data: { fields: { driver: 'fake-hardware', name: 'other' } } });
});

test.after(async () => {
  await store.close();
  removeTempDirs();
});

test('prints the timeline of a node by name, every event in order', async () => {
  const r = await runCli(['history', 'web-1'], env);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], `node ${uuid} (web-1): 60 events`);
  assert.match(lines[1], /TIME\s+REV\s+POSITION\s+TYPE\s+ACTOR\s+CORRELATION\s+CAUSATION/);
  const rows = lines.slice(2, 62);
  assert.is(rows.length, 60);
  rows.forEach((row, i) => {
    const cols = row.split(/\s+/);
    assert.is(cols[1], String(i), 'revision');
    assert.is(cols[3], life[i].event.type);
    assert.is(cols[4], life[i].actor);
    assert.is(cols[5], `corr-${Math.floor(i / 20)}`);
  });
  assert.match(r.stdout, /node history \(\d+\):/);
  assert.match(r.stdout, /INFO\s+verify\s+Node verified/);
});

test('by uuid, as JSON', async () => {
  const r = await runCli(['history', uuid, '--json'], env);
  assert.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { node: { uuid: string; name: string }; timeline: { type: string; revision: number; position: string; actor: string; correlationId: string; causationId: string; time: string }[]; history: unknown[] };
  assert.equal(out.node, { uuid, name: 'web-1' });
  assert.is(out.timeline.length, 60);
  assert.equal(out.timeline.map((e) => e.type), life.map((e) => e.event.type));
  assert.ok(out.timeline.every((e, i) => e.revision === i && e.time.startsWith('2024-01-01T') && e.causationId === e.correlationId));
  assert.ok(BigInt(out.timeline[59].position) > BigInt(out.timeline[0].position));
  assert.ok(out.history.length >= 1);
});

test('an unknown node exits 1; no argument exits 2', async () => {
  const r = await runCli(['history', 'nope'], env);
  assert.is(r.code, 1);
  assert.match(r.stderr, 'Node nope could not be found.');
  assert.is((await runCli(['history'], env)).code, 2);
});

test.run();
