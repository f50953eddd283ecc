// The ramdisk agent on its own (ramdisk-agent/ in this process) against a stand-in Ironic API: it
// looks its node up until it gets a token, heartbeats with it, serves the command API only to the
// token's holder, runs one command at a time, writes and verifies images, and starts a new ramdisk
// session after standby.power_off or a refused heartbeat.

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RamdiskAgent } from '../../ramdisk-agent/agent.ts';
import { rescuePasswordHash } from '../../ramdisk-agent/commands.ts';
import { parseArgs } from '../../ramdisk-agent/main.ts';

const NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123';
const MAC = '52:54:00:12:34:56';

/** A stand-in for Ironic's lookup and heartbeat endpoints; each lookup hands out the next token. */
class FakeIronic {
  server: Server;
  url = '';
  lookups: Array<{ query: string; version: string | undefined }> = [];
  heartbeats: Array<{ body: any; version: string | undefined }> = [];
  lookupStatus = 404;
  heartbeatStatus = 202;
  tokens: string[] = [];
  issued = 0;

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        const version = req.headers['x-openstack-ironic-api-version'] as string | undefined;
        if (url.pathname === '/v1/lookup') {
          this.lookups.push({ query: url.search, version });
          if (this.lookupStatus !== 200) return res.writeHead(this.lookupStatus).end();
          const token = this.tokens[this.issued++] ?? '******';
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ node: { uuid: NODE, properties: {} }, config: { heartbeat_timeout: 1, agent_token: token, agent_token_required: true } }));
        }
        if (url.pathname === `/v1/heartbeat/${NODE}` && req.method === 'POST') {
          this.heartbeats.push({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')), version });
          return res.writeHead(this.heartbeatStatus).end();
        }
        res.writeHead(404).end();
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

const until = async (cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

let ironic: FakeIronic;
let agent: RamdiskAgent;
let dir: string;
const logs: Array<Record<string, unknown>> = [];

test.before(async () => {
  ironic = new FakeIronic();
  ironic.tokens = ['token-one', 'token-two', 'token-three'];
  await ironic.start();
  dir = mkdtempSync(join(tmpdir(), 'ironlog-ramdisk-'));
  agent = new RamdiskAgent({ apiUrl: ironic.url, macs: [MAC], listenHost: '127.0.0.1', listenPort: 0, imageDir: join(dir, 'disk'), lookupIntervalMs: 30, log: (msg, extra) => logs.push({ msg, ...extra }) });
  await agent.start();
});
test.after(async () => {
  await agent?.stop();
  await new Promise<void>((r) => ironic.server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const cmd = async (token: string | undefined, name: string, params: unknown, wait: boolean) => {
  const q = new URLSearchParams({ wait: String(wait), ...(token ? { agent_token: token } : {}) });
  const r = await fetch(`${agent.callbackUrl}/v1/commands/?${q}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, params }) });
  return { status: r.status, body: (await r.json()) as any };
};

test('arguments: --api-url and --macs are required, MACs and --listen are checked', () => {
  assert.type(parseArgs([]), 'string');
  assert.type(parseArgs(['--api-url', 'http://a:6385']), 'string');
  assert.match(String(parseArgs(['--api-url', 'http://a', '--macs', 'zz:zz'])), /not a MAC/);
  assert.match(String(parseArgs(['--api-url', 'http://a', '--macs', MAC, '--listen', 'nope'])), /HOST:PORT/);
  assert.match(String(parseArgs(['--api-url', 'http://a', '--macs', MAC, '--bogus', '1'])), /unknown argument/);
  const ok = parseArgs(['--api-url=http://a:6385', '--macs', `${MAC.toUpperCase()},52:54:00:00:00:01`, '--listen', '127.0.0.1:0', '--image-dir', '/tmp/x']);
  assert.equal(typeof ok === 'object' ? { macs: ok.macs, port: ok.listenPort, host: ok.listenHost } : ok, { macs: [MAC, '52:54:00:00:00:01'], port: 0, host: '127.0.0.1' });
});

test('looks up until the node is found, then heartbeats with callback_url, token and version', async () => {
  await until(() => ironic.lookups.length >= 3, 5000, 'lookup retries');
  assert.is(ironic.heartbeats.length, 0, 'no heartbeat before a lookup succeeds');
  assert.ok(ironic.lookups[0]!.query.includes(`addresses=${encodeURIComponent(MAC)}`), ironic.lookups[0]!.query);
  assert.is(ironic.lookups[0]!.version, '1.68');
  ironic.lookupStatus = 200;
  await until(() => ironic.heartbeats.length >= 2, 5000, 'heartbeats');
  const hb = ironic.heartbeats[0]!;
  assert.equal(hb.body, { callback_url: agent.callbackUrl, agent_token: 'token-one', agent_version: '9.0.0' });
  assert.is(hb.version, '1.68');
});

test('the command API demands the token: none or another → 401', async () => {
  assert.is((await fetch(`${agent.callbackUrl}/v1/commands/`)).status, 401);
  assert.is((await fetch(`${agent.callbackUrl}/v1/commands/?agent_token=token-two`)).status, 401);
  const r = await cmd('token-onf', 'standby.sync', {}, true);
  assert.is(r.status, 401);
  assert.is(r.body.type, 'Unauthorized');
  const list = await fetch(`${agent.callbackUrl}/v1/commands/?agent_token=token-one`);
  assert.is(list.status, 200);
});

test('steps, bad input, write_image with checksum, one command at a time', async () => {
  const steps = await cmd('token-one', 'deploy.get_deploy_steps', { node: { uuid: NODE }, ports: [] }, true);
  assert.is(steps.status, 200);
  assert.is(steps.body.command_status, 'SUCCEEDED');
  assert.equal(steps.body.command_result.deploy_steps.GenericHardwareManager.map((s: any) => `${s.step}:${s.priority}`), ['write_image:80']);
  const clean = await cmd('token-one', 'clean.get_clean_steps', {}, true);
  assert.equal(clean.body.command_result.clean_steps.GenericHardwareManager.map((s: any) => `${s.step}:${s.priority}`), ['erase_devices_metadata:99', 'erase_devices:0']);

  assert.is((await cmd('token-one', 'nope.nothing', {}, true)).status, 400, 'unknown command');
  const badBody = await fetch(`${agent.callbackUrl}/v1/commands/?agent_token=token-one`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": 5}' });
  assert.is(badBody.status, 400, 'io-ts refuses a malformed request');
  const badStep = await cmd('token-one', 'deploy.execute_deploy_step', { step: { interface: 'deploy' } }, true);
  assert.is(badStep.body.command_status, 'FAILED');
  assert.is(badStep.body.command_error.type, 'InvalidCommandParamsError');

  const bytes = randomBytes(100_000);
  const src = join(dir, 'img.raw');
  writeFileSync(src, bytes);
  const sha = createHash('sha256').update(bytes).digest('hex');
  const step = (info: object) => ({ step: { interface: 'deploy', step: 'write_image', args: { image_info: { id: 'img.raw', urls: [pathToFileURL(src).href], ...info } } }, node: { uuid: NODE }, ports: [] });
  const wrong = await cmd('token-one', 'deploy.execute_deploy_step', step({ os_hash_algo: 'sha256', os_hash_value: '0'.repeat(64) }), true);
  assert.is(wrong.body.command_status, 'FAILED');
  assert.is(wrong.body.command_error.type, 'ImageChecksumError');
  assert.not.ok(existsSync(join(dir, 'disk', 'img.raw')), 'an unverified image is not kept');

  const started = await cmd('token-one', 'deploy.execute_deploy_step', step({ os_hash_algo: 'sha256', os_hash_value: sha }), false);
  assert.is(started.status, 200);
  assert.is(started.body.command_status, 'RUNNING', 'wait=false answers at once');
  const busy = await cmd('token-one', 'standby.sync', {}, true);
  assert.is(busy.status, 409, 'busy while a command runs');
  const beats = ironic.heartbeats.length;
  await until(() => {
    return logs.some((l) => l.msg === 'image written');
  }, 5000, 'the write');
  const one = await fetch(`${agent.callbackUrl}/v1/commands/${started.body.id}?agent_token=token-one`);
  const done = (await one.json()) as any;
  assert.is(done.command_status, 'SUCCEEDED');
  assert.ok(readFileSync(join(dir, 'disk', 'img.raw')).equals(bytes));
  await until(() => ironic.heartbeats.length > beats, 2000, 'a heartbeat right after the command ended');
  assert.is((await fetch(`${agent.callbackUrl}/v1/commands/nope?agent_token=token-one`)).status, 404);
  const all = (await (await fetch(`${agent.callbackUrl}/v1/commands/?agent_token=token-one`)).json()) as any;
  assert.equal(all.commands.map((c: any) => c.command_status).slice(-2), ['FAILED', 'SUCCEEDED']);

  const erase = await cmd('token-one', 'clean.execute_clean_step', { step: { interface: 'deploy', step: 'erase_devices_metadata' } }, true);
  assert.is(erase.body.command_status, 'SUCCEEDED');
  assert.ok(logs.some((l) => l.msg === 'clean step ran' && l.step === 'erase_devices_metadata'));
});

test('standby.power_off ends the session: a new lookup, a new token, no old commands', async () => {
  const off = await cmd('token-one', 'standby.power_off', {}, true);
  assert.is(off.body.command_status, 'SUCCEEDED');
  await until(() => ironic.heartbeats.some((h) => h.body.agent_token === 'token-two'), 5000, 'a heartbeat with the new token');
  assert.is((await fetch(`${agent.callbackUrl}/v1/commands/?agent_token=token-one`)).status, 401, 'the old token is gone');
  const fresh = (await (await fetch(`${agent.callbackUrl}/v1/commands/?agent_token=token-two`)).json()) as any;
  assert.equal(fresh.commands, []);
});

test('rescue.finalize_rescue: the password is kept hashed, never logged; the rescue session heartbeats no more', async () => {
  const bad = await cmd('token-two', 'rescue.finalize_rescue', { hashed: false }, true);
  assert.is(bad.body.command_status, 'FAILED');
  assert.is(bad.body.command_error.type, 'InvalidCommandParamsError');
  const ok = await cmd('token-two', 'rescue.finalize_rescue', { rescue_password: 'open-sesame', hashed: false }, true);
  assert.is(ok.body.command_status, 'SUCCEEDED');
  assert.match(String(rescuePasswordHash()), /^sha512\$[0-9a-f]{16}\$[0-9a-f]{128}$/);
  assert.not.ok(JSON.stringify(logs).includes('open-sesame'), 'the password is not logged');
  await until(() => ironic.heartbeats.some((h) => h.body.agent_token === 'token-three'), 5000, 'the next session');
  assert.is((await fetch(`${agent.callbackUrl}/v1/commands/?agent_token=token-two`)).status, 401);
});

test('a refused heartbeat ends the session; a masked token is no session', async () => {
  const lookups = ironic.lookups.length;
  ironic.heartbeatStatus = 400;
  await until(() => ironic.lookups.length > lookups + 2, 5000, 'lookups again');
  const beats = ironic.heartbeats.length;
  await new Promise((r) => setTimeout(r, 200));
  assert.is(ironic.heartbeats.length, beats, 'no heartbeat with only "******" from lookup');
  assert.ok(logs.some((l) => l.msg === 'lookup gave no usable agent token'));
});

test.run();
