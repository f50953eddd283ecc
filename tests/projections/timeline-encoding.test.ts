// The timeline's delta encoding gives back exactly what went in, whatever the times, actors and
// ids look like, across chunk boundaries (a property test over random event sequences).

import { join } from 'node:path';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openSqliteEventStore } from '../../eventstore/sqlite.ts';
import { timeline } from '../../projections/history.ts';
import { Projector } from '../../projections/projector.ts';
import { ReadModelDb } from '../../projections/store.ts';
import { fakeDomain, fakeModels } from './fake-domain.ts';
import { removeTempDirs, tempDir } from './support.ts';

const time = fc.oneof(
  fc.integer({ min: 0, max: 4102444800000 }).map((ms) => new Date(ms).toISOString()),
  fc.constantFrom('2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00Z', 'not a time', ''),
);
const eventArb = fc.record({
  actor: fc.constantFrom('admin', 'conductor:c1', 'conductor:c2', ''),
  corr: fc.constantFrom('a', 'b', 'c'),
  caus: fc.option(fc.constantFrom('a', 'x', 'y'), { nil: undefined }),
  time,
  rename: fc.boolean(),
});

test('timeline entries round-trip through the stored chunks', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(eventArb, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 40 }), async (events, batchSize) => {
      const dir = tempDir();
      const store = openSqliteEventStore({ path: join(dir, 'events.sqlite'), batchSize });
      const db = ReadModelDb.open(join(dir, 'rm.sqlite'), fakeModels(), { bulk: batchSize % 2 === 0 });
      const uuid = '00000000-0000-4000-8000-000000000001';
      let rev: bigint | 'no_stream' = 'no_stream';
      for (const [i, e] of events.entries()) {
        const type = i === 0 ? 'FakeCreated' : e.rename ? 'FakeRenamed' : 'FakeFailed';
        const data = i === 0 ? { uuid, name: 'n' } : e.rename ? { name: `n${i}` } : { message: 'm' };
        await store.append('claim-noise', [{ id: `${uuid}-${i}`.slice(0, 36) + i, type: 'X', data: {}, metadata: { correlationId: '', causationId: '', actor: '', timestamp: '' } }], 'any');
        const r = await store.append(`node-${uuid}`, [{ id: `e-${i}`, type, data, metadata: { correlationId: e.corr, causationId: e.caus ?? e.corr, actor: e.actor, timestamp: e.time } }], rev);
        rev = r.nextExpectedRevision;
      }
      const p = new Projector({ store, db, domain: fakeDomain, bulk: batchSize % 2 === 0, maxPendingEvents: 7 }).start();
      await p.caughtUp;
      await p.stop();
      const tl = timeline(db.db, uuid);
      db.close();
      await store.close();
      assert.is(tl.length, events.length);
      tl.forEach((t, i) => {
        const e = events[i];
        assert.is(t.revision, BigInt(i));
        assert.is(t.actor, e.actor);
        assert.is(t.correlationId, e.corr);
        assert.is(t.causationId, e.caus ?? e.corr);
        assert.is(t.time, e.time === '' ? t.time : e.time);
        if (i > 0) assert.ok(t.position > tl[i - 1].position);
      });
    }),
    { numRuns: 40 },
  );
});

test.after(() => removeTempDirs());

test.run();
