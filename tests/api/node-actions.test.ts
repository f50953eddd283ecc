// A node's actions on the real stack (SQLite store, command handler, projector, in-process
// conductor with fake-hardware): GET /states, every provisioning verb with its version gate and
// body rules (§4.2), power (§4.6), maintenance, traits, VIFs, validate, management, history
// (≥1.78) and our /timeline. Refused requests write nothing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { innerError, testApp } from './support/app.ts';

const t = await testApp();
const { app } = t;
type J = Record<string, unknown>;
const call = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, version: string | null = 'latest', payload?: unknown) => {
  const r = await app.inject({
    method,
    url,
    headers: { host: 'h', ...(version ? { 'x-openstack-ironic-api-version': version } : {}) },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as J) : {}, raw: r.body, headers: r.headers };
};
const fault = (raw: string) => String(innerError(raw).faultstring);
const create = async (body: J = {}) => {
  const r = await call('POST', '/v1/nodes', 'latest', { driver: 'fake-hardware', ...body });
  assert.is(r.status, 201, r.raw);
  return r.body.uuid as string;
};
const provision = (node: string, body: J, version: string | null = 'latest') => call('PUT', `/v1/nodes/${node}/states/provision`, version, body);
const stateOf = async (node: string) => (await call('GET', `/v1/nodes/${node}/states`)).body;
const settle = async (node: string) => {
  await t.idle();
  return stateOf(node);
};
/** runs a verb and waits until the fake conductor has finished it */
const drive = async (node: string, target: string, extra: J = {}) => {
  const r = await provision(node, { target, ...extra });
  assert.is(r.status, 202, `${target}: ${r.raw}`);
  return settle(node);
};

test('GET /states: Ironic\'s keys, version-gated raid and boot mode fields', async () => {
  const n = await create({ name: 'states-1' });
  const s = await call('GET', `/v1/nodes/${n}/states`);
  assert.equal(Object.keys(s.body), [
    'console_enabled', 'last_error', 'power_state', 'provision_state', 'target_power_state', 'target_provision_state',
    'provision_updated_at', 'raid_config', 'target_raid_config', 'boot_mode', 'secure_boot',
  ]);
  assert.is(s.body.provision_state, 'enroll');
  const old = await call('GET', `/v1/nodes/${n}/states`, '1.11');
  assert.not.ok('raid_config' in old.body);
  assert.not.ok('boot_mode' in old.body);
  assert.is((await call('GET', '/v1/nodes/states-1/states')).status, 200);
});

test('manage → provide → active → deleted with fake-hardware: 202 + Location, then the stable states', async () => {
  const n = await create({ name: 'life-1' });
  const r = await provision('life-1', { target: 'manage' });
  assert.is(r.status, 202);
  assert.is(r.raw, '');
  assert.is(r.headers.location, 'http://h/v1/nodes/life-1/states');
  // read-your-writes: the request itself is visible at once
  const right = await stateOf(n);
  assert.ok(['verifying', 'manageable'].includes(right.provision_state as string));
  assert.is((await settle(n)).provision_state, 'manageable');
  assert.is((await drive(n, 'provide')).provision_state, 'available');
  const active = await drive(n, 'active', { configdrive: 'H4sIAAAA' });
  assert.is(active.provision_state, 'active');
  assert.is(active.target_provision_state, null);
  const undeployed = await drive(n, 'deleted');
  assert.is(undeployed.provision_state, 'available');
  assert.is((await drive(n, 'deploy')).provision_state, 'active');
  assert.is((await drive(n, 'undeploy')).provision_state, 'available');
  // the configdrive was sealed in the log, never stored in clear
  const events = await t.events();
  const requested = events.filter((e) => e.type === 'ProvisionActionRequested' && e.streamId === `node-${n}`);
  assert.is(requested.length, 6);
  assert.not.match(JSON.stringify(events.map((e) => e.data)), /H4sIAAAA/);
  assert.match(JSON.stringify(requested[2]!.data), /"configdrive":\{"\$secret":"v1:/);
});

test('every verb below its minimum version → 406 (and nothing written)', async () => {
  const n = await create();
  const before = await t.count();
  const gates: Array<[string, string]> = [
    ['manage', '1.3'], ['provide', '1.3'], ['inspect', '1.5'], ['abort', '1.12'], ['clean', '1.14'], ['adopt', '1.16'],
    ['rescue', '1.37'], ['unrescue', '1.37'], ['deploy', '1.72'], ['undeploy', '1.72'],
  ];
  for (const [target, version] of gates) {
    const r = await provision(n, { target }, version);
    assert.is(r.status, 406, `${target}@${version}`);
    assert.is(fault(r.raw), 'Request not acceptable.');
  }
  assert.is(await t.count(), before);
});

test('invalid verbs for the state → 400 InvalidStateRequested; a reserved node → 409 NodeLocked', async () => {
  const n = await create();
  const before = await t.count();
  const r = await provision(n, { target: 'provide' });
  assert.is(r.status, 400);
  assert.is(fault(r.raw), `The requested action "provide" can not be performed on node "${n}" while it is in state "enroll".`);
  const bogus = await provision(n, { target: 'bogus' });
  assert.is(bogus.status, 400);
  assert.is(fault(bogus.raw), `The requested action "bogus" can not be performed on node "${n}" while it is in state "enroll".`);
  assert.is(await t.count(), before);

  const locked = await t.seedNode({ provision_state: 'manageable' });
  await t.appendNodeEvents(locked.uuid, [{ type: 'NodeReserved', data: { uuid: locked.uuid, at: '2024-01-01T00:00:00+00:00', host: 'c1', ring_epoch: 1 } }]);
  const count = await t.count();
  const wrongState = await provision(locked.uuid, { target: 'active' });
  assert.is(wrongState.status, 409);
  assert.is(fault(wrongState.raw), `Node ${locked.uuid} is locked by host c1, please retry after the current operation is completed.`);
  const rightState = await provision(locked.uuid, { target: 'provide' });
  assert.is(rightState.status, 409);
  assert.is(innerError(rightState.raw).faultcode, 'Client');
  assert.is(await t.count(), count);
});

test('body rules: each extra key only with its verb, required keys, versions, maintenance, protection', async () => {
  const m = await create();
  await drive(m, 'manage');
  const before = await t.count();
  const cases: Array<[J, string, number, string | RegExp]> = [
    [{ target: 'clean' }, 'latest', 400, '"clean_steps" is required when setting target provision state to clean'],
    [{ target: 'clean', clean_steps: [] }, 'latest', 400, '"clean_steps" is required when setting target provision state to clean'],
    [{ target: 'clean', clean_steps: [{ interface: 'vendor', step: 'x' }] }, 'latest', 400, /^Invalid clean_steps: 'vendor' is not one of/],
    [{ target: 'clean', clean_steps: [{ interface: 'deploy', step: 'erase', bogus: 1 }] }, 'latest', 400, /^Invalid clean_steps: Additional properties/],
    [{ target: 'clean', clean_steps: [{ step: 'erase' }] }, 'latest', 400, "Invalid clean_steps: 'interface' is a required property"],
    [{ target: 'provide', clean_steps: [{ interface: 'deploy', step: 'erase' }] }, 'latest', 400, '"clean_steps" is only valid when setting target provision state to clean'],
    [{ target: 'provide', configdrive: 'abc' }, 'latest', 400, 'Adding a config drive is only supported when setting provision state to active, rebuild'],
    [{ target: 'provide', rescue_password: 'x' }, 'latest', 400, '"rescue_password" is only valid when setting target provision state to rescue'],
    [{ target: 'provide', deploy_steps: [] }, 'latest', 400, '"deploy_steps" is only valid when setting target provision state to active or rebuild'],
    [{ target: 'provide', deploy_steps: [] }, '1.68', 406, 'Request not acceptable.'],
    [{ target: 'clean', clean_steps: [{ interface: 'deploy', step: 'erase' }], disable_ramdisk: true }, '1.69', 406, 'Request not acceptable.'],
    [{ target: 'provide', disable_ramdisk: true }, 'latest', 400, '"disable_ramdisk" is supported only with manual cleaning'],
    [{ target: 'provide', bogus: 1 }, 'latest', 400, 'Unexpected arguments: bogus'],
    [{}, 'latest', 400, 'Missing argument: "target"'],
    [{ target: 5 }, 'latest', 400, 'Expected string for target: 5'],
    [{ target: 'provide', disable_ramdisk: 'maybe' }, 'latest', 400, /^Invalid disable_ramdisk: Unrecognized value 'maybe'/],
  ];
  for (const [body, version, status, message] of cases) {
    const r = await provision(m, body, version);
    assert.is(r.status, status, JSON.stringify(body));
    if (typeof message === 'string') assert.is(fault(r.raw), message, JSON.stringify(body));
    else assert.match(fault(r.raw), message);
  }
  const body = await call('PUT', `/v1/nodes/${m}/states/provision`, 'latest', [1, 2]);
  assert.is(body.status, 400);
  assert.is(await t.count(), before);

  // manual cleaning (with disable_ramdisk ≥1.70) returns to manageable
  assert.is((await drive(m, 'clean', { clean_steps: [{ interface: 'deploy', step: 'erase_devices', args: { password: 'pw1' } }], disable_ramdisk: false })).provision_state, 'manageable');
  assert.not.match(JSON.stringify((await t.events()).map((e) => e.data)), /pw1/);

  // configdrive as a dict needs 1.56, vendor_data 1.59
  await drive(m, 'provide');
  const dict = { meta_data: { a: 1 }, user_data: 'x' };
  const early = await provision(m, { target: 'active', configdrive: dict }, '1.55');
  assert.is(early.status, 400);
  assert.is(fault(early.raw), 'Providing a JSON object for configdrive is only supported starting with API version 1.56');
  const vendor = await provision(m, { target: 'active', configdrive: { vendor_data: {} } }, '1.58');
  assert.is(fault(vendor.raw), 'Providing vendor_data in configdrive is only supported starting with API version 1.59');
  const badDrive = await provision(m, { target: 'active', configdrive: { bogus: 1 } });
  assert.match(fault(badDrive.raw), /^Invalid configdrive format: /);
  const rebuildOld = await provision(m, { target: 'rebuild', configdrive: 'x' }, '1.34');
  assert.is(rebuildOld.status, 400);

  // maintenance refuses deploy and rebuild (provide is allowed)
  const mt = await call('PUT', `/v1/nodes/${m}/maintenance`, 'latest', { reason: 'fan' });
  assert.is(mt.status, 202);
  const inMaint = await provision(m, { target: 'active' });
  assert.is(inMaint.status, 400);
  assert.is(fault(inMaint.raw), `The provisioning operation can't be performed on node ${m} because it's in maintenance mode.`);
  assert.is((await call('DELETE', `/v1/nodes/${m}/maintenance`)).status, 202);

  // a protected node refuses undeploy and rebuild with 403
  await drive(m, 'active', { configdrive: dict, deploy_steps: [{ interface: 'deploy', step: 'write_image', args: {}, priority: 80 }] });
  const prot = await call('PATCH', `/v1/nodes/${m}`, 'latest', [{ op: 'replace', path: '/protected', value: true }]);
  assert.is(prot.status, 200, prot.raw);
  const refused = await provision(m, { target: 'deleted' });
  assert.is(refused.status, 403);
  assert.is(fault(refused.raw), `Node ${m} is protected and cannot be undeployed, rebuilt or deleted`);
  assert.is((await call('PATCH', `/v1/nodes/${m}`, 'latest', [{ op: 'replace', path: '/protected', value: false }])).status, 200);

  // rescue needs a non-empty password, which is sealed
  const noPw = await provision(m, { target: 'rescue' });
  assert.is(fault(noPw.raw), 'A non-empty "rescue_password" is required when setting target provision state to rescue');
  assert.is((await drive(m, 'rescue', { rescue_password: 'sup3rsecret' })).provision_state, 'rescue');
  assert.not.match(JSON.stringify((await t.events()).map((e) => e.data)), /sup3rsecret/);
  assert.is((await drive(m, 'unrescue')).provision_state, 'active');
  assert.is((await drive(m, 'rebuild')).provision_state, 'active');
});

test('inspect, adopt, abort of inspect wait (≥1.41)', async () => {
  const n = await create();
  await drive(n, 'manage');
  assert.is((await drive(n, 'inspect')).provision_state, 'manageable');
  assert.is((await drive(n, 'adopt')).provision_state, 'active');
  const waiting = await t.seedNode({ provision_state: 'inspect wait', target_provision_state: 'manageable' });
  const old = await provision(waiting.uuid, { target: 'abort' }, '1.40');
  assert.is(old.status, 406);
  assert.is((await drive(waiting.uuid, 'abort')).provision_state, 'inspect failed');
});

test('power: on/off/reboot, soft targets and timeout need 1.27, bad targets and cleaning → 400', async () => {
  const n = await create({ name: 'pw-1' });
  const on = await call('PUT', '/v1/nodes/pw-1/states/power', 'latest', { target: 'power on' });
  assert.is(on.status, 202);
  assert.is(on.headers.location, 'http://h/v1/nodes/pw-1/states');
  const pending = await stateOf(n);
  assert.ok(pending.target_power_state === 'power on' || pending.power_state === 'power on');
  assert.is((await settle(n)).power_state, 'power on');
  assert.is((await call('PUT', `/v1/nodes/${n}/states/power`, 'latest', { target: 'power off' })).status, 202);
  assert.is((await settle(n)).power_state, 'power off');
  assert.is((await call('PUT', `/v1/nodes/${n}/states/power`, 'latest', { target: 'rebooting' })).status, 202);
  assert.is((await settle(n)).power_state, 'power on');
  assert.is((await call('PUT', `/v1/nodes/${n}/states/power`, 'latest', { target: 'soft power off', timeout: 30 })).status, 202);
  const off = await settle(n);
  assert.is(off.power_state, 'power off');
  assert.is(off.target_power_state, null);

  const cleaning = await t.seedNode({ provision_state: 'cleaning', target_provision_state: 'available' });
  const before = await t.count();
  assert.is((await call('PUT', `/v1/nodes/${n}/states/power`, '1.26', { target: 'soft rebooting' })).status, 406);
  assert.is((await call('PUT', `/v1/nodes/${n}/states/power`, '1.26', { target: 'power on', timeout: 10 })).status, 406);
  const zero = await call('PUT', `/v1/nodes/${n}/states/power`, 'latest', { target: 'power on', timeout: 0 });
  assert.is(zero.status, 400);
  assert.is(fault(zero.raw), 'timeout has to be positive integer');
  assert.is((await call('PUT', `/v1/nodes/${n}/states/power`, 'latest', { target: 'power on', timeout: 'soon' })).status, 400);
  const bogus = await call('PUT', '/v1/nodes/pw-1/states/power', 'latest', { target: 'sideways' });
  assert.is(bogus.status, 400);
  assert.is(fault(bogus.raw), 'The requested action "sideways" can not be performed on node "pw-1" while it is in state "power off".');
  const refused = await call('PUT', `/v1/nodes/${cleaning.uuid}/states/power`, 'latest', { target: 'power on' });
  assert.is(refused.status, 400);
  assert.match(fault(refused.raw), /while it is in state "cleaning"\.$/);
  assert.is(await t.count(), before);
});

test('maintenance: PUT with a reason (body or query) and DELETE, 202', async () => {
  const n = await create();
  assert.is((await call('PUT', `/v1/nodes/${n}/maintenance?reason=disk`, 'latest')).status, 202);
  let node = (await call('GET', `/v1/nodes/${n}`)).body;
  assert.is(node.maintenance, true);
  assert.is(node.maintenance_reason, 'disk');
  assert.is((await call('PUT', `/v1/nodes/${n}/maintenance`, 'latest', { reason: 'fan' })).status, 202);
  assert.is((await call('GET', `/v1/nodes/${n}`)).body.maintenance_reason, 'fan');
  assert.is((await call('PUT', `/v1/nodes/${n}/maintenance`, 'latest', { reason: 5 })).status, 400);
  assert.is((await call('DELETE', `/v1/nodes/${n}/maintenance`)).status, 202);
  node = (await call('GET', `/v1/nodes/${n}`)).body;
  assert.is(node.maintenance, false);
  assert.is(node.maintenance_reason, null);
});

test('traits (≥1.37): replace, add one (Location), remove one/all, 404s', async () => {
  const n = await create();
  assert.is((await call('GET', `/v1/nodes/${n}/traits`, '1.36')).status, 404);
  assert.equal((await call('GET', `/v1/nodes/${n}/traits`)).body, { traits: [] });
  assert.is((await call('PUT', `/v1/nodes/${n}/traits`, 'latest', { traits: ['CUSTOM_A', 'HW_CPU_X86_VMX'] })).status, 204);
  const add = await call('PUT', `/v1/nodes/${n}/traits/CUSTOM_B`);
  assert.is(add.status, 204);
  assert.is(add.headers.location, `http://h/v1/nodes/${n}/traits/CUSTOM_B`);
  assert.equal((await call('GET', `/v1/nodes/${n}/traits`)).body, { traits: ['CUSTOM_A', 'HW_CPU_X86_VMX', 'CUSTOM_B'] });
  assert.equal((await call('GET', `/v1/nodes/${n}?fields=traits`)).body.traits, ['CUSTOM_A', 'HW_CPU_X86_VMX', 'CUSTOM_B']);
  const before = await t.count();
  const bad = await call('PUT', `/v1/nodes/${n}/traits`, 'latest', { traits: ['lower'] });
  assert.is(bad.status, 400);
  assert.match(fault(bad.raw), /^Invalid trait\. A valid trait must be no longer than 255 characters/);
  assert.is((await call('PUT', `/v1/nodes/${n}/traits/CUSTOM_C`, 'latest', { traits: ['CUSTOM_D'] })).status, 400);
  assert.is((await call('PUT', `/v1/nodes/${n}/traits`, 'latest', { traits: 'CUSTOM_A' })).status, 400);
  const missing = await call('DELETE', `/v1/nodes/${n}/traits/CUSTOM_NOPE`);
  assert.is(missing.status, 404);
  assert.is(fault(missing.raw), `Node ${n} doesn't have a trait 'CUSTOM_NOPE'`);
  assert.is(await t.count(), before);
  assert.is((await call('DELETE', `/v1/nodes/${n}/traits/CUSTOM_A`)).status, 204);
  assert.equal((await call('GET', `/v1/nodes/${n}/traits`)).body, { traits: ['HW_CPU_X86_VMX', 'CUSTOM_B'] });
  assert.is((await call('DELETE', `/v1/nodes/${n}/traits`)).status, 204);
  assert.equal((await call('GET', `/v1/nodes/${n}/traits`)).body, { traits: [] });
});

test('VIFs (≥1.28): attach, list, duplicate → 409, detach, unknown → 400', async () => {
  const n = await create();
  assert.is((await call('GET', `/v1/nodes/${n}/vifs`, '1.27')).status, 404);
  assert.is((await call('POST', `/v1/nodes/${n}/vifs`, 'latest', { id: 'vif-1' })).status, 204);
  assert.equal((await call('GET', `/v1/nodes/${n}/vifs`)).body, { vifs: [{ id: 'vif-1' }] });
  const dup = await call('POST', `/v1/nodes/${n}/vifs`, 'latest', { id: 'vif-1' });
  assert.is(dup.status, 409);
  assert.is((await call('POST', `/v1/nodes/${n}/vifs`, 'latest', { port_uuid: 'x' })).status, 400);
  assert.is((await call('POST', `/v1/nodes/${n}/vifs`, '1.66', { id: 'v2', port_uuid: '1be26c0b-03f2-4d2e-ae87-c02d7f33c123' })).status, 406);
  assert.is((await call('DELETE', `/v1/nodes/${n}/vifs/vif-1`)).status, 204);
  const gone = await call('DELETE', `/v1/nodes/${n}/vifs/vif-1`);
  assert.is(gone.status, 400);
  assert.is(fault(gone.raw), `Unable to detach VIF vif-1 from node ${n} because it is not attached to it.`);
});

test('validate and management with fake-hardware', async () => {
  const n = await create({ name: 'mgmt-1' });
  const v = await call('GET', `/v1/nodes/${n}/validate`);
  assert.equal(Object.keys(v.body), ['boot', 'deploy', 'management', 'network', 'power', 'bios', 'console', 'inspect', 'raid', 'rescue', 'storage']);
  assert.equal(v.body.power, { result: true });
  assert.is((await call('GET', '/v1/nodes/validate?node=mgmt-1')).status, 200);
  assert.equal((await call('GET', `/v1/nodes/${n}/management/boot_device`)).body, { boot_device: 'pxe', persistent: false });
  assert.equal((await call('GET', `/v1/nodes/${n}/management/boot_device/supported`)).body, { supported_boot_devices: ['pxe'] });
  assert.is((await call('PUT', `/v1/nodes/${n}/management/boot_device`, 'latest', { boot_device: 'pxe', persistent: true })).status, 204);
  const disk = await call('PUT', `/v1/nodes/${n}/management/boot_device`, 'latest', { boot_device: 'disk' });
  assert.is(disk.status, 400);
  assert.is(fault(disk.raw), 'Invalid boot device disk specified.');
  assert.is((await call('PUT', `/v1/nodes/${n}/management/inject_nmi`, 'latest', {})).status, 204);
  assert.is((await call('PUT', `/v1/nodes/${n}/management/inject_nmi`, '1.28', {})).status, 404);
});

test('boot mode, secure boot (≥1.76), RAID (≥1.12), console', async () => {
  const n = await create();
  assert.is((await call('PUT', `/v1/nodes/${n}/states/boot_mode`, '1.75', { target: 'uefi' })).status, 404);
  assert.is((await call('PUT', `/v1/nodes/${n}/states/boot_mode`, 'latest', { target: 'uefi' })).status, 202);
  assert.is((await call('PUT', `/v1/nodes/${n}/states/secure_boot`, 'latest', { target: true })).status, 202);
  const s = await settle(n);
  assert.is(s.boot_mode, 'uefi');
  assert.is(s.secure_boot, true);
  assert.is((await call('PUT', `/v1/nodes/${n}/states/boot_mode`, 'latest', { target: 'legacy' })).status, 400);
  const raid = { logical_disks: [{ size_gb: 100, raid_level: '1' }] };
  assert.is((await call('PUT', `/v1/nodes/${n}/states/raid`, '1.11', raid)).status, 406);
  assert.is((await call('PUT', `/v1/nodes/${n}/states/raid`, 'latest', raid)).status, 204);
  assert.equal((await stateOf(n)).target_raid_config, raid);
  assert.is((await call('PUT', `/v1/nodes/${n}/states/raid`, 'latest', { disks: [] })).status, 400);
  assert.equal((await call('GET', `/v1/nodes/${n}/states/console`)).body, { console_enabled: false, console_info: null });
  const c = await call('PUT', `/v1/nodes/${n}/states/console`, 'latest', { enabled: true });
  assert.is(c.status, 202);
  assert.is(c.headers.location, `http://h/v1/nodes/${n}/states/console`);
  assert.equal((await call('GET', `/v1/nodes/${n}/states/console`)).body, { console_enabled: true, console_info: {} });
  assert.is((await call('PUT', `/v1/nodes/${n}/states/console`, 'latest', {})).status, 400);
});

test('no conductor for the node\'s group → 400 NoValidHost on actions', async () => {
  const orphan = await t.seedNode({ conductor_group: 'elsewhere' });
  const r = await call('PUT', `/v1/nodes/${orphan.uuid}/states/power`, 'latest', { target: 'power on' });
  assert.is(r.status, 400);
  assert.is(fault(r.raw), 'No valid host was found. Reason: No conductor service registered which supports driver fake-hardware for conductor group "elsewhere".');
  assert.is((await call('GET', `/v1/nodes/${orphan.uuid}`)).body.conductor, null);
});

test('history (≥1.78) from the history read model; /timeline: every event with actor, correlation id and time', async () => {
  const n = await create({ name: 'hist-1' });
  const manage = await provision(n, { target: 'manage' });
  await t.idle();
  const at = new Date().toISOString().replace('Z', '+00:00');
  for (const [i, uuid] of ['0a6e2a4b-1c3d-4e5f-8a9b-0c1d2e3f4a51', '0a6e2a4b-1c3d-4e5f-8a9b-0c1d2e3f4a52'].entries()) {
    await t.appendNodeEvents(n, [{ type: 'NodeHistoryRecorded', data: { uuid: n, at, entry: { uuid, severity: i ? 'ERROR' : 'INFO', event: i ? 'x'.repeat(300) : 'Node verified', event_type: 'verify', conductor: 'test-conductor', user: null, created_at: at } } }]);
  }
  assert.is((await call('GET', `/v1/nodes/${n}/history`, '1.77')).status, 404);
  const h = await call('GET', `/v1/nodes/${n}/history?limit=1`);
  const first = (h.body.history as J[])[0]!;
  assert.equal(Object.keys(first), ['uuid', 'created_at', 'severity', 'event', 'links']);
  assert.is(first.event, 'Node verified');
  assert.is(h.body.next, `http://h/v1/nodes/${n}/history?limit=1&marker=0a6e2a4b-1c3d-4e5f-8a9b-0c1d2e3f4a51`);
  const rest = await call('GET', `/v1/nodes/${n}/history?marker=0a6e2a4b-1c3d-4e5f-8a9b-0c1d2e3f4a51`);
  const second = (rest.body.history as J[])[0]!;
  assert.is((second.event as string).length, 254);
  assert.ok((second.event as string).endsWith('...'));
  const detail = await call('GET', `/v1/nodes/hist-1/history?detail=true`);
  assert.equal(Object.keys((detail.body.history as J[])[0]!), ['uuid', 'created_at', 'severity', 'event', 'event_type', 'conductor', 'user', 'links']);
  const one = await call('GET', `/v1/nodes/${n}/history/0a6e2a4b-1c3d-4e5f-8a9b-0c1d2e3f4a52`);
  assert.is((one.body.event as string).length, 300);
  assert.is((await call('GET', `/v1/nodes/${n}/history/1be26c0b-03f2-4d2e-ae87-c02d7f33c123`)).status, 404);

  const tl = await call('GET', '/v1/nodes/hist-1/timeline');
  const entries = tl.body.timeline as J[];
  assert.is(tl.body.node_uuid, n);
  assert.equal(entries.map((e) => e.type).slice(0, 5), ['NodeCreated', 'ProvisionActionRequested', 'ProvisionStateChanged', 'ProvisionStateChanged', 'NodeHistoryRecorded']);
  const fromRequest = entries.filter((e) => e.correlation_id === manage.headers['openstack-request-id']);
  // the request and the conductor's completion share the request's correlation id
  assert.equal(fromRequest.map((e) => e.actor), ['noauth', 'noauth', 'conductor:test-conductor']);
  for (const e of entries) {
    assert.type(e.position, 'number');
    assert.type(e.time, 'string');
  }
  // still there after the node is deleted, by uuid or its last name
  assert.is((await call('DELETE', `/v1/nodes/${n}`)).status, 204);
  const after = await call('GET', '/v1/nodes/hist-1/timeline');
  assert.is(after.status, 200);
  assert.is((after.body.timeline as J[]).at(-1)!.type, 'NodeDeleted');
  assert.is((await call('GET', '/v1/nodes/never-existed/timeline')).status, 404);
});

test('inventory (≥1.81) and BIOS (≥1.40) when there is none; POST /v1/events (≥1.54) validated and logged', async () => {
  const n = await create();
  assert.is((await call('GET', `/v1/nodes/${n}/inventory`, '1.80')).status, 404);
  const inv = await call('GET', `/v1/nodes/${n}/inventory`);
  assert.is(inv.status, 404);
  assert.is(fault(inv.raw), `Node inventory for node ${n} could not be found.`);
  assert.equal((await call('GET', `/v1/nodes/${n}/bios`)).body, { bios: [] });
  assert.is((await call('GET', `/v1/nodes/${n}/bios`, '1.39')).status, 404);
  assert.is((await call('GET', `/v1/nodes/${n}/bios/ProcVirtualization`)).status, 404);
  const before = await t.count();
  const ev = { event: 'network.bind_port', port_id: 'p1', mac_address: '52:54:00:00:00:aa', status: 'ACTIVE', device_id: null };
  assert.is((await call('POST', '/v1/events', 'latest', { events: [ev] })).status, 204);
  assert.is((await call('POST', '/v1/events', '1.53', { events: [ev] })).status, 404);
  assert.is((await call('POST', '/v1/events', 'latest', { events: [] })).status, 400);
  assert.is((await call('POST', '/v1/events', 'latest', { events: [{ ...ev, event: 'network.other' }] })).status, 400);
  assert.is((await call('POST', '/v1/events', 'latest', { events: [{ ...ev, mac_address: 'nope' }] })).status, 400);
  assert.is((await call('POST', '/v1/events', 'latest', { events: [{ ...ev, extra: 1 }] })).status, 400);
  assert.is(await t.count(), before);
});

test.after(async () => {
  await t.close();
});
test.run();
