// Event sourcing's one promise: the state is the fold of the events. Random command sequences
// go through decide → evolve live; replaying the collected events from scratch must rebuild
// exactly the live state, and every event must survive JSON storage and decoding.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import { fold, type Decider } from '../../domain/decider.ts';
import { decodeStoredEvent, deciders, eventCodecs } from '../../domain/index.ts';
import { nodeDecider, NodeEventC, type NodeCommand, type NodeState } from '../../domain/node/index.ts';
import { portDecider, type PortCommand } from '../../domain/port/index.ts';
import { allocationDecider, type AllocationCommand } from '../../domain/allocation/index.ts';
import { chassisDecider, type ChassisCommand } from '../../domain/chassis/index.ts';
import { provisionEvents, provisionVerbNames, provisionVerbs, isStable } from '../../domain/provision/states.ts';
import { transitionTable } from '../../domain/provision/transitions.ts';
import { powerTargets } from '../../domain/power/states.ts';
import { sealSecrets } from '../../domain/secrets.ts';
import { streamId, type AggregateKind } from '../../domain/streams.ts';
import { createSecretBox } from '../../secrets/secret-box.ts';
import { runAll } from './helpers.ts';

const box = createSecretBox(randomBytes(32));
const U = 'c0ffee00-0000-4000-8000-000000000001';
const RUNS = Number(process.env.REPLAY_RUNS ?? 150);

const atArb = fc.integer({ min: 0, max: 1e6 }).map((n) => new Date(Date.UTC(2024, 0, 1) + n * 1000).toISOString());
// mostly user-side (no holder): a random holder is usually refused, which explores little
const holderArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.record({ host: fc.constantFrom('c1', 'c2'), ring_epoch: fc.integer({ min: 1, max: 4 }) }) },
);
const withHolder = <T extends { data: object }>(c: T, holder: unknown): T =>
  holder === undefined ? c : ({ ...c, data: { ...c.data, holder } } as T);

const sealedInfo = fc
  .record({ ipmi_address: fc.ipV4(), ipmi_password: fc.string(), ipmi_port: fc.integer({ min: 1, max: 65535 }) }, { requiredKeys: ['ipmi_address'] })
  .map((d) => sealSecrets(d, box, 'driver_info'));

const nodeCommandArb: fc.Arbitrary<NodeCommand> = fc.tuple(atArb, holderArb).chain(([at, holder]) => {
  const u = { uuid: U, at };
  return fc.oneof(
    ...Array.from({ length: 3 }, () => fc.constant<NodeCommand>({ type: 'CreateNode', data: { ...u, fields: { driver: 'fake-hardware' } } })),
    ...Array.from({ length: 4 }, () => fc.record({ verb: fc.constantFrom(...provisionVerbNames), pw: fc.boolean() }).map(({ verb, pw }): NodeCommand => ({
      type: 'RequestProvisionAction',
      data: {
        ...u,
        verb,
        ...(verb === 'clean' ? { clean_steps: [{ interface: 'deploy', step: 'erase_devices', args: sealSecrets({ secret: 'x' }, box, 'args') }] } : {}),
        ...(verb === 'rescue' && pw ? { rescue_password: box.seal('pw') } : {}),
        ...(verb === 'active' && pw ? { configdrive: box.seal('cd') } : {}),
      },
    }))),
    // weighted: conductor events are what drives a node through its states
    ...Array.from({ length: 8 }, () =>
      fc.record({ event: fc.constantFrom(...provisionEvents), err: fc.option(fc.string(), { nil: undefined }) }).map(({ event, err }) =>
        withHolder<NodeCommand>({ type: 'ApplyProvisionEvent', data: { ...u, event, ...(err !== undefined ? { last_error: err } : {}) } }, holder),
      ),
    ),
    fc.constantFrom(...powerTargets).map((target): NodeCommand => ({ type: 'RequestPowerState', data: { ...u, target } })),
    fc.constantFrom('power on' as const, 'power off' as const, null).map((p) => withHolder<NodeCommand>({ type: 'RecordPowerState', data: { ...u, power_state: p } }, holder)),
    fc.string().map((e) => withHolder<NodeCommand>({ type: 'FailPowerState', data: { ...u, error: e } }, holder)),
    fc.option(fc.string(), { nil: null }).map((reason): NodeCommand => ({ type: 'SetMaintenance', data: { ...u, reason } })),
    fc.constant<NodeCommand>({ type: 'ClearMaintenance', data: u }),
    fc.record({ host: fc.constantFrom('c1', 'c2'), ring_epoch: fc.integer({ min: 1, max: 4 }) }).map((r): NodeCommand => ({ type: 'ReserveNode', data: { ...u, ...r } })),
    ...Array.from({ length: 3 }, () =>
      fc.record({ host: fc.constantFrom('c1', 'c2'), force: fc.boolean() }).map((r): NodeCommand => ({ type: 'ReleaseNode', data: { ...u, ...r } })),
    ),
    fc
      .record(
        {
          name: fc.option(fc.constantFrom('n1', 'n2'), { nil: null }),
          extra: fc.dictionary(fc.constantFrom('a', 'b'), fc.integer(), { noNullPrototype: true }),
          protected: fc.boolean(),
          retired: fc.boolean(),
          instance_uuid: fc.option(fc.constant('inst-1'), { nil: null }),
          owner: fc.option(fc.constantFrom('p1', 'p2'), { nil: null }),
          driver_info: sealedInfo,
          maintenance: fc.boolean(),
          deploy_interface: fc.option(fc.constantFrom('direct', 'fake'), { nil: null }),
        },
        { requiredKeys: [] },
      )
      .map((changes) => withHolder<NodeCommand>({ type: 'UpdateNode', data: { ...u, changes } }, holder)),
    fc.constantFrom('CUSTOM_A', 'CUSTOM_B').map((trait): NodeCommand => ({ type: 'AddTrait', data: { ...u, trait } })),
    fc.constantFrom('CUSTOM_A', 'CUSTOM_B').map((trait): NodeCommand => ({ type: 'RemoveTrait', data: { ...u, trait } })),
    fc.subarray(['CUSTOM_A', 'CUSTOM_B', 'CUSTOM_C']).map((traits): NodeCommand => ({ type: 'SetTraits', data: { ...u, traits } })),
    fc.constantFrom('v1', 'v2').map((id): NodeCommand => ({ type: 'AttachVif', data: { ...u, vif: { id, port_uuid: 'p-1' } } })),
    fc.constantFrom('v1', 'v2').map((vif_id): NodeCommand => ({ type: 'DetachVif', data: { ...u, vif_id } })),
    fc.boolean().map((enabled): NodeCommand => ({ type: 'SetConsoleMode', data: { ...u, enabled } })),
    fc.constant<NodeCommand>({ type: 'DeleteNode', data: u }),
    fc.constant(null).map(() => withHolder<NodeCommand>({ type: 'IssueAgentToken', data: { ...u, token: box.seal('tok') } }, holder)),
    fc.constant(null).map(() => withHolder<NodeCommand>({ type: 'ClearAgentToken', data: u }, holder)),
    fc.constantFrom('http://a:9999', 'http://b:9999').map((agent_url) => withHolder<NodeCommand>({ type: 'RecordAgentHeartbeat', data: { ...u, agent_url } }, holder)),
    fc.record({ kind: fc.constantFrom('clean' as const, 'deploy' as const), abortable: fc.boolean(), index: fc.nat(5) }).map(({ kind, abortable, index }) =>
      withHolder<NodeCommand>({ type: 'StartStep', data: { ...u, kind, index, step: { interface: 'deploy', step: 'erase_devices', abortable } as never } }, holder),
    ),
    fc.constantFrom('clean' as const, 'deploy' as const).map((kind) => withHolder<NodeCommand>({ type: 'CompleteStep', data: { ...u, kind } }, holder)),
    fc.record({ set: fc.dictionary(fc.constantFrom('x', 'y'), fc.integer(), { noNullPrototype: true }), unset: fc.subarray(['x', 'y', 'z']) }).map((r) =>
      withHolder<NodeCommand>({ type: 'UpdateDriverInternalInfo', data: { ...u, ...r } }, holder),
    ),
    fc.constant<NodeCommand>({ type: 'RecordHistory', data: { ...u, entry: { uuid: 'h', severity: 'INFO', event: 'e', event_type: 'provisioning', conductor: null, user: null } } }),
    fc.constantFrom('uefi' as const, 'bios' as const).map((boot_mode): NodeCommand => ({ type: 'RequestBootMode', data: { ...u, boot_mode } })),
    fc.constantFrom('uefi', 'bios').map((boot_mode) => withHolder<NodeCommand>({ type: 'RecordBootMode', data: { ...u, boot_mode } }, holder)),
  );
});

/** Half of the steps follow the transition table from the node's current state, so walks get
 * past `enroll`; the other half are arbitrary commands (most of which are refused). */
const guidedNodeCommands = fc.array(fc.tuple(fc.nat(), nodeCommandArb), { minLength: 10, maxLength: 80 }).map((steps) => {
  const create: NodeCommand = { type: 'CreateNode', data: { uuid: U, at: '2024-01-01T00:00:00.000Z', fields: { driver: 'fake-hardware' } } };
  const commands: NodeCommand[] = [create];
  let state = runAll(nodeDecider, [create]).state;
  for (const [seed, random] of steps) {
    let c: NodeCommand = random;
    if (seed % 2 === 0 && state.status === 'present') {
      const n = state.node;
      const at = random.data.at;
      const rows = transitionTable.filter((r) => r.from === n.provision_state);
      const row = rows[Math.floor(seed / 2) % rows.length];
      if (n.reservation !== null && seed % 4 === 0) c = { type: 'ReleaseNode', data: { uuid: U, at, host: n.reservation } };
      else if (n.maintenance && seed % 8 === 2) c = { type: 'ClearMaintenance', data: { uuid: U, at } };
      else if (row && row.trigger === 'internal')
        c = { type: 'ApplyProvisionEvent', data: { uuid: U, at, event: row.event, ...(n.reservation ? { holder: { host: n.reservation, ring_epoch: n.reservation_epoch ?? 1 } } : {}) } };
      else if (row) {
        const verb = provisionVerbNames.find((v) => provisionVerbs[v].event === row.event)!;
        c = {
          type: 'RequestProvisionAction',
          data: {
            uuid: U,
            at,
            verb,
            ...(verb === 'clean' ? { clean_steps: [{ interface: 'deploy', step: 'erase_devices' }] } : {}),
            ...(verb === 'rescue' ? { rescue_password: box.seal('pw') } : {}),
          },
        };
      }
    }
    commands.push(c);
    const r = nodeDecider.decide(c, state);
    if (E.isRight(r)) state = r.right.reduce(nodeDecider.evolve, state);
  }
  return commands;
});

/** decide → evolve live, then replay; plus JSON round trips through the codec and the stored-event decoder. */
const checkReplay = <C, Ev, S>(kind: AggregateKind, d: Decider<C, Ev, S>, commands: C[]) => {
  const live = runAll(d, commands);
  assert.equal(fold(d, live.events), live.state, 'replay rebuilds the live state');
  const codec = eventCodecs[kind];
  live.events.forEach((ev, i) => {
    const stored = JSON.parse(JSON.stringify(ev)) as { type: string; data: unknown };
    const decoded = codec.decode(stored);
    if (E.isLeft(decoded)) throw new Error(`event ${i} (${stored.type}) does not decode after JSON`);
    assert.equal(decoded.right, ev);
    const viaStore = decodeStoredEvent({ streamId: streamId(kind, 'x'), revision: BigInt(i), type: stored.type, data: stored.data });
    if (E.isLeft(viaStore)) throw viaStore.left;
    assert.equal(viaStore.right, ev);
  });
  // replaying from the JSON form gives the same state too (what a restarted process sees)
  const fromJson = JSON.parse(JSON.stringify(live.events)) as Ev[];
  assert.equal(fold(d, fromJson), live.state);
  return live;
};

test('node: replay of random command sequences rebuilds the live state', () => {
  let productive = 0;
  fc.assert(
    fc.property(guidedNodeCommands, (commands) => {
      const live = checkReplay('node', nodeDecider, commands);
      if (live.events.length > 5) productive++;
      // every node event decodes: no clear secret ever reached one
      for (const ev of live.events) assert.ok(E.isRight(NodeEventC.decode(JSON.parse(JSON.stringify(ev)))));
      // §4.1: the target is null exactly in stable states
      const s = live.state as NodeState;
      if (s.status === 'present') assert.is(s.node.target_provision_state === null, isStable(s.node.provision_state), `${s.node.provision_state} / ${s.node.target_provision_state}`);
    }),
    { numRuns: RUNS },
  );
  assert.ok(productive > RUNS / 3, `sequences actually exercised the decider (${productive} of ${RUNS})`);
});

test('node: random walks reach many provision states', () => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(guidedNodeCommands, (cs) => {
      const live = runAll(nodeDecider, cs);
      for (const ev of live.events) if (ev.type === 'ProvisionStateChanged') seen.add(ev.data.to);
    }),
    { numRuns: RUNS },
  );
  assert.ok(seen.size >= 22, `reached ${[...seen].join(', ')}`);
});

const P = 'port-0000-0000-0000-000000000001';
const portCommandArb: fc.Arbitrary<PortCommand> = atArb.chain((at) => {
  const u = { uuid: P, at };
  const mac = fc.constantFrom('52:54:00:AA:BB:CC', '52:54:00:aa:bb:01', 'not-a-mac');
  return fc.oneof(
    fc.record({ address: mac, node_uuid: fc.constantFrom('n1', 'n2'), pxe_enabled: fc.boolean() }, { requiredKeys: ['address', 'node_uuid'] }).map((fields): PortCommand => ({ type: 'CreatePort', data: { ...u, fields } })),
    fc
      .record(
        {
          address: mac,
          extra: fc.dictionary(fc.constantFrom('k'), fc.string(), { noNullPrototype: true }),
          pxe_enabled: fc.boolean(),
          physical_network: fc.option(fc.constantFrom('physnet1', ''), { nil: null }),
          is_smartnic: fc.boolean(),
          local_link_connection: fc.constantFrom({}, { port_id: 'Eth1', hostname: 'h' }, { bogus: 1 }),
          portgroup_uuid: fc.option(fc.constant('pg1'), { nil: null }),
        },
        { requiredKeys: [] },
      )
      .map((changes): PortCommand => ({ type: 'UpdatePort', data: { ...u, changes } })),
    fc.record({ set: fc.dictionary(fc.constantFrom('tenant_vif_port_id', 'x'), fc.string(), { noNullPrototype: true }), unset: fc.subarray(['tenant_vif_port_id', 'x']) }).map((r): PortCommand => ({ type: 'UpdatePortInternalInfo', data: { ...u, ...r } })),
    fc.constant<PortCommand>({ type: 'DeletePort', data: u }),
  );
});

test('port: replay rebuilds the live state; MACs stored lowercase', () => {
  fc.assert(
    fc.property(fc.array(portCommandArb, { minLength: 1, maxLength: 40 }), (commands) => {
      const live = checkReplay('port', portDecider, commands);
      if (live.state.status === 'present') assert.is(live.state.doc.address, live.state.doc.address.toLowerCase());
    }),
    { numRuns: RUNS },
  );
});

const A = 'alloc-000-0000-0000-000000000001';
const allocationCommandArb: fc.Arbitrary<AllocationCommand> = atArb.chain((at) => {
  const u = { uuid: A, at };
  return fc.oneof(
    fc.record({ resource_class: fc.option(fc.constant('baremetal'), { nil: null }), traits: fc.subarray(['CUSTOM_A']), name: fc.option(fc.constant('a1'), { nil: null }) }, { requiredKeys: [] })
      .map((fields): AllocationCommand => ({ type: 'CreateAllocation', data: { ...u, fields } })),
    fc.record({ name: fc.option(fc.constantFrom('a1', 'a2'), { nil: null }), extra: fc.dictionary(fc.constantFrom('k'), fc.integer(), { noNullPrototype: true }) }, { requiredKeys: [] })
      .map((changes): AllocationCommand => ({ type: 'UpdateAllocation', data: { ...u, changes } })),
    fc.constantFrom('n1', 'n2').map((node_uuid): AllocationCommand => ({ type: 'CompleteAllocation', data: { ...u, node_uuid } })),
    fc.constantFrom('no nodes', 'boom').map((last_error): AllocationCommand => ({ type: 'FailAllocation', data: { ...u, last_error } })),
    fc.constant<AllocationCommand>({ type: 'DeleteAllocation', data: u }),
  );
});

test('allocation: replay rebuilds the live state; state machine allocating → active | error', () => {
  fc.assert(
    fc.property(fc.array(allocationCommandArb, { minLength: 1, maxLength: 40 }), (commands) => {
      const live = checkReplay('allocation', allocationDecider, commands);
      if (live.state.status === 'present' && live.state.doc.state === 'active') assert.ok(live.state.doc.node_uuid !== null);
    }),
    { numRuns: RUNS },
  );
});

test('chassis: replay rebuilds the live state', () => {
  const C = 'chassis-0000-0000-0000-00000001';
  const arb: fc.Arbitrary<ChassisCommand> = atArb.chain((at) =>
    fc.oneof(
      fc.option(fc.string({ maxLength: 300 }), { nil: null }).map((description): ChassisCommand => ({ type: 'CreateChassis', data: { uuid: C, at, fields: { description } } })),
      fc.option(fc.string({ maxLength: 300 }), { nil: null }).map((description): ChassisCommand => ({ type: 'UpdateChassis', data: { uuid: C, at, changes: { description } } })),
      fc.constant<ChassisCommand>({ type: 'DeleteChassis', data: { uuid: C, at } }),
    ),
  );
  fc.assert(fc.property(fc.array(arb, { minLength: 1, maxLength: 30 }), (cs) => void checkReplay('chassis', chassisDecider, cs)), { numRuns: RUNS });
});

test('every kind has a decider and an event codec', () => {
  for (const k of Object.keys(deciders)) assert.ok(k in eventCodecs, k);
});

test.run();
