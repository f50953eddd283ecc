// The pure takeover rules (domain/conductor/takeover.ts) against the real node decider: every plan
// is applied command by command, so a plan the node would refuse fails the test.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { nodeDecider, type Node, type NodeCommand, type NodeState, type NodeEvent } from '../../domain/node/index.ts';
import { needsTakeover, planTakeover, callbackTimedOut, ironicCallbackTimeouts, type TakeoverContext } from '../../domain/conductor/index.ts';

const uuid = '7d1c2a55-3a0e-4c1f-9a53-0d2f6e6b1e01';
const at = '2024-05-01T10:00:00.000Z';
const ghost = { host: 'ghost', ring_epoch: 2 };
const steps = [
  { interface: 'deploy', step: 'deploy', priority: 100 },
  { interface: 'deploy', step: 'write_image', priority: 80 },
  { interface: 'deploy', step: 'prepare_instance_boot', priority: 60 },
];

const apply = (state: NodeState, commands: NodeCommand[]): { state: NodeState; events: NodeEvent[] } => {
  const events: NodeEvent[] = [];
  for (const c of commands) {
    const r = nodeDecider.decide(c, state);
    if (E.isLeft(r)) throw new Error(`${c.type} refused: ${r.left.message}`);
    for (const e of r.right) {
      state = nodeDecider.evolve(state, e);
      events.push(e);
    }
  }
  return { state, events };
};
const nodeOf = (s: NodeState): Node => {
  if (s.status !== 'present') throw new Error('no node');
  return s.node;
};

const created = (): NodeState =>
  apply(nodeDecider.initialState(), [{ type: 'CreateNode', data: { uuid, at, fields: { driver: 'fake-hardware' }, initial_provision_state: 'available' } }]).state;

/** a deploy run by `ghost` that completed `done` steps and started the next one if `started` */
const deployingByGhost = (done: number, started: boolean): NodeState => {
  const cmds: NodeCommand[] = [
    { type: 'RequestProvisionAction', data: { uuid, at, verb: 'active' } },
    { type: 'ReserveNode', data: { uuid, at, ...ghost } },
    { type: 'UpdateNodeInternal', data: { uuid, at, changes: { conductor_affinity: 'ghost' }, holder: ghost } },
    { type: 'PlanSteps', data: { uuid, at, kind: 'deploy', steps, holder: ghost } },
  ];
  for (let i = 0; i < done; i++) {
    cmds.push({ type: 'StartStep', data: { uuid, at, kind: 'deploy', step: steps[i], index: i, holder: ghost } });
    cmds.push({ type: 'CompleteStep', data: { uuid, at, kind: 'deploy', holder: ghost } });
  }
  if (started) cmds.push({ type: 'StartStep', data: { uuid, at, kind: 'deploy', step: steps[done], index: done, holder: ghost } });
  return apply(created(), cmds).state;
};

const ctx = (over: Partial<TakeoverContext> = {}): TakeoverContext => ({
  host: 'c1',
  epoch: 5,
  joinedAt: 1,
  at: '2024-05-01T10:05:00.000Z',
  historyId: '00000000-0000-4000-8000-00000000aaaa',
  canResume: () => true,
  ...over,
});

test('a deploy with recorded steps is resumed from the first step not completed', () => {
  for (const [done, started, from] of [[0, false, 0], [1, false, 1], [1, true, 1], [2, true, 2]] as const) {
    const state = deployingByGhost(done, started);
    const plan = planTakeover(nodeOf(state), ctx());
    assert.equal(plan.action, { kind: 'resume', operation: 'deploy', fromStep: from }, `done=${done} started=${started}`);
    assert.ok(plan.keepsReservation);
    const after = nodeOf(apply(state, plan.commands).state);
    assert.is(after.reservation, 'c1');
    assert.is(after.reservation_epoch, 5);
    assert.is(after.conductor_affinity, 'c1');
    assert.is(after.provision_state, 'deploying');
  }
});

test('without a resumer the interrupted deploy fails as Ironic fails it, and the lock is released', () => {
  const state = deployingByGhost(1, true);
  const plan = planTakeover(nodeOf(state), ctx({ canResume: () => false }));
  assert.is(plan.action.kind, 'fail');
  const { state: s, events } = apply(state, plan.commands);
  const after = nodeOf(s);
  assert.is(after.provision_state, 'deploy failed');
  assert.is(after.target_provision_state, 'active');
  assert.is(after.last_error, "The deployment can't be resumed by conductor c1. Moving to fail state.");
  assert.is(after.reservation, null);
  assert.is(after.conductor_affinity, 'c1');
  const entries = events.flatMap((e) => (e.type === 'NodeHistoryRecorded' ? [e.data.entry] : []));
  assert.is(entries.length, 1);
  assert.is(entries[0].event_type, 'takeover');
  assert.is(entries[0].severity, 'ERROR');
  assert.match(entries[0].event, /took over node .* from ghost at ring epoch 5/);
  assert.ok(events.some((e) => e.type === 'NodeReleased' && e.data.forced === true), 'the lost conductor\'s lock was force-released');
});

test('other stuck states fail through the transition table (cleaning without steps -> clean failed)', () => {
  const state = apply(created(), [
    { type: 'RequestProvisionAction', data: { uuid, at, verb: 'manage' } },
    { type: 'RequestProvisionAction', data: { uuid, at, verb: 'provide' } },
    { type: 'ReserveNode', data: { uuid, at, ...ghost } },
  ]).state;
  assert.is(nodeOf(state).provision_state, 'cleaning');
  const plan = planTakeover(nodeOf(state), ctx());
  assert.is(plan.action.kind, 'fail', 'no planned clean steps: nothing to resume from');
  assert.is(nodeOf(apply(state, plan.commands).state).provision_state, 'clean failed');
});

test('wait states are carried over; a pending power operation is aborted', () => {
  const state = apply(deployingByGhost(1, false), [
    { type: 'ApplyProvisionEvent', data: { uuid, at, event: 'wait', holder: ghost } },
    { type: 'ReleaseNode', data: { uuid, at, host: 'ghost' } },
    { type: 'RequestPowerState', data: { uuid, at, target: 'power off' } },
    // ghost took the lock to run the power change, then died
    { type: 'ReserveNode', data: { uuid, at, ...ghost } },
  ]).state;
  const before = nodeOf(state);
  assert.is(before.provision_state, 'wait call-back');
  assert.ok(before.target_power_state !== null);
  const plan = planTakeover(before, ctx());
  assert.equal(plan.action, { kind: 'carry-wait', state: 'wait call-back', since: before.provision_updated_at });
  const after = nodeOf(apply(state, plan.commands).state);
  assert.is(after.provision_state, 'wait call-back');
  assert.is(after.provision_updated_at, before.provision_updated_at, 'the wait keeps its start time');
  assert.is(after.target_power_state, null);
  assert.is(after.last_error, 'Pending power operation was aborted due to conductor take over');
  assert.is(after.reservation, null);
});

test('maintenance: the lock is taken back, nothing is failed', () => {
  const state = apply(deployingByGhost(0, true), [{ type: 'SetMaintenance', data: { uuid, at, reason: 'hands off', holder: ghost } }]).state;
  const plan = planTakeover(nodeOf(state), ctx({ canResume: () => false }));
  assert.is(plan.action.kind, 'none');
  const after = nodeOf(apply(state, plan.commands).state);
  assert.is(after.provision_state, 'deploying');
  assert.is(after.reservation, null);
});

test('needsTakeover: only another run\'s reservation, or an active node cared for elsewhere', () => {
  const c = { host: 'c1', joinedAt: 4 };
  const ghosted = nodeOf(deployingByGhost(1, true));
  assert.ok(needsTakeover(ghosted, c, false));
  assert.not.ok(needsTakeover(ghosted, c, true), 'an operation already runs here');
  assert.not.ok(needsTakeover({ ...ghosted, reservation: 'c1', reservation_epoch: 4 }, c, false), 'held by this run');
  assert.ok(needsTakeover({ ...ghosted, reservation: 'c1', reservation_epoch: 3 }, c, false), 'held by this host\'s previous run');
  // a deploy the API just requested: unreserved and deploying, not an orphan
  assert.not.ok(needsTakeover({ ...ghosted, reservation: null, reservation_epoch: null }, c, false));
  const active = { ...ghosted, reservation: null, reservation_epoch: null, provision_state: 'active' as const };
  assert.ok(needsTakeover({ ...active, conductor_affinity: 'ghost' }, c, false));
  assert.not.ok(needsTakeover({ ...active, conductor_affinity: 'c1' }, c, false));
  assert.not.ok(needsTakeover({ ...active, conductor_affinity: null }, c, false));
});

test('an active node whose affinity is elsewhere: affinity and history only', () => {
  const state = apply(deployingByGhost(3, false), [
    { type: 'ApplyProvisionEvent', data: { uuid, at, event: 'done', holder: ghost } },
    { type: 'ReleaseNode', data: { uuid, at, host: 'ghost' } },
  ]).state;
  assert.is(nodeOf(state).provision_state, 'active');
  const plan = planTakeover(nodeOf(state), ctx());
  const after = nodeOf(apply(state, plan.commands).state);
  assert.is(after.provision_state, 'active');
  assert.is(after.conductor_affinity, 'c1');
  assert.is(after.reservation, null);
});

test('callback timeouts count from provision_updated_at in the log', () => {
  const state = apply(deployingByGhost(1, false), [
    { type: 'ApplyProvisionEvent', data: { uuid, at, event: 'wait', holder: ghost } },
    { type: 'ReleaseNode', data: { uuid, at, host: 'ghost' } },
  ]).state;
  const node = nodeOf(state);
  const t0 = Date.parse(at);
  assert.is(callbackTimedOut(node, t0 + 1799_000, ironicCallbackTimeouts), undefined);
  assert.is(callbackTimedOut(node, t0 + 1800_000, ironicCallbackTimeouts), `Timeout reached while waiting for callback for node ${uuid}`);
  assert.is(callbackTimedOut({ ...node, maintenance: true }, t0 + 9e9, ironicCallbackTimeouts), undefined);
  assert.is(callbackTimedOut({ ...node, reservation: 'x' }, t0 + 9e9, ironicCallbackTimeouts), undefined);
  assert.is(callbackTimedOut(node, t0 + 9e9, { ...ironicCallbackTimeouts, deployCallbackS: 0 }), undefined, '0 disables');
  const failed = nodeOf(
    apply(state, [
      { type: 'ReserveNode', data: { uuid, at, host: 'c1', ring_epoch: 5 } },
      { type: 'ApplyProvisionEvent', data: { uuid, at, event: 'fail', last_error: 'x', holder: { host: 'c1', ring_epoch: 5 } } },
    ]).state,
  );
  assert.is(failed.provision_state, 'deploy failed');
});

test.run();
