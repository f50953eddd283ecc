// The fed rebuild's reading thread takes each event's timeline metadata (actor, correlation,
// causation, timestamp) with scanChangeMeta instead of JSON.parse (projections/model.ts). Whenever
// it answers, the text is a JSON object and the answer is changeMeta(JSON.parse(text)); it may
// decline (another layout), never answer wrongly. Property-tested over metadata as the service
// writes it, over arbitrary JSON objects, and over arbitrary texts.

import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { changeMeta, scanChangeMeta, scanChangeMetaIn } from '../../projections/model.ts';

const created = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));

/** scanChangeMeta's answer, with `created` where it leaves the timestamp empty (as feed.ts does) */
const scanned = (text: string) => {
  const m = scanChangeMeta(text);
  if (m !== undefined && m.timestamp === '') m.timestamp = created.toISOString();
  return m;
};

/** the reference: JSON.parse, then changeMeta; undefined when the text is not a JSON object */
const reference = (text: string) => {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? changeMeta(v, () => created) : undefined;
};

const agrees = (text: string): boolean => {
  const m = scanned(text);
  if (m !== undefined) assert.equal(m, reference(text), text);
  return m !== undefined;
};

const key = fc.constantFrom('actor', 'correlationId', 'causationId', 'timestamp', 'commandId', 'eventId', '', 'Actor', 'actors', '__proto__');
const value = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom('a"b', 'a\\b', 'line\nbreak', '\u0001', 'é✓', '😀') },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);

test('metadata as the service writes it is scanned, exactly as JSON.parse reads it', () => {
  const written = fc.record(
    {
      correlationId: fc.uuid(),
      causationId: fc.uuid(),
      actor: fc.constantFrom('admin', 'conductor:c1', 'conductor:host-2.example'),
      timestamp: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      commandId: fc.uuid(),
    },
    { requiredKeys: ['correlationId', 'causationId', 'actor'] },
  );
  let answered = 0;
  fc.assert(
    fc.property(written, (meta) => {
      if (agrees(JSON.stringify(meta))) answered++;
    }),
    { numRuns: 500, seed: 1 },
  );
  assert.is(answered, 500, 'the usual layout is always scanned');
});

test('arbitrary flat objects, with escapes, other value types, duplicate keys', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(key, value), { maxLength: 7 }), (pairs) => {
      // written by hand: JSON.stringify would drop duplicate keys
      agrees(`{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
    }),
    { numRuns: 2000, seed: 2 },
  );
  assert.equal(scanned('{"actor":"a","actor":"b"}')?.actor, 'b');
  assert.equal(scanned('{}'), { actor: '', correlationId: '', causationId: '', timestamp: created.toISOString() });
});

test('whitespace, nesting, broken and non-object texts: declined or right, never wrong', () => {
  for (const t of ['', '{', '}', '{"a"}', '{"a":}', '{"a":"b",}', '{"a":"b""c":"d"}', '{"a":"b"} ', ' {"a":"b"}', '{ "a":"b"}', '{"a": "b"}', '{"a":1}', '{"a":{"b":"c"}}', '[]', 'null', '"x"', '{"actor":"x\\"}', '{"a":"}"}']) {
    const m = scanned(t);
    if (m !== undefined) assert.equal(m, reference(t), t);
  }
  assert.equal(scanned('{"a":"}"}'), reference('{"a":"}"}'));
  assert.is(scanned('{"a":"b",}'), undefined, 'not JSON: declined');
  fc.assert(
    fc.property(fc.string({ maxLength: 60, unit: fc.constantFrom('{', '}', '"', ':', ',', 'a', 'actor', '\\', ' ', '1') }), (text) => {
      agrees(text);
    }),
    { numRuns: 3000, seed: 3 },
  );
});

test('scanChangeMetaIn: a range of a batch of texts is scanned as the text alone would be', () => {
  // the caller's contract: no backslash or control character in the batch (feed.ts tests it), and
  // texts joined by U+001E (nothing scanned may run into the next text)
  const plain = (t: string) => !/[\\\u0000-\u001f]/.test(t);
  const text = fc.oneof(
    fc.array(fc.tuple(key, value), { maxLength: 6 }).map((pairs) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`),
    fc.string({ maxLength: 40, unit: fc.constantFrom('{', '}', '"', ':', ',', 'a', 'actor', ' ', '1') }),
  );
  let answered = 0;
  fc.assert(
    fc.property(fc.array(text, { minLength: 1, maxLength: 8 }), fc.string({ maxLength: 5 }), (texts, noise) => {
      const parts = texts.filter(plain);
      if (parts.length === 0) return;
      // something before the first text and after the last: ranges start and end anywhere
      const joined = `${noise}\u001e${parts.join('\u001e')}\u001e"}${noise}`;
      let from = noise.length + 1;
      for (const t of parts) {
        const to = from + t.length;
        const m = scanChangeMetaIn(joined, from, to);
        assert.equal(m, scanChangeMeta(t), t);
        if (m !== undefined) answered++;
        from = to + 1;
      }
    }),
    { numRuns: 2000, seed: 4 },
  );
  assert.ok(answered > 500, `most objects are scanned (${answered})`);
});

test.run();
