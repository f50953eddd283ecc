// The projector's decoder (projections/domain.ts: the domain codecs' type guards first, the
// domain's decodeStoredEvent for anything they refuse) gives the same answers as the domain's
// decoder alone, for realistic events of every aggregate and for broken ones.

import * as E from 'fp-ts/lib/Either.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeStoredEvent } from '../../domain/index.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { decodeForProjection } from '../../projections/domain.ts';
import { nodeLife, uuidFor } from './node-events.ts';

const rec = (streamId: string, revision: number, type: string, data: unknown): RecordedEvent => ({
  streamId,
  revision: BigInt(revision),
  position: BigInt(revision + 1),
  id: `e${revision}`,
  type,
  data,
  metadata: { correlationId: 'c', causationId: 'c', actor: 'a', timestamp: 't' },
  created: new Date(0),
});

const same = (r: RecordedEvent) => {
  const fast = decodeForProjection(r);
  const slow = decodeStoredEvent(r);
  assert.is(fast.ok, E.isRight(slow), `${r.type} on ${r.streamId}`);
  if (fast.ok && E.isRight(slow)) assert.equal(fast.event, slow.right);
  if (!fast.ok && E.isLeft(slow)) assert.is(fast.reason, slow.left.reason);
};

test('every realistic node event decodes the same way', () => {
  const uuid = uuidFor(1, 1);
  const life = [...nodeLife({ uuid, name: 'n', start: Date.UTC(2024, 0, 1), conductor: 'c1' }, 120)];
  const types = new Set<string>();
  life.forEach((e, i) => {
    types.add(e.event.type);
    same(rec(`node-${uuid}`, i, e.event.type, JSON.parse(JSON.stringify(e.event.data))));
  });
  assert.ok(types.size >= 15);
});

test('other aggregates and the membership stream decode the same way', () => {
  same(rec('port-x', 0, 'PortCreated', { uuid: 'x', at: 't', fields: { address: '52:54:00:00:00:01', node_uuid: 'n', extra: {}, internal_info: {}, local_link_connection: {}, pxe_enabled: true, portgroup_uuid: null, physical_network: null, is_smartnic: false } }));
  same(rec('chassis-x', 0, 'ChassisCreated', { uuid: 'x', at: 't', fields: { description: null, extra: {} } }));
  same(rec('membership-ring', 0, 'ConductorRegistered', { epoch: 1, hostname: 'h', incarnation: 'i', group: '', hardwareTypes: ['fake-hardware'], interfaces: {}, replaces: null }));
});

test('broken events fail the same way, with the same reason', () => {
  const uuid = uuidFor(1, 2);
  same(rec(`node-${uuid}`, 3, 'NoSuchEvent', {}));
  same(rec(`node-${uuid}`, 3, 'ProvisionStateChanged', { nonsense: true }));
  same(rec(`node-${uuid}`, 3, 'ProvisionStateChanged', { uuid, at: 't', from: 'enroll', event: 'manage', to: 'nowhere', target: null }));
  same(rec(`node-${uuid}`, 3, 'PowerStateChanged', null));
  same(rec('port-x', 3, 'ProvisionStateChanged', { uuid, at: 't', from: 'enroll', event: 'manage', to: 'verifying', target: 'manageable' }));
  // a clear-text secret is refused by the sealed-dict codecs on both paths
  same(rec(`node-${uuid}`, 3, 'NodeUpdated', { uuid, at: 't', changes: { driver_info: { ipmi_password: 'clear' } } }));
  const r = decodeForProjection(rec(`node-${uuid}`, 3, 'NodeUpdated', { uuid, at: 't', changes: { driver_info: { ipmi_password: 'clear' } } }));
  assert.is(r.ok, false);
});

test.run();
