// `assumeNew` (handle.ts): the API's creates decide on the initial state without reading the
// stream first. A stream that exists after all must give exactly what a read-first create gives
// (the store's no_stream check fails the first append, the next attempt reads), and a command
// that is not a create is decided on the stream as read.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteEventStore, type SqliteEventStore } from '../../eventstore/sqlite.ts';
import type { EventStore } from '../../eventstore/port.ts';
import { execute } from '../../command-handling/execute.ts';
import { countingStore } from '../support/counting-store.ts';

const dirs: string[] = [];
const open = (): SqliteEventStore => {
  const d = mkdtempSync(join(tmpdir(), 'ironlog-assume-new-'));
  dirs.push(d);
  return openSqliteEventStore({ path: join(d, 'events.sqlite') });
};

const counting = countingStore;

const at = () => new Date().toISOString();
const createCmd = (uuid: string, name?: string) => ({ type: 'CreateNode', data: { uuid, at: at(), fields: { driver: 'fake-hardware', ...(name ? { name } : {}) } } });
const why = (r: E.Either<{ message: string }, unknown>) => (E.isLeft(r) ? r.left.message : 'ok');
const run = (store: EventStore, uuid: string, command: unknown, assumeNew: boolean, commandId = randomUUID()) =>
  execute(store, 'node', uuid, { commandId, actor: 'test', command }, { assumeNew });

test('a create with assumeNew reads no stream and stores the node as a read-first create does', async () => {
  const s = open();
  try {
    const { store, calls } = counting(s);
    const uuid = randomUUID();
    const r = await run(store, uuid, createCmd(uuid, 'fresh-1'), true);
    assert.ok(E.isRight(r), why(r));
    assert.is(calls.readStream, 0, 'no read of the new stream, nor of the name claim');
    assert.is(calls.appendToStreams + calls.append, 1, 'one write');
    const stored = await s.readStream(`node-${uuid}`);
    assert.equal(stored.map((e) => e.type), ['NodeCreated']);
    assert.is(stored[0]!.revision, 0n);
    const { store: store2, calls: calls2 } = counting(s);
    const uuid2 = randomUUID();
    await run(store2, uuid2, createCmd(uuid2), false);
    assert.ok(calls2.readStream >= 1, 'without it the stream is read first');
  } finally {
    await s.close();
  }
});

test('assumeNew on a uuid that exists: the same refusal as a read-first create, nothing written', async () => {
  const s = open();
  try {
    const uuid = randomUUID();
    assert.ok(E.isRight(await run(s, uuid, createCmd(uuid, 'taken-1'), false)));
    const head = await s.headPosition();
    const plain = await run(s, uuid, createCmd(uuid, 'other-1'), false);
    const { store, calls } = counting(s);
    const assumed = await run(store, uuid, createCmd(uuid, 'other-1'), true);
    assert.ok(E.isLeft(plain), 'a second create of one uuid is refused');
    assert.equal(assumed, plain);
    assert.ok(calls.readStream >= 1, 'the refusal came from the stream as read');
    assert.is(await s.headPosition(), head, 'nothing written');
  } finally {
    await s.close();
  }
});

// the store recognises the retry (the same event ids) and answers the original append's result;
// with no read it cannot tell, so `duplicate` stays false (the API's command ids are fresh per request)
test('assumeNew with a command id already applied: the original position, nothing written', async () => {
  const s = open();
  try {
    const uuid = randomUUID();
    const commandId = randomUUID();
    const first = await run(s, uuid, createCmd(uuid, 'retried-1'), true, commandId);
    assert.ok(E.isRight(first));
    const head = await s.headPosition();
    const again = await run(s, uuid, createCmd(uuid, 'retried-1'), true, commandId);
    assert.ok(E.isRight(again), why(again));
    if (E.isRight(again)) {
      assert.is(again.right.position, E.isRight(first) ? first.right.position : undefined);
    }
    assert.is(await s.headPosition(), head);
  } finally {
    await s.close();
  }
});

test('assumeNew on a command that is not a create: decided on the stream as read', async () => {
  const s = open();
  try {
    const uuid = randomUUID();
    assert.ok(E.isRight(await run(s, uuid, createCmd(uuid, 'upd-1'), false)));
    const update = { type: 'UpdateNode', data: { uuid, at: at(), changes: { name: 'upd-2' } } };
    const r = await run(s, uuid, update, true);
    assert.ok(E.isRight(r), why(r));
    const stored = await s.readStream(`node-${uuid}`);
    assert.is(stored.length, 2);
    const missing = randomUUID();
    const refused = await run(s, missing, { type: 'UpdateNode', data: { uuid: missing, at: at(), changes: { name: 'x' } } }, true);
    assert.ok(E.isLeft(refused), 'an update of a node that does not exist is still refused');
  } finally {
    await s.close();
  }
});

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test.run();
