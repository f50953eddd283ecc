// domain/codecs.ts `partial` and `nullable` pass over what io-ts would only throw away: their
// answers (values and errors alike) must be io-ts's own, for every input.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { DictC, nullable, partial } from '../../domain/codecs.ts';
import { NodeCreateBody } from '../../api/resources/nodes.ts';

// a codec that turns undefined into a default: io-ts's partial keeps that default for an absent key
const withDefault = new t.Type<string, string, unknown>(
  'WithDefault',
  (u): u is string => typeof u === 'string',
  (u, c) => (u === undefined ? t.success('default') : typeof u === 'string' ? t.success(u) : t.failure(u, c)),
  (a) => a,
);
// a member that takes null itself: the union's answer is the member's
const nullToEmpty = new t.Type<string, string, unknown>(
  'NullToEmpty',
  (u): u is string => typeof u === 'string',
  (u, c) => (u === null ? t.success('') : typeof u === 'string' ? t.success(u) : t.failure(u, c)),
  (a) => a,
);

const props = {
  s: t.union([t.string, t.null]),
  n: t.number,
  d: t.union([DictC, t.null]),
  b: t.union([t.string, t.boolean, t.null]),
  def: withDefault,
  u: t.unknown,
  arr: t.union([t.array(t.string), t.null]),
  nested: t.partial({ x: t.union([t.string, t.null]) }),
};
const fastProps = {
  s: nullable(t.string),
  n: t.number,
  d: nullable(DictC),
  b: t.union([t.string, t.boolean, t.null]),
  def: withDefault,
  u: t.unknown,
  arr: nullable(t.array(t.string)),
  nested: partial({ x: nullable(t.string) }),
};

const anyValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.string(),
  fc.integer(),
  fc.boolean(),
  fc.array(fc.oneof(fc.string(), fc.integer())),
  fc.dictionary(fc.constantFrom('x', 'y'), fc.oneof(fc.string(), fc.constant(null), fc.integer())),
);
const record = fc.dictionary(fc.constantFrom(...Object.keys(props), 'extra'), anyValue);

/** Either with io-ts's errors reduced to what callers read: path keys, value, message. */
const comparable = (r: t.Validation<unknown>) =>
  E.isRight(r)
    ? { right: r.right }
    : { left: r.left.map((e) => ({ keys: e.context.map((c) => `${c.key}:${c.type.name}`), value: e.value, message: e.message })) };

test('partial: the same value or the same errors as t.partial, absent keys, defaults and extra keys included', () => {
  const slow = t.partial(props);
  const fast = partial(fastProps);
  assert.is(fast.name, slow.name);
  assert.ok(fast instanceof t.PartialType);
  fc.assert(
    fc.property(fc.oneof(record, anyValue), (u) => {
      assert.equal(comparable(fast.decode(u)), comparable(slow.decode(u)));
    }),
    { numRuns: 2000 },
  );
  // the default of an absent key is kept, as io-ts keeps it
  assert.equal(fast.decode({}), E.right({ def: 'default' }));
});

test('nullable: null and values as t.union([c, t.null]); a member that takes null keeps its answer', () => {
  const pairs: [t.Mixed, t.Mixed][] = [
    [nullable(t.string), t.union([t.string, t.null])],
    [nullable(t.array(t.string)), t.union([t.array(t.string), t.null])],
    [nullable(nullToEmpty), t.union([nullToEmpty, t.null])],
    [nullable(t.unknown), t.union([t.unknown, t.null])],
  ];
  for (const [fast, slow] of pairs) {
    assert.is(fast.name, slow.name);
    fc.assert(fc.property(anyValue, (u) => assert.equal(comparable(fast.decode(u)), comparable(slow.decode(u)))), { numRuns: 500 });
  }
  assert.equal(nullable(nullToEmpty).decode(null), E.right(''));
});

test('the node create body: decoded like its io-ts definition, errors and all', () => {
  const slow = t.intersection([t.type({ driver: t.string }), t.partial({ name: t.union([t.string, t.null]), driver_info: t.union([t.UnknownRecord, t.null]), maintenance: t.union([t.string, t.boolean, t.null]) })]);
  const cases: unknown[] = [
    { driver: 'fake-hardware' },
    { driver: 'fake-hardware', name: null, driver_info: { ipmi_password: 'x' }, maintenance: 'true' },
    { driver: 'fake-hardware', name: 5 },
    { driver: 'fake-hardware', driver_info: 'not a dict' },
    { driver: 3 },
    null,
  ];
  for (const c of cases) {
    const a = NodeCreateBody.decode(c);
    const b = slow.decode(c);
    assert.is(E.isRight(a), E.isRight(b), JSON.stringify(c));
    if (E.isRight(a) && E.isRight(b)) assert.equal(a.right, b.right);
    if (E.isLeft(a) && E.isLeft(b)) assert.equal(a.left[0]!.value, b.left[0]!.value);
  }
});

test.run();
