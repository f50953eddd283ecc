// The rebuild's in-place node fold (domain/node/evolve.ts: evolveNodeStateInPlace, used only by a
// bulk rebuild through Fold.evolveInPlace) gives exactly what the pure evolveNodeState gives: the
// same fields with the same values in the same key order (the stored document's text), over
// realistic node lives and over random events of every node event type (generated from the
// codecs) applied to realistic states. When it folds in place, the node keeps its existence and
// its name (what the history model compares between before and after).

import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NodeEventC, type NodeEvent } from '../../domain/node/events.ts';
import { evolveNodeState, evolveNodeStateInPlace, initialNodeState, type NodeState } from '../../domain/node/evolve.ts';
import { productionDomain } from '../../projections/domain.ts';
import { arbitraryOf, type CodecNode } from './codec-arbitrary.ts';
import { nodeLife, uuidFor } from './node-events.ts';

/** order-sensitive text of a value in which a key holding undefined differs from a missing key */
const canon = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (x === undefined ? '\u0000undefined' : x));

/** an event as the store gives it back (JSON round trip) */
const stored = (e: unknown): NodeEvent => JSON.parse(JSON.stringify(e)) as NodeEvent;

const lives = [
  { uuid: uuidFor(0x1e, 1), name: 'a', start: Date.UTC(2024, 0, 1), conductor: 'c1' },
  { uuid: uuidFor(0x1e, 2), name: 'b', start: Date.UTC(2024, 1, 1), conductor: 'c2', owner: 'p1', shard: 's1' },
  { uuid: uuidFor(0x1e, 3), name: 'c', start: Date.UTC(2024, 2, 1), conductor: 'c3', resourceClass: 'gpu', conductorGroup: 'g1' },
].map((spec) => [...nodeLife(spec, 400)].map((e) => stored(e.event)));

/** Folds a life both ways, comparing after every event; returns every pure state along it. */
const foldBoth = (events: readonly NodeEvent[], from: NodeState = initialNodeState()): NodeState[] => {
  let pure = from;
  let inPlace: NodeState = structuredClone(from);
  const states: NodeState[] = [];
  for (const [i, e] of events.entries()) {
    const before = inPlace;
    const status = before.status;
    const name = before.status === 'present' ? before.node.name : undefined;
    pure = evolveNodeState(pure, e);
    inPlace = evolveNodeStateInPlace(inPlace, e);
    assert.is(canon(inPlace), canon(pure), `event ${i} (${e.type})`);
    if (inPlace === before) {
      assert.is(inPlace.status, status, `${e.type} folded in place keeps the node's existence`);
      assert.is(inPlace.status === 'present' ? inPlace.node.name : undefined, name, `${e.type} folded in place keeps the name`);
    }
    states.push(pure);
  }
  return states;
};

test('realistic node lives: the in-place fold equals the pure one after every event', () => {
  let inPlaceTypes = 0;
  for (const life of lives) {
    foldBoth(life);
    inPlaceTypes = Math.max(inPlaceTypes, new Set(life.map((e) => e.type)).size);
  }
  assert.ok(inPlaceTypes >= 15, 'the lives cover most event types');
});

test('the pure evolve is untouched by the in-place one (it copies, it never mutates its input)', () => {
  let s: NodeState = initialNodeState();
  for (const e of lives[0]) {
    const frozen = canon(s);
    const next = evolveNodeState(s, e);
    assert.is(canon(s), frozen, `${e.type} left the old state as it was`);
    s = next;
  }
});

// every node event, of every type, as the codecs allow (the decoded events evolve ever sees)
const events = (arbitraryOf(NodeEventC as unknown as CodecNode) as fc.Arbitrary<NodeEvent>).map(stored).filter((e) => NodeEventC.is(e));
const pureStates = (life: readonly NodeEvent[]): NodeState[] => {
  let s: NodeState = initialNodeState();
  return life.map((e) => (s = evolveNodeState(s, e)));
};
const realisticStates = lives.flatMap(pureStates).filter((_, i) => i % 7 === 0);

test('random events of every type on realistic states: equal results', () => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(fc.constantFrom(...realisticStates), fc.array(events, { minLength: 1, maxLength: 6 }), (state, evs) => {
      for (const e of evs) seen.add(e.type);
      foldBoth(evs, state);
    }),
    { numRuns: 1500, seed: 42 },
  );
  assert.ok(seen.size >= 30, `${seen.size} event types generated`);
});

test('random events on absent and deleted nodes: equal results', () => {
  const deleted = evolveNodeState(realisticStates[3], stored({ type: 'NodeDeleted', data: { uuid: uuidFor(0x1e, 1), at: 't' } }));
  assert.is(deleted.status, 'deleted');
  fc.assert(
    fc.property(fc.constantFrom(initialNodeState(), deleted), fc.array(events, { minLength: 1, maxLength: 4 }), (state, evs) => {
      foldBoth(evs, state);
    }),
    { numRuns: 300, seed: 43 },
  );
});

test('the rebuild uses the in-place fold for nodes only, and the pure one otherwise', () => {
  assert.is(productionDomain.foldFor('node')?.evolveInPlace, evolveNodeStateInPlace as unknown);
  assert.is(productionDomain.foldFor('node')?.evolve, evolveNodeState as unknown);
  for (const kind of ['port', 'portgroup', 'chassis', 'allocation', 'membership'] as const) assert.is(productionDomain.foldFor(kind)?.evolveInPlace, undefined, kind);
});

test.run();
