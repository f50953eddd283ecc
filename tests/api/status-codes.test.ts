// Every status code of reference §2.2 that applies to ironlog, each from a real case on the real
// stack (SQLite store, projector, command handler; the in-process conductor, or real conductors
// over NATS where the case is about conductors: NodeLocked under a running operation, 503 with no
// conductor alive), with Ironic's error body and class; every provision verb's version gate
// (§4.2: 406 one version below its minimum, accepted at it) and the soft power / timeout gates
// (§4.6). A refused request writes nothing.

import { randomUUID } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { innerError, testApp, type TestApp } from './support/app.ts';
import { natsApp, type NatsApp } from './support/nats-app.ts';

let t: TestApp;
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
const at = () => new Date().toISOString().replace('Z', '+00:00');

const call = async (method: Method, url: string, payload?: unknown, version = 'latest') => {
  const r = await t.app.inject({
    method,
    url,
    headers: { host: 'h', 'x-openstack-ironic-api-version': version, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(payload === undefined ? {} : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
  });
  return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as any) : undefined, raw: r.body, headers: r.headers };
};

/** the request is refused with this status and message (Ironic's double-encoded body) and writes nothing */
const refused = async (status: number, message: string | RegExp, method: Method, url: string, payload?: unknown, version = 'latest', a?: NatsApp) => {
  const before = a ? await a.count() : await t.count();
  const r = a ? await a.call(method, url, payload, version) : await call(method, url, payload, version);
  assert.is(r.status, status, `${method} ${url} ${JSON.stringify(payload) ?? ''} @${version}: ${r.raw}`);
  assert.match(String(r.headers['content-type']), /^application\/json/, 'errors are JSON');
  const inner = innerError(r.raw);
  const text = String(inner.faultstring ?? inner.description);
  if (typeof message === 'string') assert.is(text, message);
  else assert.ok(message.test(text), `${method} ${url}: "${text}" does not match ${message}`);
  if (inner.faultcode !== undefined) assert.is(inner.faultcode, status >= 500 ? 'Server' : 'Client');
  assert.is(a ? await a.count() : await t.count(), before, `${method} ${url} wrote nothing`);
  return r;
};

const node = (fields: Record<string, unknown> = {}) => t.seedNode({ provision_state: 'available', ...fields } as never);
const reserve = (uuid: string, host = 'other-conductor') =>
  t.appendNodeEvents(uuid, [{ type: 'NodeReserved', data: { uuid, at: at(), host, ring_epoch: 0 } }]);
const provision = (uuid: string, target: string, version = 'latest', extra: Record<string, unknown> = {}) =>
  call('PUT', `/v1/nodes/${uuid}/states/provision`, { target, ...extra }, version);

test.before(async () => {
  t = await testApp({}, { fakeWork: false });
});
test.after(async () => {
  await t?.close();
});

test('400: schema, sort, limit, patch, state, maintenance, retired, names, MACs, references, no conductor for the driver', async () => {
  await refused(400, /^Schema error for node: Additional properties are not allowed \('bogus' was unexpected\)$/, 'POST', '/v1/nodes', { driver: 'fake-hardware', bogus: 1 });
  await refused(400, /sort direction/i, 'GET', '/v1/nodes?sort_dir=up');
  await refused(400, 'Limit must be positive', 'GET', '/v1/nodes?limit=0');
  const n = await node({ name: 'sc-1' });
  await refused(400, /\/bogus/, 'PATCH', `/v1/nodes/${n.uuid}`, [{ op: 'add', path: '/bogus', value: 1 }]);
  await refused(400, /patch/i, 'PATCH', `/v1/nodes/${n.uuid}`, [{ op: 'move', from: '/extra', path: '/properties' }]);
  const enroll = await node({ provision_state: 'enroll' });
  await refused(400, `The requested action "provide" can not be performed on node "${enroll.uuid}" while it is in state "enroll".`, 'PUT', `/v1/nodes/${enroll.uuid}/states/provision`, { target: 'provide' });
  await refused(400, /can not be performed on node/, 'PUT', `/v1/nodes/${n.uuid}/states/provision`, { target: 'no-such-verb' });
  await refused(400, /can not be performed on node/, 'PUT', `/v1/nodes/${n.uuid}/states/power`, { target: 'power sideways' });
  const cleaning = await node({ provision_state: 'cleaning', target_provision_state: 'available' });
  await refused(400, `The requested action "power on" can not be performed on node "${cleaning.uuid}" while it is in state "cleaning".`, 'PUT', `/v1/nodes/${cleaning.uuid}/states/power`, { target: 'power on' });
  const maint = await node({ maintenance: true, maintenance_reason: 'x' });
  await refused(400, `The provisioning operation can't be performed on node ${maint.uuid} because it's in maintenance mode.`, 'PUT', `/v1/nodes/${maint.uuid}/states/provision`, { target: 'active' });
  const retired = await node({ provision_state: 'manageable', retired: true, retired_reason: 'old' });
  await refused(400, /because it is retired/, 'PUT', `/v1/nodes/${retired.uuid}/states/provision`, { target: 'provide' });
  await refused(400, 'Expected UUID or name for node_ident: bad name!', 'GET', '/v1/nodes/bad%20name!');
  await refused(400, /Expected a MAC address but received/, 'POST', '/v1/ports', { address: 'zz:zz', node_uuid: n.uuid });
  await refused(400, /could not be found/, 'POST', '/v1/ports', { address: '52:54:00:00:00:01', node_uuid: randomUUID() });
  await refused(400, /^No valid host was found\. Reason: No conductor service registered which supports driver ipmi for conductor group ""\.$/, 'POST', '/v1/nodes', { driver: 'ipmi' });
  await refused(400, /not attached/, 'DELETE', `/v1/nodes/${n.uuid}/vifs/${randomUUID()}`);
  await refused(400, "At least one of 'addresses' and 'node_uuid' parameters is required", 'GET', '/v1/lookup');
  const chassis = await call('POST', '/v1/chassis', { description: 'rack' });
  assert.is(chassis.status, 201);
  assert.is((await call('POST', '/v1/nodes', { driver: 'fake-hardware', chassis_uuid: chassis.body.uuid })).status, 201);
  await refused(400, /contains nodes/, 'DELETE', `/v1/chassis/${chassis.body.uuid}`);
  const pg = await call('POST', '/v1/portgroups', { node_uuid: n.uuid, address: '52:54:00:00:01:00' });
  assert.is(pg.status, 201, pg.raw);
  assert.is((await call('POST', '/v1/ports', { address: '52:54:00:00:01:01', node_uuid: n.uuid, portgroup_uuid: pg.body.uuid })).status, 201);
  await refused(400, /contains ports/, 'DELETE', `/v1/portgroups/${pg.body.uuid}`);
});

test('403: operations not permitted; protected nodes', async () => {
  const chassis = await call('POST', '/v1/chassis', {});
  await refused(403, 'Operation not permitted.', 'POST', `/v1/chassis/${chassis.body.uuid}/nodes`, { driver: 'fake-hardware' });
  const p = await node({ provision_state: 'active', protected: true, protected_reason: 'prod' });
  await refused(403, /is protected/, 'PUT', `/v1/nodes/${p.uuid}/states/provision`, { target: 'deleted' });
  await refused(403, /is protected/, 'PUT', `/v1/nodes/${p.uuid}/states/provision`, { target: 'rebuild' });
  const pm = await node({ provision_state: 'manageable', protected: true });
  await refused(403, /is protected/, 'DELETE', `/v1/nodes/${pm.uuid}`);
});

test('404: every NotFound of the API, version-gated sub-resources, unknown resources', async () => {
  const n = await node();
  const id = randomUUID();
  await refused(404, `Node ${id} could not be found.`, 'GET', `/v1/nodes/${id}`);
  await refused(404, 'Node no-such-name could not be found.', 'GET', '/v1/nodes/no-such-name');
  await refused(404, /Port .* could not be found\./, 'GET', `/v1/ports/${id}`);
  await refused(404, /Portgroup .* could not be found\./, 'GET', `/v1/portgroups/${id}`);
  await refused(404, /Chassis .* could not be found\./, 'GET', `/v1/chassis/${id}`);
  await refused(404, 'Could not find the following driver(s) or hardware type(s): ipmi.', 'GET', '/v1/drivers/ipmi');
  await refused(404, /Conductor nobody could not be found\./, 'GET', '/v1/conductors/nobody');
  await refused(404, /Allocation .* could not be found\./, 'GET', `/v1/allocations/${id}`);
  await refused(404, /Deploy template .* could not be found\./i, 'GET', `/v1/deploy_templates/${id}`);
  await refused(404, /Volume connector .* could not be found\./i, 'GET', `/v1/volume/connectors/${id}`);
  await refused(404, `Node ${n.uuid} doesn't have a trait 'CUSTOM_NOPE'`, 'DELETE', `/v1/nodes/${n.uuid}/traits/CUSTOM_NOPE`);
  await refused(404, /history record .* could not be found/i, 'GET', `/v1/nodes/${n.uuid}/history/${id}`);
  await refused(404, 'Resource could not be found.', 'GET', '/v1/conductors', undefined, '1.48');
  await refused(404, 'Resource could not be found.', 'GET', `/v1/nodes/${n.uuid}/history`, undefined, '1.77');
  await refused(404, 'Resource could not be found.', 'GET', `/v1/lookup?node_uuid=${n.uuid}`, undefined, '1.21');
  await refused(404, /could not be found/, 'GET', '/v1/bogus');
  await refused(404, /Node .* could not be found\./, 'PUT', `/v1/nodes/${id}/states/provision`, { target: 'manage' });
});

test('405: wrong methods; writes to resources too new for the version', async () => {
  await refused(405, 'The method DELETE is not allowed for this resource.', 'DELETE', '/v1/nodes');
  await refused(405, /not allowed/, 'PUT', '/v1/ports');
  await refused(405, /not allowed/, 'POST', '/v1/allocations', { resource_class: 'x' }, '1.51');
  await refused(405, /not allowed/, 'POST', '/v1/deploy_templates', { name: 'CUSTOM_X', steps: [] }, '1.54');
});

test('406: version headers, fields and filters newer than the version', async () => {
  await refused(406, /Version 1\.99 was requested but the minor version is not supported/, 'GET', '/v1/nodes', undefined, '1.99');
  await refused(406, /Mutually exclusive versions requested/, 'GET', '/v1/nodes', undefined, '2.1');
  await refused(406, 'Invalid value for X-OpenStack-Ironic-API-Version header', 'GET', '/v1/nodes', undefined, 'abc');
  await refused(406, /not acceptable/i, 'GET', '/v1/nodes?fields=uuid,shard', undefined, '1.81');
  await refused(406, /not acceptable/i, 'GET', '/v1/nodes?shard=a', undefined, '1.81');
  await refused(406, /not acceptable/i, 'POST', '/v1/nodes', { driver: 'fake-hardware', owner: 'me' }, '1.49');
  await refused(406, /not acceptable/i, 'POST', '/v1/nodes', { driver: 'fake-hardware', name: 'n' }, '1.4');
});

test('409: NodeLocked while reserved, invalid state, duplicates, associations, transitions', async () => {
  const held = await node();
  await reserve(held.uuid);
  // an invalid verb on a reserved node is NodeLocked, not InvalidStateRequested (§2.2)
  await refused(409, `Node ${held.uuid} is locked by host other-conductor, please retry after the current operation is completed.`, 'PUT', `/v1/nodes/${held.uuid}/states/provision`, { target: 'provide' });
  // valid work on a reserved node: the conductor's lock refuses it
  await refused(409, /is locked by host other-conductor/, 'PUT', `/v1/nodes/${held.uuid}/states/provision`, { target: 'active' });
  await refused(409, /is locked by host other-conductor/, 'PUT', `/v1/nodes/${held.uuid}/states/power`, { target: 'power on' });
  await refused(409, /is locked by host other-conductor/, 'PUT', `/v1/nodes/${held.uuid}/maintenance`, { reason: 'x' });

  const active = await node({ provision_state: 'active' });
  await refused(409, /active/, 'DELETE', `/v1/nodes/${active.uuid}`);
  const associated = await node({ provision_state: 'manageable', instance_uuid: randomUUID() });
  await refused(409, /is associated with instance/, 'DELETE', `/v1/nodes/${associated.uuid}`);
  assert.is((await call('POST', '/v1/nodes', { driver: 'fake-hardware', name: 'dup-name' })).status, 201);
  await refused(409, /dup-name/, 'POST', '/v1/nodes', { driver: 'fake-hardware', name: 'dup-name' });
  await refused(409, new RegExp(`${active.uuid}.*already exists`), 'POST', '/v1/nodes', { driver: 'fake-hardware', uuid: active.uuid });
  assert.is((await call('POST', '/v1/ports', { address: '52:54:00:00:09:01', node_uuid: active.uuid })).status, 201);
  await refused(409, /52:54:00:00:09:01.*already exists/, 'POST', '/v1/ports', { address: '52:54:00:00:09:01', node_uuid: associated.uuid });
  const vif = randomUUID();
  assert.is((await call('POST', `/v1/nodes/${active.uuid}/vifs`, { id: vif })).status, 204);
  await refused(409, /already attached/, 'POST', `/v1/nodes/${active.uuid}/vifs`, { id: vif });
  assert.is((await call('POST', '/v1/allocations', { resource_class: 'none', name: 'alloc-dup' })).status, 201);
  await t.idle(); // its allocation process ends (in error: no node of that class) before the next count
  await refused(409, /alloc-dup/, 'POST', '/v1/allocations', { resource_class: 'none', name: 'alloc-dup' });
  const steps = [{ interface: 'bios', step: 'apply_configuration', args: {}, priority: 10 }];
  assert.is((await call('POST', '/v1/deploy_templates', { name: 'CUSTOM_DUP', steps })).status, 201);
  await refused(409, /CUSTOM_DUP/, 'POST', '/v1/deploy_templates', { name: 'CUSTOM_DUP', steps });
  const deploying = await node({ provision_state: 'deploying', target_provision_state: 'active' });
  await refused(409, /transition|provision state/i, 'PATCH', `/v1/nodes/${deploying.uuid}`, [{ op: 'add', path: '/extra/a', value: 1 }]);
  const inspecting = await node({ provision_state: 'inspecting', target_provision_state: 'manageable' });
  await refused(409, /inspecting/, 'PATCH', `/v1/nodes/${inspecting.uuid}`, [{ op: 'add', path: '/extra/a', value: 1 }], '1.39');
});

test('every provision verb: 406 one version below its minimum, accepted at it (§4.2)', async () => {
  const gates: Array<{ target: string; min: number; from: string; extra?: Record<string, unknown>; fields?: Record<string, unknown> }> = [
    { target: 'manage', min: 4, from: 'enroll' },
    { target: 'provide', min: 4, from: 'manageable' },
    { target: 'inspect', min: 6, from: 'manageable' },
    { target: 'abort', min: 13, from: 'clean wait', fields: { target_provision_state: 'available' } },
    { target: 'clean', min: 15, from: 'manageable', extra: { clean_steps: [{ interface: 'deploy', step: 'erase_devices' }] } },
    { target: 'adopt', min: 17, from: 'manageable' },
    { target: 'rescue', min: 38, from: 'active', extra: { rescue_password: 'pw' } },
    { target: 'unrescue', min: 38, from: 'rescue' },
    { target: 'deploy', min: 73, from: 'available' },
    { target: 'undeploy', min: 73, from: 'active' },
  ];
  for (const g of gates) {
    const n = await node({ provision_state: g.from as never, ...(g.fields ?? {}) });
    await refused(406, 'Request not acceptable.', 'PUT', `/v1/nodes/${n.uuid}/states/provision`, { target: g.target, ...(g.extra ?? {}) }, `1.${g.min - 1}`);
    const ok = await provision(n.uuid, g.target, `1.${g.min}`, g.extra);
    assert.is(ok.status, 202, `${g.target} @1.${g.min}: ${ok.raw}`);
  }
  // the 1.1 verbs have no gate
  for (const [target, from] of [['active', 'available'], ['deleted', 'active'], ['rebuild', 'active']] as const) {
    const n = await node({ provision_state: from });
    assert.is((await provision(n.uuid, target, '1.1')).status, 202, target);
  }
  // body keys with their own gates
  const a = await node({ provision_state: 'available' });
  await refused(406, 'Request not acceptable.', 'PUT', `/v1/nodes/${a.uuid}/states/provision`, { target: 'active', deploy_steps: [] }, '1.68');
  const m = await node({ provision_state: 'manageable' });
  await refused(406, 'Request not acceptable.', 'PUT', `/v1/nodes/${m.uuid}/states/provision`, { target: 'clean', clean_steps: [{ interface: 'deploy', step: 'x' }], disable_ramdisk: true }, '1.69');
  await refused(400, /JSON object for configdrive is only supported starting with API version 1\.56/, 'PUT', `/v1/nodes/${a.uuid}/states/provision`, { target: 'active', configdrive: { meta_data: {} } }, '1.55');
  const iw = await node({ provision_state: 'inspect wait', target_provision_state: 'manageable' });
  await refused(406, 'Request not acceptable.', 'PUT', `/v1/nodes/${iw.uuid}/states/provision`, { target: 'abort' }, '1.40');
  assert.is((await provision(iw.uuid, 'abort', '1.41')).status, 202);
});

test('soft power and power timeout need 1.27 (§4.6)', async () => {
  for (const target of ['soft rebooting', 'soft power off']) {
    const n = await node({ power_state: 'power on' });
    await refused(406, 'Request not acceptable.', 'PUT', `/v1/nodes/${n.uuid}/states/power`, { target }, '1.26');
    assert.is((await call('PUT', `/v1/nodes/${n.uuid}/states/power`, { target }, '1.27')).status, 202, target);
  }
  const n = await node({ power_state: 'power off' });
  await refused(406, 'Request not acceptable.', 'PUT', `/v1/nodes/${n.uuid}/states/power`, { target: 'power on', timeout: 10 }, '1.26');
  await refused(400, 'timeout has to be positive integer', 'PUT', `/v1/nodes/${n.uuid}/states/power`, { target: 'power on', timeout: 0 }, '1.27');
  await refused(400, /Expected an integer for timeout/, 'PUT', `/v1/nodes/${n.uuid}/states/power`, { target: 'power on', timeout: 'soon' }, '1.27');
  assert.is((await call('PUT', `/v1/nodes/${n.uuid}/states/power`, { target: 'power on', timeout: 10 }, '1.27')).status, 202);
  const r = await call('PUT', `/v1/nodes/${n.uuid}/states/power`, { target: 'power on' }, '1.1');
  assert.ok(r.status !== 406, 'plain power targets have no gate');
});

test('over NATS: NodeLocked during a running operation; 503 with no conductor alive, 400 when none serves the driver', async () => {
  const na = await natsApp({ IRONLOG_FAKE_STEP_DELAY_MS: '400' });
  try {
    await na.startConductor('sc-c1');
    const created = await na.call('POST', '/v1/nodes', { driver: 'fake-hardware', name: 'busy' });
    assert.is(created.status, 201, created.raw);
    const uuid = created.body.uuid as string;
    await na.seedNode({ provision_state: 'available', name: 'spare' });
    await na.appendNodeEvents(uuid, [
      { type: 'ProvisionStateChanged', data: { uuid, at: at(), from: 'enroll', event: 'manage', to: 'verifying', target: 'manageable' } },
      { type: 'ProvisionStateChanged', data: { uuid, at: at(), from: 'verifying', event: 'done', to: 'manageable', target: null } },
      { type: 'ProvisionStateChanged', data: { uuid, at: at(), from: 'manageable', event: 'provide', to: 'cleaning', target: 'available' } },
      { type: 'ProvisionStateChanged', data: { uuid, at: at(), from: 'cleaning', event: 'done', to: 'available', target: null } },
    ]);
    const deploy = await na.call('PUT', `/v1/nodes/${uuid}/states/provision`, { target: 'active' });
    assert.is(deploy.status, 202, deploy.raw);
    const during = await na.call('GET', `/v1/nodes/${uuid}`);
    assert.is(during.body.provision_state, 'deploying');
    assert.is(during.body.reservation, 'sc-c1', 'the conductor holds the node while it deploys');
    await refused(409, 'Node ' + uuid + ' is locked by host sc-c1, please retry after the current operation is completed.', 'PUT', `/v1/nodes/${uuid}/states/provision`, { target: 'manage' }, 'latest', na);
    await refused(409, /is locked by host sc-c1/, 'PUT', `/v1/nodes/${uuid}/states/power`, { target: 'power off' }, 'latest', na);
    for (let i = 0; i < 100 && (await na.call('GET', `/v1/nodes/${uuid}`)).body.provision_state !== 'active'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.is((await na.call('GET', `/v1/nodes/${uuid}`)).body.provision_state, 'active');

    await refused(400, /No valid host was found/, 'POST', '/v1/nodes', { driver: 'ipmi' }, 'latest', na);
    await na.stopConductor('sc-c1');
    await na.waitLive([]);
    const temporary = 'Resource temporarily unavailable, please retry.';
    await refused(503, temporary, 'PUT', `/v1/nodes/${uuid}/states/power`, { target: 'power off' }, 'latest', na);
    await refused(503, temporary, 'PUT', '/v1/nodes/spare/states/provision', { target: 'active' }, 'latest', na);
    await refused(503, temporary, 'POST', '/v1/nodes', { driver: 'fake-hardware' }, 'latest', na);
    await refused(503, temporary, 'PATCH', '/v1/nodes/spare', [{ op: 'add', path: '/extra/x', value: 1 }], 'latest', na);
    await refused(503, temporary, 'PUT', '/v1/nodes/spare/maintenance', { reason: 'r' }, 'latest', na);
    await refused(503, temporary, 'DELETE', '/v1/nodes/spare', undefined, 'latest', na);
    assert.is((await na.call('GET', '/v1/nodes/spare')).status, 200, 'reads need no conductor');
  } finally {
    await na.close();
  }
});

test.run();
