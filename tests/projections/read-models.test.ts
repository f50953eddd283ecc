// Every read model's queries, on events made by the real deciders: the node list's filters, sort
// keys, fields and marker paging (reference §3.1/§3.2), ports by address/node/portgroup, the
// other collections, conductors from the membership log, and Ironic's node history.

import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import type { DomainError } from '../../domain/errors.ts';
import type { Node } from '../../domain/node/node.ts';
import { openSqliteEventStore } from '../../eventstore/sqlite.ts';
import { getAllocation, listAllocations, allocationByNode } from '../../projections/allocations.ts';
import { getChassis, listChassis, chassisNodeCount } from '../../projections/chassis.ts';
import { getConductor, listConductors, currentMembership } from '../../projections/conductors.ts';
import { getDeployTemplate, listDeployTemplates } from '../../projections/deploy-templates.ts';
import { productionDomain } from '../../projections/domain.ts';
import { nodeHistory, historyRecord, resolveHistoryNode, timeline } from '../../projections/history.ts';
import { readModels } from '../../projections/index.ts';
import { getNode, listNodes, shardCounts, type NodeListQuery } from '../../projections/nodes.ts';
import { getPortgroup, listPortgroups, portgroupsByNode } from '../../projections/portgroups.ts';
import { getPort, listPorts, nodeUuidsByAddresses, portByAddress, portsByNode, portsByPortgroup } from '../../projections/ports.ts';
import { Projector } from '../../projections/projector.ts';
import { ReadModelDb } from '../../projections/store.ts';
import { listVolumeConnectors, listVolumeTargets, volumeTargetsByNode } from '../../projections/volume.ts';
import { DomainWriter, removeTempDirs, tempDir } from './support.ts';

const dir = tempDir();
const store = openSqliteEventStore({ path: join(dir, 'events.sqlite') });
const db = ReadModelDb.open(join(dir, 'readmodels.sqlite'), readModels());
const w = new DomainWriter(store);
const projector = new Projector({ store, db, domain: productionDomain });

const u = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const N = Array.from({ length: 8 }, (_, i) => u(0x100 + i));
const chassis1 = u(0xc1);
const inst = u(0x1a);

const create = (i: number, fields: Record<string, unknown>) =>
  w.command('node', N[i], { type: 'CreateNode', data: { fields: { driver: 'fake-hardware', ...fields } } });
const psc = (i: number, from: string, event: string, to: string, target: string | null) =>
  w.events('node', N[i], [{ type: 'ProvisionStateChanged', data: { from, event, to, target } }]);

const right = <T>(e: E.Either<DomainError, T>): T => {
  if (E.isLeft(e)) throw new Error(`expected Right, got ${e.left.errorClass}: ${e.left.message}`);
  return e.right;
};
const left = <T>(e: E.Either<DomainError, T>): DomainError => {
  if (E.isRight(e)) throw new Error('expected Left');
  return e.left;
};
const uuids = (q: NodeListQuery = {}) => right(listNodes(db.db, q)).nodes.map((n) => n.uuid as string);

test.before(async () => {
  await w.command('chassis', chassis1, { type: 'CreateChassis', data: { fields: { description: 'rack 7' } } });
  await create(0, { name: 'alpha', owner: 'p1', resource_class: 'gold', conductor_group: 'g1' });
  await create(1, { name: 'bravo', owner: 'p2', lessee: 'p1' });
  await w.events('node', N[1], [{ type: 'MaintenanceSet', data: { reason: 'bmc down', fault: 'power failure' } }]);
  await create(2, { name: 'charlie', retired: true, retired_reason: 'old', shard: 's1', description: 'Rack 7 GPU box' });
  await create(3, { instance_uuid: inst, chassis_uuid: chassis1, shard: 's2', lessee: 'p3' });
  await psc(3, 'enroll', 'manage', 'verifying', 'manageable');
  await psc(3, 'verifying', 'done', 'manageable', null);
  await create(4, { name: 'echo' });
  await w.command('node', N[4], { type: 'DeleteNode', data: {} });
  await create(5, { name: 'delta', driver: 'ipmi', resource_class: 'gold', shard: 's1', description: 'gpu 100% busy' });
  await create(6, { name: 'foxtrot', resource_class: 'silver' });
  await w.events('node', N[6], [{ type: 'NodeHistoryRecorded', data: { entry: { uuid: u(0xe1), severity: 'ERROR', event: 'Failed to deploy: boom', event_type: 'deploying', conductor: 'c1', user: 'admin', created_at: '2024-01-01T00:10:00.000Z' } } }]);
  await w.events('node', N[6], [{ type: 'NodeHistoryRecorded', data: { entry: { uuid: u(0xe2), severity: 'INFO', event: 'x'.repeat(300), event_type: 'provisioning', conductor: 'c1', user: null, created_at: '2024-01-01T00:11:00.000Z' } } }]);
  await w.command('node', N[6], { type: 'UpdateNode', data: { changes: { name: 'golf' } } });
  // ports and portgroups
  await w.command('portgroup', u(0x91), { type: 'CreatePortgroup', data: { fields: { node_uuid: N[0], name: 'bond0', address: '52:54:00:00:00:90' } } });
  await w.command('port', u(0x81), { type: 'CreatePort', data: { fields: { node_uuid: N[0], address: '52:54:00:AA:00:01', portgroup_uuid: u(0x91) } } });
  await w.command('port', u(0x82), { type: 'CreatePort', data: { fields: { node_uuid: N[0], address: '52:54:00:aa:00:02' } } });
  await w.command('port', u(0x83), { type: 'CreatePort', data: { fields: { node_uuid: N[2], address: '52:54:00:aa:00:03' } } });
  await w.command('port', u(0x84), { type: 'CreatePort', data: { fields: { node_uuid: N[5], address: '52:54:00:aa:00:04' } } });
  await w.command('port', u(0x84), { type: 'UpdatePort', data: { changes: { address: '52:54:00:aa:00:44' } } });
  await w.command('port', u(0x85), { type: 'CreatePort', data: { fields: { node_uuid: N[5], address: '52:54:00:aa:00:05' } } });
  await w.command('port', u(0x85), { type: 'DeletePort', data: {} });
  // allocations, templates, volume
  await w.command('allocation', u(0xa1), { type: 'CreateAllocation', data: { fields: { name: 'alloc1', resource_class: 'gold' } } });
  await w.command('allocation', u(0xa1), { type: 'CompleteAllocation', data: { node_uuid: N[0] } });
  await w.command('allocation', u(0xa2), { type: 'CreateAllocation', data: { fields: { resource_class: 'silver', owner: 'p9' } } });
  await w.command('allocation', u(0xa2), { type: 'FailAllocation', data: { last_error: 'no nodes' } });
  await w.command('deploytemplate', u(0xd1), { type: 'CreateDeployTemplate', data: { fields: { name: 'CUSTOM_RAID', steps: [{ interface: 'raid', step: 'apply_configuration', args: {}, priority: 10 }] } } });
  await w.command('volumeconnector', u(0xb1), { type: 'CreateVolumeConnector', data: { fields: { node_uuid: N[3], type: 'iqn', connector_id: 'iqn.2024-01.org:n3' } } });
  await w.command('volumetarget', u(0xb2), { type: 'CreateVolumeTarget', data: { fields: { node_uuid: N[3], volume_type: 'iscsi', boot_index: 0, volume_id: 'vol-1' } } });
  // conductors
  const reg = (hostname: string, incarnation: string, group = '') =>
    w.command('conductor', 'ring', { type: 'RegisterConductor', data: { hostname, incarnation, group, hardwareTypes: ['fake-hardware', 'ipmi'], interfaces: {} } }, `conductor:${hostname}`);
  await reg('c1', 'i1');
  await reg('c2', 'i2', 'G1');
  await w.command('conductor', 'ring', { type: 'LeaveConductor', data: { hostname: 'c2', incarnation: 'i2' } }, 'conductor:c2');
  await reg('a0', 'i3');
  projector.start();
  await projector.caughtUp;
});

test.after(async () => {
  await projector.stop();
  db.close();
  await store.close();
  removeTempDirs();
});

test('nodes: default order is creation order; deleted nodes are gone', () => {
  assert.equal(uuids(), [N[0], N[1], N[2], N[3], N[5], N[6]]);
  assert.is(getNode(db.db, N[4]), undefined);
  assert.is(getNode(db.db, 'echo'), undefined);
  assert.is(getNode(db.db, 'golf')?.uuid, N[6]);
  assert.is(getNode(db.db, 'foxtrot'), undefined, 'renamed');
  assert.is(getNode(db.db, N[3].toUpperCase())?.provision_state, 'manageable');
});

test('nodes: every filter, AND-ed', () => {
  assert.equal(uuids({ associated: true }), [N[3]]);
  assert.equal(uuids({ associated: false }), [N[0], N[1], N[2], N[5], N[6]]);
  assert.equal(uuids({ maintenance: true }), [N[1]]);
  assert.equal(uuids({ maintenance: false }).length, 5);
  assert.equal(uuids({ retired: true }), [N[2]]);
  assert.equal(uuids({ provision_state: 'manageable' }), [N[3]]);
  assert.equal(uuids({ provision_state: 'enroll' }), [N[0], N[1], N[2], N[5], N[6]]);
  assert.equal(uuids({ driver: 'ipmi' }), [N[5]]);
  assert.equal(uuids({ resource_class: 'gold' }), [N[0], N[5]]);
  assert.equal(uuids({ fault: 'power failure' }), [N[1]]);
  assert.equal(uuids({ conductor_group: 'G1' }), [N[0]], 'case-insensitive');
  assert.equal(uuids({ owner: 'p1' }), [N[0]]);
  assert.equal(uuids({ lessee: 'p1' }), [N[1]]);
  assert.equal(uuids({ project: 'p1' }), [N[0], N[1]], 'owner OR lessee');
  assert.equal(uuids({ project: 'p3' }), [N[3]]);
  assert.equal(uuids({ description_contains: 'gpu' }), [N[2], N[5]], 'substring, case-insensitive');
  assert.equal(uuids({ description_contains: '100%' }), [N[5]], 'LIKE wildcards are literal');
  assert.equal(uuids({ description_contains: '_' }), []);
  assert.equal(uuids({ instance_uuid: inst }), [N[3]]);
  assert.equal(uuids({ chassis_uuid: chassis1 }), [N[3]]);
  assert.equal(uuids({ shard: ['s1'] }), [N[2], N[5]]);
  assert.equal(uuids({ shard: ['s1', 's2'] }), [N[2], N[3], N[5]]);
  assert.equal(uuids({ sharded: true }), [N[2], N[3], N[5]]);
  assert.equal(uuids({ sharded: false }), [N[0], N[1], N[6]]);
  assert.equal(uuids({ resource_class: 'gold', shard: ['s1'] }), [N[5]], 'AND');
  assert.equal(uuids({ resource_class: 'gold', driver: 'fake-hardware', owner: 'p1' }), [N[0]]);
  const conductorOf = (n: Node) => (n.name !== null && n.name < 'c' ? 'c1' : 'c2');
  assert.equal(uuids({ conductor: 'c1', conductorOf }), [N[0], N[1]]);
  assert.is(left(listNodes(db.db, { provision_state: 'bogus' })).status, 400);
  assert.is(left(listNodes(db.db, { fault: 'bogus' })).status, 400);
});

test('nodes: sort keys and directions, nulls as SQL orders them, ties by creation order', () => {
  assert.equal(uuids({ sort_key: 'name' }), [N[3], N[0], N[1], N[2], N[5], N[6]], 'null first ascending');
  assert.equal(uuids({ sort_key: 'name', sort_dir: 'desc' }), [N[6], N[5], N[2], N[1], N[0], N[3]]);
  assert.equal(uuids({ sort_key: 'resource_class' }), [N[1], N[2], N[3], N[0], N[5], N[6]]);
  assert.equal(uuids({ sort_key: 'resource_class', sort_dir: 'desc' }), [N[6], N[5], N[0], N[3], N[2], N[1]]);
  assert.equal(uuids({ sort_key: 'id', sort_dir: 'desc' }), [N[6], N[5], N[3], N[2], N[1], N[0]]);
  assert.equal(uuids({ sort_key: 'maintenance', sort_dir: 'desc' })[0], N[1]);
  assert.equal(uuids({ sort_key: 'provision_state', sort_dir: 'desc' })[0], N[3]);
  for (const k of ['properties', 'driver_info', 'extra', 'instance_info', 'traits', 'network_data', 'bogus', 'conductor']) {
    const e = left(listNodes(db.db, { sort_key: k }));
    assert.is(e.status, 400, k);
  }
  assert.is(left(listNodes(db.db, { sort_dir: 'up' })).status, 400);
});

test('nodes: fields keeps only the asked keys; unknown fields are refused', () => {
  const page = right(listNodes(db.db, { fields: ['uuid', 'name', 'conductor'], conductorOf: () => 'c9', limit: 2 }));
  assert.equal(page.nodes, [
    { uuid: N[0], name: 'alpha', conductor: 'c9' },
    { uuid: N[1], name: 'bravo', conductor: 'c9' },
  ]);
  assert.is(left(listNodes(db.db, { fields: ['uuid', 'nope'] })).status, 400);
  const full = right(listNodes(db.db, { limit: 1 })).nodes[0];
  assert.ok('driver_internal_info' in full && 'provision_state' in full);
});

test('nodes: marker paging walks every sort order exactly; next only on full pages', () => {
  for (const sort_key of [undefined, 'name', 'resource_class', 'provision_state', 'created_at']) {
    for (const sort_dir of ['asc', 'desc']) {
      const all = uuids({ sort_key, sort_dir });
      const seen: string[] = [];
      let marker: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = right(listNodes(db.db, { sort_key, sort_dir, limit: 4, marker }));
        seen.push(...page.nodes.map((n) => n.uuid as string));
        if (!page.nextMarker) break;
        assert.is(page.nodes.length, 4);
        marker = page.nextMarker;
      }
      assert.equal(seen, all, `${sort_key} ${sort_dir}`);
    }
  }
  const e = left(listNodes(db.db, { marker: N[4] }));
  assert.is(e.errorClass, 'NodeNotFound');
  assert.is(e.status, 404);
  assert.is(left(listNodes(db.db, { limit: 0 })).status, 400);
  assert.is(right(listNodes(db.db, { instance_uuid: inst, limit: 1 })).nextMarker, undefined, 'no next with instance_uuid');
  assert.equal(shardCounts(db.db), [
    { name: 'None', count: 3 },
    { name: 's1', count: 2 },
    { name: 's2', count: 1 },
  ]);
});

test('ports: by address (normalised), by node, by portgroup, list filters and paging', () => {
  assert.is(portByAddress(db.db, '52:54:00:AA:00:01')?.uuid, u(0x81));
  assert.is(portByAddress(db.db, '52:54:00:aa:00:04'), undefined, 'address changed');
  assert.is(portByAddress(db.db, '52:54:00:aa:00:44')?.uuid, u(0x84));
  assert.is(portByAddress(db.db, '52:54:00:aa:00:05'), undefined, 'deleted');
  assert.equal(portsByNode(db.db, N[0]).map((p) => p.uuid), [u(0x81), u(0x82)]);
  assert.equal(portsByPortgroup(db.db, u(0x91)).map((p) => p.uuid), [u(0x81)]);
  assert.is(getPort(db.db, u(0x83))?.node_uuid, N[2]);
  assert.equal(nodeUuidsByAddresses(db.db, ['52:54:00:AA:00:03', 'ff:ff:ff:ff:ff:ff']), [N[2]]);
  const ids = (f: Parameters<typeof listPorts>[1], q = {}) => right(listPorts(db.db, f, q)).items.map((p) => p.uuid);
  assert.equal(ids({}), [u(0x81), u(0x82), u(0x83), u(0x84)]);
  assert.equal(ids({ node_uuid: N[0] }), [u(0x81), u(0x82)]);
  assert.equal(ids({ address: '52:54:00:AA:00:02' }), [u(0x82)]);
  assert.equal(ids({ portgroup_uuid: u(0x91) }), [u(0x81)]);
  assert.equal(ids({ shard: ['s1'] }), [u(0x83), u(0x84)]);
  assert.equal(ids({}, { sort_key: 'address', sort_dir: 'desc' }), [u(0x84), u(0x83), u(0x82), u(0x81)]);
  const p1 = right(listPorts(db.db, {}, { limit: 3, fields: ['uuid', 'address'] }));
  assert.equal(p1.items[0], { uuid: u(0x81), address: '52:54:00:aa:00:01' });
  assert.is(p1.nextMarker, u(0x83));
  assert.equal(ids({}, { limit: 3, marker: p1.nextMarker }), [u(0x84)]);
  assert.is(left(listPorts(db.db, {}, { sort_key: 'extra' })).status, 400);
  assert.is(left(listPorts(db.db, {}, { marker: u(0x85) })).errorClass, 'PortNotFound');
});

test('portgroups, chassis, allocations, deploy templates, volume', () => {
  assert.is(getPortgroup(db.db, 'bond0')?.uuid, u(0x91));
  assert.is(getPortgroup(db.db, u(0x91))?.name, 'bond0');
  assert.equal(portgroupsByNode(db.db, N[0]).map((p) => p.uuid), [u(0x91)]);
  assert.equal(right(listPortgroups(db.db, { address: '52:54:00:00:00:90' })).items.map((p) => p.uuid), [u(0x91)]);
  assert.is(getChassis(db.db, chassis1)?.description, 'rack 7');
  assert.is(right(listChassis(db.db)).items.length, 1);
  assert.is(chassisNodeCount(db.db, chassis1), 1);
  assert.is(getAllocation(db.db, 'alloc1')?.state, 'active');
  assert.is(allocationByNode(db.db, N[0])?.uuid, u(0xa1));
  assert.equal(right(listAllocations(db.db, { state: 'error' })).items.map((a) => a.uuid), [u(0xa2)]);
  assert.equal(right(listAllocations(db.db, { owner: 'p9' })).items.map((a) => a.last_error), ['no nodes']);
  assert.equal(right(listAllocations(db.db, { resource_class: 'gold' })).items.map((a) => a.node_uuid), [N[0]]);
  assert.is(getDeployTemplate(db.db, 'CUSTOM_RAID')?.uuid, u(0xd1));
  assert.is(right(listDeployTemplates(db.db, { fields: ['name'] })).items[0].name, 'CUSTOM_RAID');
  assert.equal(right(listVolumeConnectors(db.db, { node_uuid: N[3] })).items.map((c) => c.connector_id), ['iqn.2024-01.org:n3']);
  assert.equal(right(listVolumeTargets(db.db, {})).items.map((t) => t.volume_id), ['vol-1']);
  assert.is(volumeTargetsByNode(db.db, N[3]).length, 1);
});

test('conductors: from the membership log; departed ones stay listed, not alive', () => {
  const page = right(listConductors(db.db, { sort_key: 'hostname' }));
  assert.equal(
    page.conductors.map((c) => [c.hostname, c.alive, c.conductor_group]),
    [
      ['a0', true, ''],
      ['c1', true, ''],
      ['c2', false, 'g1'],
    ],
  );
  assert.equal(getConductor(db.db, 'c1')?.drivers, ['fake-hardware', 'ipmi']);
  assert.ok(getConductor(db.db, 'c2')?.updated_at !== null);
  const first = right(listConductors(db.db, { limit: 1 }));
  assert.is(first.nextMarker, 'c1', 'marker = hostname, default creation order');
  assert.equal(right(listConductors(db.db, { limit: 5, marker: 'c1' })).conductors.map((c) => c.hostname), ['c2', 'a0']);
  assert.is(left(listConductors(db.db, { sort_key: 'alive' })).status, 400);
  assert.is(currentMembership(db.db)?.epoch, 4);
});

test('history: Ironic records from NodeHistoryRecorded; full timeline; lookup by old and new name', () => {
  const page = nodeHistory(db.db, N[6]);
  assert.ok('records' in page);
  if (!('records' in page)) return;
  assert.equal(page.records.map((r) => r.uuid), [u(0xe1), u(0xe2)]);
  assert.equal(page.records[0], { uuid: u(0xe1), created_at: '2024-01-01T00:10:00.000Z', severity: 'ERROR', event: 'Failed to deploy: boom', event_type: 'deploying', conductor: 'c1', user: 'admin' });
  const p2 = nodeHistory(db.db, N[6], { limit: 1, marker: u(0xe1) });
  assert.ok('records' in p2 && p2.records.length === 1 && p2.records[0].uuid === u(0xe2));
  assert.is(historyRecord(db.db, N[6], u(0xe2))?.event.length, 300);
  const tl = timeline(db.db, N[6]);
  assert.equal(tl.map((e) => e.type), ['NodeCreated', 'NodeHistoryRecorded', 'NodeHistoryRecorded', 'NodeUpdated']);
  assert.equal(tl.map((e) => e.revision), [0n, 1n, 2n, 3n]);
  assert.is(tl[3].actor, 'admin');
  assert.is(tl[1].actor, 'conductor:c1');
  assert.is(resolveHistoryNode(db.db, 'golf'), N[6]);
  assert.is(resolveHistoryNode(db.db, 'foxtrot'), undefined, 'the history follows the current name');
  assert.is(resolveHistoryNode(db.db, 'echo'), N[4], 'a deleted node keeps its history');
  assert.equal(timeline(db.db, N[4]).map((e) => e.type), ['NodeCreated', 'NodeDeleted']);
});

test.run();
