// Realistic node event streams built with the domain's own event shapes (domain/node/events.ts):
// a node is created by the real decider, then goes through verify, automated cleaning, deploy
// and undeploy cycles with reservations, power operations, agent heartbeats, steps, history
// records, maintenance and field updates. Used by the projection tests and the store benchmark.

import { randomBytes } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import { nodeDecider } from '../../domain/node/index.ts';
import type { NodeEvent } from '../../domain/node/events.ts';
import type { EventData } from '../../eventstore/port.ts';

export interface Emitted {
  event: { type: string; data: unknown };
  actor: string;
}

const sealed = (): { $secret: string } => ({ $secret: `v1:${randomBytes(24).toString('base64')}` });

/** a deterministic, uuid-shaped id from a number (fast: seeding makes millions); the first
 * segment is scrambled so ids spread over the hex digits as random uuids do */
export const uuidFor = (prefix: number, n: number): string => {
  const scrambled = (Math.imul(n ^ Math.imul(prefix, 0x9e3779b1), 0x85ebca6b) >>> 0).toString(16).padStart(8, '0');
  return `${scrambled}-${(prefix & 0xffff).toString(16).padStart(4, '0')}-4000-8000-${(n >>> 0).toString(16).padStart(12, '0')}`;
};

let historySeq = 0;

export interface NodeSpec {
  uuid: string;
  name: string;
  /** ms since epoch of the first event */
  start: number;
  conductor: string;
  owner?: string;
  shard?: string | null;
  resourceClass?: string;
  conductorGroup?: string;
}

/** The NodeCreated event as the real decider makes it. */
export const createdEvent = (s: NodeSpec, at: string): NodeEvent => {
  const r = nodeDecider.decide(
    {
      type: 'CreateNode',
      data: {
        uuid: s.uuid,
        at,
        fields: {
          driver: 'fake-hardware',
          name: s.name,
          driver_info: { ipmi_address: `10.0.${(s.uuid.charCodeAt(35) % 250) + 1}.${(s.uuid.charCodeAt(34) % 250) + 1}`, ipmi_username: 'admin', ipmi_password: sealed() },
          properties: { cpus: 32, memory_mb: 262144, local_gb: 1800, cpu_arch: 'x86_64', capabilities: 'boot_mode:uefi' },
          resource_class: s.resourceClass ?? 'baremetal',
          conductor_group: s.conductorGroup ?? '',
          owner: s.owner ?? null,
          shard: s.shard ?? null,
          description: `rack server ${s.name}`,
        },
      },
    },
    nodeDecider.initialState(),
  );
  if (E.isLeft(r)) throw new Error(`CreateNode refused: ${r.left.message}`);
  return r.right[0];
};

/**
 * A node's life as a generator of events, as long as asked (`count`): creation, verify, provide
 * (automated clean), then deploy/undeploy cycles, with power syncs and occasional maintenance.
 */
export function* nodeLife(s: NodeSpec, count: number): Generator<Emitted> {
  let t = s.start;
  let emitted = 0;
  let epoch = 1;
  const at = () => new Date((t += 1000)).toISOString();
  const host = s.conductor;
  const conductor = `conductor:${host}`;
  const user = 'admin';
  function* emit(type: string, data: Record<string, unknown>, actor = conductor): Generator<Emitted> {
    if (emitted >= count) return;
    emitted++;
    yield { event: { type, data: { uuid: s.uuid, at: at(), ...data } }, actor };
  }
  const psc = (from: string, event: string, to: string, target: string | null, extra: Record<string, unknown> = {}) =>
    emit('ProvisionStateChanged', { from, event, to, target, ...extra });
  const reserve = () => emit('NodeReserved', { host, ring_epoch: epoch });
  const release = () => emit('NodeReleased', { host });
  const power = function* (on: boolean) {
    yield* emit('PowerStateChangeRequested', { requested: on ? 'power on' : 'power off', target_power_state: on ? 'power on' : 'power off' });
    yield* emit('PowerStateChanged', { power_state: on ? 'power on' : 'power off' });
  };
  const history = (severity: 'INFO' | 'ERROR', event: string, event_type: string) =>
    emit('NodeHistoryRecorded', {
      entry: { uuid: uuidFor(0x415, ++historySeq), severity, event, event_type, conductor: host, user, created_at: new Date(t).toISOString() },
    });
  const heartbeats = function* (n: number) {
    for (let i = 0; i < n; i++) yield* emit('AgentHeartbeatRecorded', { agent_url: `http://10.1.0.${(i % 200) + 2}:9999`, agent_version: '9.4.1' });
  };

  if (emitted < count) {
    emitted++;
    yield { event: createdEvent(s, new Date(t).toISOString()), actor: user };
  }
  // verify
  yield* emit('ProvisionActionRequested', { verb: 'manage', event: 'manage', user }, user);
  yield* reserve();
  yield* psc('enroll', 'manage', 'verifying', 'manageable');
  yield* emit('PowerStateObserved', { power_state: 'power off' });
  yield* psc('verifying', 'done', 'manageable', null);
  yield* release();
  yield* history('INFO', 'Node verified: power credentials are valid', 'verify');
  // provide: automated clean, back to available
  const clean = function* (from: string, event: string, target: string) {
    yield* reserve();
    yield* psc(from, event, 'cleaning', target);
    yield* emit('StepsPlanned', { kind: 'clean', steps: [{ interface: 'deploy', step: 'erase_devices_metadata', priority: 99 }, { interface: 'deploy', step: 'erase_devices', priority: 10 }] });
    yield* power(true);
    yield* psc('cleaning', 'wait', 'clean wait', target);
    yield* emit('AgentTokenIssued', { token: sealed(), pregenerated: false });
    yield* heartbeats(3);
    yield* psc('clean wait', 'resume', 'cleaning', target);
    for (const [i, step] of ['erase_devices_metadata', 'erase_devices'].entries()) {
      yield* emit('StepStarted', { kind: 'clean', step: { interface: 'deploy', step, priority: i === 0 ? 99 : 10 }, index: i });
      yield* emit('StepCompleted', { kind: 'clean', step: { interface: 'deploy', step } });
    }
    yield* emit('AgentTokenCleared', {});
    yield* power(false);
    yield* psc('cleaning', 'done', 'available', null);
    yield* release();
  };
  yield* emit('ProvisionActionRequested', { verb: 'provide', event: 'provide', user }, user);
  yield* clean('manageable', 'provide', 'available');
  let cycle = 0;
  while (emitted < count) {
    cycle++;
    const instance = uuidFor(0x1a57, (s.start / 1000 + cycle) >>> 0);
    yield* emit('NodeUpdated', { changes: { instance_uuid: instance, instance_info: { image_source: `https://images.example/ubuntu-${cycle}.qcow2`, root_gb: '100' } } }, user);
    yield* emit('TraitAdded', { trait: `CUSTOM_CYCLE_${cycle % 4}` }, user);
    yield* emit('ProvisionActionRequested', { verb: 'active', event: 'deploy', user }, user);
    yield* reserve();
    yield* psc('available', 'deploy', 'deploying', 'active');
    yield* emit('StepsPlanned', { kind: 'deploy', steps: [{ interface: 'deploy', step: 'deploy', priority: 100 }, { interface: 'deploy', step: 'write_image', priority: 80 }] });
    yield* power(true);
    yield* psc('deploying', 'wait', 'wait call-back', 'active');
    yield* emit('AgentTokenIssued', { token: sealed(), pregenerated: false });
    yield* heartbeats(4);
    yield* psc('wait call-back', 'resume', 'deploying', 'active');
    for (const [i, step] of ['deploy', 'write_image'].entries()) {
      yield* emit('StepStarted', { kind: 'deploy', step: { interface: 'deploy', step, priority: i === 0 ? 100 : 80 }, index: i });
      yield* emit('StepCompleted', { kind: 'deploy', step: { interface: 'deploy', step } });
    }
    yield* emit('AgentTokenCleared', {});
    yield* psc('deploying', 'done', 'active', null);
    yield* release();
    yield* history('INFO', `Deployed instance ${instance}`, 'deploying');
    for (let i = 0; i < 4; i++) yield* emit('PowerStateObserved', { power_state: 'power on' });
    if (cycle % 3 === 0) {
      yield* emit('MaintenanceSet', { reason: 'BMC unreachable', fault: 'power failure' });
      yield* history('ERROR', 'During sync_power_state, max retries exceeded for node', 'monitoring');
      yield* emit('MaintenanceCleared', {}, user);
    }
    yield* emit('ProvisionActionRequested', { verb: 'deleted', event: 'delete', user }, user);
    yield* psc('active', 'delete', 'deleting', 'available');
    yield* clean('deleting', 'clean', 'available');
    yield* emit('NodeUpdated', { changes: { instance_uuid: null, instance_info: {} } }, user);
    epoch++;
  }
}

let seq = 0;
/** EventData with realistic metadata for an emitted event. */
export const toEventData = (e: Emitted, correlationId: string): EventData => {
  const n = ++seq;
  const data = e.event.data as { at?: string; node?: { created_at?: string } };
  return {
    id: uuidFor(0xe7e7, n) + '',
    type: e.event.type,
    data: e.event.data,
    metadata: {
      correlationId,
      causationId: correlationId,
      actor: e.actor,
      timestamp: data.at ?? data.node?.created_at ?? new Date().toISOString(),
      commandId: correlationId,
    },
  };
};
