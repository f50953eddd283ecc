// A corrupt stored event reached through the fed rebuild (the main thread reads raw rows and
// posts them to a projecting worker thread, projections/feed.ts) is reported naming its
// stream@revision, exactly as through the store's own reads, and the rebuild fails cleanly: the
// promise rejects (no hang), no output or partition file is left, and once the row is repaired
// the same rebuild succeeds and equals a single-threaded one.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CorruptStoredEvent } from '../../eventstore/errors.ts';
import { openEventStore } from '../../eventstore/open.ts';
import type { EventStore } from '../../eventstore/port.ts';
import { productionDomain } from '../../projections/domain.ts';
import { ProjectionError } from '../../projections/errors.ts';
import { readModels } from '../../projections/index.ts';
import { compareReadModels, rebuild } from '../../projections/rebuild.ts';
import { nodeLife, toEventData, uuidFor } from './node-events.ts';
import { removeTempDirs, tempDir } from './support.ts';

const dir = tempDir();
const out = tempDir();
const models = readModels();
let store: EventStore;
let raw: Database.Database;
const nodes = 30;

test.before(async () => {
  store = await openEventStore({ dataDir: dir });
  // interleaved appends, as the service writes: a node's events are spread over many batches
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < nodes; i++) {
      const uuid = uuidFor(0xbad, i);
      const life = [...nodeLife({ uuid, name: `n${i}`, start: Date.UTC(2024, 0, 1) + i * 1000, conductor: 'c1' }, 60)].slice(round * 10, round * 10 + 10);
      await store.append(`node-${uuid}`, life.map((e) => toEventData(e, `c-${round}-${i}`)), round === 0 ? 'no_stream' : BigInt(round * 10 - 1));
    }
  }
  raw = new Database(join(dir, 'events.sqlite'));
});

test.after(async () => {
  raw.close();
  await store.close();
  removeTempDirs();
});

interface Stored {
  position: number;
  stream_id: string;
  revision: number;
  data: unknown;
  metadata: unknown;
}

/** a row in the middle of the log (so good rows before it were already projected) */
const victim = (): Stored => raw.prepare<[], Stored>('SELECT position, stream_id, revision, data, metadata FROM events WHERE position = 1000').get()!;

/** corrupts one column of the victim row, runs a fed rebuild, restores the row; the rebuild's error */
const rebuildWith = async (column: 'data' | 'metadata' | 'type', value: unknown, file: string): Promise<{ err: Error | undefined; row: Stored }> => {
  const row = victim();
  const before = raw.prepare<[number], Record<string, unknown>>(`SELECT ${column} AS v FROM events WHERE position = ?`).get(row.position)!.v;
  raw.prepare(`UPDATE events SET ${column} = ? WHERE position = ?`).run(value, row.position);
  try {
    const err = await rebuild({ store, domain: productionDomain, models, file, workers: 1, location: { dataDir: dir }, batchSize: 64 }).then(
      () => undefined,
      (e: Error) => e,
    );
    return { err, row };
  } finally {
    raw.prepare(`UPDATE events SET ${column} = ? WHERE position = ?`).run(before, row.position);
  }
};

const failsCleanly = (err: Error | undefined, row: Stored, file: string, reason: RegExp) => {
  assert.ok(err, 'the rebuild failed');
  const e = err as CorruptStoredEvent | ProjectionError;
  assert.ok(e instanceof CorruptStoredEvent || e instanceof ProjectionError, `a typed error, got ${e.name}: ${e.message}`);
  assert.is(e.streamId, row.stream_id);
  assert.is(e.revision, BigInt(row.revision));
  assert.match(e.message, `${row.stream_id}@${row.revision}`);
  assert.match(e.reason, reason);
  assert.not.ok(existsSync(file), 'no rebuilt file is left');
  assert.equal(
    readdirSync(out).filter((f) => f.includes('.part')),
    [],
    'no partition file is left',
  );
};

test('data that is not JSON: CorruptStoredEvent naming stream@revision', async () => {
  const file = join(out, 'bad-json.sqlite');
  const { err, row } = await rebuildWith('data', '{"uuid": "x", oops', file);
  failsCleanly(err, row, file, /data is not valid JSON/);
  assert.instance(err, CorruptStoredEvent);
});

test('metadata that is not JSON, or not a JSON object', async () => {
  for (const [value, reason] of [
    ['{"actor":"a",', /metadata is not valid JSON/],
    ['[1,2]', /metadata is not a JSON object/],
    ['"text"', /metadata is not a JSON object/],
    ['null', /metadata is not a JSON object/],
  ] as const) {
    const file = join(out, 'bad-meta.sqlite');
    const { err, row } = await rebuildWith('metadata', value, file);
    failsCleanly(err, row, file, reason);
  }
});

test('a column of the wrong type (a blob where text is stored)', async () => {
  const file = join(out, 'blob.sqlite');
  const { err, row } = await rebuildWith('data', Buffer.from('{}'), file);
  failsCleanly(err, row, file, /data is not text/);
  const meta = await rebuildWith('metadata', Buffer.from('{}'), file);
  failsCleanly(meta.err, meta.row, file, /metadata is not text/);
});

test('valid JSON of the wrong shape, an unknown type, an event of another aggregate', async () => {
  const file = join(out, 'shape.sqlite');
  const wrongShape = await rebuildWith('data', '{"nonsense":true}', file);
  failsCleanly(wrongShape.err, wrongShape.row, file, /./);
  assert.instance(wrongShape.err, ProjectionError);
  const unknown = await rebuildWith('type', 'NoSuchEvent', file);
  failsCleanly(unknown.err, unknown.row, file, /unknown event type "NoSuchEvent"/);
  const other = await rebuildWith('type', 'PortCreated', file);
  failsCleanly(other.err, other.row, file, /belongs to port streams, not node/);
});

test('after the row is repaired the fed rebuild succeeds and equals a single-threaded one', async () => {
  const fed = join(out, 'fed.sqlite');
  const single = join(out, 'single.sqlite');
  const r1 = await rebuild({ store, domain: productionDomain, models, file: fed, workers: 1, location: { dataDir: dir }, batchSize: 64 });
  const r2 = await rebuild({ store, domain: productionDomain, models, file: single });
  assert.is(r1.events, nodes * 60);
  assert.is(r1.position, r2.position);
  const [a, b] = [new Database(fed, { readonly: true }), new Database(single, { readonly: true })];
  try {
    assert.equal(compareReadModels(b, a, models), []);
    assert.is((a.prepare('SELECT COUNT(*) AS n FROM nodes').get() as { n: number }).n, nodes);
  } finally {
    a.close();
    b.close();
  }
});

test.run();
