// /v1/ports and /v1/portgroups on the real stack: MAC validation and normalisation, the node
// must exist (400), duplicates (409), filters, sub-collections, version gates, patch and delete,
// the node's delete taking its ports and portgroups with it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { innerError, testApp } from './support/app.ts';

const t = await testApp();
type J = Record<string, unknown>;
const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, version: string | null = 'latest', payload?: unknown) => {
  const r = await t.app.inject({
    method,
    url,
    headers: { host: 'h', ...(version ? { 'x-openstack-ironic-api-version': version } : {}) },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as J) : {}, raw: r.body, headers: r.headers };
};
const fault = (raw: string) => String(innerError(raw).faultstring);
const node = async (name: string) => (await call('POST', '/v1/nodes', 'latest', { driver: 'fake-hardware', name })).body.uuid as string;

const n1 = await node('port-node-1');
const n2 = await node('port-node-2');
let p1 = '';

test('create a port: 201 + Location, MAC lowercased, Ironic\'s keys', async () => {
  const r = await call('POST', '/v1/ports', 'latest', { address: 'AA:BB:CC:DD:EE:01', node_uuid: n1, extra: { a: 1 }, local_link_connection: { switch_id: '0a:1b:2c:3d:4e:5f', port_id: 'Eth1/1', switch_info: 'sw1' }, physical_network: 'physnet1' });
  assert.is(r.status, 201, r.raw);
  p1 = r.body.uuid as string;
  assert.is(r.headers.location, `http://h/v1/ports/${p1}`);
  assert.is(r.body.address, 'aa:bb:cc:dd:ee:01');
  assert.equal(Object.keys(r.body), ['uuid', 'created_at', 'updated_at', 'address', 'extra', 'internal_info', 'is_smartnic', 'local_link_connection', 'physical_network', 'pxe_enabled', 'node_uuid', 'links', 'portgroup_uuid']);
  assert.is(r.body.pxe_enabled, true);
  assert.is(r.body.node_uuid, n1);
  const old = await call('GET', `/v1/ports/${p1}`, '1.18');
  assert.equal(Object.keys(old.body), ['uuid', 'created_at', 'updated_at', 'address', 'extra', 'internal_info', 'node_uuid', 'links']);
});

test('bad ports → 4xx, nothing written: invalid MACs, missing/unknown node, duplicates, too-new fields', async () => {
  const before = await t.count();
  const cases: Array<[unknown, string | null, number, string | RegExp]> = [
    [{ address: 'zz:bb:cc:dd:ee:ff', node_uuid: n1 }, 'latest', 400, 'Expected a MAC address but received zz:bb:cc:dd:ee:ff.'],
    [{ address: 'aa-bb-cc-dd-ee-ff', node_uuid: n1 }, 'latest', 400, 'Expected a MAC address but received aa-bb-cc-dd-ee-ff.'],
    [{ address: 'aa:bb:cc:dd:ee', node_uuid: n1 }, 'latest', 400, 'Expected a MAC address but received aa:bb:cc:dd:ee.'],
    [{ address: 5, node_uuid: n1 }, 'latest', 400, /^Schema error for port: /],
    [{ node_uuid: n1 }, 'latest', 400, "Schema error for port: 'address' is a required property"],
    [{ address: 'aa:bb:cc:dd:ee:02', node_uuid: 'not-a-uuid' }, 'latest', 400, 'Expected UUID for node_uuid: not-a-uuid'],
    [{ address: 'aa:bb:cc:dd:ee:02', node_uuid: '1be26c0b-03f2-4d2e-ae87-c02d7f33c123' }, 'latest', 400, 'Node 1be26c0b-03f2-4d2e-ae87-c02d7f33c123 could not be found.'],
    [{ address: 'aa:bb:cc:dd:ee:02', node_uuid: n1, bogus: 1 }, 'latest', 400, "Schema error for port: Additional properties are not allowed ('bogus' was unexpected)"],
    [{ address: 'aa:bb:cc:dd:ee:02', node_uuid: n1, pxe_enabled: 'perhaps' }, 'latest', 400, /^Invalid pxe_enabled: Unrecognized value 'perhaps'/],
    [{ address: 'aa:bb:cc:dd:ee:02', node_uuid: n1, local_link_connection: { bogus: 'x' } }, 'latest', 400, /^Schema error for local_link_connection: Additional properties/],
    [{ address: 'aa:bb:cc:dd:ee:02', node_uuid: n1, local_link_connection: { switch_id: 'nope', port_id: 'p' } }, 'latest', 400, 'Expected a MAC address or OpenFlow datapath ID but received nope.'],
    [{ address: 'aa:bb:cc:dd:ee:02', node_uuid: n1, physical_network: 'p'.repeat(65) }, 'latest', 400, /is too long$/],
    [{ address: 'aa:bb:cc:dd:ee:02', node_uuid: n1, physical_network: 'x' }, '1.33', 406, 'Request not acceptable.'],
    [{ address: 'aa:bb:cc:dd:ee:02', node_uuid: n1, is_smartnic: true }, '1.52', 406, 'Request not acceptable.'],
    [{ address: 'aa:bb:cc:dd:ee:02', node_uuid: n1, pxe_enabled: true }, '1.18', 406, 'Request not acceptable.'],
    [{ address: 'AA:BB:CC:DD:EE:01', node_uuid: n2 }, 'latest', 409, 'A port with MAC address aa:bb:cc:dd:ee:01 already exists.'],
  ];
  for (const [payload, version, status, message] of cases) {
    const r = await call('POST', '/v1/ports', version, payload);
    assert.is(r.status, status, JSON.stringify(payload));
    if (typeof message === 'string') assert.is(fault(r.raw), message);
    else assert.match(fault(r.raw), message);
  }
  assert.is(await t.count(), before);
});

test('list: default fields, detail, node/node_uuid/address filters, sub-collection, paging', async () => {
  await call('POST', '/v1/ports', 'latest', { address: 'aa:bb:cc:dd:ee:02', node_uuid: n1 });
  await call('POST', '/v1/ports', 'latest', { address: 'aa:bb:cc:dd:ee:03', node_uuid: n2 });
  const all = await call('GET', '/v1/ports');
  const ports = all.body.ports as J[];
  assert.is(ports.length, 3);
  assert.equal(Object.keys(ports[0]!), ['uuid', 'address', 'links']);
  const addr = async (qs: string, ver = 'latest') => ((await call('GET', `/v1/ports${qs}`, ver)).body.ports as J[]).map((p) => p.address);
  assert.equal(await addr(`?node=port-node-1`), ['aa:bb:cc:dd:ee:01', 'aa:bb:cc:dd:ee:02']);
  assert.equal(await addr(`?node_uuid=${n2}`), ['aa:bb:cc:dd:ee:03']);
  assert.equal(await addr('?address=AA:BB:CC:DD:EE:03'), ['aa:bb:cc:dd:ee:03']);
  assert.equal(await addr('?address=aa:bb:cc:dd:ee:99'), []);
  assert.equal(await addr('?sort_key=address&sort_dir=desc'), ['aa:bb:cc:dd:ee:03', 'aa:bb:cc:dd:ee:02', 'aa:bb:cc:dd:ee:01']);
  const page = await call('GET', '/v1/ports?limit=2');
  assert.match(String(page.body.next), /^http:\/\/h\/v1\/ports\?sort_key=id&sort_dir=asc&fields=uuid,address&limit=2&marker=/);
  const detail = await call('GET', '/v1/ports/detail');
  assert.ok('local_link_connection' in (detail.body.ports as J[])[0]!);
  const fields = await call('GET', `/v1/ports?fields=address,node_uuid`);
  assert.equal(Object.keys((fields.body.ports as J[])[0]!), ['address', 'node_uuid', 'links']);
  assert.is((await call('GET', '/v1/ports?fields=bogus')).status, 400);
  assert.is((await call('GET', '/v1/ports?sort_key=extra')).status, 400);
  assert.is((await call('GET', '/v1/ports?fields=physical_network', '1.33')).status, 406);
  assert.is((await call('GET', `/v1/ports?node=port-node-1&portgroup=x`)).status, 403);
  assert.is((await call('GET', '/v1/ports?node=nope-node')).status, 404);
  const sub = await call('GET', `/v1/nodes/port-node-1/ports`);
  assert.equal((sub.body.ports as J[]).map((p) => p.address), ['aa:bb:cc:dd:ee:01', 'aa:bb:cc:dd:ee:02']);
  assert.is((await call('GET', `/v1/nodes/port-node-1/ports/detail`)).status, 200);
  assert.is((await call('POST', `/v1/nodes/port-node-1/ports`, 'latest', { address: 'aa:bb:cc:dd:ee:09' })).status, 403);
  assert.is((await call('GET', '/v1/ports/not-a-uuid')).status, 400);
  assert.is((await call('GET', '/v1/ports/1be26c0b-03f2-4d2e-ae87-c02d7f33c123')).status, 404);
});

test('patch a port: MAC change normalised, node move checked, invalid paths refused', async () => {
  const r = await call('PATCH', `/v1/ports/${p1}`, 'latest', [
    { op: 'replace', path: '/address', value: 'AA:BB:CC:DD:EE:11' },
    { op: 'add', path: '/extra/b', value: 2 },
  ]);
  assert.is(r.status, 200, r.raw);
  assert.is(r.body.address, 'aa:bb:cc:dd:ee:11');
  assert.equal(r.body.extra, { a: 1, b: 2 });
  // the old MAC is free again
  assert.is((await call('POST', '/v1/ports', 'latest', { address: 'aa:bb:cc:dd:ee:01', node_uuid: n2 })).status, 201);
  const before = await t.count();
  const errs: Array<[unknown, number, string | RegExp]> = [
    [[{ op: 'replace', path: '/address', value: 'nope' }], 400, 'Expected a MAC address but received nope.'],
    [[{ op: 'replace', path: '/address', value: 'aa:bb:cc:dd:ee:02' }], 409, 'A port with MAC address aa:bb:cc:dd:ee:02 already exists.'],
    [[{ op: 'replace', path: '/node_uuid', value: '1be26c0b-03f2-4d2e-ae87-c02d7f33c123' }], 400, 'Node 1be26c0b-03f2-4d2e-ae87-c02d7f33c123 could not be found.'],
    [[{ op: 'replace', path: '/internal_info', value: {} }], 400, /^Cannot patch \/internal_info\. Only the following can be updated: address, extra/],
    [[{ op: 'replace', path: '/uuid', value: n1 }], 400, /^Cannot patch \/uuid/],
    [[{ op: 'remove', path: '/address' }], 400, "Schema error for port: 'address' is a required property"],
    [[{ op: 'replace', path: '/extra/../x', value: 1 }], 400, /^Schema error for patch: /],
    [[{ op: 'test', path: '/extra', value: 1 }], 400, /^Schema error for patch: /],
    [{ op: 'replace', path: '/extra', value: {} }, 400, /is not of type 'array'$/],
  ];
  for (const [patch, status, message] of errs) {
    const e = await call('PATCH', `/v1/ports/${p1}`, 'latest', patch);
    assert.is(e.status, status, JSON.stringify(patch));
    if (typeof message === 'string') assert.is(fault(e.raw), message);
    else assert.match(fault(e.raw), message);
  }
  assert.is(await t.count(), before);
  const moved = await call('PATCH', `/v1/ports/${p1}`, 'latest', [{ op: 'replace', path: '/node_uuid', value: n2 }]);
  assert.is(moved.body.node_uuid, n2);
});

test('portgroups (≥1.23): create, names, members, ports join them, not-empty delete → 400', async () => {
  assert.is((await call('GET', '/v1/portgroups', '1.22')).status, 404);
  const r = await call('POST', '/v1/portgroups', 'latest', { node_uuid: n1, name: 'bond0', address: 'AA:BB:CC:DD:EE:F0' });
  assert.is(r.status, 201, r.raw);
  const pg = r.body.uuid as string;
  assert.is(r.body.address, 'aa:bb:cc:dd:ee:f0');
  assert.is(r.body.mode, 'active-backup');
  assert.equal(Object.keys(r.body), ['uuid', 'created_at', 'updated_at', 'address', 'extra', 'internal_info', 'mode', 'name', 'properties', 'standalone_ports_supported', 'links', 'node_uuid', 'ports']);
  assert.is((await call('GET', '/v1/portgroups/bond0')).body.uuid, pg);
  assert.equal(Object.keys(((await call('GET', '/v1/portgroups')).body.portgroups as J[])[0]!), ['uuid', 'address', 'name', 'links']);
  const dup = await call('POST', '/v1/portgroups', 'latest', { node_uuid: n2, name: 'bond0' });
  assert.is(dup.status, 409);
  assert.is((await call('POST', '/v1/portgroups', 'latest', { node_uuid: n1, name: 'bad name' })).status, 400);
  assert.is((await call('POST', '/v1/portgroups', 'latest', { node_uuid: n1, mode: '802.3ad' }, )).status, 201);
  assert.is((await call('POST', '/v1/portgroups', '1.25', { node_uuid: n1, mode: '802.3ad' })).status, 406);
  assert.is((await call('POST', '/v1/portgroups', 'latest', { node_uuid: n1, address: 'bad' })).status, 400);
  assert.is((await call('POST', '/v1/portgroups', 'latest', { node_uuid: '1be26c0b-03f2-4d2e-ae87-c02d7f33c123' })).status, 400);

  // a port joins the portgroup of its node; not one of another node
  const member = await call('POST', '/v1/ports', 'latest', { address: 'aa:bb:cc:dd:ee:21', node_uuid: n1, portgroup_uuid: pg });
  assert.is(member.status, 201, member.raw);
  const foreign = await call('POST', '/v1/ports', 'latest', { address: 'aa:bb:cc:dd:ee:22', node_uuid: n2, portgroup_uuid: pg });
  assert.is(foreign.status, 400);
  assert.is((await call('POST', '/v1/ports', '1.23', { address: 'aa:bb:cc:dd:ee:23', node_uuid: n1, portgroup_uuid: pg })).status, 406);
  const members = await call('GET', '/v1/portgroups/bond0/ports');
  assert.equal((members.body.ports as J[]).map((p) => p.address), ['aa:bb:cc:dd:ee:21']);
  assert.equal(((await call('GET', `/v1/ports?portgroup=bond0`)).body.ports as J[]).length, 1);
  assert.is((await call('GET', '/v1/portgroups/bond0/ports', '1.23')).status, 404);
  assert.equal(((await call('GET', `/v1/nodes/${n1}/portgroups`)).body.portgroups as J[]).length, 2);

  // standalone ports not supported: a PXE port cannot join (409)
  const strict = await call('POST', '/v1/portgroups', 'latest', { node_uuid: n1, standalone_ports_supported: false });
  const refused = await call('POST', '/v1/ports', 'latest', { address: 'aa:bb:cc:dd:ee:24', node_uuid: n1, portgroup_uuid: strict.body.uuid });
  assert.is(refused.status, 409);

  const notEmpty = await call('DELETE', '/v1/portgroups/bond0');
  assert.is(notEmpty.status, 400);
  assert.is(fault(notEmpty.raw), `Cannot complete the requested action because portgroup ${pg} contains ports.`);
  const patched = await call('PATCH', '/v1/portgroups/bond0', 'latest', [{ op: 'replace', path: '/name', value: 'bond1' }, { op: 'add', path: '/properties/miimon', value: 100 }]);
  assert.is(patched.status, 200, patched.raw);
  assert.is(patched.body.name, 'bond1');
  assert.equal(patched.body.properties, { miimon: 100 });
  assert.is((await call('PATCH', '/v1/portgroups/bond1', 'latest', [{ op: 'remove', path: '/mode' }])).status, 400);
  assert.is((await call('DELETE', `/v1/ports/${member.body.uuid as string}`)).status, 204);
  assert.is((await call('DELETE', '/v1/portgroups/bond1')).status, 204);
  assert.is((await call('GET', '/v1/portgroups/bond1')).status, 404);
});

test('deleting a node deletes its ports and portgroups', async () => {
  const n = await node('doomed');
  const port = (await call('POST', '/v1/ports', 'latest', { address: 'aa:bb:cc:dd:ee:31', node_uuid: n })).body.uuid as string;
  const pg = (await call('POST', '/v1/portgroups', 'latest', { node_uuid: n })).body.uuid as string;
  assert.is((await call('DELETE', '/v1/nodes/doomed')).status, 204);
  assert.is((await call('GET', `/v1/ports/${port}`)).status, 404);
  assert.is((await call('GET', `/v1/portgroups/${pg}`)).status, 404);
  // the MAC can be used again
  assert.is((await call('POST', '/v1/ports', 'latest', { address: 'aa:bb:cc:dd:ee:31', node_uuid: n1 })).status, 201);
});

test.after(async () => {
  await t.close();
});
test.run();
