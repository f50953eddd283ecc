// /v1/allocations (the allocation process picks a node), /v1/deploy_templates and /v1/volume on
// the real stack, with their version gates.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { innerError, testApp } from './support/app.ts';

const t = await testApp();
type J = Record<string, unknown>;
const call = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, version: string | null = 'latest', payload?: unknown) => {
  const r = await t.app.inject({
    method,
    url,
    headers: { host: 'h', ...(version ? { 'x-openstack-ironic-api-version': version } : {}) },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as J) : {}, raw: r.body, headers: r.headers };
};
const fault = (raw: string) => String(innerError(raw).faultstring);

/** an available, powered node of resource class `rc` */
const availableNode = async (name: string, rc: string, traits: string[] = []) => {
  const uuid = (await call('POST', '/v1/nodes', 'latest', { driver: 'fake-hardware', name, resource_class: rc })).body.uuid as string;
  for (const target of ['manage', 'provide']) {
    assert.is((await call('PUT', `/v1/nodes/${uuid}/states/provision`, 'latest', { target })).status, 202);
    await t.idle();
  }
  assert.is((await call('PUT', `/v1/nodes/${uuid}/states/power`, 'latest', { target: 'power off' })).status, 202);
  if (traits.length) assert.is((await call('PUT', `/v1/nodes/${uuid}/traits`, 'latest', { traits })).status, 204);
  await t.idle();
  return uuid;
};

test('allocations: version gates (404 below 1.52 for GET, 405 for writes)', async () => {
  assert.is((await call('GET', '/v1/allocations', '1.51')).status, 404);
  assert.is((await call('POST', '/v1/allocations', '1.51', { resource_class: 'x' })).status, 405);
  assert.is((await call('PATCH', '/v1/allocations/x', '1.56', [])).status, 405);
});

test('create → allocating, then the conductor picks a matching node (resource class + traits)', async () => {
  const plain = await availableNode('alloc-plain', 'gold');
  const withTrait = await availableNode('alloc-trait', 'gold', ['CUSTOM_GPU']);
  const r = await call('POST', '/v1/allocations', 'latest', { resource_class: 'gold', traits: ['CUSTOM_GPU'], name: 'alloc-1', extra: { k: 'v' } });
  assert.is(r.status, 201, r.raw);
  assert.is(r.body.state, 'allocating');
  assert.is(r.headers.location, `http://h/v1/allocations/${r.body.uuid as string}`);
  assert.equal(Object.keys(r.body), ['uuid', 'created_at', 'updated_at', 'name', 'node_uuid', 'state', 'last_error', 'resource_class', 'traits', 'candidate_nodes', 'extra', 'owner', 'links']);
  await t.idle();
  const done = await call('GET', '/v1/allocations/alloc-1');
  assert.is(done.body.state, 'active');
  assert.is(done.body.node_uuid, withTrait);
  const node = (await call('GET', `/v1/nodes/${withTrait}`)).body;
  assert.is(node.allocation_uuid, r.body.uuid);
  assert.is(node.instance_uuid, r.body.uuid);
  assert.equal((await call('GET', `/v1/nodes/${withTrait}/allocation`)).body.uuid, r.body.uuid);

  // candidates restrict the choice; nothing matching → error with last_error
  const c = await call('POST', '/v1/allocations', 'latest', { resource_class: 'gold', candidate_nodes: ['alloc-plain'] });
  await t.idle();
  const picked = (await call('GET', `/v1/allocations/${c.body.uuid as string}`)).body;
  assert.is(picked.state, 'active');
  assert.is(picked.node_uuid, plain);
  assert.equal(picked.candidate_nodes, [plain]);
  const none = await call('POST', '/v1/allocations', 'latest', { resource_class: 'silver' });
  await t.idle();
  const failed = (await call('GET', `/v1/allocations/${none.body.uuid as string}`)).body;
  assert.is(failed.state, 'error');
  assert.is(failed.last_error, `Failed to process allocation ${none.body.uuid as string}: no available nodes match the resource class silver.`);

  // lists and filters
  const states = async (qs: string) => ((await call('GET', `/v1/allocations${qs}`)).body.allocations as J[]).map((a) => a.state);
  assert.equal(await states('?state=error'), ['error']);
  assert.equal(await states('?resource_class=gold'), ['active', 'active']);
  assert.equal(await states(`?node=alloc-trait`), ['active']);
  assert.is((await call('GET', '/v1/allocations?state=bogus')).status, 400);
  assert.is((await call('GET', '/v1/allocations?owner=x', '1.59')).status, 406);
  assert.is((await call('GET', '/v1/allocations?sort_key=traits')).status, 400);
  assert.equal(Object.keys(((await call('GET', '/v1/allocations?fields=uuid,state')).body.allocations as J[])[0]!), ['uuid', 'state', 'links']);

  // patch name/extra (≥1.57); delete refused while the node is active... here it is available: freed
  const p = await call('PATCH', '/v1/allocations/alloc-1', 'latest', [{ op: 'replace', path: '/name', value: 'alloc-one' }]);
  assert.is(p.status, 200);
  assert.is(p.body.name, 'alloc-one');
  assert.is((await call('PATCH', '/v1/allocations/alloc-one', 'latest', [{ op: 'replace', path: '/resource_class', value: 'x' }])).status, 400);
  assert.is((await call('DELETE', '/v1/allocations/alloc-one')).status, 204);
  const freed = (await call('GET', `/v1/nodes/${withTrait}`)).body;
  assert.is(freed.allocation_uuid, null);
  assert.is(freed.instance_uuid, null);
});

test('bad allocations → 400 and nothing written', async () => {
  const before = await t.count();
  const cases: Array<[unknown, string, number, string | RegExp]> = [
    [{}, 'latest', 400, 'The resource_class field is mandatory when not backfilling'],
    [{ resource_class: 'x', bogus: 1 }, 'latest', 400, "Schema error for allocation: Additional properties are not allowed ('bogus' was unexpected)"],
    [{ resource_class: 'x', traits: ['lower'] }, 'latest', 400, /^Invalid trait 'lower'\. A valid trait/],
    [{ resource_class: 'x', traits: 'CUSTOM_X' }, 'latest', 400, /^Schema error for allocation: /],
    [{ resource_class: 'x', name: 'bad name' }, 'latest', 400, "Cannot create allocation with invalid name 'bad name'"],
    [{ resource_class: 'x', uuid: 'nope' }, 'latest', 400, 'Expected UUID for uuid: nope'],
    [{ resource_class: 'x', candidate_nodes: ['no-such-node'] }, 'latest', 400, 'Candidate node no-such-node could not be found.'],
    [{ resource_class: 'x', owner: 'p' }, '1.59', 406, 'Request not acceptable.'],
    [{ node: 'alloc-plain' }, '1.57', 406, 'Request not acceptable.'],
  ];
  for (const [payload, version, status, message] of cases) {
    const r = await call('POST', '/v1/allocations', version, payload);
    assert.is(r.status, status, JSON.stringify(payload));
    if (typeof message === 'string') assert.is(fault(r.raw), message);
    else assert.match(fault(r.raw), message);
  }
  assert.is(await t.count(), before);
});

test('deploy templates (≥1.55): create, masked args, names are traits, duplicates, patch, delete', async () => {
  assert.is((await call('GET', '/v1/deploy_templates', '1.54')).status, 404);
  assert.is((await call('POST', '/v1/deploy_templates', '1.54', {})).status, 405);
  const steps = [{ interface: 'bios', step: 'apply_configuration', args: { settings: [], admin_password: 'bios-pw' }, priority: 150 }];
  const r = await call('POST', '/v1/deploy_templates', 'latest', { name: 'CUSTOM_HYPERTHREADING_ON', steps, extra: { a: 1 } });
  assert.is(r.status, 201, r.raw);
  const uuid = r.body.uuid as string;
  assert.equal(Object.keys(r.body), ['uuid', 'created_at', 'updated_at', 'extra', 'name', 'steps', 'links']);
  assert.equal((r.body.steps as J[])[0], { interface: 'bios', step: 'apply_configuration', args: { settings: [], admin_password: '******' }, priority: 150 });
  assert.not.match(JSON.stringify((await t.events()).map((e) => e.data)), /bios-pw/);
  assert.equal(((await call('GET', '/v1/deploy_templates')).body.deploy_templates as J[]).map((d) => Object.keys(d)), [['uuid', 'name', 'links']]);
  assert.is((await call('GET', '/v1/deploy_templates/CUSTOM_HYPERTHREADING_ON')).body.uuid, uuid);
  const before = await t.count();
  const bad: Array<[unknown, number, string | RegExp]> = [
    [{ name: 'lowercase', steps }, 400, /^Deploy template name must be a valid trait\./],
    [{ name: 'CUSTOM_X', steps: [] }, 400, /too short$/],
    [{ name: 'CUSTOM_X', steps: [{ interface: 'bios', step: 's', args: {} }] }, 400, "Schema error for deploy template: 'priority' is a required property"],
    [{ name: 'CUSTOM_X', steps: [{ interface: 'nope', step: 's', args: {}, priority: 1 }] }, 400, /^Schema error for deploy template: 'nope' is not one of/],
    [{ name: 'CUSTOM_X', steps: [{ interface: 'bios', step: 's', args: {}, priority: -1 }] }, 400, /not valid under any of the given schemas$/],
    [{ name: 'CUSTOM_X', steps: [steps[0], steps[0]] }, 400, /^Duplicate deploy steps/],
    [{ name: 'CUSTOM_HYPERTHREADING_ON', steps }, 409, 'A deploy template with name CUSTOM_HYPERTHREADING_ON already exists.'],
    [{ steps }, 400, "Schema error for deploy template: 'name' is a required property"],
  ];
  for (const [payload, status, message] of bad) {
    const e = await call('POST', '/v1/deploy_templates', 'latest', payload);
    assert.is(e.status, status, JSON.stringify(payload));
    if (typeof message === 'string') assert.is(fault(e.raw), message);
    else assert.match(fault(e.raw), message);
  }
  assert.is(await t.count(), before);
  const p = await call('PATCH', `/v1/deploy_templates/${uuid}`, 'latest', [{ op: 'replace', path: '/name', value: 'CUSTOM_HT_ON' }, { op: 'replace', path: '/steps/0/priority', value: 10 }]);
  assert.is(p.status, 200, p.raw);
  assert.is(p.body.name, 'CUSTOM_HT_ON');
  assert.is(((p.body.steps as J[])[0] as J).priority, 10);
  assert.is(((p.body.steps as J[])[0]!.args as J).admin_password, '******');
  assert.is((await call('DELETE', '/v1/deploy_templates/CUSTOM_HT_ON')).status, 204);
  assert.is((await call('GET', `/v1/deploy_templates/${uuid}`)).status, 404);
});

test('volume connectors and targets (≥1.32): CRUD, uniqueness, powered-off rule', async () => {
  const n = (await call('POST', '/v1/nodes', 'latest', { driver: 'fake-hardware', name: 'vol-1' })).body.uuid as string;
  assert.is((await call('GET', '/v1/volume/connectors', '1.31')).status, 404);
  const idx = await call('GET', '/v1/volume');
  assert.equal(Object.keys(idx.body), ['connectors', 'links', 'targets']);
  const c = await call('POST', '/v1/volume/connectors', 'latest', { node_uuid: n, type: 'iqn', connector_id: 'iqn.2017-05.org.openstack:1' });
  assert.is(c.status, 201, c.raw);
  assert.is(c.headers.location, `http://h/v1/volume/connectors/${c.body.uuid as string}`);
  assert.is((await call('POST', '/v1/volume/connectors', 'latest', { node_uuid: n, type: 'iqn', connector_id: 'iqn.2017-05.org.openstack:1' })).status, 409);
  assert.is((await call('POST', '/v1/volume/connectors', 'latest', { node_uuid: n, type: 'floppy', connector_id: 'x' })).status, 400);
  assert.is((await call('POST', '/v1/volume/connectors', 'latest', { node_uuid: '1be26c0b-03f2-4d2e-ae87-c02d7f33c123', type: 'ip', connector_id: '10.0.0.1' })).status, 400);
  const tg = await call('POST', '/v1/volume/targets', 'latest', { node_uuid: n, volume_type: 'iscsi', boot_index: 0, volume_id: 'v-1' });
  assert.is(tg.status, 201, tg.raw);
  assert.is((await call('POST', '/v1/volume/targets', 'latest', { node_uuid: n, volume_type: 'iscsi', boot_index: 0, volume_id: 'v-2' })).status, 409);
  assert.is((await call('POST', '/v1/volume/targets', 'latest', { node_uuid: n, volume_type: 'iscsi', boot_index: -1, volume_id: 'v-3' })).status, 400);
  assert.equal(((await call('GET', `/v1/volume/connectors?node=vol-1`)).body.connectors as J[]).map((x) => x.connector_id), ['iqn.2017-05.org.openstack:1']);
  assert.equal(((await call('GET', `/v1/nodes/vol-1/volume/targets`)).body.targets as J[]).map((x) => x.volume_id), ['v-1']);
  assert.ok('connectors' in (await call('GET', '/v1/nodes/vol-1/volume')).body);
  // the node's power state is unknown: changes are refused until it is powered off
  const refused = await call('PATCH', `/v1/volume/targets/${tg.body.uuid as string}`, 'latest', [{ op: 'replace', path: '/volume_id', value: 'v-9' }]);
  assert.is(refused.status, 400);
  assert.match(fault(refused.raw), /^The requested action "volume target update" can not be performed on node/);
  await call('PUT', `/v1/nodes/${n}/states/power`, 'latest', { target: 'power off' });
  await t.idle();
  const ok = await call('PATCH', `/v1/volume/targets/${tg.body.uuid as string}`, 'latest', [{ op: 'replace', path: '/volume_id', value: 'v-9' }]);
  assert.is(ok.status, 200, ok.raw);
  assert.is(ok.body.volume_id, 'v-9');
  assert.is((await call('DELETE', `/v1/volume/connectors/${c.body.uuid as string}`)).status, 204);
  // the node's delete takes its targets with it
  assert.is((await call('DELETE', '/v1/nodes/vol-1')).status, 204);
  assert.is((await call('GET', `/v1/volume/targets/${tg.body.uuid as string}`)).status, 404);
});

test.after(async () => {
  await t.close();
});
test.run();
