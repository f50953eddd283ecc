// Ironic's target RAID config rules (raid_config_schema.json + validate_configuration): what it
// accepts, what it refuses with InvalidParameterValue, and `{}` as "unset".

import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nodeDecider } from '../../domain/node/index.ts';
import { raidConfigError } from '../../domain/node/raid.ts';

const disk = (extra: Record<string, unknown> = {}) => ({ raid_level: '1', size_gb: 100, ...extra });

test('accepts the schema: every level, MAX, every optional property, and {} (unset)', () => {
  for (const raid_level of ['JBOD', '0', '1', '2', '5', '6', '1+0', '5+0', '6+0']) {
    assert.is(raidConfigError({ logical_disks: [disk({ raid_level })] }), undefined, raid_level);
  }
  assert.is(raidConfigError({}), undefined);
  assert.is(raidConfigError({ logical_disks: [disk({ size_gb: 'MAX' })] }), undefined);
  const full = disk({ volume_name: 'root', is_root_volume: true, share_physical_disks: false, disk_type: 'ssd', interface_type: 'sas', number_of_physical_disks: 2, controller: 'RAID.Integrated.1-1', physical_disks: ['0', '1'] });
  assert.is(raidConfigError({ logical_disks: [full, disk()] }), undefined);
});

test('refuses what Ironic refuses, naming the problem', () => {
  const cases: Array<[unknown, RegExp]> = [
    [[], /not of type 'object'/],
    [{ disks: [] }, /Additional properties are not allowed/],
    [{ logical_disks: 'x' }, /not of type 'array'/],
    [{ logical_disks: [] }, /too short/],
    [{ logical_disks: [{ size_gb: 10 }] }, /'raid_level' is a required property/],
    [{ logical_disks: [{ raid_level: '1' }] }, /'size_gb' is a required property/],
    [{ logical_disks: [disk({ raid_level: '10' })] }, /'10' is not one of/],
    [{ logical_disks: [disk({ size_gb: 0 })] }, /size_gb|0 is not valid/],
    [{ logical_disks: [disk({ size_gb: 1.5 })] }, /1.5 is not valid/],
    [{ logical_disks: [disk({ size_gb: 'max' })] }, /'max' is not valid/],
    [{ logical_disks: [disk({ disk_type: 'nvme' })] }, /'nvme' is not one of/],
    [{ logical_disks: [disk({ is_root_volume: 'yes' })] }, /not of type 'boolean'/],
    [{ logical_disks: [disk({ number_of_physical_disks: 0 })] }, /integer >= 1/],
    [{ logical_disks: [disk({ colour: 'red' })] }, /'colour' was unexpected/],
    [{ logical_disks: [disk({ physical_disks: ['0'] })] }, /'controller' is a dependency/],
    [{ logical_disks: [disk({ controller: 'c', physical_disks: [0] })] }, /not an array of strings/],
    [{ logical_disks: [disk({ is_root_volume: true }), disk({ is_root_volume: true })] }, /more than one root volume. 2 root volumes/],
  ];
  for (const [config, why] of cases) {
    const e = raidConfigError(config);
    assert.ok(e, JSON.stringify(config));
    assert.is(e.errorClass, 'InvalidParameterValue');
    assert.is(e.status, 400);
    assert.match(e.message, why, JSON.stringify(config));
  }
});

test('the node decider refuses an invalid config and records a valid one', () => {
  const at = '2026-01-01T00:00:00.000Z';
  const uuid = '7c4f4cd4-4b8f-4d3c-9f0e-5b6a1d1e2f30';
  let state = nodeDecider.initialState();
  const created = nodeDecider.decide({ type: 'CreateNode', data: { uuid, at, fields: { driver: 'fake-hardware' } } } as never, state);
  assert.ok(E.isRight(created), JSON.stringify(created));
  for (const e of created.right) state = nodeDecider.evolve(state, e);
  const bad = nodeDecider.decide({ type: 'SetTargetRaidConfig', data: { uuid, at, target_raid_config: { logical_disks: [] } } }, state);
  assert.ok(E.isLeft(bad));
  const good = nodeDecider.decide({ type: 'SetTargetRaidConfig', data: { uuid, at, target_raid_config: { logical_disks: [disk()] } } }, state);
  assert.ok(E.isRight(good));
  assert.is(good.right[0]?.type, 'TargetRaidConfigSet');
});

test.run();
