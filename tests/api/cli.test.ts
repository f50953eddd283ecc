// `ironlog api` (cli/api.ts): starts the API over a real data dir on a free port, serves HTTP,
// stops on request. A second API process on the same data dir (simulated in-process) reads the
// read models the first one projects and still reads its own writes.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run } from '../../cli/api.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'ironlog-cli-api-'));
const env = {
  IRONLOG_DATA_DIR: dataDir,
  IRONLOG_API_HOST: '127.0.0.1',
  IRONLOG_API_PORT: '0',
  IRONLOG_AUTH_STRATEGY: 'noauth',
  IRONLOG_SECRET_KEY: randomBytes(32).toString('base64'),
  IRONLOG_LOG_LEVEL: 'silent',
  IRONLOG_CONDUCTOR_HOST: 'cli-conductor',
};

const start = async (): Promise<{ url: string; stop: () => void; exit: Promise<number> }> => {
  let stop!: () => void;
  const until = new Promise<void>((r) => (stop = r));
  let url = '';
  let listening!: () => void;
  const up = new Promise<void>((r) => (listening = r));
  const exit = run([], { env, until, onListening: (u) => ((url = u), listening()) });
  await Promise.race([up, exit]);
  return { url, stop, exit };
};

const http = async (base: string, method: string, path: string, body?: unknown) => {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { 'x-openstack-ironic-api-version': 'latest', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  return { status: r.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
};

test('refuses to start without a secret key (exit 2), or with a bad configuration', async () => {
  assert.is(await run([], { env: { ...env, IRONLOG_SECRET_KEY: '' } }), 2);
  assert.is(await run([], { env: { ...env, IRONLOG_AUTH_STRATEGY: 'keystone' } }), 2);
  assert.is(await run(['--bogus'], { env }), 2);
});

test('serves the API over HTTP on the real stack; a second process reads what the first projects', async () => {
  const first = await start();
  assert.match(first.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const root = await http(first.url, 'GET', '/');
  assert.is(root.status, 200);
  const created = await http(first.url, 'POST', '/v1/nodes', { driver: 'fake-hardware', name: 'cli-node', driver_info: { ipmi_password: 'p' } });
  assert.is(created.status, 201);
  assert.equal(created.body.driver_info, { ipmi_password: '******' });
  assert.is(created.body.conductor, 'cli-conductor');
  assert.is((await http(first.url, 'PUT', '/v1/nodes/cli-node/states/provision', { target: 'manage' })).status, 202);

  const second = await start();
  assert.is.not(second.url, first.url);
  assert.is((await http(second.url, 'GET', '/v1/nodes/cli-node')).status, 200);
  const other = await http(second.url, 'POST', '/v1/nodes', { driver: 'fake-hardware', name: 'cli-node-2' });
  assert.is(other.status, 201);
  assert.is(other.body.name, 'cli-node-2');
  assert.is((await http(first.url, 'GET', '/v1/nodes/cli-node-2')).status, 200);
  second.stop();
  assert.is(await second.exit, 0);
  first.stop();
  assert.is(await first.exit, 0);

  // a restart finds everything in the log and the read models
  const again = await start();
  const list = await http(again.url, 'GET', '/v1/nodes');
  assert.equal((list.body.nodes as Array<{ name: string }>).map((n) => n.name), ['cli-node', 'cli-node-2']);
  const states = await http(again.url, 'GET', '/v1/nodes/cli-node/states');
  assert.is(states.body.provision_state, 'manageable');
  again.stop();
  assert.is(await again.exit, 0);
});

test.after(() => {
  rmSync(dataDir, { recursive: true, force: true });
});
test.run();
