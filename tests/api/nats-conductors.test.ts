// The API routing node work to real conductors over NATS (api/nats-conductors.ts): a private
// nats-server, one SQLite data dir, two `ironlog conductor` runs in this process (cli/conductor.ts
// with the provisioning executor and fake-hardware). The node's `conductor` is its owner on the
// ring; /v1/drivers and /v1/conductors come from the membership log; manage → provide → active →
// deleted and power run on the owner; with no live conductor at all the answer is 503 (Ironic's
// empty hash ring), and 400 NoValidHost when live conductors do not serve the driver.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildApp } from '../../api/app.ts';
import { loadApiConfig } from '../../api/config.ts';
import { startApiRuntime, type ApiRuntime } from '../../api/runtime.ts';
import { run as runConductor, type ConductorRuntime } from '../../cli/conductor.ts';
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
const running: Array<{ host: string; stop: () => void; exit: Promise<number>; rt: ConductorRuntime }> = [];

const startOne = async (host: string) => {
  let stop!: () => void;
  const until = new Promise<void>((r) => (stop = r));
  let started!: (rt: ConductorRuntime) => void;
  const up = new Promise<ConductorRuntime>((r) => (started = r));
  const exit = runConductor(['--host', host], { until, onStarted: (rt) => started(rt) });
  const rt = await Promise.race([up, exit.then((code) => Promise.reject(new Error(`conductor ${host} exited with ${code}`)))]);
  running.push({ host, stop, exit, rt });
  await view.waitFor((m) => m.members[host] !== undefined, 5000);
};
const stopAll = async () => {
  for (const c of running.splice(0)) {
    c.stop();
    assert.is(await c.exit, 0);
  }
};

type J = Record<string, unknown>;
const call = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => {
  const r = await app.inject({ method, url, headers: { host: 'h', 'x-openstack-ironic-api-version': 'latest' }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as J) : {}, raw: r.body };
};
/** the read models have folded everything in the log now (membership events included) */
const caughtUp = async () => {
  const head = await store.headPosition();
  if (head !== 'start') await runtime.deps.readModels.waitForPosition(head, 5000);
};
const waitFor = async (what: string, pred: () => Promise<boolean>, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};
const stateOf = async (node: string) => (await call('GET', `/v1/nodes/${node}/states`)).body;

test.before(async () => {
  nats = await startNatsServer();
  dataDir = mkdtempSync(join(tmpdir(), 'ironlog-api-nats-'));
  Object.assign(process.env, {
    NATS_URL: nats.url,
    IRONLOG_DATA_DIR: dataDir,
    IRONLOG_HEARTBEAT_INTERVAL_MS: '200',
    IRONLOG_RPC_TIMEOUT_MS: '2000',
    IRONLOG_RPC_DEADLINE_MS: '6000',
    IRONLOG_LOG_LEVEL: 'silent',
  });
  store = new SqliteEventStore({ path: join(dataDir, 'events.sqlite') });
  nc = await connectNats([nats.url], { name: 'api-nats-test' });
  view = new MembershipView({ store, nc, pollIntervalMs: 100 });
  await view.start();
  const router = new NodeRouter({ nc, view, rpcTimeoutMs: 2000, rpcDeadlineMs: 6000 });
  runtime = await startApiRuntime({ store, readModelsPath: join(dataDir, 'readmodels.sqlite'), secrets: createSecretBox(randomBytes(32)), nats: { view, router } });
  app = buildApp(runtime.deps, loadApiConfig({ IRONLOG_DATA_DIR: dataDir, IRONLOG_AUTH_STRATEGY: 'noauth' }), { logger: false });
  await app.ready();
  await startOne('nats-c1');
  await startOne('nats-c2');
});

test.after(async () => {
  await app?.close();
  await stopAll().catch(() => undefined);
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

test('manage → provide → active → deleted and power, on the owning conductor over NATS', async () => {
  const node = await call('POST', '/v1/nodes', { driver: 'fake-hardware', name: 'over-nats' });
  const uuid = node.body.uuid as string;
  const owner = node.body.conductor as string;
  for (const [target, stable] of [['manage', 'manageable'], ['provide', 'available'], ['active', 'active'], ['deleted', 'available']] as const) {
    const r = await call('PUT', '/v1/nodes/over-nats/states/provision', { target });
    assert.is(r.status, 202, `${target}: ${r.raw}`);
    await waitFor(`${target} → ${stable}`, async () => {
      const s = await stateOf(uuid);
      return s.provision_state === stable && s.target_provision_state === null;
    });
  }
  assert.is((await call('PUT', `/v1/nodes/${uuid}/states/power`, { target: 'power on' })).status, 202);
  await waitFor('power on', async () => (await stateOf(uuid)).power_state === 'power on');
  const events = await store.readStream(`node-${uuid}`);
  const requests = events.filter((e) => e.type === 'ProvisionActionRequested' || e.type === 'PowerStateChangeRequested');
  assert.is(requests.length, 5);
  for (const e of requests) assert.is(e.metadata.actor, 'noauth');
  // the owner did the work: its reservations name it
  assert.ok(events.some((e) => e.type === 'NodeReserved' && (e.data as { host: string }).host === owner));
  const wrong = await call('PUT', `/v1/nodes/${uuid}/states/provision`, { target: 'provide' });
  assert.is(wrong.status, 400);
  assert.is(innerError(wrong.raw).faultstring, `The requested action "provide" can not be performed on node "${uuid}" while it is in state "available".`);
});

test('with no live conductor at all: 503 TemporaryFailure (the hash ring is empty)', async () => {
  const node = await call('POST', '/v1/nodes', { driver: 'fake-hardware', name: 'orphan' });
  assert.is(node.status, 201);
  await stopAll();
  await view.waitFor((m) => Object.keys(m.members).length === 0, 5000);
  const r = await call('PUT', '/v1/nodes/orphan/states/power', { target: 'power on' });
  assert.is(r.status, 503);
  assert.is(innerError(r.raw).faultstring, 'Resource temporarily unavailable, please retry.');
  assert.is((await call('GET', '/v1/nodes/orphan')).body.conductor, null);
  assert.equal((await call('GET', '/v1/drivers')).body, { drivers: [] });
  await caughtUp();
  const list = await call('GET', '/v1/conductors');
  assert.equal((list.body.conductors as J[]).map((c) => c.alive), [false, false]);
});

test.run();
