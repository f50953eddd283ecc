import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { fold } from '../../domain/decider.ts';
import {
  membershipDecider,
  membershipAt,
  ringAt,
  liveMembers,
  checkOwnership,
  resolveOwner,
  MembershipEvent,
  type MembershipCommand,
  type Membership,
  type OwnerLookup,
} from '../../domain/conductor/index.ts';
import { buildRings, ownerOfNode } from '../../conductor/hash-ring.ts';

const ownerOf: OwnerLookup = (members, node) => ownerOfNode(buildRings(members), node);

const reg = (hostname: string, incarnation: string, group = '', hardwareTypes = ['fake-hardware']): MembershipCommand => ({
  type: 'RegisterConductor',
  hostname,
  incarnation,
  group,
  hardwareTypes,
  interfaces: { 'fake-hardware': { power: { enabled: ['fake'], default: 'fake' } } },
});

/** decide then evolve, accumulating the log as the shell would */
const run = (commands: MembershipCommand[]): { state: Membership; log: MembershipEvent[] } => {
  let state = membershipDecider.initialState();
  const log: MembershipEvent[] = [];
  for (const c of commands) {
    const r = membershipDecider.decide(c, state);
    if (E.isLeft(r)) throw new Error(r.left.message);
    for (const e of r.right) {
      state = membershipDecider.evolve(state, e);
      log.push(e);
    }
  }
  return { state, log };
};

test('registration, loss and leave each bump the epoch by one', () => {
  const { state, log } = run([
    reg('c1', 'i1'),
    reg('c2', 'i2'),
    reg('c3', 'i3'),
    { type: 'DeclareConductorLost', hostname: 'c2', incarnation: 'i2', declaredBy: 'c1', silentForMs: 3100 },
    { type: 'LeaveConductor', hostname: 'c3', incarnation: 'i3' },
  ]);
  assert.equal(log.map((e) => [e.type, e.data.epoch]), [
    ['ConductorRegistered', 1],
    ['ConductorRegistered', 2],
    ['ConductorRegistered', 3],
    ['ConductorLost', 4],
    ['ConductorLeft', 5],
  ]);
  assert.is(state.epoch, 5);
  assert.equal(liveMembers(state).map((m) => m.hostname), ['c1']);
  assert.is(state.departed.c2.reason, 'lost');
  assert.is(state.departed.c3.reason, 'left');
  for (const e of log) assert.ok(E.isRight(MembershipEvent.decode(JSON.parse(JSON.stringify(e)))), 'events round-trip through their codec');
});

test('decisions are idempotent: a second loss, a stale loss, a repeated registration decide nothing', () => {
  const { state } = run([reg('c1', 'i1'), reg('c2', 'i2'), { type: 'DeclareConductorLost', hostname: 'c2', incarnation: 'i2', declaredBy: 'c1', silentForMs: 3000 }]);
  const again = membershipDecider.decide({ type: 'DeclareConductorLost', hostname: 'c2', incarnation: 'i2', declaredBy: 'c1', silentForMs: 3000 }, state);
  assert.equal(again, E.right([]));
  assert.equal(membershipDecider.decide(reg('c1', 'i1'), state), E.right([]));
  // c2 comes back as a new run; a loss decided about its old run is stale and ignored
  const back = fold(membershipDecider, [], state);
  const rejoined = run([reg('c1', 'i1'), reg('c2', 'i2'), { type: 'DeclareConductorLost', hostname: 'c2', incarnation: 'i2', declaredBy: 'c1', silentForMs: 3000 }, reg('c2', 'i2b')]).state;
  assert.is(back.epoch, 3);
  assert.equal(
    membershipDecider.decide({ type: 'DeclareConductorLost', hostname: 'c2', incarnation: 'i2', declaredBy: 'c1', silentForMs: 9000 }, rejoined),
    E.right([]),
  );
  assert.is(rejoined.members.c2.incarnation, 'i2b');
  assert.is(rejoined.departed.c2, undefined);
});

test('a restart before being declared lost replaces the old run (Ironic: take the row over)', () => {
  const { state, log } = run([reg('c1', 'i1'), reg('c1', 'i1b')]);
  assert.is(log[1].type, 'ConductorRegistered');
  assert.is(log[1].type === 'ConductorRegistered' && log[1].data.replaces, 'i1');
  assert.is(state.members.c1.incarnation, 'i1b');
});

test('invalid registrations and self-declared loss are refused', () => {
  const empty = membershipDecider.initialState();
  const noHw = membershipDecider.decide(reg('c1', 'i1', '', []), empty);
  assert.ok(E.isLeft(noHw) && noHw.left.errorClass === 'InvalidParameterValue');
  const noHost = membershipDecider.decide(reg(' ', 'i1'), empty);
  assert.ok(E.isLeft(noHost));
  const { state } = run([reg('c1', 'i1')]);
  const self = membershipDecider.decide({ type: 'DeclareConductorLost', hostname: 'c1', incarnation: 'i1', declaredBy: 'c1', silentForMs: 1 }, state);
  assert.ok(E.isLeft(self));
});

test('groups are lowercased, hardware types sorted and unique', () => {
  const { state } = run([reg('c1', 'i1', 'RackA', ['ipmi', 'fake-hardware', 'ipmi'])]);
  assert.is(state.members.c1.group, 'racka');
  assert.equal(state.members.c1.hardwareTypes, ['fake-hardware', 'ipmi']);
});

test('ringAt recomputes the membership in force at any epoch of the log', () => {
  const { log } = run([
    reg('c1', 'i1'),
    reg('c2', 'i2'),
    reg('c3', 'i3'),
    { type: 'DeclareConductorLost', hostname: 'c2', incarnation: 'i2', declaredBy: 'c3', silentForMs: 3000 },
    reg('c4', 'i4'),
  ]);
  const hosts = (epoch?: number) => liveMembers(ringAt(log, epoch)).map((m) => m.hostname);
  assert.equal(hosts(0), []);
  assert.equal(hosts(2), ['c1', 'c2']);
  assert.equal(hosts(3), ['c1', 'c2', 'c3']);
  assert.equal(hosts(4), ['c1', 'c3']);
  assert.equal(hosts(), ['c1', 'c3', 'c4']);
  assert.equal(membershipAt(log), ringAt(log));
  // the node owners at epoch 3 vs epoch 4: only c2's nodes moved
  const uuids = Array.from({ length: 100 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
  const at3 = ringAt(log, 3);
  const at4 = ringAt(log, 4);
  for (const uuid of uuids) {
    const node = { uuid, group: '', driver: 'fake-hardware' };
    const o3 = E.getOrElseW(() => undefined)(resolveOwner(at3, node, ownerOf))?.hostname;
    const o4 = E.getOrElseW(() => undefined)(resolveOwner(at4, node, ownerOf))?.hostname;
    if (o3 !== 'c2') assert.is(o4, o3);
    else assert.ok(o4 === 'c1' || o4 === 'c3');
  }
});

test('fencing: only the live run that the ring names may write a node', () => {
  const { state } = run([reg('c1', 'i1'), reg('c2', 'i2')]);
  const node = { uuid: '5a1b5a27-5bd4-4d5e-9c41-2a8f3a8e0c11', group: '', driver: 'fake-hardware' };
  const owner = ownerOf(liveMembers(state), node) as string;
  const other = owner === 'c1' ? 'c2' : 'c1';
  const inc = (h: string) => state.members[h].incarnation;
  const ok = checkOwnership(state, { hostname: owner, incarnation: inc(owner) }, node, ownerOf);
  assert.equal(ok, E.right({ hostname: owner, incarnation: inc(owner), epoch: 2 }));
  const wrongHost = checkOwnership(state, { hostname: other, incarnation: inc(other) }, node, ownerOf);
  assert.ok(E.isLeft(wrongHost) && wrongHost.left.errorClass === 'NotOwner' && wrongHost.left.status === 409);
  // the owner is declared lost: its writes are refused, and the survivor now owns the node
  const lost = membershipDecider.decide({ type: 'DeclareConductorLost', hostname: owner, incarnation: inc(owner), declaredBy: other, silentForMs: 3000 }, state);
  assert.ok(E.isRight(lost));
  const after = fold(membershipDecider, E.isRight(lost) ? lost.right : [], state);
  const fenced = checkOwnership(after, { hostname: owner, incarnation: inc(owner) }, node, ownerOf);
  assert.ok(E.isLeft(fenced) && fenced.left.errorClass === 'NotOwner' && /declared lost at ring epoch 3/.test(fenced.left.message));
  assert.ok(E.isRight(checkOwnership(after, { hostname: other, incarnation: inc(other) }, node, ownerOf)));
  // a stale run of a host that re-registered is fenced too
  const replaced = run([reg('c1', 'i1'), reg('c2', 'i2'), reg('c1', 'i1-new')]).state;
  const stale = checkOwnership(replaced, { hostname: 'c1', incarnation: 'i1' }, node, ownerOf);
  assert.ok(E.isLeft(stale) && /replaced by a newer run/.test(stale.left.message));
});

test('NoValidHost as Ironic words it when no live conductor serves the group and driver', () => {
  const { state } = run([reg('c1', 'i1', 'g0')]);
  const r = resolveOwner(state, { uuid: 'x', group: 'G1', driver: 'fake-hardware' }, ownerOf);
  assert.ok(E.isLeft(r));
  if (E.isLeft(r)) {
    assert.is(r.left.errorClass, 'NoValidHost');
    assert.is(r.left.status, 400);
    assert.is(r.left.message, 'No valid host was found. Reason: No conductor service registered which supports driver fake-hardware for conductor group "g1".');
  }
});

test.run();
