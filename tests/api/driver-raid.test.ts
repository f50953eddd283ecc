// GET /v1/drivers/{name}/raid/logical_disk_properties (≥1.12) on the real stack with the
// in-process conductor: fake-hardware's RAID interface answers the generic schema's properties;
// the version gate (406), an unknown driver (404), a hardware type without RAID support (404,
// Ironic's re-coded UnsupportedDriverExtension); and the node side it pairs with, PUT
// /v1/nodes/{node}/states/raid (≥1.12, 204).

import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildApp } from '../../api/app.ts';
import { raidLogicalDiskProperties } from '../../conductor/executor/extensions.ts';
import { domainError, isDomainError } from '../../domain/errors.ts';
import type { HardwareType } from '../../drivers/hardware-type.ts';
import { hardwareTypes } from '../../drivers/registry.ts';
import { innerError, testApp } from './support/app.ts';

const t = await testApp();
const { app } = t;
const call = async (method: 'GET' | 'PUT', url: string, payload?: unknown, version = 'latest', on = app) => {
  const r = await on.inject({
    method,
    url,
    headers: { host: 'h', 'x-openstack-ironic-api-version': version, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });
  return { status: r.statusCode, raw: r.body, body: r.body ? (JSON.parse(r.body) as Record<string, unknown>) : {} };
};
const fault = (raw: string) => String(innerError(raw).faultstring);
test.after(() => t.close());

const expectedKeys = ['raid_level', 'size_gb', 'volume_name', 'is_root_volume', 'share_physical_disks', 'disk_type', 'interface_type', 'number_of_physical_disks', 'controller', 'physical_disks'];

test('fake-hardware: the RAID schema\'s logical disk properties with their descriptions', async () => {
  const r = await call('GET', '/v1/drivers/fake-hardware/raid/logical_disk_properties');
  assert.is(r.status, 200, r.raw);
  assert.equal(Object.keys(r.body), expectedKeys);
  assert.is(r.body.size_gb, "Size in GiB (Integer) for the logical disk. Use 'MAX' as size_gb if this logical disk is supposed to use the rest of the space available. Required.");
  assert.match(String(r.body.raid_level), /^RAID level for the logical disk\. .*Required\.$/);
  for (const k of expectedKeys) assert.match(String(r.body[k]), /(Required|Optional)\.$/, k);
  assert.equal((await call('GET', '/v1/drivers/fake-hardware/raid/logical_disk_properties', undefined, '1.12')).body, r.body, 'the same at 1.12');
});

test('below 1.12 → 406; unknown driver → 404; unexpected query → 400', async () => {
  const old = await call('GET', '/v1/drivers/fake-hardware/raid/logical_disk_properties', undefined, '1.11');
  assert.is(old.status, 406, old.raw);
  assert.is(fault(old.raw), 'Request not acceptable.');
  const unknown = await call('GET', '/v1/drivers/bogus/raid/logical_disk_properties');
  assert.is(unknown.status, 404, unknown.raw);
  assert.is(fault(unknown.raw), "The driver 'bogus' is unknown.");
  const q = await call('GET', '/v1/drivers/fake-hardware/raid/logical_disk_properties?x=1');
  assert.is(q.status, 400);
  assert.is(fault(q.raw), 'Unexpected arguments: x');
});

test('a hardware type without RAID support: UnsupportedDriverExtension, which the API answers 404', async () => {
  const fake = hardwareTypes({ fake: { stepDelayMs: 0 } }).get('fake-hardware')!;
  const noRaid: HardwareType = { name: 'no-raid-hw', implementations: { ...fake.implementations, raid: [['no-raid', { getProperties: () => ({}), validate: async () => undefined }]] } };
  try {
    raidLogicalDiskProperties(noRaid);
    assert.unreachable('no-raid has no logical disk properties');
  } catch (e) {
    assert.ok(isDomainError(e));
    assert.is(e.errorClass, 'UnsupportedDriverExtension');
    assert.is(e.message, 'Driver no-raid-hw does not support raid (disabled or not implemented).');
  }
  // the API's re-coding, with a conductor that answers so
  let asked = 0;
  const stub = buildApp(
    {
      ...t.deps,
      conductors: {
        ...t.deps.conductors,
        callDriver: async (driver, action) => {
          asked++;
          assert.is(driver, 'fake-hardware');
          assert.is(action, 'raid_logical_disk_properties');
          return E.left(domainError('UnsupportedDriverExtension', 'Driver fake-hardware does not support raid (disabled or not implemented).'));
        },
      },
    },
    t.config,
    { logger: false },
  );
  try {
    await stub.ready();
    const r = await call('GET', '/v1/drivers/fake-hardware/raid/logical_disk_properties', undefined, 'latest', stub);
    assert.is(r.status, 404, r.raw);
    assert.is(fault(r.raw), 'Driver fake-hardware does not support raid (disabled or not implemented).');
    assert.is(asked, 1);
  } finally {
    await stub.close();
  }
});

test('PUT /states/raid (≥1.12): 204, shown in /states; 406 below 1.12; a config without logical_disks → 400', async () => {
  const created = await call('PUT', '/v1/nodes/x/states/raid', { logical_disks: [] });
  assert.is(created.status, 404, 'no such node');
  const n = await t.seedNode({ name: 'raid-1' });
  const config = { logical_disks: [{ size_gb: 100, raid_level: '1', is_root_volume: true }] };
  const before = await t.count();
  const old = await call('PUT', '/v1/nodes/raid-1/states/raid', config, '1.11');
  assert.is(old.status, 406, old.raw);
  const bad = await call('PUT', '/v1/nodes/raid-1/states/raid', { disks: [] });
  assert.is(bad.status, 400, bad.raw);
  assert.is(await t.count(), before, 'refusals write nothing');
  const ok = await call('PUT', '/v1/nodes/raid-1/states/raid', config);
  assert.is(ok.status, 204, ok.raw);
  const states = await call('GET', `/v1/nodes/${n.uuid}/states`);
  assert.equal(states.body.target_raid_config, config);
});

test('PUT /states/raid follows the RAID schema (level, size, root volumes) and {} unsets the target', async () => {
  await t.seedNode({ name: 'raid-2' });
  const config = { logical_disks: [{ size_gb: 'MAX', raid_level: '1+0', controller: 'c0', physical_disks: ['0', '1'] }] };
  assert.is((await call('PUT', '/v1/nodes/raid-2/states/raid', config)).status, 204);
  const before = await t.count();
  for (const bad of [
    { logical_disks: [{ size_gb: 10, raid_level: '7' }] },
    { logical_disks: [{ size_gb: -1, raid_level: '1' }] },
    { logical_disks: [{ size_gb: 10, raid_level: '1', is_root_volume: true }, { size_gb: 10, raid_level: '1', is_root_volume: true }] },
    { logical_disks: [] },
  ]) {
    const r = await call('PUT', '/v1/nodes/raid-2/states/raid', bad);
    assert.is(r.status, 400, r.raw);
    assert.match(fault(r.raw), /RAID config|root volume/);
  }
  assert.is(await t.count(), before, 'refusals write nothing');
  assert.equal((await call('GET', '/v1/nodes/raid-2/states')).body.target_raid_config, config, 'unchanged by the refusals');
  assert.is((await call('PUT', '/v1/nodes/raid-2/states/raid', {})).status, 204);
  assert.equal((await call('GET', '/v1/nodes/raid-2/states')).body.target_raid_config, {});
});

test('the OpenAPI document lists the route', async () => {
  const r = await app.inject({ method: 'GET', url: '/v1/openapi.json' });
  const paths = (JSON.parse(r.body) as { paths: Record<string, Record<string, unknown>> }).paths;
  assert.ok(paths['/v1/drivers/{driver_name}/raid/logical_disk_properties']?.get);
});

test.run();
