// The API's owner lookups over NATS (api/nats-conductors.ts) are cached per node and membership
// state: hashing a uuid onto the ring once per node, not once per render. Any membership change
// (a new state object) must show in the very next lookup.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MembershipView } from '../../conductor/membership-view.ts';
import type { NodeRouter } from '../../conductor/routing.ts';
import type { Allocator } from '../../api/allocator.ts';
import { natsConductors } from '../../api/nats-conductors.ts';

test('owners are looked up once per node and membership state, and a new state is seen at once', () => {
  let state = { members: {} };
  let owner = 'c-1';
  const asked: string[] = [];
  const view = {
    get state() {
      return state;
    },
    ownerOf: (n: { uuid: string; group: string; driver: string }) => {
      asked.push(`${n.uuid}/${n.group}/${n.driver}`);
      return n.driver === 'none' ? undefined : owner;
    },
  } as unknown as MembershipView;
  const c = natsConductors({ view, router: {} as NodeRouter, allocator: {} as Allocator });
  const a = { uuid: 'a', group: '', driver: 'fake-hardware' };
  const b = { uuid: 'b', group: 'rack', driver: 'fake-hardware' };
  assert.is(c.ownerOf(a), 'c-1');
  assert.is(c.ownerOf(a), 'c-1');
  assert.is(c.ownerOf(b), 'c-1');
  assert.is(c.ownerOf({ uuid: 'c', group: '', driver: 'none' }), null, 'no owner is null (and cached as such)');
  assert.is(c.ownerOf({ uuid: 'c', group: '', driver: 'none' }), null);
  assert.equal(asked, ['a//fake-hardware', 'b/rack/fake-hardware', 'c//none'], 'one ring lookup per node');
  owner = 'c-2';
  assert.is(c.ownerOf(a), 'c-1', 'the same membership state: the cached owner');
  assert.is(c.ownerOf({ ...a, driver: 'other' }), 'c-2', 'a node whose driver changed: looked up again');
  assert.is(asked.length, 4);
  state = { members: {} };
  assert.is(c.ownerOf(b), 'c-2', 'a new membership state: looked up again');
  assert.is(asked.length, 5);
});

test('the served hardware types are computed once per membership state', () => {
  const member = (hostname: string, types: string[]) => ({ hostname, group: '', hardwareTypes: types, interfaces: {} });
  let state: { members: Record<string, unknown> } = { members: { a: member('a', ['fake-hardware']) } };
  const view = { get state() { return state; } } as unknown as MembershipView;
  const c = natsConductors({ view, router: {} as NodeRouter, allocator: {} as Allocator });
  const first = c.hardwareTypes();
  assert.equal([...first.keys()], ['fake-hardware']);
  assert.is(c.hardwareTypes(), first, 'the same state: the same answer, not recomputed');
  state = { members: { a: member('a', ['fake-hardware']), b: member('b', ['ipmi', 'fake-hardware']) } };
  const second = c.hardwareTypes();
  assert.equal([...second.keys()].sort(), ['fake-hardware', 'ipmi']);
  assert.equal(second.get('fake-hardware')!.hosts, ['a', 'b']);
  state = { members: {} };
  assert.is(c.hardwareTypes().size, 0, 'no conductor: none (the 503 case)');
});

test.run();
