// Events whose metadata has no timestamp: their timeline entry's time is the stored event's
// `created`. A fed rebuild's reading thread does not read `created` (feed.ts): it leaves such
// rows, and rows whose metadata needs JSON.parse, to the worker, which decodes them in full. The
// rebuilt read models must still equal the live projector's, entry for entry.

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openEventStore } from '../../eventstore/open.ts';
import type { EventData, EventStore } from '../../eventstore/port.ts';
import { productionDomain } from '../../projections/domain.ts';
import { timeline } from '../../projections/history.ts';
import { readModels } from '../../projections/index.ts';
import { Projector } from '../../projections/projector.ts';
import { compareReadModels, rebuild } from '../../projections/rebuild.ts';
import { ReadModelDb } from '../../projections/store.ts';
import { nodeLife, toEventData, uuidFor } from './node-events.ts';
import { removeTempDirs, tempDir } from './support.ts';

const dir = tempDir();
const models = readModels();
let store: EventStore;

test.before(async () => {
  store = await openEventStore({ dataDir: dir });
  for (let i = 0; i < 6; i++) {
    const uuid = uuidFor(0x7157, i);
    const events = [...nodeLife({ uuid, name: `t${i}`, start: Date.UTC(2024, 0, 1) + i * 1000, conductor: 'c1' }, 30)].map((e, k) => {
      const d = toEventData(e, `corr-${i}-${k}`);
      const m = { ...(d.metadata as Record<string, unknown>) };
      // every third event: no timestamp; every fifth: an empty one; every seventh: an escape in
      // the actor (the metadata then needs JSON.parse) and no timestamp
      if (k % 3 === 1) delete m.timestamp;
      if (k % 5 === 2) m.timestamp = '';
      if (k % 7 === 3) {
        m.actor = 'conductor:"c1"\n';
        delete m.timestamp;
      }
      // (the port's type wants a timestamp: this is what an older or foreign writer may store)
      return { ...d, metadata: m as unknown as EventData['metadata'] };
    });
    // several appends per node, interleaved with the other nodes' (chunks span batches)
    for (let from = 0; from < events.length; from += 10) await store.append(`node-${uuid}`, events.slice(from, from + 10), from === 0 ? 'no_stream' : BigInt(from - 1));
  }
});

test.after(async () => {
  await store.close();
  removeTempDirs();
});

test('a fed rebuild gives events without a timestamp their created time, as the live projector does', async () => {
  const rebuilt = join(dir, 'rebuilt.sqlite');
  // small batches: rows left to the worker fall in the middle of chunks and batches
  const r = await rebuild({ store, domain: productionDomain, models, file: rebuilt, workers: 1, location: { dataDir: dir }, batchSize: 7 });
  assert.is(r.events, 180);
  const live = ReadModelDb.open(join(dir, 'live.sqlite'), models);
  const p = new Projector({ store, db: live, domain: productionDomain, maxPendingEvents: 13 }).start();
  await p.caughtUp;
  await p.stop();
  live.close();
  const [a, b] = [new Database(join(dir, 'live.sqlite'), { readonly: true }), new Database(rebuilt, { readonly: true })];
  try {
    assert.equal(compareReadModels(a, b, models), []);
    const stored = await store.readStream(`node-${uuidFor(0x7157, 2)}`);
    const entries = timeline(b, uuidFor(0x7157, 2));
    assert.is(entries.length, 30);
    let defaulted = 0;
    for (const [k, e] of stored.entries()) {
      const ts = (e.metadata as { timestamp?: string }).timestamp;
      const expected = ts ? ts : e.created.toISOString();
      if (!ts) defaulted++;
      assert.is(entries[k].time, expected, `entry ${k}`);
      assert.is(entries[k].actor, (e.metadata as { actor: string }).actor, `entry ${k}`);
      assert.is(entries[k].position, e.position, `entry ${k}`);
    }
    assert.ok(defaulted >= 10, 'many entries took their time from `created`');
  } finally {
    a.close();
    b.close();
  }
});

test.run();
