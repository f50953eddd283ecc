// /v1/drivers, /v1/conductors and /v1/shards on the real stack: the in-process conductor serves
// fake-hardware; conductors registered in the membership log are listed from the read model.

import { randomUUID } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { innerError, testApp } from './support/app.ts';

const t = await testApp();
type J = Record<string, unknown>;
const call = async (method: 'GET' | 'POST', url: string, version: string | null = 'latest', payload?: unknown) => {
  const r = await t.app.inject({ method, url, headers: { host: 'h', ...(version ? { 'x-openstack-ironic-api-version': version } : {}) }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as J) : {}, raw: r.body };
};

test('drivers: fake-hardware with its hosts, type, detail interfaces, properties', async () => {
  const r = await call('GET', '/v1/drivers');
  assert.equal(r.body, {
    drivers: [
      {
        name: 'fake-hardware',
        hosts: ['test-conductor'],
        links: [{ href: 'http://h/v1/drivers/fake-hardware', rel: 'self' }, { href: 'http://h/drivers/fake-hardware', rel: 'bookmark' }],
        properties: [{ href: 'http://h/v1/drivers/fake-hardware/properties', rel: 'self' }, { href: 'http://h/drivers/fake-hardware/properties', rel: 'bookmark' }],
        type: 'dynamic',
      },
    ],
  });
  const old = await call('GET', '/v1/drivers', '1.1');
  assert.equal(Object.keys((old.body.drivers as J[])[0]!), ['name', 'hosts', 'links']);
  const one = await call('GET', '/v1/drivers/fake-hardware');
  assert.is(one.body.default_deploy_interface, 'fake');
  assert.equal(one.body.enabled_network_interfaces, ['noop']);
  assert.is(one.body.default_bios_interface, 'fake');
  assert.not.ok('default_bios_interface' in (await call('GET', '/v1/drivers/fake-hardware', '1.39')).body);
  assert.is(((await call('GET', '/v1/drivers?detail=true')).body.drivers as J[])[0]!.default_power_interface, 'fake');
  assert.equal((await call('GET', '/v1/drivers?type=classic')).body, { drivers: [] });
  assert.is((await call('GET', '/v1/drivers?type=bogus')).status, 400);
  assert.is((await call('GET', '/v1/drivers?detail=true', '1.29')).status, 406);
  assert.equal((await call('GET', '/v1/drivers?fields=name')).body, { drivers: [{ name: 'fake-hardware', links: [{ href: 'http://h/v1/drivers/fake-hardware', rel: 'self' }, { href: 'http://h/drivers/fake-hardware', rel: 'bookmark' }] }] });
  assert.is((await call('GET', '/v1/drivers?fields=name', '1.76')).status, 406);
  assert.equal((await call('GET', '/v1/drivers/fake-hardware/properties')).body, { B1: 'B1 description. Required.', B2: 'B2 description. Required.' });
  const missing = await call('GET', '/v1/drivers/ipmi');
  assert.is(missing.status, 404);
  assert.is(innerError(missing.raw).faultstring, 'Could not find the following driver(s) or hardware type(s): ipmi.');
});

test('conductors (≥1.49): the in-process conductor and those of the membership log', async () => {
  assert.is((await call('GET', '/v1/conductors', '1.48')).status, 404);
  const at = new Date().toISOString();
  await t.store.append(
    'membership-ring',
    [
      { id: randomUUID(), type: 'ConductorRegistered', data: { epoch: 1, hostname: 'c-remote', incarnation: 'i1', group: 'rack2', hardwareTypes: ['ipmi'], interfaces: {}, replaces: null }, metadata: { correlationId: 'x', causationId: 'x', actor: 'conductor:c-remote', timestamp: at } },
      { id: randomUUID(), type: 'ConductorLeft', data: { epoch: 2, hostname: 'c-remote', incarnation: 'i1' }, metadata: { correlationId: 'y', causationId: 'y', actor: 'conductor:c-remote', timestamp: at } },
    ],
    'no_stream',
  );
  await t.idle();
  const r = await call('GET', '/v1/conductors');
  const rows = r.body.conductors as J[];
  assert.equal(rows.map((c) => [c.hostname, c.conductor_group, c.alive]), [['c-remote', 'rack2', false], ['test-conductor', '', true]]);
  assert.equal(Object.keys(rows[0]!), ['hostname', 'conductor_group', 'links', 'alive']);
  const one = await call('GET', '/v1/conductors/test-conductor');
  assert.equal(Object.keys(one.body), ['created_at', 'updated_at', 'hostname', 'conductor_group', 'drivers', 'links', 'alive']);
  assert.equal(one.body.drivers, ['fake-hardware']);
  assert.is((await call('GET', '/v1/conductors/nope')).status, 404);
  const page = await call('GET', '/v1/conductors?limit=1&sort_key=hostname&sort_dir=desc');
  assert.equal((page.body.conductors as J[]).map((c) => c.hostname), ['test-conductor']);
  assert.is(page.body.next, 'http://h/v1/conductors?sort_key=hostname&sort_dir=desc&fields=hostname,conductor_group,alive&limit=1&marker=test-conductor');
  const rest = await call('GET', '/v1/conductors?limit=1&sort_key=hostname&sort_dir=desc&marker=test-conductor');
  assert.equal((rest.body.conductors as J[]).map((c) => c.hostname), ['c-remote']);
  assert.is((await call('GET', '/v1/conductors?sort_key=alive')).status, 400);
  assert.is((await call('GET', '/v1/conductors?detail=true')).status, 200);
});

test('shards (≥1.82): counts, most first, "None" for nodes without one', async () => {
  assert.is((await call('GET', '/v1/shards', '1.81')).status, 404);
  for (const shard of ['s1', 's1', 's2', null, null, null]) {
    assert.is((await call('POST', '/v1/nodes', 'latest', { driver: 'fake-hardware', ...(shard ? { shard } : {}) })).status, 201);
  }
  assert.equal((await call('GET', '/v1/shards')).body, { shards: [{ name: 'None', count: 3 }, { name: 's1', count: 2 }, { name: 's2', count: 1 }] });
  assert.is((await call('GET', '/v1/shards/s1')).status, 404);
  assert.is((await call('POST', '/v1/shards', 'latest', {})).status, 405);
});

test.after(async () => {
  await t.close();
});
test.run();
