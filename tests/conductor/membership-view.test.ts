// The membership view's ring lookups (conductor/membership-view.ts): rings are kept while the
// members that shape them are the same, and rebuilt, with the owners moving as tooz's ring
// says, as soon as a member joins, leaves or changes what it serves.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { MembershipView } from '../../conductor/membership-view.ts';
import { appendMembership } from '../../conductor/membership-log.ts';
import { buildRings, ownerOfNode } from '../../conductor/hash-ring.ts';
import { liveMembers, type MembershipCommand, type NodePlacement } from '../../domain/conductor/index.ts';
import { openEventStore } from '../../eventstore/open.ts';
import type { EventStore } from '../../eventstore/port.ts';

let dataDir: string;
let store: EventStore;
let view: MembershipView;

const nodes: NodePlacement[] = Array.from({ length: 300 }, (_, i) => ({ uuid: randomUUID(), group: i % 5 === 0 ? 'rack-b' : '', driver: 'fake-hardware' }));

const run = async (command: MembershipCommand): Promise<void> => {
  const r = await appendMembership({ store, view, actorHost: 'test' }, command);
  assert.ok(E.isRight(r), E.isLeft(r) ? r.left.message : '');
};

const register = (hostname: string, group = '', hardwareTypes = ['fake-hardware']): Promise<void> =>
  run({ type: 'RegisterConductor', hostname, incarnation: randomUUID(), group, hardwareTypes, interfaces: {} });

/** every lookup of the view agrees with a ring built from scratch for the membership now */
const assertOwnersFresh = (): void => {
  const members = liveMembers(view.state);
  const fresh = buildRings(members, view.partitionExponent);
  for (const n of nodes) {
    const want = ownerOfNode(fresh, n);
    assert.is(view.ownerOf(n), want);
    // the fencing check's lookup, handed a members array of its own (as checkOwnership does)
    assert.is(view.ownerLookup(liveMembers(view.state), n), want);
    assert.is(view.ownerLookup([...members], n), want);
  }
};

test.before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ironlog-membership-view-'));
  store = await openEventStore({ dataDir });
  view = new MembershipView({ store, partitionExponent: 5 });
  await view.start();
});

test.after(async () => {
  view.stop();
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('the rings are kept while the membership does not change', async () => {
  await register('c1');
  await register('c2');
  const rings = view.rings();
  assert.is(view.rings(), rings);
  await view.refresh();
  assert.is(view.rings(), rings, 'a refresh that reads nothing new keeps them');
  assertOwnersFresh();
  assert.is(view.rings(), rings);
});

test('a join, a group, a re-registration with other hardware types and a departure each move owners', async () => {
  const before = new Map(nodes.map((n) => [n.uuid, view.ownerOf(n)]));
  await register('c3');
  assertOwnersFresh();
  assert.ok(nodes.some((n) => view.ownerOf(n) === 'c3' && before.get(n.uuid) !== 'c3'), 'c3 took some nodes');

  await register('c4', 'rack-b');
  assertOwnersFresh();
  assert.ok(nodes.every((n) => (n.group === 'rack-b') === (view.ownerOf(n) === 'c4')));

  // same hostname, new run, serving nothing of these nodes: its nodes move to the others
  await register('c3', '', ['ipmi']);
  assertOwnersFresh();
  assert.ok(nodes.every((n) => view.ownerOf(n) !== 'c3'));

  const c2 = view.state.members.c2!;
  await run({ type: 'LeaveConductor', hostname: 'c2', incarnation: c2.incarnation });
  assertOwnersFresh();
  assert.ok(nodes.every((n) => view.ownerOf(n) !== 'c2'));
});

test.run();
