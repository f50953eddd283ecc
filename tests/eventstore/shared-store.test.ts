// openSharedEventStore: the parts of one process (`ironlog start`: API, conductors, publisher) get
// handles on ONE store per location; each handle's close() releases its share and the last one
// closes the store. A subscription of one handle sees another handle's appends at once.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openSharedEventStore } from '../../eventstore/open.ts';
import type { EventData, RecordedEvent } from '../../eventstore/port.ts';
import { SqliteEventStore } from '../../eventstore/sqlite.ts';

const root = mkdtempSync(join(tmpdir(), 'ironlog-es-sharedstore-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const ev = (type: string): EventData => ({
  id: randomUUID(),
  type,
  data: {},
  metadata: { correlationId: randomUUID(), causationId: randomUUID(), actor: 'test', timestamp: new Date().toISOString() },
});
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

test('handles share one store; the last close closes it; a later open is a new store', async () => {
  const dataDir = join(root, 'a');
  const [api, conductor] = await Promise.all([openSharedEventStore({ dataDir }), openSharedEventStore({ dataDir })]);
  assert.ok(api instanceof SqliteEventStore, 'a handle is the store for every purpose');
  const seen: RecordedEvent[] = [];
  const sub = conductor.subscribeToAll({ after: 'start' }, (events) => void seen.push(...events));
  await sub.caughtUp;
  await api.append('node-1', [ev('Created')], 'no_stream');
  for (let i = 0; i < 50 && seen.length === 0; i++) await sleep(2);
  assert.equal(seen.map((e) => e.type), ['Created'], "the other handle's subscription sees the append");
  // one connection: the handles' writes share one group commit
  const before = (api as SqliteEventStore).writeStats.transactions;
  await Promise.all([api.append('node-2', [ev('A')], 'no_stream'), conductor.append('node-3', [ev('B')], 'no_stream')]);
  assert.is((conductor as SqliteEventStore).writeStats.transactions - before, 1, 'both appends in one transaction');
  await sub.stop();

  await api.close();
  await api.close(); // a handle releases its share once
  assert.is((await conductor.readStream('node-1')).length, 1, 'still open for the other handle');
  await conductor.close();
  const afterLast = await conductor.readStream('node-1').then(() => 'read', (e: Error) => e.message);
  assert.match(afterLast, /closed/, 'the last close closed the store');

  const again = await openSharedEventStore({ dataDir });
  assert.is((await again.readStream('node-1')).length, 1, 'a new open after the last close works');
  await again.close();
});

test.run();
