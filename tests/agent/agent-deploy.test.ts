// The ramdisk agent (ramdisk-agent/, a real process) against ironlog's API and one conductor over
// NATS: a fake-hardware node with the agent deploy (`direct`) is cleaned and deployed through the
// agent, heartbeat by heartbeat (conductor/executor/agent-heartbeat.ts); tokens are demanded both
// ways; a node whose agent never calls back fails by the callback timeout.

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { agentCluster, type AgentCluster } from './support/cluster.ts';

let c: AgentCluster;
let work: string;

test.before(async () => {
  c = await agentCluster({
    IRONLOG_API_RAMDISK_HEARTBEAT_TIMEOUT: '1',
    IRONLOG_CHECK_PROVISION_STATE_INTERVAL_S: '1',
    IRONLOG_DEPLOY_CALLBACK_TIMEOUT_S: '6',
    IRONLOG_CLEAN_CALLBACK_TIMEOUT_S: '60',
  });
  work = mkdtempSync(join(tmpdir(), 'ironlog-agent-work-'));
});
test.after(async () => {
  await c?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const image = (name: string): { path: string; url: string; md5: string; bytes: Buffer } => {
  const bytes = randomBytes(256 * 1024);
  const path = join(work, name);
  writeFileSync(path, bytes);
  return { path, url: pathToFileURL(path).href, md5: createHash('md5').update(bytes).digest('hex'), bytes };
};

const enroll = async (fields: Record<string, unknown>, mac?: string): Promise<string> => {
  const r = await c.call('POST', '/v1/nodes', { driver: 'fake-hardware', deploy_interface: 'direct', ...fields });
  assert.is(r.status, 201, r.raw);
  if (mac) {
    const p = await c.call('POST', '/v1/ports', { address: mac, node_uuid: r.body.uuid });
    assert.is(p.status, 201, p.raw);
  }
  return r.body.uuid as string;
};

const provision = async (uuid: string, target: string): Promise<void> => {
  const r = await c.call('PUT', `/v1/nodes/${uuid}/states/provision`, { target });
  assert.is(r.status, 202, `${target}: ${r.raw}`);
};

test('manage → provide (cleaned by the agent) → deploy (the agent writes the image) → active', async () => {
  const img = image('disk-one.img');
  const mac = '52:54:00:a9:00:01';
  const uuid = await enroll({ instance_info: { image_source: img.url, image_checksum: img.md5 } }, mac);
  const disk = join(work, 'disk-one');
  const agent = c.startAgent(['--api-url', c.apiUrl, '--macs', mac, '--listen', '127.0.0.1:0', '--image-dir', disk, '--lookup-interval-ms', '200']);
  const agentUrl = await agent.callbackUrl;

  await provision(uuid, 'manage');
  await c.waitNode(uuid, (n) => n.provision_state === 'manageable');

  await provision(uuid, 'provide');
  await c.waitNode(uuid, (n) => n.provision_state === 'clean wait' || n.provision_state === 'available');
  // the agent demands the token of its session (tests/agent/ramdisk-agent.test.ts shows the right one
  // accepted); Ironic's API demands the node's token
  for (const q of ['', '?agent_token=nope']) {
    const r = await fetch(`${agentUrl}/v1/commands/${q}`);
    assert.is(r.status, 401, `agent without the right token (${q || 'none'})`);
    const posted = await fetch(`${agentUrl}/v1/commands/${q}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'standby.power_off', params: {} }) });
    assert.is(posted.status, 401);
  }
  const wrong = await c.call('POST', `/v1/heartbeat/${uuid}`, { callback_url: agentUrl, agent_token: 'x'.repeat(43), agent_version: '9.0.0' });
  assert.is(wrong.status, 400, wrong.raw);
  assert.match(wrong.raw, /Invalid or missing agent token received/);

  const available = await c.waitNode(uuid, (n) => n.provision_state === 'available' || n.provision_state === 'clean failed');
  assert.is(available.provision_state, 'available', available.last_error);
  assert.is(available.maintenance, false);
  assert.is(available.power_state, 'power off', 'cleaning ends with the node powered off');
  assert.is(available.driver_internal_info.agent_secret_token, undefined, 'the token is wiped with the ramdisk');
  let events = await c.eventsOf(uuid);
  const cleaned = events.filter((e) => e.type === 'StepCompleted' && e.data.kind === 'clean').map((e) => e.data.step.step);
  assert.equal(cleaned, ['erase_devices_metadata']);
  const cleanPath = events.filter((e) => e.type === 'ProvisionStateChanged').map((e) => `${e.data.from}>${e.data.to}`);
  assert.ok(cleanPath.includes('clean wait>cleaning') && cleanPath.includes('cleaning>clean wait'), cleanPath.join(' '));
  assert.ok(agent.lines.some((l) => l.msg === 'clean step ran' && l.step === 'erase_devices_metadata'), 'the agent ran erase_devices_metadata');
  assert.ok(events.some((e) => e.type === 'AgentHeartbeatRecorded' && e.data.agent_url === agentUrl));

  await provision(uuid, 'active');
  const active = await c.waitNode(uuid, (n) => n.provision_state === 'active' || n.provision_state === 'deploy failed');
  assert.is(active.provision_state, 'active', active.last_error);
  assert.is(active.power_state, 'power on');
  assert.is(active.reservation, null);
  const written = join(disk, 'disk-one.img');
  assert.ok(existsSync(written), 'the agent wrote the image into its image dir');
  assert.ok(readFileSync(written).equals(img.bytes), 'byte for byte');
  events = await c.eventsOf(uuid);
  if (process.env.AGENT_TEST_DEBUG) console.error(events.map((e) => e.type + (e.type === 'ProvisionStateChanged' ? ' ' + e.data.from + '>' + e.data.to : e.type === 'StepStarted' || e.type === 'StepCompleted' ? ' ' + e.data.step.step : '')).join('\n'));
  const deploySteps = events.filter((e) => e.type === 'StepCompleted' && e.data.kind === 'deploy').map((e) => e.data.step.step);
  assert.equal(deploySteps, ['deploy', 'write_image', 'prepare_instance_boot', 'tear_down_agent', 'boot_instance']);
  const path = events.filter((e) => e.type === 'ProvisionStateChanged').map((e) => `${e.data.from}>${e.data.to}`);
  assert.ok(path.includes('deploying>wait call-back') && path.includes('wait call-back>deploying') && path.at(-1) === 'deploying>active', path.join(' '));
  assert.ok(agent.lines.some((l) => l.msg === 'image written'), 'the agent logged the write');
  assert.ok(events.some((e) => e.type === 'NodeInternalUpdated' && e.data.changes.conductor_affinity === 'agent-conductor'), 'the deploying conductor is recorded');
  // no event holds the clear agent token
  const tokens = events.filter((e) => e.type === 'AgentTokenIssued').length;
  assert.ok(tokens >= 2, 'a new ramdisk session (and token) for the deploy after cleaning');
  await agent.stop();
});

test('manual clean through the agent: erase_devices empties its disk, the node returns to manageable', async () => {
  const mac = '52:54:00:a9:00:06';
  const uuid = await enroll({}, mac);
  const disk = join(work, 'disk-six');
  mkdirSync(disk, { recursive: true });
  writeFileSync(join(disk, 'old-instance.img'), 'left from a previous tenant');
  const agent = c.startAgent(['--api-url', c.apiUrl, '--macs', mac, '--listen', '127.0.0.1:0', '--image-dir', disk, '--lookup-interval-ms', '200']);
  await provision(uuid, 'manage');
  await c.waitNode(uuid, (n) => n.provision_state === 'manageable');
  const r = await c.call('PUT', `/v1/nodes/${uuid}/states/provision`, { target: 'clean', clean_steps: [{ interface: 'deploy', step: 'erase_devices' }] });
  assert.is(r.status, 202, r.raw);
  const done = await c.waitNode(uuid, (n) => (n.provision_state === 'manageable' || n.provision_state === 'clean failed') && n.reservation === null && n.driver_internal_info.clean_steps === undefined);
  assert.is(done.provision_state, 'manageable', done.last_error);
  assert.not.ok(existsSync(join(disk, 'old-instance.img')), 'the agent erased its disk');
  const cleaned = (await c.eventsOf(uuid)).filter((e) => e.type === 'StepCompleted' && e.data.kind === 'clean').map((e) => e.data.step.step);
  assert.equal(cleaned, ['erase_devices'], 'exactly the requested step');
  await agent.stop();
});

test('agent rescue: rescue wait → the heartbeat finalizes the rescue on the agent → rescue; unrescue → active', async () => {
  const img = image('disk-eight.img');
  const mac = '52:54:00:a9:00:08';
  const uuid = await enroll({ rescue_interface: 'agent', instance_info: { image_source: img.url, image_checksum: img.md5 }, automated_clean: false }, mac);
  const agent = c.startAgent(['--api-url', c.apiUrl, '--macs', mac, '--listen', '127.0.0.1:0', '--image-dir', join(work, 'disk-eight'), '--lookup-interval-ms', '200']);
  await provision(uuid, 'manage');
  await c.waitNode(uuid, (n) => n.provision_state === 'manageable');
  await provision(uuid, 'provide');
  await c.waitNode(uuid, (n) => n.provision_state === 'available');
  await provision(uuid, 'active');
  await c.waitNode(uuid, (n) => n.provision_state === 'active' && n.reservation === null);
  const r = await c.call('PUT', `/v1/nodes/${uuid}/states/provision`, { target: 'rescue', rescue_password: 'rescue-me-7' });
  assert.is(r.status, 202, r.raw);
  const rescued = await c.waitNode(uuid, (n) => (n.provision_state === 'rescue' || n.provision_state === 'rescue failed') && n.reservation === null);
  assert.is(rescued.provision_state, 'rescue', rescued.last_error);
  assert.is(rescued.driver_internal_info.agent_secret_token, undefined);
  assert.ok(agent.lines.some((l) => l.msg === 'rescue finalized'), 'the agent was told the password');
  const events = await c.eventsOf(uuid);
  const path = events.filter((e) => e.type === 'ProvisionStateChanged').map((e) => `${e.data.from}>${e.data.to}`);
  assert.ok(path.includes('rescuing>rescue wait') && path.includes('rescue wait>rescuing') && path.at(-1) === 'rescuing>rescue', path.join(' '));
  assert.not.ok(JSON.stringify(events).includes('rescue-me-7'), 'the password is sealed in the log');
  await provision(uuid, 'unrescue');
  const back = await c.waitNode(uuid, (n) => (n.provision_state === 'active' || n.provision_state === 'unrescue failed') && n.reservation === null);
  assert.is(back.provision_state, 'active', back.last_error);
  await agent.stop();
});

test('a wrong image checksum fails the write and the deploy', async () => {
  const img = image('disk-two.img');
  const mac = '52:54:00:a9:00:02';
  const uuid = await enroll({ instance_info: { image_source: img.url, image_checksum: '0'.repeat(32) }, automated_clean: false }, mac);
  const disk = join(work, 'disk-two');
  const agent = c.startAgent(['--api-url', c.apiUrl, '--macs', mac, '--listen', '127.0.0.1:0', '--image-dir', disk, '--lookup-interval-ms', '200']);
  await provision(uuid, 'manage');
  await c.waitNode(uuid, (n) => n.provision_state === 'manageable');
  await provision(uuid, 'provide');
  await c.waitNode(uuid, (n) => n.provision_state === 'available');
  await provision(uuid, 'active');
  const failed = await c.waitNode(uuid, (n) => n.provision_state === 'deploy failed' || n.provision_state === 'active');
  assert.is(failed.provision_state, 'deploy failed');
  assert.match(String(failed.last_error), /write_image/);
  assert.match(String(failed.last_error), /checksum/);
  assert.not.ok(existsSync(join(disk, 'disk-two.img')), 'nothing unverified is left on the disk');
  await agent.stop();
});

test('an agent that looks up but never heartbeats: the callback timeout fails the deploy and wipes the token', async () => {
  const img = image('disk-three.img');
  const mac = '52:54:00:a9:00:03';
  const uuid = await enroll({ instance_info: { image_source: img.url, image_checksum: img.md5 }, automated_clean: false }, mac);
  await provision(uuid, 'manage');
  await c.waitNode(uuid, (n) => n.provision_state === 'manageable');
  await provision(uuid, 'provide');
  await c.waitNode(uuid, (n) => n.provision_state === 'available');
  await provision(uuid, 'active');
  await c.waitNode(uuid, (n) => n.provision_state === 'wait call-back');
  const lookup = await c.call('GET', `/v1/lookup?addresses=${mac}`, undefined, '1.68');
  assert.is(lookup.status, 200, lookup.raw);
  assert.match(String(lookup.body.config.agent_token), /^[A-Za-z0-9_-]{43}$/);
  const failed = await c.waitNode(uuid, (n) => n.provision_state !== 'wait call-back', 20_000);
  assert.is(failed.provision_state, 'deploy failed');
  assert.match(String(failed.last_error), /Timeout reached while waiting for callback/);
  assert.is(failed.driver_internal_info.agent_secret_token, undefined, 'the token goes with the ramdisk');
  assert.ok((await c.eventsOf(uuid)).some((e) => e.type === 'AgentTokenCleared'));
});

test('abort in clean wait: clean failed, and the token of the ramdisk is wiped', async () => {
  const mac = '52:54:00:a9:00:05';
  const uuid = await enroll({}, mac);
  await provision(uuid, 'manage');
  await c.waitNode(uuid, (n) => n.provision_state === 'manageable');
  await provision(uuid, 'provide');
  await c.waitNode(uuid, (n) => n.provision_state === 'clean wait' && n.reservation === null);
  const lookup = await c.call('GET', `/v1/lookup?addresses=${mac}`, undefined, '1.68');
  assert.is(lookup.status, 200, lookup.raw);
  await provision(uuid, 'abort');
  const failed = await c.waitNode(uuid, (n) => n.provision_state === 'clean failed' && n.reservation === null);
  assert.match(String(failed.last_error), /aborted/);
  assert.is(failed.driver_internal_info.agent_secret_token, undefined);
});

test('direct deploy without an image is refused before anything is recorded', async () => {
  const uuid = await enroll({ automated_clean: false });
  await provision(uuid, 'manage');
  await c.waitNode(uuid, (n) => n.provision_state === 'manageable');
  await provision(uuid, 'provide');
  await c.waitNode(uuid, (n) => n.provision_state === 'available');
  const r = await c.call('PUT', `/v1/nodes/${uuid}/states/provision`, { target: 'active' });
  assert.is(r.status, 400, r.raw);
  assert.match(r.raw, /image_source/);
});

test('a deploy waiting for its agent survives a conductor change: the new owner continues it on the heartbeat', async () => {
  const img = image('disk-four.img');
  const mac = '52:54:00:a9:00:04';
  const uuid = await enroll({ instance_info: { image_source: img.url, image_checksum: img.md5 }, automated_clean: false });
  const disk = join(work, 'disk-four');
  // the agent is up but cannot find its node until the port exists
  const agent = c.startAgent(['--api-url', c.apiUrl, '--macs', mac, '--listen', '127.0.0.1:0', '--image-dir', disk, '--lookup-interval-ms', '200']);
  await agent.callbackUrl;
  await provision(uuid, 'manage');
  await c.waitNode(uuid, (n) => n.provision_state === 'manageable');
  await provision(uuid, 'provide');
  await c.waitNode(uuid, (n) => n.provision_state === 'available');
  await provision(uuid, 'active');
  await c.waitNode(uuid, (n) => n.provision_state === 'wait call-back' && n.reservation === null);
  await c.startConductor('agent-conductor-2');
  await c.stopConductor('agent-conductor');
  const port = await c.call('POST', '/v1/ports', { address: mac, node_uuid: uuid });
  assert.is(port.status, 201, port.raw);
  const active = await c.waitNode(uuid, (n) => n.provision_state === 'active' || n.provision_state === 'deploy failed');
  assert.is(active.provision_state, 'active', active.last_error);
  const events = await c.eventsOf(uuid);
  const waitAt = events.findIndex((e) => e.type === 'ProvisionStateChanged' && e.data.to === 'wait call-back');
  const after = events.slice(waitAt + 1);
  assert.ok(after.some((e) => e.type === 'NodeReserved' && e.data.host === 'agent-conductor-2'), 'the new owner continued');
  assert.not.ok(after.some((e) => e.type === 'NodeReserved' && e.data.host === 'agent-conductor'), 'the old one did nothing more');
  assert.equal(
    events.filter((e) => e.type === 'StepCompleted' && e.data.kind === 'deploy').map((e) => e.data.step.step),
    ['deploy', 'write_image', 'prepare_instance_boot', 'tear_down_agent', 'boot_instance'],
  );
  assert.ok(readFileSync(join(disk, 'disk-four.img')).equals(img.bytes));
  await agent.stop();
});

test('a conductor that leaves mid-deploy: the new owner resumes the agent deploy from the log and ends it as the agent deploy does', async () => {
  // slow fake power (each power change 1.5 s) and no graceful wait: the deploy is caught mid-way
  const saved = { delay: process.env.IRONLOG_FAKE_STEP_DELAY_MS, grace: process.env.IRONLOG_GRACEFUL_SHUTDOWN_TIMEOUT_S };
  process.env.IRONLOG_FAKE_STEP_DELAY_MS = '1500';
  process.env.IRONLOG_GRACEFUL_SHUTDOWN_TIMEOUT_S = '0';
  try {
    await c.startConductor('agent-conductor-3');
    await c.startConductor('agent-conductor-4');
  } finally {
    process.env.IRONLOG_FAKE_STEP_DELAY_MS = saved.delay ?? '0';
    process.env.IRONLOG_GRACEFUL_SHUTDOWN_TIMEOUT_S = saved.grace ?? '60';
  }
  await c.stopConductor('agent-conductor-2');
  let uuid = randomUUID();
  while (c.ownerOf(uuid) !== 'agent-conductor-3') uuid = randomUUID();
  const img = image('disk-seven.img');
  const mac = '52:54:00:a9:00:07';
  await enroll({ uuid, instance_info: { image_source: img.url, image_checksum: img.md5 }, automated_clean: false }, mac);
  const agent = c.startAgent(['--api-url', c.apiUrl, '--macs', mac, '--listen', '127.0.0.1:0', '--image-dir', join(work, 'disk-seven'), '--lookup-interval-ms', '200']);
  await provision(uuid, 'manage');
  await c.waitNode(uuid, (n) => n.provision_state === 'manageable');
  await provision(uuid, 'provide');
  await c.waitNode(uuid, (n) => n.provision_state === 'available');
  await provision(uuid, 'active');
  // the owner is powering the node off in tear_down_agent (1.5 s) when it leaves
  const deadline = Date.now() + 30_000;
  while (!(await c.eventsOf(uuid)).some((e) => e.type === 'StepStarted' && e.data.step.step === 'tear_down_agent')) {
    if (Date.now() > deadline) throw new Error('tear_down_agent never started');
    await new Promise((r) => setTimeout(r, 50));
  }
  await c.stopConductor('agent-conductor-3');
  const active = await c.waitNode(uuid, (n) => (n.provision_state === 'active' || n.provision_state === 'deploy failed') && n.reservation === null);
  assert.is(active.provision_state, 'active', active.last_error);
  const events = await c.eventsOf(uuid);
  const done = events.findIndex((e) => e.type === 'ProvisionStateChanged' && e.data.to === 'active');
  if (process.env.AGENT_TEST_DEBUG) console.error(events.map((e) => `${e.type} ${e.type === 'NodeReserved' || e.type === 'NodeReleased' ? e.data.host + (e.data.forced ? ' forced' : '') : e.type === 'StepStarted' || e.type === 'StepCompleted' ? e.data.step.step : e.type === 'ProvisionStateChanged' ? e.data.from + '>' + e.data.to : ''}`).join('\n'));
  const resumedBy = events.slice(0, done).filter((e) => e.type === 'NodeReserved').at(-1);
  assert.is(resumedBy?.data.host, 'agent-conductor-4', 'the new owner finished it');
  const steps = events.filter((e) => e.type === 'StepCompleted' && e.data.kind === 'deploy').map((e) => e.data.step.step);
  assert.equal(steps, ['deploy', 'write_image', 'prepare_instance_boot', 'tear_down_agent', 'boot_instance'], 'each step completed once');
  assert.is(active.driver_internal_info.agent_secret_token, undefined, 'ended as the agent deploy ends: the token wiped');
  assert.is(active.power_state, 'power on');
  await agent.stop();
});

test.run();
