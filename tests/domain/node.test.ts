// Node decider rules (reference §2.2, §3.2, §4, §6.6), one behaviour per test.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { nodeDecider, type NodeCommand, type NodeEvent, type NodeState } from '../../domain/node/index.ts';
import { sealSecrets } from '../../domain/secrets.ts';
import { createSecretBox } from '../../secrets/secret-box.ts';
import { decided, rejected, runAll } from './helpers.ts';

const box = createSecretBox(randomBytes(32));
const U = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123';
const at = '2024-05-01T10:00:00.000Z';
const d = nodeDecider;

const create: NodeCommand = { type: 'CreateNode', data: { uuid: U, at, fields: { driver: 'fake-hardware', conductor_group: 'GroupA' } } };
const verb = (v: NodeCommand & { type: 'RequestProvisionAction' } extends { data: infer D } ? D extends { verb: infer V } ? V : never : never, extra = {}): NodeCommand =>
  ({ type: 'RequestProvisionAction', data: { uuid: U, at, verb: v, ...extra } }) as NodeCommand;
const fire = (event: string, extra = {}): NodeCommand => ({ type: 'ApplyProvisionEvent', data: { uuid: U, at, event, ...extra } }) as NodeCommand;
const node = (s: NodeState) => {
  if (s.status !== 'present') throw new Error(`node is ${s.status}`);
  return s.node;
};
const stateAfter = (commands: NodeCommand[]): NodeState => {
  const r = runAll(d, [create, ...commands]);
  if (r.errors.length > 0) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.state;
};
const available = (): NodeState => stateAfter([verb('manage'), fire('done'), verb('provide'), fire('done')]);
const active = (): NodeState => stateAfter([verb('manage'), fire('done'), verb('provide'), fire('done'), verb('active'), fire('done')]);

test('create: defaults, enroll, lowercased group, no clear secrets', () => {
  const [ev] = decided(d, create, d.initialState());
  assert.is(ev!.type, 'NodeCreated');
  const n = node(d.evolve(d.initialState(), ev!));
  assert.is(n.provision_state, 'enroll');
  assert.is(n.target_provision_state, null);
  assert.is(n.power_state, null);
  assert.is(n.conductor_group, 'groupa');
  assert.is(n.boot_interface, null);
  assert.equal(n.traits, []);
  assert.is(n.created_at, at);
  const old = decided(d, { type: 'CreateNode', data: { uuid: U, at, fields: { driver: 'x' }, initial_provision_state: 'available' } }, d.initialState());
  assert.is((old[0] as NodeEvent & { type: 'NodeCreated' }).data.node.provision_state, 'available');
  const e = rejected(d, { type: 'CreateNode', data: { uuid: U, at, fields: { driver: 'x', driver_info: { ipmi_password: 'clear' } } } }, d.initialState());
  assert.is(e.status, 400);
  assert.match(e.message, 'driver_info.ipmi_password');
  assert.not.match(e.message, 'clear');
});

test('create twice: 409 NodeAlreadyExists; unknown node: 404 NodeNotFound', () => {
  const s = stateAfter([]);
  assert.is(rejected(d, create, s).errorClass, 'NodeAlreadyExists');
  const e = rejected(d, verb('manage'), d.initialState());
  assert.is(e.status, 404);
  assert.is(e.message, `Node ${U} could not be found.`);
});

test('a verb not valid in the state: 400 with Ironic\'s exact message', () => {
  const e = rejected(d, verb('provide'), stateAfter([]));
  assert.is(e.errorClass, 'InvalidStateRequested');
  assert.is(e.status, 400);
  assert.is(e.message, `The requested action "provide" can not be performed on node "${U}" while it is in state "enroll".`);
  // conductor-only rows are not user verbs
  const cleaning = stateAfter([verb('manage'), fire('done'), verb('provide')]);
  assert.is(rejected(d, verb('manage'), cleaning).errorClass, 'InvalidStateRequested');
});

test('reserved node: an invalid verb is 409 NodeLocked, and so is a valid one', () => {
  const s = stateAfter([{ type: 'ReserveNode', data: { uuid: U, at, host: 'c1', ring_epoch: 3 } }]);
  const e = rejected(d, verb('provide'), s);
  assert.is(e.errorClass, 'NodeLocked');
  assert.is(e.status, 409);
  assert.is(e.message, `Node ${U} is locked by host c1, please retry after the current operation is completed.`);
  assert.is(rejected(d, verb('manage'), s).errorClass, 'NodeLocked');
});

test('manage: verifying with target manageable, last_error cleared; done → manageable, target null', () => {
  const s0 = stateAfter([]);
  const evs = decided(d, verb('manage'), s0);
  assert.equal(evs.map((e) => e.type), ['ProvisionActionRequested', 'ProvisionStateChanged']);
  const s1 = evs.reduce(d.evolve, s0);
  assert.is(node(s1).provision_state, 'verifying');
  assert.is(node(s1).target_provision_state, 'manageable');
  assert.is(node(s1).provision_updated_at, at);
  const s2 = decided(d, fire('done'), s1).reduce(d.evolve, s1);
  assert.is(node(s2).provision_state, 'manageable');
  assert.is(node(s2).target_provision_state, null);
  const failed = decided(d, fire('fail', { last_error: 'bad creds' }), s1).reduce(d.evolve, s1);
  assert.is(node(failed).provision_state, 'enroll');
  assert.is(node(failed).last_error, 'bad creds');
});

test('full deploy with the agent: targets along the way, steps cleared at the end', () => {
  let s = available();
  const path: [NodeCommand, string, string | null][] = [
    [verb('active', { configdrive: box.seal('{"user_data":"x"}') }), 'deploying', 'active'],
    [fire('wait'), 'wait call-back', 'active'],
    [{ type: 'StartStep', data: { uuid: U, at, kind: 'deploy', step: { interface: 'deploy', step: 'write_image', priority: 80 }, index: 1 } }, 'wait call-back', 'active'],
    [fire('resume'), 'deploying', 'active'],
    [fire('done'), 'active', null],
  ];
  for (const [c, st, tg] of path) {
    s = decided(d, c, s).reduce(d.evolve, s);
    assert.is(node(s).provision_state, st);
    assert.is(node(s).target_provision_state, tg);
  }
  assert.equal(node(s).deploy_step, {});
});

test('maintenance refuses active/deploy/rebuild (NodeInMaintenance) but not provide', () => {
  const s = stateAfter([verb('manage'), fire('done'), verb('provide'), fire('done'), { type: 'SetMaintenance', data: { uuid: U, at, reason: 'r' } }]);
  const e = rejected(d, verb('active'), s);
  assert.is(e.errorClass, 'NodeInMaintenance');
  assert.is(e.status, 400);
  assert.is(e.message, `The provisioning operation can't be performed on node ${U} because it's in maintenance mode.`);
  assert.is(rejected(d, verb('deploy'), s).errorClass, 'NodeInMaintenance');
  const m = stateAfter([verb('manage'), fire('done'), { type: 'SetMaintenance', data: { uuid: U, at } }]);
  assert.is(decided(d, verb('provide'), m).length, 2);
});

test('protected: only in active/rescue (409), refuses rebuild/deleted/undeploy (403) and delete', () => {
  const avail = available();
  const protect: NodeCommand = { type: 'UpdateNode', data: { uuid: U, at, changes: { protected: true, protected_reason: 'prod' } } };
  assert.is(rejected(d, protect, avail).status, 409);
  let s = active();
  s = decided(d, protect, s).reduce(d.evolve, s);
  assert.ok(node(s).protected);
  for (const v of ['rebuild', 'deleted', 'undeploy'] as const) {
    const e = rejected(d, verb(v), s);
    assert.is(e.errorClass, 'NodeProtected');
    assert.is(e.status, 403);
  }
  assert.is(rejected(d, { type: 'DeleteNode', data: { uuid: U, at } }, s).status, 403);
  // unprotecting clears the reason
  const un = decided(d, { type: 'UpdateNode', data: { uuid: U, at, changes: { protected: false } } }, s).reduce(d.evolve, s);
  assert.is(node(un).protected_reason, null);
  assert.is(rejected(d, { type: 'UpdateNode', data: { uuid: U, at, changes: { protected_reason: 'x' } } }, un).status, 400);
});

test('retired nodes cannot provide', () => {
  const s = stateAfter([verb('manage'), fire('done'), { type: 'UpdateNode', data: { uuid: U, at, changes: { retired: true, retired_reason: 'old' } } }]);
  const e = rejected(d, verb('provide'), s);
  assert.is(e.errorClass, 'NodeIsRetired');
  assert.is(e.message, `The providing operation can't be performed on node ${U} because it is retired.`);
});

test('delete: allowed states, NodeAssociated, maintenance overrides, available by config', () => {
  assert.equal(decided(d, { type: 'DeleteNode', data: { uuid: U, at } }, stateAfter([])).map((e) => e.type), ['NodeDeleted']);
  assert.is(decided(d, { type: 'DeleteNode', data: { uuid: U, at } }, available()).length, 1);
  const e0 = rejected(d, { type: 'DeleteNode', data: { uuid: U, at, allow_deleting_available: false } }, available());
  assert.is(e0.errorClass, 'InvalidState');
  assert.match(e0.message, `Can not delete node "${U}" while it is in provision state "available"`);
  const act = active();
  assert.is(rejected(d, { type: 'DeleteNode', data: { uuid: U, at } }, act).status, 409);
  const withInstance = stateAfter([{ type: 'UpdateNode', data: { uuid: U, at, changes: { instance_uuid: 'inst-1' } } }]);
  const e1 = rejected(d, { type: 'DeleteNode', data: { uuid: U, at } }, withInstance);
  assert.is(e1.errorClass, 'NodeAssociated');
  assert.is(e1.message, `Node ${U} is associated with instance inst-1.`);
  const inMaint = decided(d, { type: 'SetMaintenance', data: { uuid: U, at } }, act).reduce(d.evolve, act);
  const gone = decided(d, { type: 'DeleteNode', data: { uuid: U, at } }, inMaint).reduce(d.evolve, inMaint);
  assert.is(gone.status, 'deleted');
  assert.is(rejected(d, verb('manage'), gone).errorClass, 'NodeNotFound');
  // the UUID may be enrolled again
  assert.is(decided(d, create, gone)[0]!.type, 'NodeCreated');
});

test('power: refused while cleaning (400); target set then cleared; failure sets last_error', () => {
  const cleaning = stateAfter([verb('manage'), fire('done'), verb('provide')]);
  const e = rejected(d, { type: 'RequestPowerState', data: { uuid: U, at, target: 'power on' } }, cleaning);
  assert.is(e.status, 400);
  assert.is(e.message, `The requested action "power on" can not be performed on node "${U}" while it is in state "cleaning".`);
  let s = stateAfter([]);
  s = decided(d, { type: 'RequestPowerState', data: { uuid: U, at, target: 'soft rebooting', timeout: 30 } }, s).reduce(d.evolve, s);
  assert.is(node(s).target_power_state, 'power on');
  const done = decided(d, { type: 'RecordPowerState', data: { uuid: U, at, power_state: 'power on' } }, s).reduce(d.evolve, s);
  assert.is(node(done).power_state, 'power on');
  assert.is(node(done).target_power_state, null);
  const failed = decided(d, { type: 'FailPowerState', data: { uuid: U, at, error: 'BMC said no' } }, s).reduce(d.evolve, s);
  assert.is(node(failed).target_power_state, null);
  assert.is(node(failed).last_error, 'BMC said no');
});

test('patch: 409 during a transition, allowed in UPDATE_ALLOWED states, inspecting depends on version', () => {
  const deploying = stateAfter([verb('manage'), fire('done'), verb('provide'), fire('done'), verb('active')]);
  const patch: NodeCommand = { type: 'UpdateNode', data: { uuid: U, at, changes: { extra: { a: 1 } } } };
  const e = rejected(d, patch, deploying);
  assert.is(e.status, 409);
  assert.is(e.message, `Node ${U} can not be updated while a state transition is in progress.`);
  const failed = decided(d, fire('fail', { last_error: 'x' }), deploying).reduce(d.evolve, deploying);
  assert.is(decided(d, patch, failed).length, 1);
  const inspecting = stateAfter([verb('manage'), fire('done'), verb('inspect')]);
  assert.is(rejected(d, patch, inspecting).status, 409);
  assert.is(decided(d, { ...patch, data: { ...patch.data, microversion: 38 } } as NodeCommand, inspecting).length, 1);
  // a node in maintenance may always drop its instance_uuid
  const m = decided(d, { type: 'SetMaintenance', data: { uuid: U, at } }, deploying).reduce(d.evolve, deploying);
  const withInst = { status: 'present' as const, node: { ...node(m), instance_uuid: 'i-1' } };
  assert.is(decided(d, { type: 'UpdateNode', data: { uuid: U, at, changes: { instance_uuid: null } } }, withInst).length, 1);
  // nothing changed, nothing recorded
  assert.equal(decided(d, { type: 'UpdateNode', data: { uuid: U, at, changes: { driver: 'fake-hardware' } } }, stateAfter([])), []);
});

test('patch: clear secrets are refused, sealed ones stored; maintenance=false clears reason and fault', () => {
  const s = stateAfter([]);
  assert.is(rejected(d, { type: 'UpdateNode', data: { uuid: U, at, changes: { driver_info: { ipmi_password: 'x' } } } }, s).status, 400);
  const sealed = sealSecrets({ ipmi_password: 'x', ipmi_address: '1.2.3.4' }, box);
  const s1 = decided(d, { type: 'UpdateNode', data: { uuid: U, at, changes: { driver_info: sealed } } }, s).reduce(d.evolve, s);
  assert.equal(node(s1).driver_info, sealed);
  const m = stateAfter([{ type: 'SetMaintenance', data: { uuid: U, at, reason: 'r', fault: 'power failure' } }]);
  assert.is(node(m).fault, 'power failure');
  const cleared = decided(d, { type: 'UpdateNode', data: { uuid: U, at, changes: { maintenance: false } } }, m).reduce(d.evolve, m);
  assert.is(node(cleared).maintenance_reason, null);
  assert.is(node(cleared).fault, null);
});

test('driver change refused while the console is enabled', () => {
  const s = stateAfter([{ type: 'SetConsoleMode', data: { uuid: U, at, enabled: true } }]);
  assert.is(rejected(d, { type: 'UpdateNode', data: { uuid: U, at, changes: { driver: 'ipmi' } } }, s).status, 409);
});

test('abort in clean wait: deferred when the step is not abortable, else clean failed', () => {
  const base = [verb('manage'), fire('done'), verb('clean', { clean_steps: [{ interface: 'deploy', step: 'erase_devices' }] }), fire('wait')];
  const step = (abortable: boolean): NodeCommand => ({
    type: 'StartStep',
    data: { uuid: U, at, kind: 'clean', step: { interface: 'deploy', step: 'erase_devices', abortable } as never, index: 0 },
  });
  const s1 = stateAfter([...base, step(false)]);
  const deferred = decided(d, verb('abort'), s1);
  assert.equal(deferred.map((e) => e.type), ['ProvisionActionRequested', 'CleanAbortDeferred']);
  const after = deferred.reduce(d.evolve, s1);
  assert.is(node(after).provision_state, 'clean wait');
  assert.is(node(after).clean_step.abort_after, true);
  const s2 = stateAfter([...base, step(true)]);
  const aborted = decided(d, verb('abort'), s2).reduce(d.evolve, s2);
  assert.is(node(aborted).provision_state, 'clean failed');
  assert.is(node(aborted).target_provision_state, 'manageable');
  assert.equal(node(aborted).clean_step, {});
});

test('clean and rescue need their body keys; keys only go with their verb', () => {
  const m = stateAfter([verb('manage'), fire('done')]);
  assert.match(rejected(d, verb('clean'), m).message, '"clean_steps" is required');
  assert.is(rejected(d, verb('provide', { configdrive: box.seal('x') }), m).status, 400);
  const act = active();
  assert.match(rejected(d, verb('rescue'), act).message, '"rescue_password" is required');
  const r = decided(d, verb('rescue', { rescue_password: box.seal('pw') }), act);
  assert.is(r.length, 2);
});

test('reservation fencing: other host → NodeLocked, stale epoch or no reservation → NotOwner', () => {
  const s = stateAfter([verb('manage'), { type: 'ReserveNode', data: { uuid: U, at, host: 'c1', ring_epoch: 5 } }]);
  assert.is(rejected(d, { type: 'ReserveNode', data: { uuid: U, at, host: 'c2', ring_epoch: 6 } }, s).errorClass, 'NodeLocked');
  assert.equal(decided(d, { type: 'ReserveNode', data: { uuid: U, at, host: 'c1', ring_epoch: 5 } }, s), []);
  assert.is(rejected(d, fire('done', { holder: { host: 'c2', ring_epoch: 6 } }), s).errorClass, 'NodeLocked');
  const stale = rejected(d, fire('done', { holder: { host: 'c1', ring_epoch: 4 } }), s);
  assert.is(stale.errorClass, 'NotOwner');
  assert.is(stale.status, 409);
  assert.is(rejected(d, fire('done'), s).errorClass, 'NodeLocked');
  const ok = decided(d, fire('done', { holder: { host: 'c1', ring_epoch: 5 } }), s).reduce(d.evolve, s);
  assert.is(node(ok).provision_state, 'manageable');
  assert.is(rejected(d, { type: 'ReleaseNode', data: { uuid: U, at, host: 'c2' } }, ok).errorClass, 'NodeLocked');
  const forced = decided(d, { type: 'ReleaseNode', data: { uuid: U, at, host: 'c2', force: true } }, ok);
  assert.equal(forced, [{ type: 'NodeReleased', data: { uuid: U, at, host: 'c1', forced: true } }]);
  const free = forced.reduce(d.evolve, ok);
  assert.is(node(free).reservation, null);
  assert.is(rejected(d, fire('done', { holder: { host: 'c1', ring_epoch: 5 } }), free).errorClass, 'NotOwner');
});

test('traits: set dedupes, add is idempotent, remove of a missing trait is 404, at most 50', () => {
  let s = stateAfter([]);
  s = decided(d, { type: 'SetTraits', data: { uuid: U, at, traits: ['CUSTOM_A', 'CUSTOM_A', 'CUSTOM_B'] } }, s).reduce(d.evolve, s);
  assert.equal(node(s).traits, ['CUSTOM_A', 'CUSTOM_B']);
  assert.equal(decided(d, { type: 'AddTrait', data: { uuid: U, at, trait: 'CUSTOM_A' } }, s), []);
  const e = rejected(d, { type: 'RemoveTrait', data: { uuid: U, at, trait: 'CUSTOM_Z' } }, s);
  assert.is(e.status, 404);
  assert.is(e.message, `Node ${U} doesn't have a trait 'CUSTOM_Z'`);
  const many = Array.from({ length: 51 }, (_, i) => `CUSTOM_${i}`);
  assert.is(rejected(d, { type: 'SetTraits', data: { uuid: U, at, traits: many } }, s).status, 400);
});

test('vifs: attach twice is 409, detach of an unknown vif is 400', () => {
  let s = stateAfter([]);
  s = decided(d, { type: 'AttachVif', data: { uuid: U, at, vif: { id: 'v1', port_uuid: 'p1' } } }, s).reduce(d.evolve, s);
  assert.equal(node(s).vifs, [{ id: 'v1', port_uuid: 'p1' }]);
  assert.is(rejected(d, { type: 'AttachVif', data: { uuid: U, at, vif: { id: 'v1' } } }, s).errorClass, 'VifAlreadyAttached');
  assert.is(rejected(d, { type: 'DetachVif', data: { uuid: U, at, vif_id: 'v2' } }, s).errorClass, 'VifNotAttached');
  s = decided(d, { type: 'DetachVif', data: { uuid: U, at, vif_id: 'v1' } }, s).reduce(d.evolve, s);
  assert.equal(node(s).vifs, []);
});

test('agent: token sealed and issued once, heartbeat records url, url change refused, wipe clears', () => {
  let s = stateAfter([]);
  const tok = box.seal('t0k');
  s = decided(d, { type: 'IssueAgentToken', data: { uuid: U, at, token: tok } }, s).reduce(d.evolve, s);
  assert.equal(node(s).driver_internal_info.agent_secret_token, tok);
  assert.is(rejected(d, { type: 'IssueAgentToken', data: { uuid: U, at, token: box.seal('x') } }, s).status, 409);
  assert.is(rejected(d, { type: 'UpdateDriverInternalInfo', data: { uuid: U, at, set: { agent_secret_token: 'clear' }, unset: [] } }, s).status, 400);
  s = decided(d, { type: 'RecordAgentHeartbeat', data: { uuid: U, at, agent_url: 'http://10.0.0.5:9999', agent_version: '9.0' } }, s).reduce(d.evolve, s);
  assert.is(node(s).driver_internal_info.agent_url, 'http://10.0.0.5:9999');
  assert.is(rejected(d, { type: 'RecordAgentHeartbeat', data: { uuid: U, at, agent_url: 'http://10.0.0.6:9999' } }, s).status, 400);
  s = decided(d, { type: 'ClearAgentToken', data: { uuid: U, at } }, s).reduce(d.evolve, s);
  assert.is(node(s).driver_internal_info.agent_secret_token, undefined);
  assert.is(node(s).driver_internal_info.agent_url, undefined);
});

test('boot mode change refused in unstable states (409)', () => {
  const deploying = stateAfter([verb('manage'), fire('done'), verb('provide'), fire('done'), verb('active')]);
  assert.is(rejected(d, { type: 'RequestBootMode', data: { uuid: U, at, boot_mode: 'uefi' } }, deploying).status, 409);
  assert.is(decided(d, { type: 'RequestBootMode', data: { uuid: U, at, boot_mode: 'uefi' } }, available()).length, 1);
});

test('history entries are events and leave the node unchanged', () => {
  const s = stateAfter([]);
  const evs = decided(d, { type: 'RecordHistory', data: { uuid: U, at, entry: { uuid: 'h1', severity: 'ERROR', event: 'boom', event_type: 'deploying', conductor: 'c1', user: null } } }, s);
  assert.is(evs[0]!.type, 'NodeHistoryRecorded');
  assert.equal(evs.reduce(d.evolve, s), s);
});

test.run();
