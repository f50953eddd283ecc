// Deploy templates at deploy time, through a real conductor over NATS (tests/api/support/
// nats-app.ts): the templates named by instance_info.traits add their steps to the recorded deploy
// plan (a template step with a higher priority runs first); a user's deploy_steps override a
// template step (priority 0 disables it); a template step the driver lacks refuses the deploy with
// Ironic's 400 and records nothing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { innerError } from '../api/support/app.ts';
import { natsApp, type NatsApp } from '../api/support/nats-app.ts';
import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import { handleCommand } from '../../command-handling/handle.ts';
import { nodeBinding } from '../../conductor/node-binding.ts';
import { streamId } from '../../domain/streams.ts';

let na: NatsApp;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type J = Record<string, unknown>;
const raidConfig = { logical_disks: [{ size_gb: 10, raid_level: '1' }] };

const waitState = async (uuid: string, state: string, ms = 20_000) => {
  const until = Date.now() + ms;
  for (;;) {
    const r = await na.call('GET', `/v1/nodes/${uuid}`);
    const b = r.body as J;
    if (b.provision_state === state && b.reservation === null) return;
    if (Date.now() > until) throw new Error(`node ${uuid} is ${String(b.provision_state)} (reservation ${String(b.reservation)}), not ${state}`);
    await sleep(50);
  }
};

const available = async (name: string, traits: string[]): Promise<string> => {
  const created = await na.call('POST', '/v1/nodes', { driver: 'fake-hardware', name, raid_interface: 'fake' });
  assert.is(created.status, 201, created.raw);
  const uuid = (created.body as J).uuid as string;
  const patched = await na.call('PATCH', `/v1/nodes/${uuid}`, [{ op: 'add', path: '/instance_info/traits', value: traits }]);
  assert.is(patched.status, 200, patched.raw);
  for (const [target, state] of [['manage', 'manageable'], ['provide', 'available']] as const) {
    const r = await na.call('PUT', `/v1/nodes/${uuid}/states/provision`, { target });
    assert.is(r.status, 202, r.raw);
    await waitState(uuid, state);
  }
  return uuid;
};

const deployPlan = async (uuid: string) => {
  const events = await na.store.readStream(`node-${uuid}`);
  const plan = events.filter((e) => e.type === 'StepsPlanned' && (e.data as J).kind === 'deploy').at(-1);
  assert.ok(plan, `no deploy plan among ${events.map((e) => e.type).join(', ')}`);
  return ((plan.data as J).steps as Array<J>).map((s) => `${String(s.interface)}.${String(s.step)}@${String(s.priority)}`);
};

test.before(async () => {
  na = await natsApp({ IRONLOG_CHECK_PROVISION_STATE_INTERVAL_S: '1' });
  await na.startConductor('dt-c1');
  for (const t of [
    { name: 'CUSTOM_RAID', steps: [{ interface: 'raid', step: 'apply_configuration', args: { raid_config: raidConfig }, priority: 150 }] },
    { name: 'CUSTOM_BAD', steps: [{ interface: 'deploy', step: 'no_such_step', args: {}, priority: 10 }] },
  ]) {
    const r = await na.call('POST', '/v1/deploy_templates', t);
    assert.is(r.status, 201, r.raw);
  }
});
test.after(async () => {
  await na?.close();
});

test("a matching template's step joins the deploy plan and runs first", async () => {
  const uuid = await available('dt-1', ['CUSTOM_RAID', 'CUSTOM_UNKNOWN']);
  const r = await na.call('PUT', `/v1/nodes/${uuid}/states/provision`, { target: 'active' });
  assert.is(r.status, 202, r.raw);
  await waitState(uuid, 'active');
  assert.equal(await deployPlan(uuid), ['raid.apply_configuration@150', 'deploy.deploy@100', 'deploy.write_image@80', 'deploy.prepare_instance_boot@60']);
  const completed = (await na.store.readStream(`node-${uuid}`))
    .filter((e) => e.type === 'StepCompleted' && (e.data as J).kind === 'deploy')
    .map((e) => { const s = (e.data as J).step as J; return `${String(s.interface)}.${String(s.step)}`; });
  assert.equal(completed, ['raid.apply_configuration', 'deploy.deploy', 'deploy.write_image', 'deploy.prepare_instance_boot']);
});

test("the user's deploy_steps override a template step (priority 0 disables it)", async () => {
  const uuid = await available('dt-2', ['CUSTOM_RAID']);
  const r = await na.call('PUT', `/v1/nodes/${uuid}/states/provision`, {
    target: 'active',
    deploy_steps: [{ interface: 'raid', step: 'apply_configuration', args: { raid_config: raidConfig }, priority: 0 }],
  });
  assert.is(r.status, 202, r.raw);
  await waitState(uuid, 'active');
  assert.equal(await deployPlan(uuid), ['deploy.deploy@100', 'deploy.write_image@80', 'deploy.prepare_instance_boot@60']);
});

test('a template step the driver lacks refuses the deploy: 400, nothing recorded', async () => {
  const uuid = await available('dt-3', ['CUSTOM_BAD']);
  const before = (await na.store.readStream(`node-${uuid}`)).length;
  const r = await na.call('PUT', `/v1/nodes/${uuid}/states/provision`, { target: 'active' });
  assert.is(r.status, 400, r.raw);
  assert.match(String(innerError(r.raw).faultstring), /Matching deploy templates: CUSTOM_BAD.*deploy\.no_such_step/);
  assert.is((await na.store.readStream(`node-${uuid}`)).length, before);
  assert.is(((await na.call('GET', `/v1/nodes/${uuid}`)).body as J).provision_state, 'available');
});

test('a deploy another writer recorded (never started) is picked up with its templates\' steps', async () => {
  const uuid = await available('dt-pickup', ['CUSTOM_RAID']);
  // what a writer other than the owner leaves (an API on its own command bus): deploying, unreserved, no plan
  const r = await handleCommand(nodeBinding, streamId('node', uuid), { commandId: randomUUID(), actor: 'admin', command: { type: 'RequestProvisionAction', data: { uuid, at: new Date().toISOString(), verb: 'active' } } }, { store: na.store });
  assert.ok(E.isRight(r));
  await waitState(uuid, 'active');
  const plan = await deployPlan(uuid);
  assert.is(plan[0], 'raid.apply_configuration@150', plan.join(' '));
  const history = (await na.store.readStream(`node-${uuid}`)).filter((e) => e.type === 'NodeHistoryRecorded').map((e) => (e.data as { entry: { event: string } }).entry.event);
  assert.ok(history.some((h) => /requested but never started/.test(h)), 'picked up, not run by the API');
});

test.run();
