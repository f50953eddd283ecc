// The compiled type guards (projections/guards.ts) accept and refuse exactly what the io-ts codecs
// accept and refuse, for every event codec of the domain, over valid events generated from the
// codecs' own structure, realistic node events, and both of those mutated at a random place.
// Whatever a guard accepts, the codec decodes to the very same value (the rebuild's decode fast
// path hands the guarded value on as the decoded event), and the projector's decoder answers
// exactly as the domain's decodeStoredEvent.

import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeStoredEvent, eventCodecs, type AggregateKind } from '../../domain/index.ts';
import { membershipStream } from '../../domain/streams.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { decodeForProjection } from '../../projections/domain.ts';
import { compileGuard } from '../../projections/guards.ts';
import { arbitraryOf, json, sealed, type CodecNode } from './codec-arbitrary.ts';
import { nodeLife, uuidFor } from './node-events.ts';

/** every object/array inside a value, with the value itself: where a mutation can happen */
const containers = (v: unknown, out: (Record<string, unknown> | unknown[])[] = []): (Record<string, unknown> | unknown[])[] => {
  if (typeof v === 'object' && v !== null) {
    out.push(v as Record<string, unknown>);
    for (const x of Object.values(v)) containers(x, out);
  }
  return out;
};

type Mutation = { kind: 'delete' | 'set' | 'undefined' | 'add' | 'wrap'; at: number; key: number; value: unknown };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('delete', 'set', 'undefined', 'add', 'wrap'),
  at: fc.nat(),
  key: fc.nat(),
  value: fc.oneof(json, sealed, fc.constant(undefined)),
});

/** the value changed at one place (a structured copy: the original is kept) */
const mutate = (original: unknown, m: Mutation): unknown => {
  const v = structuredClone(original);
  const all = containers(v);
  if (all.length === 0) return m.value;
  const target = all[m.at % all.length] as Record<string, unknown>;
  const keys = Object.keys(target);
  const key = keys.length > 0 ? keys[m.key % keys.length] : 'k';
  switch (m.kind) {
    case 'delete':
      delete target[key];
      break;
    case 'set':
      target[key] = m.value;
      break;
    case 'undefined':
      target[key] = undefined;
      break;
    case 'add':
      target[Array.isArray(target) ? String(keys.length) : `extra${m.key % 3}`] = m.value;
      break;
    case 'wrap':
      target[key] = [target[key]];
      break;
  }
  return v;
};

const codecs: { kind: AggregateKind; type: string; codec: CodecNode }[] = (Object.entries(eventCodecs) as [AggregateKind, t.Mixed][]).flatMap(([kind, union]) =>
  ((union as unknown as CodecNode).types ?? [union as unknown as CodecNode]).map((codec) => ({
    kind,
    type: String(codec.props?.type?.value ?? codec.name),
    codec,
  })),
);

const streamOf = (kind: AggregateKind): string => (kind === 'conductor' ? membershipStream : `${kind}-${uuidFor(7, 7)}`);

const rec = (kind: AggregateKind, type: string, data: unknown): RecordedEvent => ({
  streamId: streamOf(kind),
  revision: 3n,
  position: 4n,
  id: 'e',
  type,
  data,
  metadata: { correlationId: 'c', causationId: 'c', actor: 'a', timestamp: 't' },
  created: new Date(0),
});

/**
 * The guard and the codec agree on the value itself (undefined members, sparse arrays and all),
 * and on the value as stored (a JSON round trip, as the data column gives it back): there, what the
 * guard accepts decodes to itself, and both stored-event decoders answer alike.
 */
const agree = (kind: AggregateKind, type: string, codec: CodecNode, guard: (u: unknown) => boolean, value: unknown): boolean => {
  assert.is(guard(value), codec.is(value), `${type}: compiled guard and io-ts disagree on ${JSON.stringify(value)}`);
  const text = JSON.stringify(value);
  const u: unknown = text === undefined ? undefined : JSON.parse(text);
  const accepted = guard(u);
  assert.is(accepted, codec.is(u), `${type}: compiled guard and io-ts disagree on ${text}`);
  if (accepted) {
    const d = (codec as unknown as t.Mixed).decode(u);
    assert.ok(E.isRight(d), `${type}: accepted but not decodable: ${text}`);
    if (E.isRight(d)) assert.equal(d.right, u);
  }
  const data = typeof u === 'object' && u !== null && 'data' in u ? (u as { data: unknown }).data : u;
  const fast = decodeForProjection(rec(kind, type, data));
  const slow = decodeStoredEvent(rec(kind, type, data));
  assert.is(fast.ok, E.isRight(slow), `${type}: projector decoder and domain decoder disagree on ${JSON.stringify(data)}`);
  if (fast.ok && E.isRight(slow)) assert.equal(fast.event, slow.right);
  if (!fast.ok && E.isLeft(slow)) assert.is(fast.reason, slow.left.reason);
  return accepted;
};

test('every event codec: generated events and mutated ones get the same answer from guard and codec', () => {
  assert.ok(codecs.length >= 40, `${codecs.length} event codecs`);
  let bothAnswers = 0;
  for (const { kind, type, codec } of codecs) {
    const guard = compileGuard(codec as unknown as t.Mixed);
    let yes = 0;
    let no = 0;
    fc.assert(
      fc.property(arbitraryOf(codec), mutation, (valid, m) => {
        if (agree(kind, type, codec, guard, valid)) yes++;
        else no++;
        if (agree(kind, type, codec, guard, mutate(valid, m))) yes++;
        else no++;
      }),
      { numRuns: 60, seed: 20261126 },
    );
    if (yes > 0 && no > 0) bothAnswers++;
  }
  // the generators are not vacuous: nearly every codec was seen both accepting and refusing
  assert.ok(bothAnswers >= codecs.length * 0.9, `${bothAnswers} of ${codecs.length} codecs saw both answers`);
});

test('realistic node events, as stored and mutated at a random place', () => {
  const life = [...nodeLife({ uuid: uuidFor(0x9a, 1), name: 'n1', start: Date.UTC(2024, 0, 1), conductor: 'c1', shard: 's1' }, 160)].map(
    (e) => JSON.parse(JSON.stringify(e.event)) as { type: string; data: unknown },
  );
  const byType = new Map(codecs.filter((c) => c.kind === 'node').map((c) => [c.type, c]));
  const guards = new Map([...byType].map(([k, c]) => [k, compileGuard(c.codec as unknown as t.Mixed)]));
  for (const e of life) assert.ok(agree('node', e.type, byType.get(e.type)!.codec, guards.get(e.type)!, e), `${e.type} as stored is accepted`);
  let refused = 0;
  fc.assert(
    fc.property(fc.constantFrom(...life), mutation, (e, m) => {
      const c = byType.get(e.type)!;
      if (!agree('node', e.type, c.codec, guards.get(e.type)!, mutate(e, m))) refused++;
    }),
    { numRuns: 600, seed: 7 },
  );
  assert.ok(refused > 50, `mutations are refused too (${refused})`);
});

test('a union compiles to the same answers as its own is', () => {
  for (const [kind, union] of Object.entries(eventCodecs) as [AggregateKind, t.Mixed][]) {
    const guard = compileGuard(union);
    fc.assert(
      fc.property(arbitraryOf(union as unknown as CodecNode), mutation, (valid, m) => {
        assert.is(guard(valid), union.is(valid), kind);
        const bad = mutate(valid, m);
        assert.is(guard(bad), union.is(bad), kind);
      }),
      { numRuns: 100, seed: 3 },
    );
  }
});

test.run();
