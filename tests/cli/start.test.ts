// `ironlog start` (what `npm start` runs) as a real child process on a machine where nothing
// answers at NATS_URL: it must start its own nats-server, serve the API with a generated admin
// login, take a node through manage on its conductor, and stop everything on SIGTERM. It runs
// with npm start's node options, and with tsx's cache off, so every module is transpiled by
// esbuild: once started, no esbuild helper process may be left running (cli/transpiler.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort } from '../support/nats.ts';
import { descendants, startNodeOptions } from '../scenario/support/ironlog.ts';

const root = new URL('../..', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });

const startsAndManages = async (extraEnv: Record<string, string>, expectUp: RegExp) => {
  const dir = mkdtempSync(join(tmpdir(), 'ironlog-start-'));
  const natsPort = await freePort();
  const apiPort = await freePort();
  const child = spawn(process.execPath, [...startNodeOptions(), '--import', 'tsx', join(root, 'cli/main.ts'), 'start'], {
    cwd: root,
    env: { ...process.env, ...extraEnv, TSX_DISABLE_CACHE: '1', IRONLOG_DATA_DIR: dir, NATS_URL: `nats://127.0.0.1:${natsPort}`, IRONLOG_API_PORT: String(apiPort), IRONLOG_SECRET_KEY: '', IRONLOG_AUTH_STRATEGY: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  try {
    const deadline = Date.now() + 30_000;
    while (!out.includes('ironlog is up')) {
      assert.ok(child.exitCode === null, `start exited early:\n${out}`);
      assert.ok(Date.now() < deadline, `not up within 30 s:\n${out}`);
      await sleep(100);
    }
    assert.ok(out.includes('starting'), 'it said it started a nats-server');
    assert.match(out, expectUp);
    // esbuild helpers (one per thread that transpiled) are stopped once everything is loaded
    const esbuilds = () =>
      descendants(child.pid!).filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('esbuild');
        } catch {
          return false;
        }
      });
    const esbuildDeadline = Date.now() + 10_000;
    while (esbuilds().length > 0 && Date.now() < esbuildDeadline) await sleep(100);
    assert.equal(esbuilds(), [], 'no esbuild process left once started');
    assert.ok(await answers(natsPort), 'its own nats-server listens on the NATS_URL port');
    assert.ok(existsSync(join(dir, 'nats')), 'NATS data lives in the data dir');
    const password = readFileSync(join(dir, 'admin-password'), 'utf8').trim();
    assert.not.ok(out.includes(password), 'the generated password is not printed');
    const base = `http://127.0.0.1:${apiPort}`;
    const auth = { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`, 'x-openstack-ironic-api-version': 'latest', 'content-type': 'application/json' };
    assert.is((await fetch(`${base}/v1/nodes`)).status, 401, 'http_basic is the default');
    const created = await fetch(`${base}/v1/nodes`, { method: 'POST', headers: auth, body: JSON.stringify({ driver: 'fake-hardware', name: 'start-1', driver_info: { ipmi_password: 'p4ss-start' } }) });
    assert.is(created.status, 201, await created.clone().text());
    const node = (await created.json()) as { uuid: string; driver_info: Record<string, string> };
    assert.is(node.driver_info.ipmi_password, '******');
    const manage = await fetch(`${base}/v1/nodes/${node.uuid}/states/provision`, { method: 'PUT', headers: auth, body: JSON.stringify({ target: 'manage' }) });
    assert.is(manage.status, 202, await manage.clone().text());
    let state = '';
    while (Date.now() < deadline + 15_000) {
      state = ((await (await fetch(`${base}/v1/nodes/${node.uuid}`, { headers: auth })).json()) as { provision_state: string }).provision_state;
      if (state === 'manageable') break;
      await sleep(100);
    }
    assert.is(state, 'manageable', 'the conductor verified the node');
    const conductors = (await (await fetch(`${base}/v1/conductors`, { headers: auth })).json()) as { conductors: { alive: boolean }[] };
    assert.ok(conductors.conductors.some((c) => c.alive), 'a live conductor is listed');
  } finally {
    child.kill('SIGTERM');
    const exited = await Promise.race([new Promise((r) => child.once('exit', () => r(true))), sleep(15_000).then(() => false)]);
    if (!exited) child.kill('SIGKILL');
    assert.ok(exited, `stopped within 15 s on SIGTERM:\n${out.slice(-2000)}`);
    await sleep(300);
    assert.not.ok(await answers(natsPort), 'its nats-server stopped with it');
    rmSync(dir, { recursive: true, force: true });
  }
};

test('starts its own NATS, serves the API with a generated login, runs a conductor, stops cleanly', async () => {
  await startsAndManages({ IRONLOG_START_WORKER: '' }, /ironlog is up: Ironic v1 API at \S+ \(1 conductor, data in/);
});

// the conductors and the publisher in a worker thread: the same service, and no esbuild helper
// left in either thread once started (each thread's module hooks have their own)
test('IRONLOG_START_WORKER=1: the conductor and the publisher in a worker thread, the same service', async () => {
  await startsAndManages({ IRONLOG_START_WORKER: '1' }, /ironlog is up: Ironic v1 API at \S+ \(1 conductor and the publisher in a worker thread, data in/);
});

test.run();
