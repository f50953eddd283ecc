// The fed rebuild's reader reads the log packed by SQLite, one value per column and batch
// (SqliteEventStore.readAllPacked, feed.ts unpack/packColumns), instead of one array per row. For
// every batch the packed path takes, it must post exactly what the row-by-row path posts for the
// same rows (positions, revisions, stream and type words, odd rows, timeline chunks), and hand the
// worker the same data texts, also for metadata that is not plain ASCII (escapes, raw control
// characters, other alphabets: scanned as strings, row by row); a batch holding a column of an
// unexpected type or a text with the separator is left to the row-by-row path.

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EventData } from '../../eventstore/port.ts';
import { SqliteEventStore } from '../../eventstore/sqlite.ts';
import { metaColumns, NodeIds, packColumns, packRows, unpack, type CreatedLookup, type MetaRow, type RawBatch } from '../../projections/feed.ts';
import { ByteChunks, type FedTimeline } from '../../projections/timeline-bytes.ts';
import { nodeLife, toEventData, uuidFor } from './node-events.ts';
import { removeTempDirs, tempDir } from './support.ts';

const dir = tempDir();
let store: SqliteEventStore;
let raw: Database.Database;
const prefixes = ['node-', 'port-'];
const nodes = 6;

/**
 * metadata as other writers may have stored it: every 5th event in some layout the scan declines
 * or leaves to `created`, or with values whose JSON text is not their characters (escapes, not ASCII)
 */
const oddMeta = (m: Record<string, unknown>, k: number): Record<string, unknown> => {
  switch (k % 5 === 2 ? ((k / 5) | 0) % 7 : -1) {
    case 0:
      return { ...m, timestamp: undefined };
    case 1:
      return { ...m, actor: 7 };
    case 2:
      return { ...m, timestamp: '' };
    case 3:
      return { nested: { a: 1 }, ...m };
    case 4:
      return { ...m, actor: 'a"b\\c' };
    case 5:
      return { ...m, actor: 'ünïcødé ✓' };
    case 6:
      return { ...m, correlationId: 'bell\u0007', causationId: 'bell\u0007' };
    default:
      return m;
  }
};

test.before(async () => {
  store = new SqliteEventStore({ path: join(dir, 'events.sqlite') });
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < nodes; i++) {
      const uuid = uuidFor(0xbac, i);
      const life = [...nodeLife({ uuid, name: `p${i}`, start: Date.UTC(2024, 0, 1) + i * 1000, conductor: 'c1' }, 48)].slice(round * 12, round * 12 + 12);
      const events = life.map((e, k): EventData => {
        const d = toEventData(e, `corr-${round}-${i}`);
        return { ...d, metadata: oddMeta(d.metadata as unknown as Record<string, unknown>, round * 12 + k) as unknown as EventData['metadata'] };
      });
      await store.append(`node-${uuid}`, events, round === 0 ? 'no_stream' : BigInt(round * 12 - 1));
    }
    // streams outside the prefixes, between the followed ones
    await store.append(`claim-name-x${round}`, [{ id: `claim-${round}`, type: 'Claimed', data: { by: 'x' }, metadata: { correlationId: 'c', causationId: 'c', actor: 'a', timestamp: 't' } }], 'any');
    await store.append(`port-${uuidFor(0x90, round)}`, [{ id: `port-${round}`, type: 'PortCreated', data: { n: round }, metadata: { correlationId: 'p', causationId: 'q', actor: 'a', timestamp: 't' } }], 'any');
  }
  raw = new Database(join(dir, 'events.sqlite'));
});

test.after(async () => {
  raw.close();
  await store.close();
  removeTempDirs();
});

const createdAt: CreatedLookup = (p) => store.readRows(p - 1, p, undefined, 1)[0]?.[7];

/** a batch's chunks as texts (their byte offsets differ with the buffer, their texts must not) */
const chunkTexts = (t: FedTimeline) => t.rows.map(([node, first, start, end, count]) => [node, first, Buffer.from(t.bytes.subarray(start, end)).toString('utf8'), count]);
const plain = (b: RawBatch) => ({ ...b, pos: [...b.pos], rev: [...b.rev], stream: [...b.stream], type: [...b.type], timeline: chunkTexts(b.timeline) });

/** both paths over the whole log in batches of `size`; how many batches the packed path took */
const compareBothPaths = async (size: number): Promise<{ packed: number; total: number }> => {
  const [rowsTimeline, packedTimeline] = [new ByteChunks(), new ByteChunks()];
  const [rowsNodes, packedNodes] = [new NodeIds(), new NodeIds()];
  let after: bigint | 'start' = 'start';
  let packed = 0;
  let total = 0;
  for (;;) {
    const rows = (await store.readAllColumns(metaColumns, { after, streamPrefixes: prefixes, maxCount: size, integers: 'number' })) as MetaRow[];
    if (rows.length === 0) break;
    total++;
    const expected = packRows(rows, 0, rowsTimeline, rowsNodes, createdAt);
    const columns = unpack(store.readAllPacked({ after, streamPrefixes: prefixes, maxCount: size, data: true }));
    if (columns) {
      packed++;
      const got = packColumns(columns, undefined, packedTimeline, packedNodes, createdAt);
      const data = (await store.readAllColumns(['data'], { after, until: BigInt(rows[rows.length - 1][0]), streamPrefixes: prefixes })) as string[];
      assert.is(Buffer.from(got.data!).toString('utf8'), data.join('\u001e'), 'the data texts of the same rows');
      delete got.data;
      assert.equal(plain(got), plain(expected), `batch after ${String(after)}`);
    } else {
      // the row-by-row path posts this batch: the packed side's state follows it
      packRows(rows, 0, packedTimeline, packedNodes, createdAt);
    }
    after = BigInt(rows[rows.length - 1][0]);
  }
  const rest = (t: ByteChunks) => chunkTexts(t.takeAll());
  assert.equal(rest(packedTimeline), rest(rowsTimeline), 'the chunks still open');
  return { packed, total };
};

test('the packed path posts what the row-by-row path posts, batch by batch', async () => {
  for (const size of [1, 5, 64, 1000]) {
    const { packed, total } = await compareBothPaths(size);
    assert.ok(packed > 0, `batches of ${size}: some are packed`);
    if (size <= 5) assert.ok(packed > total / 2, `batches of ${size}: most are packed (${packed} of ${total})`);
  }
});

/** the first node row's position, and its column's value before `set` changes it; restores it after `run` */
const withRow = async (column: string, value: unknown, run: () => Promise<void> | void): Promise<void> => {
  const row = raw.prepare<[], { position: number }>("SELECT position FROM events WHERE stream_id LIKE 'node-%' ORDER BY position LIMIT 1 OFFSET 3").get()!;
  const before = raw.prepare<[number], { v: unknown }>(`SELECT ${column} AS v FROM events WHERE position = ?`).get(row.position)!.v;
  raw.prepare(`UPDATE events SET ${column} = ? WHERE position = ?`).run(value, row.position);
  try {
    await run();
  } finally {
    raw.prepare(`UPDATE events SET ${column} = ? WHERE position = ?`).run(before, row.position);
  }
};

const firstBatch = () => store.readAllPacked({ streamPrefixes: prefixes, maxCount: 20, data: true });

test('a batch with anything unusual is left to the row-by-row path', async () => {
  assert.ok(unpack(firstBatch()), 'the clean batch is packed');
  const cases: [string, unknown][] = [
    ['metadata', '{"actor":"a\u001e","correlationId":"c","timestamp":"t"}'],
    ['metadata', Buffer.from('{}')],
    ['data', Buffer.from('{}')],
    ['revision', 'three'],
    ['revision', 2.5],
  ];
  for (const [column, value] of cases) {
    await withRow(column, value, () => {
      assert.is(unpack(firstBatch()), undefined, `${column} = ${JSON.stringify(value)}`);
    });
  }
  // metadata the reader scans as a text, row by row (an escape, a raw control character, which
  // JSON.parse refuses, not ASCII): the packed path still posts what the row-by-row path posts
  for (const metadata of [
    '{"actor":"a\\"b","correlationId":"c","timestamp":"t"}',
    '{"actor":"a\u0001","correlationId":"c","timestamp":"t"}',
    '{"actor":"é","correlationId":"c","timestamp":"t"}',
  ]) {
    await withRow('metadata', metadata, async () => {
      assert.ok(unpack(firstBatch()), `packed: ${JSON.stringify(metadata)}`);
      await compareBothPaths(5);
    });
  }
  // a blob where text is stored: SQLite refuses to put it in a JSON array (the reader then reads row by row)
  await withRow('type', Buffer.from('x'), () => {
    assert.throws(() => firstBatch());
  });
  // a data text holding the separator (not valid JSON anyway): packed, and the worker sees n + 1
  // texts and reads the data itself (feed.ts splitData)
  await withRow('data', '{"a":"\u001e"}', () => {
    const c = unpack(firstBatch());
    assert.ok(c);
    assert.is(c.data!.toString('utf8').split('\u001e').length, c.n + 1);
  });
});

test.run();
