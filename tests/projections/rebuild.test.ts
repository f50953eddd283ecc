// Rebuilding the read models from the log: the parallel rebuild (worker threads, one partition
// of the streams each, merged) gives exactly what the single-threaded one and the live projector
// give, stops at `until`, and a malformed event fails it naming stream and revision.

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openEventStore } from '../../eventstore/open.ts';
import type { EventStore } from '../../eventstore/port.ts';
import { productionDomain } from '../../projections/domain.ts';
import { ProjectionError } from '../../projections/errors.ts';
import { readModels } from '../../projections/index.ts';
import { Projector } from '../../projections/projector.ts';
import { compareReadModels, partitionPrefixes, rebuild } from '../../projections/rebuild.ts';
import { ReadModelDb } from '../../projections/store.ts';
import { nodeLife, toEventData, uuidFor } from './node-events.ts';
import { DomainWriter, removeTempDirs, tempDir } from './support.ts';

const dir = tempDir();
const models = readModels();
let store: EventStore;
let midPosition: bigint;

const seedNodes = async (from: number, count: number) => {
  for (let i = from; i < from + count; i++) {
    const uuid = uuidFor(0x5eed, i);
    const life = [...nodeLife({ uuid, name: `n${i}`, start: Date.UTC(2024, 0, 1) + i * 1000, conductor: 'c1' }, 20 + (i % 30))];
    await store.append(`node-${uuid}`, life.map((e) => toEventData(e, `c-${i}`)), 'no_stream');
  }
};

test.before(async () => {
  store = await openEventStore({ dataDir: dir });
  const w = new DomainWriter(store);
  await seedNodes(0, 40);
  await w.command('port', uuidFor(0x90, 1), { type: 'CreatePort', data: { fields: { node_uuid: uuidFor(0x5eed, 1), address: '52:54:00:00:01:01' } } });
  await w.command('conductor', 'ring', { type: 'RegisterConductor', data: { hostname: 'c1', incarnation: 'i1', group: '', hardwareTypes: ['fake-hardware'], interfaces: {} } });
  midPosition = (await store.headPosition()) as bigint;
  await seedNodes(40, 20);
  await w.command('chassis', uuidFor(0xc4, 1), { type: 'CreateChassis', data: { fields: { description: 'c' } } });
});

test.after(async () => {
  await store.close();
  removeTempDirs();
});

const open = (file: string) => new Database(file, { readonly: true });

test('partitions cover every followed kind once, node streams split by uuid digit', () => {
  const parts = partitionPrefixes(['node', 'port', 'membership'], 2);
  assert.equal(parts[0], ['node-0', 'node-1', 'node-2', 'node-3', 'node-4', 'node-5', 'node-6', 'node-7', 'port-', 'membership-ring']);
  assert.equal(parts[1], ['node-8', 'node-9', 'node-a', 'node-A', 'node-b', 'node-B', 'node-c', 'node-C', 'node-d', 'node-D', 'node-e', 'node-E', 'node-f', 'node-F']);
});

test('a parallel rebuild equals a single-threaded one and the live projector', async () => {
  const single = join(dir, 'single.sqlite');
  const parallel = join(dir, 'parallel.sqlite');
  const r1 = await rebuild({ store, domain: productionDomain, models, file: single });
  const r2 = await rebuild({ store, domain: productionDomain, models, file: parallel, workers: 2, location: { dataDir: dir } });
  assert.is(r2.events, r1.events);
  assert.is(r2.position, r1.position);
  const live = ReadModelDb.open(join(dir, 'live.sqlite'), models);
  const p = new Projector({ store, db: live, domain: productionDomain, maxPendingEvents: 50 }).start();
  await p.caughtUp;
  await p.stop();
  live.close();
  const [a, b, c] = [open(single), open(parallel), open(join(dir, 'live.sqlite'))];
  assert.equal(compareReadModels(a, b, models), []);
  assert.equal(compareReadModels(c, b, models), []);
  const nodes = (b.prepare('SELECT COUNT(*) AS n FROM nodes').get() as { n: number }).n;
  assert.is(nodes, 60);
  assert.is((b.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index'").get() as { n: number }).n > 10, true, 'indexes built');
  for (const d of [a, b, c]) d.close();
});

test('until: the parallel rebuild stops at the same point of the log in every partition', async () => {
  const single = join(dir, 'until1.sqlite');
  const parallel = join(dir, 'until2.sqlite');
  const r1 = await rebuild({ store, domain: productionDomain, models, file: single, until: midPosition });
  const r2 = await rebuild({ store, domain: productionDomain, models, file: parallel, until: midPosition, workers: 3, location: { dataDir: dir } });
  assert.is(r1.position, midPosition);
  assert.is(r2.position, midPosition);
  const [a, b] = [open(single), open(parallel)];
  assert.equal(compareReadModels(a, b, models), []);
  assert.is((b.prepare('SELECT COUNT(*) AS n FROM nodes').get() as { n: number }).n, 40);
  a.close();
  b.close();
});

test('a malformed stored event fails the parallel rebuild, naming stream and revision', async () => {
  const uuid = uuidFor(0x5eed, 3);
  const bad = await store.append(`node-${uuid}`, [{ id: 'bad-event-1', type: 'ProvisionStateChanged', data: { nonsense: true }, metadata: { correlationId: 'x', causationId: 'x', actor: 'a', timestamp: 't' } }], 'any');
  const err = await rebuild({ store, domain: productionDomain, models, file: join(dir, 'bad.sqlite'), workers: 2, location: { dataDir: dir } }).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.instance(err, ProjectionError);
  assert.is((err as ProjectionError).streamId, `node-${uuid}`);
  assert.is((err as ProjectionError).revision, bad.nextExpectedRevision);
  assert.match(String(err?.message), `node-${uuid}@${bad.nextExpectedRevision}`);
});

test.run();
