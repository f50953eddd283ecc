// A fed rebuild's reading thread builds the node timelines' chunks as bytes straight from the
// metadata bytes (projections/timeline-bytes.ts). Property-tested against the string builders it
// replaces: scanMetaBytes answers what scanChangeMeta answers (or declines: the caller then scans
// the text), and ByteChunks makes, push for push, the UTF-8 of the chunks TimelineChunks makes
// (history.ts: what the live projector stores), whether the values come as bytes or as strings.

import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TimelineChunks, type TimelineRow } from '../../projections/history.ts';
import { scanChangeMeta, type ChangeMeta } from '../../projections/model.ts';
import { ByteChunks, scanMetaBytes, type FedTimeline } from '../../projections/timeline-bytes.ts';

const plainAscii = (s: string): boolean => /^[\u0020-\u007f]*$/.test(s) && !s.includes('\\');

const key = fc.constantFrom('actor', 'correlationId', 'causationId', 'timestamp', 'commandId', '', 'actors');
const value = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('a', 'b', 'é', 'a"b', 'x\\y', 'bell\u0007', '\ud800', ''));
const objectText = fc.array(fc.tuple(key, value), { maxLength: 6 }).map((pairs) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
const anyText = fc.oneof(objectText, fc.string({ maxLength: 40, unit: fc.constantFrom('{', '}', '"', ':', ',', 'a', 'actor', '\\', '\u0001', 'é', ' ') }));

const valuesOf = (bytes: Buffer, v: Int32Array): string[] =>
  [0, 1, 2, 3].map((k) => (v[2 * k] < 0 ? '' : (JSON.parse(bytes.toString('utf8', v[2 * k], v[2 * k + 1])) as string)));

test('scanMetaBytes answers what scanChangeMeta answers, and declines only texts that are not plain ASCII', () => {
  let answered = 0;
  fc.assert(
    fc.property(anyText, fc.string({ maxLength: 4 }), (text, noise) => {
      // the text inside a longer buffer, as in a batch
      const bytes = Buffer.from(`${noise}\u001e${text}\u001e${noise}`, 'utf8');
      const from = Buffer.byteLength(`${noise}\u001e`);
      const v = new Int32Array(8);
      const ok = scanMetaBytes(bytes, from, from + Buffer.byteLength(text), v);
      const m = scanChangeMeta(text);
      if (ok) {
        answered++;
        assert.ok(m, text);
        assert.equal(valuesOf(bytes, v), [m.actor, m.correlationId, m.causationId, m.timestamp], text);
      } else assert.ok(m === undefined || !plainAscii(text), `declined a plain text: ${text}`);
    }),
    { numRuns: 4000, seed: 7 },
  );
  assert.ok(answered > 500, `most objects are scanned (${answered})`);
});

const texts = (t: FedTimeline) => t.rows.map(([node, first, start, end, count]) => [node, first, Buffer.from(t.bytes.subarray(start, end)).toString('utf8'), count]);
const reference = (rows: TimelineRow[]) => rows.map(([node, first, entries, count]) => [node, Number(first), entries, count]);

const step = fc.oneof(
  { weight: 12, arbitrary: fc.record({ node: fc.constantFrom('n1', 'n2', 'n3'), gap: fc.integer({ min: 1, max: 100_000 }), type: fc.constantFrom('A', 'B', 'Wé"ird'), actor: value, corr: value, caus: value, time: value }) },
  { weight: 1, arbitrary: fc.record({ cut: fc.constantFrom('n1', 'n2', 'n3') }) },
  { weight: 2, arbitrary: fc.constant({ take: true }) },
);

test('ByteChunks makes the chunks TimelineChunks makes, from bytes or from strings', () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
      const strings = new TimelineChunks();
      const bytes = new ByteChunks();
      const revisions = new Map<string, number>();
      let position = 1;
      const v = new Int32Array(8);
      for (const s of steps) {
        if ('take' in s) assert.equal(texts(bytes.takeClosed()), reference(strings.takeClosed()));
        else if ('cut' in s) {
          strings.cut(s.cut);
          bytes.cut(s.cut);
        } else {
          position += s.gap;
          const revision = revisions.get(s.node) ?? 0;
          revisions.set(s.node, revision + 1);
          const m: ChangeMeta = { actor: s.actor, correlationId: s.corr, causationId: s.caus, timestamp: s.time || 't' };
          strings.push(s.node, position, revision, s.type, m);
          const text = JSON.stringify({ correlationId: m.correlationId, causationId: m.causationId, actor: m.actor, timestamp: m.timestamp, commandId: 'x' });
          const b = Buffer.from(text, 'utf8');
          if (scanMetaBytes(b, 0, b.length, v)) bytes.push(s.node, position, revision, s.type, b, v);
          else bytes.pushMeta(s.node, position, revision, s.type, m);
        }
      }
      assert.equal(texts(bytes.takeAll()), reference(strings.takeAll()));
    }),
    { numRuns: 1500, seed: 8 },
  );
});

test('long chunks and large positions', () => {
  const strings = new TimelineChunks();
  const bytes = new ByteChunks();
  const v = new Int32Array(8);
  const big = 'x'.repeat(3000);
  for (let i = 0; i < 100; i++) {
    const position = 2 ** 40 + i * 1_000_003;
    const m: ChangeMeta = { actor: `${big}${i % 3}`, correlationId: 'c', causationId: 'd', timestamp: '2024-01-01T00:00:00.000Z' };
    strings.push('n', position, i, 'T', m);
    const b = Buffer.from(JSON.stringify(m), 'utf8');
    assert.ok(scanMetaBytes(b, 0, b.length, v));
    bytes.push('n', position, i, 'T', b, v);
  }
  assert.equal(texts(bytes.takeAll()), reference(strings.takeAll()));
});

test.run();
