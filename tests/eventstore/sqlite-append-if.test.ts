// The embedded store's conditional append (port.ts appendIf): an append that holds only while
// another stream is at a given revision, checked inside the append's own transaction (and savepoint,
// in a group commit). Fencing conditions a conductor's node appends on the membership stream with it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ev } from '../../eventstore/contract.ts';
import { WrongExpectedRevision } from '../../eventstore/errors.ts';
import type { AppendResult } from '../../eventstore/port.ts';
import { SqliteEventStore } from '../../eventstore/sqlite.ts';

const root = mkdtempSync(join(tmpdir(), 'ironlog-es-appendif-'));
let n = 0;
const fresh = () => new SqliteEventStore({ path: join(root, `t${n++}`, 'events.sqlite') });
test.after(() => rmSync(root, { recursive: true, force: true }));

const types = async (s: SqliteEventStore, stream: string) => (await s.readStream(stream)).map((e) => e.type);

test('appends while the condition stream is where it was said to be (no stream, then an exact revision)', async () => {
  const s = fresh();
  const r0 = await s.appendIf({ streamId: 'ring', expected: 'no_stream' }, 'node-a', [ev('A0')], 'no_stream');
  assert.is(r0.nextExpectedRevision, 0n);
  await s.append('ring', [ev('R0'), ev('R1')], 'no_stream');
  const r1 = await s.appendIf({ streamId: 'ring', expected: 1n }, 'node-a', [ev('A1')], 0n);
  assert.is(r1.nextExpectedRevision, 1n);
  assert.equal(await types(s, 'node-a'), ['A0', 'A1']);
  assert.equal(await types(s, 'ring'), ['R0', 'R1'], 'the condition stream is only read');
  await s.close();
});

test('the condition stream moved: WrongExpectedRevision naming it, nothing written', async () => {
  const s = fresh();
  await s.append('ring', [ev('R0')], 'no_stream');
  await s.append('node-b', [ev('B0')], 'no_stream');
  await s.append('ring', [ev('R1')], 0n); // a membership change after the check at revision 0
  const err = await s.appendIf({ streamId: 'ring', expected: 0n }, 'node-b', [ev('Late')], 0n).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof WrongExpectedRevision, String(err));
  assert.is(err.streamId, 'ring');
  assert.is(err.actual, 1n);
  assert.equal(await types(s, 'node-b'), ['B0']);
  await s.close();
});

test('in one group: a condition-stream append queued before it refuses it; the rest of the group commits', async () => {
  const s = fresh();
  await s.append('ring', [ev('R0')], 'no_stream');
  await s.append('node-c', [ev('C0')], 'no_stream');
  const before = s.writeStats.transactions;
  const results = await Promise.allSettled<AppendResult>([
    s.append('ring', [ev('R1')], 0n), // the change, committed first in the same transaction
    s.appendIf({ streamId: 'ring', expected: 0n }, 'node-c', [ev('Stale')], 0n),
    s.append('node-d', [ev('D0')], 'no_stream'),
    s.appendIf({ streamId: 'ring', expected: 1n }, 'node-c', [ev('Fresh')], 0n), // checked after the change
  ]);
  assert.is(s.writeStats.transactions - before, 1, 'one group');
  assert.equal(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  assert.ok((results[1] as PromiseRejectedResult).reason instanceof WrongExpectedRevision);
  assert.equal(await types(s, 'node-c'), ['C0', 'Fresh']);
  assert.equal(await types(s, 'node-d'), ['D0']);
  await s.close();
});

test('a retry of a stored conditional append gets its original result, even after the condition stream moved', async () => {
  const s = fresh();
  await s.append('ring', [ev('R0')], 'no_stream');
  const events = [ev('E0'), ev('E1')];
  const original = await s.appendIf({ streamId: 'ring', expected: 0n }, 'node-e', events, 'no_stream');
  await s.append('ring', [ev('R1')], 0n);
  const retried = await s.appendIf({ streamId: 'ring', expected: 0n }, 'node-e', events, 'no_stream');
  assert.equal(retried, original);
  assert.equal(await types(s, 'node-e'), ['E0', 'E1']);
  await s.close();
});

test.run();
