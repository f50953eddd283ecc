// The API routing node work to real conductors over NATS (api/nats-conductors.ts): a private
// nats-server, one SQLite event store, two conductors (conductor/conductor.ts) that register in
// the membership log and serve `node-command` with nodeCommandHandler. The node's `conductor` is
// its owner on the ring, /v1/drivers and /v1/conductors come from the membership, a power
// request is executed by the owner, and without a live conductor the answer is 400 NoValidHost.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildApp } from '../../api/app.ts';
import { loadApiConfig } from '../../api/config.ts';
import { NODE_COMMAND_ACTION, nodeCommandHandler } from '../../api/nats-conductors.ts';
import { startApiRuntime, type ApiRuntime } from '../../api/runtime.ts';
import { loadConductorConfig } from '../../conductor/config.ts';
import { startConductor, type Conductor } from '../../conductor/conductor.ts';
import { MembershipView } from '../../conductor/membership-view.ts';
import { connectNats } from '../../conductor/nats.ts';
import { NodeRouter } from '../../conductor/routing.ts';
import { SqliteEventStore } from '../../eventstore/sqlite.ts';
import { createSecretBox } from '../../secrets/secret-box.ts';
import { startNatsServer, type NatsServer } from '../support/nats.ts';
import { innerError } from './support/app.ts';

let nats: NatsServer;
let dataDir: string;
let store: SqliteEventStore;
let nc: NatsConnection;
let view: MembershipView;
let runtime: ApiRuntime;
let app: ReturnType<typeof buildApp>;
const conductors: Conductor[] = [];

const startOne = async (host: string) => {
  const config = loadConductorConfig({ IRONLOG_CONDUCTOR_HOST: host, NATS_URL: nats.url, IRONLOG_HEARTBEAT_INTERVAL_MS: '200', IRONLOG_RPC_TIMEOUT_MS: '1000', IRONLOG_RPC_DEADLINE_MS: '4000' });
  const c = await startConductor(config, { store, nc, handlers: { [NODE_COMMAND_ACTION]: nodeCommandHandler({ store }) } });
  conductors.push(c);
  await view.waitFor((m) => m.members[host] !== undefined, 5000);
  return c;
};

type J = Record<string, unknown>;
/** the read models have folded everything in the log now (membership events included) */
const caughtUp = async () => {
  const head = await store.headPosition();
  if (head !== 'start') await runtime.deps.readModels.waitForPosition(head, 5000);
};
const call = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => {
  const r = await app.inject({ method, url, headers: { host: 'h', 'x-openstack-ironic-api-version': 'latest' }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as J) : {}, raw: r.body };
};

test.before(async () => {
  nats = await startNatsServer();
  dataDir = mkdtempSync(join(tmpdir(), 'ironlog-api-nats-'));
  store = new SqliteEventStore({ path: join(dataDir, 'events.sqlite') });
  nc = await connectNats([nats.url], { name: 'api-nats-test' });
  view = new MembershipView({ store, nc, pollIntervalMs: 100 });
  await view.start();
  const router = new NodeRouter({ nc, view, rpcTimeoutMs: 1000, rpcDeadlineMs: 4000 });
  runtime = await startApiRuntime({ store, readModelsPath: join(dataDir, 'readmodels.sqlite'), secrets: createSecretBox(randomBytes(32)), nats: { view, router } });
  app = buildApp(runtime.deps, loadApiConfig({ IRONLOG_DATA_DIR: dataDir, IRONLOG_AUTH_STRATEGY: 'noauth' }), { logger: false });
  await app.ready();
  await startOne('nats-c1');
  await startOne('nats-c2');
});

test.after(async () => {
  await app?.close();
  for (const c of conductors) await c.stop({ leave: true }).catch(() => undefined);
  await runtime?.stop();
  view?.stop();
  await nc?.drain().catch(() => undefined);
  await store?.close();
  await nats?.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

test('nodes get their owner on the ring; drivers and conductors come from the membership log', async () => {
  const owners = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const r = await call('POST', '/v1/nodes', { driver: 'fake-hardware', name: `nn-${i}` });
    assert.is(r.status, 201, r.raw);
    assert.is(r.body.conductor, view.ownerOf({ uuid: r.body.uuid as string, group: '', driver: 'fake-hardware' }));
    owners.add(r.body.conductor as string);
  }
  assert.equal([...owners].sort(), ['nats-c1', 'nats-c2']);
  const drivers = await call('GET', '/v1/drivers');
  assert.equal((drivers.body.drivers as J[]).map((d) => [d.name, d.hosts]), [['fake-hardware', ['nats-c1', 'nats-c2']]]);
  assert.is((await call('GET', '/v1/drivers/fake-hardware')).body.default_deploy_interface, 'fake');
  await caughtUp();
  const list = await call('GET', '/v1/conductors');
  assert.equal((list.body.conductors as J[]).map((c) => [c.hostname, c.alive]), [['nats-c1', true], ['nats-c2', true]]);
  assert.is((await call('POST', '/v1/nodes', { driver: 'ipmi' })).status, 400);
});

test('a power request runs on the owning conductor (fenced, once), visible at once through the API', async () => {
  const node = await call('POST', '/v1/nodes', { driver: 'fake-hardware', name: 'powered' });
  const uuid = node.body.uuid as string;
  const owner = node.body.conductor as string;
  const before = conductors.map((c) => c.server.executed);
  const r = await call('PUT', '/v1/nodes/powered/states/power', { target: 'power on' });
  assert.is(r.status, 202, r.raw);
  const after = conductors.map((c) => c.server.executed);
  const ran = conductors.filter((_, i) => after[i]! > before[i]!).map((c) => c.config.host);
  assert.equal(ran, [owner]);
  assert.is((await call('GET', `/v1/nodes/${uuid}/states`)).body.target_power_state, 'power on');
  const ev = (await store.readStream(`node-${uuid}`)).at(-1)!;
  assert.is(ev.type, 'PowerStateChangeRequested');
  assert.is(ev.metadata.actor, 'noauth');
  // a domain refusal from the conductor comes back as Ironic's error
  const maint = await call('PUT', `/v1/nodes/${uuid}/maintenance`, { reason: 'x' });
  assert.is(maint.status, 202);
  assert.is((await call('GET', `/v1/nodes/${uuid}`)).body.maintenance, true);
});

test('with no live conductor for the driver: 400 NoValidHost', async () => {
  const node = await call('POST', '/v1/nodes', { driver: 'fake-hardware', name: 'orphan' });
  assert.is(node.status, 201);
  for (const c of conductors.splice(0)) await c.stop({ leave: true });
  await view.waitFor((m) => Object.keys(m.members).length === 0, 5000);
  const r = await call('PUT', '/v1/nodes/orphan/states/power', { target: 'power on' });
  assert.is(r.status, 400);
  assert.is(innerError(r.raw).faultstring, 'No valid host was found. Reason: No conductor service registered which supports driver fake-hardware for conductor group "".');
  assert.is((await call('GET', '/v1/nodes/orphan')).body.conductor, null);
  assert.equal((await call('GET', '/v1/drivers')).body, { drivers: [] });
  await caughtUp();
  const list = await call('GET', '/v1/conductors');
  assert.equal((list.body.conductors as J[]).map((c) => c.alive), [false, false]);
});

test.run();
