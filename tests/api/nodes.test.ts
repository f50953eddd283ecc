// /v1/nodes (reference §3.2): create, show, list with filters/fields/paging, JSON patch with
// Ironic's rules, delete; the node JSON shape, masked secrets and version gates.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { innerError, latest, testApp, v } from './support/app.ts';

const t = await testApp();
const { app } = t;
const H = { host: 'h' };
type J = Record<string, unknown>;
const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, version: string | null, payload?: unknown) => {
  const r = await app.inject({ method, url, headers: { ...H, ...(version ? v(version) : {}) }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as J) : {}, raw: r.body, headers: r.headers };
};
const fault = (raw: string) => String(innerError(raw).faultstring);

let n1 = '';

test('create at latest: 201, Location, enroll, the full node in Ironic\'s key order, secrets masked', async () => {
  const r = await call('POST', '/v1/nodes', 'latest', {
    driver: 'fake-hardware',
    name: 'node-1',
    driver_info: { ipmi_address: '10.0.0.1', ipmi_password: 'pw', nested: { snmp_auth_key: 'k', redfish_password: 'x' } },
    instance_info: { image_source: 'http://x/img', configdrive: 'H4sI', image_url: 'http://x/secret' },
    properties: { cpus: 4 },
    resource_class: 'baremetal',
  });
  assert.is(r.status, 201);
  n1 = r.body.uuid as string;
  assert.is(r.headers.location, `http://h/v1/nodes/${n1}`);
  assert.is(r.body.provision_state, 'enroll');
  assert.is(r.body.power_state, null);
  assert.is(r.body.conductor_group, '');
  const keys = Object.keys(r.body);
  assert.equal(keys.slice(0, 5), ['uuid', 'created_at', 'updated_at', 'automated_clean', 'bios_interface']);
  assert.equal(keys.slice(-9), ['vendor_interface', 'links', 'conductor', 'allocation_uuid', 'chassis_uuid', 'ports', 'states', 'portgroups', 'volume']);
  assert.equal(r.body.driver_info, { ipmi_address: '10.0.0.1', ipmi_password: '******', nested: { snmp_auth_key: 'k', redfish_password: '******' } });
  assert.equal(r.body.instance_info, { image_source: 'http://x/img', configdrive: '******', image_url: '******' });
  assert.equal(r.body.traits, []);
  assert.equal(r.body.clean_step, {});
  assert.equal(r.body.links, [{ href: `http://h/v1/nodes/${n1}`, rel: 'self' }, { href: `http://h/nodes/${n1}`, rel: 'bookmark' }]);
  // the event holds the secrets sealed, never in clear
  const created = (await t.events()).at(-1)!;
  assert.is(created.type, 'NodeCreated');
  const stored = (created.data as { node: { driver_info: Record<string, unknown>; instance_info: Record<string, unknown> } }).node;
  assert.match(JSON.stringify(stored.driver_info.ipmi_password), /^\{"\$secret":"v1:/);
  assert.match(JSON.stringify(stored.instance_info.configdrive), /^\{"\$secret":"v1:/);
  assert.not.match(JSON.stringify(created.data), /"pw"|H4sI|redfish_password":"x"/);
  assert.is(stored.driver_info.ipmi_address, '10.0.0.1');
  // interfaces resolved to fake-hardware's defaults
  assert.is(r.body.deploy_interface, 'fake');
  assert.is(r.body.network_interface, 'noop');
});

test('create without a version header: 1.1 rules (available, no name, old fields hidden)', async () => {
  const r = await call('POST', '/v1/nodes', null, { driver: 'fake-hardware' });
  assert.is(r.status, 201);
  // `available` is shown as null below 1.2
  assert.is(r.body.provision_state, null);
  for (const k of ['name', 'driver_internal_info', 'traits', 'conductor', 'shard', 'boot_interface', 'states', 'portgroups', 'volume']) assert.not.ok(k in r.body, k);
  const withName = await call('POST', '/v1/nodes', null, { driver: 'fake-hardware', name: 'x' });
  assert.is(withName.status, 406);
  const withShard = await call('POST', '/v1/nodes', '1.81', { driver: 'fake-hardware', shard: 's1' });
  assert.is(withShard.status, 406);
});

test('create: body errors → 400, unknown driver → 400 NoValidHost, bad names, missing chassis', async () => {
  const before = await t.count();
  const cases: Array<[unknown, string | RegExp]> = [
    [{}, "Schema error for node: 'driver' is a required property"],
    [{ driver: 'fake-hardware', bogus: 1 }, "Schema error for node: Additional properties are not allowed ('bogus' was unexpected)"],
    [{ driver: 'fake-hardware', provision_state: 'active' }, "Schema error for node: Additional properties are not allowed ('provision_state' was unexpected)"],
    [{ driver: 5 }, /^Schema error for node: /],
    [{ driver: 'fake-hardware', maintenance: 'perhaps' }, /^Invalid maintenance: Unrecognized value 'perhaps'/],
    [{ driver: 'fake-hardware', uuid: 'xyz' }, 'Expected UUID for uuid: xyz'],
    [{ driver: 'fake-hardware', name: 'has space' }, "Cannot create node with invalid name 'has space'"],
    [{ driver: 'fake-hardware', name: '1be26c0b-03f2-4d2e-ae87-c02d7f33c123' }, "Cannot create node with invalid name '1be26c0b-03f2-4d2e-ae87-c02d7f33c123'"],
    [{ driver: 'fake-hardware', name: 'detail' }, /^The word "detail" is reserved and can not be used as a node name/],
    [{ driver: 'fake-hardware', chassis_uuid: '1be26c0b-03f2-4d2e-ae87-c02d7f33c123' }, 'Chassis 1be26c0b-03f2-4d2e-ae87-c02d7f33c123 could not be found.'],
    [{ driver: 'fake-hardware', description: 'd'.repeat(4097) }, /is too long$/],
  ];
  for (const [payload, expected] of cases) {
    const r = await call('POST', '/v1/nodes', 'latest', payload);
    assert.is(r.status, 400, JSON.stringify(payload).slice(0, 80));
    if (typeof expected === 'string') assert.is(fault(r.raw), expected);
    else assert.match(fault(r.raw), expected);
  }
  assert.is(await t.count(), before);
  const nvh = await call('POST', '/v1/nodes', 'latest', { driver: 'no-such-driver' });
  assert.is(nvh.status, 400);
  assert.match(fault(nvh.raw), /^No valid host was found/);
  const dup = await call('POST', '/v1/nodes', 'latest', { driver: 'fake-hardware', name: 'node-1' });
  assert.is(dup.status, 409);
});

test('show by UUID and by name (≥1.5); names are not found below 1.5; .json suffix retry', async () => {
  assert.is((await call('GET', `/v1/nodes/${n1}`, null)).status, 200);
  assert.is((await call('GET', '/v1/nodes/node-1', '1.5')).body.uuid, n1);
  const old = await call('GET', '/v1/nodes/node-1', '1.4');
  assert.is(old.status, 404);
  assert.is(fault(old.raw), 'Node node-1 could not be found.');
  assert.is((await call('GET', '/v1/nodes/node-1.json', 'latest')).body.uuid, n1);
  assert.is((await call('POST', '/v1/nodes', 'latest', { driver: 'fake-hardware', name: 'web.json' })).status, 201);
  assert.is((await call('GET', '/v1/nodes/web.json', 'latest')).body.name, 'web.json');
  const missing = await call('GET', '/v1/nodes/1be26c0b-03f2-4d2e-ae87-c02d7f33c123', 'latest');
  assert.is(missing.status, 404);
  const bad = await call('GET', '/v1/nodes/bad%20name', 'latest');
  assert.is(bad.status, 400);
});

test('show with fields: only those plus links; unknown → 400; too new → 406', async () => {
  const r = await call('GET', `/v1/nodes/${n1}?fields=name,driver_info,conductor`, 'latest');
  assert.equal(Object.keys(r.body), ['name', 'driver_info', 'links', 'conductor']);
  assert.equal((r.body.driver_info as J).ipmi_password, '******');
  const bad = await call('GET', `/v1/nodes/${n1}?fields=bogus`, 'latest');
  assert.is(bad.status, 400);
  assert.is(fault(bad.raw), 'Field bogus is not a valid field.');
  assert.is((await call('GET', `/v1/nodes/${n1}?fields=shard`, '1.81')).status, 406);
  assert.is((await call('GET', `/v1/nodes/${n1}?fields=name`, '1.7')).status, 406);
});

test('list: default fields, detail, filters with their version gates, next', async () => {
  await t.seedNode({ uuid: '0f6e2a4b-1c3d-4e5f-8a9b-0c1d2e3f4a5b', name: 'maint-1', maintenance: true, provision_state: 'manageable', owner: 'p1', conductor_group: 'g1', shard: 's1', description: 'blue rack', instance_uuid: '9f6e2a4b-1c3d-4e5f-8a9b-0c1d2e3f4a5b' });
  const r = await call('GET', '/v1/nodes', 'latest');
  const first = (r.body.nodes as J[])[0]!;
  // object_to_dict puts uuid first whatever the order of the default fields
  assert.equal(Object.keys(first), ['uuid', 'instance_uuid', 'maintenance', 'power_state', 'provision_state', 'name', 'links']);
  const names = async (qs: string, ver = 'latest') => ((await call('GET', `/v1/nodes${qs}`, ver)).body.nodes as J[]).map((n) => n.name);
  assert.equal(await names('?maintenance=true'), ['maint-1']);
  assert.equal(await names('?associated=true'), ['maint-1']);
  assert.equal(await names('?provision_state=manageable'), ['maint-1']);
  assert.equal(await names('?owner=p1'), ['maint-1']);
  assert.equal(await names('?project=p1'), ['maint-1']);
  assert.equal(await names('?conductor_group=G1'), ['maint-1']);
  assert.equal(await names('?shard=s1,s2'), ['maint-1']);
  assert.equal(await names('?sharded=false&maintenance=false&name=x'.replace('&name=x', '')), ['node-1', null, 'web.json']);
  assert.equal(await names('?description_contains=blue'), ['maint-1']);
  assert.equal(await names('?instance_uuid=9f6e2a4b-1c3d-4e5f-8a9b-0c1d2e3f4a5b'), ['maint-1']);
  assert.equal(await names('?driver=fake-hardware&resource_class=baremetal'), ['node-1']);
  const gates: Array<[string, string]> = [['provision_state=active', '1.8'], ['driver=x', '1.15'], ['resource_class=x', '1.20'], ['fault=power%20failure', '1.41'], ['conductor_group=x', '1.45'], ['conductor=x', '1.48'], ['owner=x', '1.49'], ['lessee=x', '1.64'], ['shard=x', '1.81'], ['sharded=true', '1.81']];
  for (const [qs, ver] of gates) assert.is((await call('GET', `/v1/nodes?${qs}`, ver)).status, 406, qs);
  const badState = await call('GET', '/v1/nodes?provision_state=bogus', 'latest');
  assert.is(fault(badState.raw), 'Provision state "bogus" is not valid');
  const badFault = await call('GET', '/v1/nodes?fault=bogus', 'latest');
  assert.is(badFault.status, 400);
  const d = await call('GET', '/v1/nodes/detail?maintenance=true', 'latest');
  assert.ok('driver_info' in (d.body.nodes as J[])[0]!);
  assert.is((await call('GET', '/v1/nodes/detail?fields=uuid', 'latest')).status, 400);
  const page = await call('GET', '/v1/nodes?limit=1&maintenance=true&associated=true&retired=false', 'latest');
  // only true booleans are echoed, as Ironic's `if associated:` does
  assert.is(page.body.next, 'http://h/v1/nodes?sort_key=id&sort_dir=asc&associated=True&maintenance=True&fields=instance_uuid,maintenance,power_state,provision_state,uuid,name&limit=1&marker=0f6e2a4b-1c3d-4e5f-8a9b-0c1d2e3f4a5b');
  const byInstance = await call('GET', '/v1/nodes?limit=1&instance_uuid=9f6e2a4b-1c3d-4e5f-8a9b-0c1d2e3f4a5b', 'latest');
  assert.is(byInstance.body.next, undefined);
  assert.is((await call('GET', '/v1/nodes?sort_key=properties', 'latest')).status, 400);
  assert.is((await call('GET', '/v1/nodes?sort_key=shard', '1.81')).status, 406);
  assert.equal(await names('?sort_key=name&sort_dir=desc&maintenance=false'), ['web.json', 'node-1', null]);
});

test('patch: Ironic\'s rules, 406 for too-new fields, 409 in transitions, the full node back', async () => {
  const ok = await call('PATCH', `/v1/nodes/${n1}`, 'latest', [
    { op: 'add', path: '/driver_info/ipmi_username', value: 'admin' },
    { op: 'replace', path: '/description', value: 'hello' },
    { op: 'remove', path: '/properties/cpus' },
  ]);
  assert.is(ok.status, 200);
  assert.is(ok.body.description, 'hello');
  assert.equal(ok.body.properties, {});
  assert.is((ok.body.driver_info as J).ipmi_username, 'admin');
  const upd = (await t.events()).at(-1)!;
  assert.is(upd.type, 'NodeUpdated');
  assert.equal(Object.keys((upd.data as { changes: object }).changes).sort(), ['description', 'driver_info', 'properties']);
  // untouched secrets stay sealed as they were
  assert.match(JSON.stringify((upd.data as { changes: { driver_info: object } }).changes.driver_info), /"ipmi_password":\{"\$secret":"v1:/);
  const before = await t.count();
  const errs: Array<[unknown, string, number, string | RegExp]> = [
    [[{ op: 'replace', path: '/provision_state', value: 'active' }], 'latest', 400, /^Cannot patch \/provision_state\. Only the following can be updated: automated_clean, /],
    [[{ op: 'add', path: '/traits', value: ['CUSTOM_X'] }], 'latest', 400, /^Cannot patch \/traits/],
    [[{ op: 'remove', path: '/extra/none' }], 'latest', 400, /^Couldn't apply patch/],
    [[{ op: 'replace', path: '/maintenance', value: 'nah' }], 'latest', 400, /^Invalid maintenance/],
    [[{ op: 'replace', path: '/shard', value: 's' }], '1.81', 406, 'Request not acceptable.'],
    [[{ op: 'replace', path: '/name', value: 'n' }], '1.4', 406, 'Request not acceptable.'],
    [[{ op: 'replace', path: '/name', value: 'bad name' }], 'latest', 400, `Node ${n1}: Cannot change name to invalid name 'bad name'`],
    [[{ op: 'replace', path: '/chassis_uuid', value: '1be26c0b-03f2-4d2e-ae87-c02d7f33c123' }], 'latest', 400, 'Chassis 1be26c0b-03f2-4d2e-ae87-c02d7f33c123 could not be found.'],
    [[{ op: 'replace', path: '/description', value: 'd'.repeat(4097) }], 'latest', 400, 'Cannot update node with description exceeding 4096 characters'],
  ];
  for (const [patch, ver, status, msg] of errs) {
    const r = await call('PATCH', `/v1/nodes/${n1}`, ver, patch);
    assert.is(r.status, status, JSON.stringify(patch).slice(0, 70));
    if (typeof msg === 'string') assert.is(fault(r.raw), msg);
    else assert.match(fault(r.raw), msg);
  }
  const reset = await call('PATCH', `/v1/nodes/${n1}?reset_interfaces=true`, 'latest', [{ op: 'replace', path: '/extra', value: {} }]);
  assert.is(fault(reset.raw), "The reset_interfaces parameter can only be used when changing the node's driver.");
  assert.is((await call('PATCH', `/v1/nodes/${n1}?reset_interfaces=true`, '1.44', [{ op: 'replace', path: '/driver', value: 'ipmi' }])).status, 406);
  assert.is(await t.count(), before);

  const busy = await t.seedNode({ uuid: '2a6e2a4b-1c3d-4e5f-8a9b-0c1d2e3f4a5b', provision_state: 'deploying', target_provision_state: 'active', maintenance: true, instance_uuid: '3a6e2a4b-1c3d-4e5f-8a9b-0c1d2e3f4a5b' });
  const locked = await call('PATCH', `/v1/nodes/${busy.uuid}`, 'latest', [{ op: 'replace', path: '/extra', value: { a: 1 } }]);
  assert.is(locked.status, 409);
  assert.is(fault(locked.raw), `Node ${busy.uuid} can not be updated while a state transition is in progress.`);
  const escape = await call('PATCH', `/v1/nodes/${busy.uuid}`, 'latest', [{ op: 'remove', path: '/instance_uuid' }]);
  assert.is(escape.status, 200);
  assert.is(escape.body.instance_uuid, null);
});

test('values sealed by the domain are masked whatever their key', async () => {
  const { maskSecrets } = await import('../../api/resources/node-json.ts');
  assert.equal(maskSecrets({ bmc: { $secret: 'v1:AAAA' }, x: 'password=hunter2 user=a', list: [{ password: 'kept as Ironic does' }] }), {
    bmc: '******',
    x: 'password=****** user=a',
    list: [{ password: 'kept as Ironic does' }],
  });
  // every in-string form, twice over (the compiled patterns keep no state between strings)
  for (let i = 0; i < 2; i++) {
    assert.equal(maskSecrets({ cmd: 'run --password hunter2 --user a', json: '{"auth_token": "abc", "n": 1}', up: 'ADMIN_PASS: x;' }), {
      cmd: 'run --password ****** --user a',
      json: '{"auth_token": "******", "n": 1}',
      up: 'ADMIN_PASS: ******',
    });
  }
});

test('delete: 204, then gone; unknown → 404', async () => {
  const r = await call('DELETE', '/v1/nodes/node-1', 'latest');
  assert.is(r.status, 204);
  assert.is(r.raw, '');
  assert.is((await call('GET', `/v1/nodes/${n1}`, 'latest')).status, 404);
  assert.is((await call('DELETE', `/v1/nodes/${n1}`, 'latest')).status, 404);
});

test.after(async () => {
  await t.close();
});
test.run();
