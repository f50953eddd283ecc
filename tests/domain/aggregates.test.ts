// The CRUD aggregates' own rules, event metadata and the stored-event decoder.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { randomBytes } from 'node:crypto';
import { portDecider } from '../../domain/port/index.ts';
import { portgroupDecider } from '../../domain/portgroup/index.ts';
import { chassisDecider, chassisNotEmpty } from '../../domain/chassis/index.ts';
import { allocationDecider } from '../../domain/allocation/index.ts';
import { deployTemplateDecider } from '../../domain/deploytemplate/index.ts';
import { volumeConnectorDecider } from '../../domain/volumeconnector/index.ts';
import { volumeTargetDecider } from '../../domain/volumetarget/index.ts';
import { decodeStoredEvent, deciders, eventTypes } from '../../domain/index.ts';
import { v5 as uuidv5 } from 'uuid';
import fc from 'fast-check';
import { EVENT_ID_NAMESPACE, eventIdFor, EventMetadataC } from '../../domain/metadata.ts';
import { aggregateKinds } from '../../domain/streams.ts';
import { sealSecrets } from '../../domain/secrets.ts';
import { createSecretBox } from '../../secrets/secret-box.ts';
import { decided, rejected, runAll } from './helpers.ts';

const at = '2024-05-01T10:00:00.000Z';
const box = createSecretBox(randomBytes(32));

test('port: MAC normalised, invalid MAC 400, smart NIC needs port_id+hostname, duplicate uuid 409, internal_info', () => {
  const create = { type: 'CreatePort' as const, data: { uuid: 'p1', at, fields: { address: '52:54:00:AA:BB:CC', node_uuid: 'n1' } } };
  const r = runAll(portDecider, [create]);
  if (r.state.status !== 'present') return assert.unreachable();
  assert.is(r.state.doc.address, '52:54:00:aa:bb:cc');
  assert.is(r.state.doc.pxe_enabled, true);
  assert.equal(r.state.doc.internal_info, {});
  assert.is(rejected(portDecider, create, r.state).errorClass, 'PortAlreadyExists');
  const bad = rejected(portDecider, { type: 'CreatePort', data: { uuid: 'p2', at, fields: { address: 'zz', node_uuid: 'n1' } } }, portDecider.initialState());
  assert.is(bad.errorClass, 'InvalidMAC');
  assert.is(bad.message, 'Expected a MAC address but received zz.');
  assert.is(rejected(portDecider, { type: 'UpdatePort', data: { uuid: 'p1', at, changes: { is_smartnic: true } } }, r.state).status, 400);
  assert.is(decided(portDecider, { type: 'UpdatePort', data: { uuid: 'p1', at, changes: { is_smartnic: true, local_link_connection: { port_id: 'e1', hostname: 'h' } } } }, r.state).length, 1);
  assert.is(rejected(portDecider, { type: 'UpdatePort', data: { uuid: 'p1', at, changes: { physical_network: '' } } }, r.state).status, 400);
  assert.equal(decided(portDecider, { type: 'UpdatePort', data: { uuid: 'p1', at, changes: { address: '52:54:00:aa:bb:CC' } } }, r.state), []);
  const vif = runAll(portDecider, [{ type: 'UpdatePortInternalInfo', data: { uuid: 'p1', at, set: { tenant_vif_port_id: 'v1' }, unset: [] } }], r);
  if (vif.state.status !== 'present') return assert.unreachable();
  assert.equal(vif.state.doc.internal_info, { tenant_vif_port_id: 'v1' });
  const gone = runAll(portDecider, [{ type: 'DeletePort', data: { uuid: 'p1', at } }], vif);
  const e = rejected(portDecider, { type: 'UpdatePort', data: { uuid: 'p1', at, changes: { extra: {} } } }, gone.state);
  assert.is(e.status, 404);
  assert.is(e.message, 'Port p1 could not be found.');
});

test('portgroup: default mode, mode cannot be removed', () => {
  const r = runAll(portgroupDecider, [{ type: 'CreatePortgroup', data: { uuid: 'g1', at, fields: { node_uuid: 'n1', address: 'AA:BB:CC:DD:EE:FF' } } }]);
  if (r.state.status !== 'present') return assert.unreachable();
  assert.is(r.state.doc.mode, 'active-backup');
  assert.is(r.state.doc.address, 'aa:bb:cc:dd:ee:ff');
  assert.is(r.state.doc.standalone_ports_supported, true);
  assert.is(rejected(portgroupDecider, { type: 'UpdatePortgroup', data: { uuid: 'g1', at, changes: { mode: null } } }, r.state).status, 400);
  assert.is(decided(portgroupDecider, { type: 'UpdatePortgroup', data: { uuid: 'g1', at, changes: { mode: '802.3ad' } } }, r.state).length, 1);
});

test('chassis: description ≤ 255; not-empty error for the handler', () => {
  assert.is(rejected(chassisDecider, { type: 'CreateChassis', data: { uuid: 'c1', at, fields: { description: 'x'.repeat(256) } } }, chassisDecider.initialState()).status, 400);
  const ok = runAll(chassisDecider, [{ type: 'CreateChassis', data: { uuid: 'c1', at, fields: {} } }]);
  if (ok.state.status !== 'present') return assert.unreachable();
  assert.equal(ok.state.doc, { description: null, extra: {}, uuid: 'c1', created_at: at, updated_at: null });
  assert.is(chassisNotEmpty('c1').status, 400);
  assert.is(chassisNotEmpty('c1').errorClass, 'ChassisNotEmpty');
});

test('allocation: resource_class unless backfilling; allocating → active once; PATCH only name/extra', () => {
  const e = rejected(allocationDecider, { type: 'CreateAllocation', data: { uuid: 'a1', at, fields: {} } }, allocationDecider.initialState());
  assert.is(e.message, 'The resource_class field is mandatory when not backfilling');
  const r = runAll(allocationDecider, [
    { type: 'CreateAllocation', data: { uuid: 'a1', at, fields: { resource_class: 'baremetal' } } },
    { type: 'CompleteAllocation', data: { uuid: 'a1', at, node_uuid: 'n1' } },
  ]);
  if (r.state.status !== 'present') return assert.unreachable();
  assert.is(r.state.doc.state, 'active');
  assert.is(r.state.doc.node_uuid, 'n1');
  assert.equal(decided(allocationDecider, { type: 'CompleteAllocation', data: { uuid: 'a1', at, node_uuid: 'n1' } }, r.state), []);
  assert.is(rejected(allocationDecider, { type: 'FailAllocation', data: { uuid: 'a1', at, last_error: 'x' } }, r.state).status, 409);
  assert.is(decided(allocationDecider, { type: 'CreateAllocation', data: { uuid: 'a2', at, fields: { node_uuid: 'n2' } } }, allocationDecider.initialState()).length, 1);
});

test('deploy template: trait name, ≥1 step, allowed interfaces, no duplicates, sealed args', () => {
  const step = { interface: 'bios', step: 'apply_configuration', args: {}, priority: 150 };
  const mk = (fields: object) => rejected(deployTemplateDecider, { type: 'CreateDeployTemplate', data: { uuid: 't1', at, fields } } as never, deployTemplateDecider.initialState());
  assert.match(mk({ name: 'not a trait', steps: [step] }).message, 'valid trait name');
  assert.is(mk({ name: 'CUSTOM_X', steps: [] }).status, 400);
  assert.is(mk({ name: 'CUSTOM_X', steps: [{ ...step, interface: 'firmware' }] }).status, 400);
  assert.match(mk({ name: 'CUSTOM_X', steps: [step, step] }).message, 'Duplicate deploy steps');
  assert.is(mk({ name: 'CUSTOM_X', steps: [{ ...step, args: { password: 'clear' } }] }).status, 400);
  assert.is(mk({ name: 'CUSTOM_X', steps: [{ ...step, priority: -1 }] }).status, 400);
  const ok = decided(deployTemplateDecider, { type: 'CreateDeployTemplate', data: { uuid: 't1', at, fields: { name: 'CUSTOM_X', steps: [{ ...step, args: sealSecrets({ password: 'p' }, box, 'args'), priority: '10' }] } } }, deployTemplateDecider.initialState());
  assert.is(ok.length, 1);
});

test('volume connector / target rules', () => {
  assert.is(rejected(volumeConnectorDecider, { type: 'CreateVolumeConnector', data: { uuid: 'v1', at, fields: { node_uuid: 'n', type: 'iqn', connector_id: '' } } }, volumeConnectorDecider.initialState()).status, 400);
  assert.is(decided(volumeConnectorDecider, { type: 'CreateVolumeConnector', data: { uuid: 'v1', at, fields: { node_uuid: 'n', type: 'iqn', connector_id: 'iqn.2024' } } }, volumeConnectorDecider.initialState()).length, 1);
  assert.is(rejected(volumeTargetDecider, { type: 'CreateVolumeTarget', data: { uuid: 't', at, fields: { node_uuid: 'n', volume_type: 'iscsi', boot_index: -1, volume_id: 'v' } } }, volumeTargetDecider.initialState()).status, 400);
});

test('metadata: deterministic event ids, codec', () => {
  assert.is(eventIdFor('cmd-1', 0), eventIdFor('cmd-1', 0));
  assert.is.not(eventIdFor('cmd-1', 0), eventIdFor('cmd-1', 1));
  assert.is.not(eventIdFor('cmd-1', 0), eventIdFor('cmd-2', 0));
  assert.match(eventIdFor('cmd-1', 0), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  // the ids stored so far are uuid's v5 of "<commandId>#<index>" in the fixed namespace: they never change
  assert.is(eventIdFor('cmd-1', 0), uuidv5('cmd-1#0', EVENT_ID_NAMESPACE));
  fc.assert(fc.property(fc.string({ unit: 'binary' }), fc.nat(), (id, i) => eventIdFor(id, i) === uuidv5(`${id}#${i}`, EVENT_ID_NAMESPACE)), { numRuns: 2000 });
  const m = { correlationId: 'c', causationId: 'c', actor: 'admin', timestamp: at, commandId: 'cmd-1', extra: 1 };
  assert.equal(EventMetadataC.decode(m), E.right(m));
  assert.ok(E.isLeft(EventMetadataC.decode({ correlationId: 'c' })));
  assert.ok(E.isLeft(EventMetadataC.decode({ ...m, commandId: 3 })));
});

test('decodeStoredEvent: unknown types and wrong streams are errors naming stream and revision', () => {
  const bad = decodeStoredEvent({ streamId: 'node-x', revision: 7n, type: 'Bogus', data: {} });
  if (E.isRight(bad)) return assert.unreachable();
  assert.is(bad.left.streamId, 'node-x');
  assert.is(bad.left.revision, 7n);
  assert.match(bad.left.message, 'node-x@7');
  assert.ok(E.isLeft(decodeStoredEvent({ streamId: 'port-x', revision: 0n, type: 'NodeDeleted', data: { uuid: 'x', at } })));
  assert.ok(E.isLeft(decodeStoredEvent({ streamId: 'node-x', revision: 0n, type: 'NodeDeleted', data: { uuid: 'x' } })));
  assert.ok(E.isRight(decodeStoredEvent({ streamId: 'node-x', revision: 0n, type: 'NodeDeleted', data: { uuid: 'x', at } })));
  for (const k of aggregateKinds) assert.ok(k in deciders, k);
  for (const [type, kind] of eventTypes) assert.ok((aggregateKinds as readonly string[]).includes(kind), type);
});

test.run();
