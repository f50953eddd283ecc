// Read-your-writes without waiting for a poll: an append in this process wakes the projector at
// once (the store's in-process notification), so a 201 and the GET after it show the write even
// when the store would look for other processes' commits only once a minute. Writes through a
// second store object on the same file (as the in-process conductors and publisher have) wake it
// too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.ts';
import { loadApiConfig } from '../../api/config.ts';
import { startApiRuntime, type ApiRuntime } from '../../api/runtime.ts';
import { SqliteEventStore } from '../../eventstore/sqlite.ts';
import { createSecretBox } from '../../secrets/secret-box.ts';

const POLL_MS = 60_000;
let dataDir: string;
let store: SqliteEventStore;
let peer: SqliteEventStore;
let runtime: ApiRuntime;
let app: FastifyInstance;
const headers = { 'x-openstack-ironic-api-version': 'latest', 'content-type': 'application/json' };

test.before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ironlog-ryw-'));
  store = new SqliteEventStore({ path: join(dataDir, 'events.sqlite'), pollIntervalMs: POLL_MS });
  peer = new SqliteEventStore({ path: join(dataDir, 'events.sqlite'), pollIntervalMs: POLL_MS });
  runtime = await startApiRuntime({ store, readModelsPath: join(dataDir, 'readmodels.sqlite'), secrets: createSecretBox(randomBytes(32)), conductorHost: 'ryw' });
  // a read model that does not catch up answers 503 after this: far below the poll interval
  app = buildApp(runtime.deps, loadApiConfig({ IRONLOG_DATA_DIR: dataDir, IRONLOG_AUTH_STRATEGY: 'noauth', IRONLOG_API_READ_TIMEOUT_MS: '3000' }), { logger: false });
  await app.ready();
});

test.after(async () => {
  await app?.close();
  await runtime?.stop();
  await peer?.close();
  await store?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('creates are answered and readable at once, with the poll a minute away', async () => {
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) {
    const created = await app.inject({ method: 'POST', url: '/v1/nodes', headers, payload: JSON.stringify({ driver: 'fake-hardware', name: `ryw-${i}` }) });
    assert.is(created.statusCode, 201, created.body);
    const uuid = (JSON.parse(created.body) as { uuid: string }).uuid;
    const shown = await app.inject({ method: 'GET', url: `/v1/nodes/ryw-${i}`, headers });
    assert.is(shown.statusCode, 200, shown.body);
    assert.is((JSON.parse(shown.body) as { uuid: string }).uuid, uuid);
  }
  const ms = performance.now() - t0;
  // 20 waits for a poll would take 20 minutes; one read-model timeout alone 3 s
  assert.ok(ms < 3000, `20 creates and reads took ${ms.toFixed(0)} ms`);
});

test('an append through another store object of this process wakes the projector at once', async () => {
  const uuid = randomUUID();
  const at = new Date().toISOString();
  const node = { uuid, driver: 'fake-hardware', name: `peer-${uuid.slice(0, 8)}`, provision_state: 'enroll', created_at: at };
  const r = await peer.append(`node-${uuid}`, [{
    id: randomUUID(),
    type: 'NodeCreated',
    data: { node: { ...(await seedFields()), ...node } },
    metadata: { correlationId: 'c', causationId: 'c', actor: 'test', timestamp: at },
  }], 'no_stream');
  const t0 = performance.now();
  await runtime.deps.readModels.waitForPosition(r.position, 2000);
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `seen after ${ms.toFixed(0)} ms`);
  const shown = await app.inject({ method: 'GET', url: `/v1/nodes/${uuid}`, headers });
  assert.is(shown.statusCode, 200, shown.body);
});

/** a stored node as the API wrote one above, for a NodeCreated written by hand */
const seedFields = async (): Promise<Record<string, unknown>> => {
  const [first] = await store.readStream((await store.readAll({ streamPrefixes: ['node-'], maxCount: 1 }))[0]!.streamId);
  return (first!.data as { node: Record<string, unknown> }).node;
};

test.run();
