// The conductor's node index as the node writers' cache (conductor/node-index.ts,
// executor/node-writer.ts): what a writer of this process appends is taken from the writer, not
// decoded again from the subscription, and the index still ends equal to the fold of the stream
// when other writers append around (or instead of) an announced append.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { handleCommand, loadAggregate } from '../../command-handling/handle.ts';
import { NodeIndex } from '../../conductor/node-index.ts';
import { nodeBinding } from '../../conductor/node-binding.ts';
import { NodeWriter, type Envelope } from '../../conductor/executor/node-writer.ts';
import type { Fence } from '../../conductor/fencing.ts';
import { nodeDecider, type NodeCommand, type NodeState } from '../../domain/node/index.ts';
import { streamId } from '../../domain/streams.ts';
import { openEventStore } from '../../eventstore/open.ts';
import type { EventStore, SubscribeOptions, BatchHandler } from '../../eventstore/port.ts';

let dataDir: string;
let store: EventStore;
let index: NodeIndex;
/** (stream, revision) pairs the index's subscription asked to decode */
const selected: Array<[string, bigint, string]> = [];

const allow: Fence = async () => E.right({ hostname: 'c1', incarnation: 'i1', epoch: 1 });
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const at = () => new Date().toISOString();

/** the store, with the index's `select` answers recorded */
const watched = (s: EventStore): EventStore =>
  new Proxy(s, {
    get(target, key, receiver) {
      if (key === 'subscribeToAll') {
        return (o: SubscribeOptions, h: BatchHandler) =>
          target.subscribeToAll(
            {
              ...o,
              ...(o.select
                ? {
                    select: (stream: string, revision: bigint, type: string) => {
                      const yes = o.select!(stream, revision, type);
                      if (yes) selected.push([stream, revision, type]);
                      return yes;
                    },
                  }
                : {}),
            },
            h,
          );
      }
      const v = Reflect.get(target, key, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });

const fold = async (uuid: string): Promise<{ state: NodeState; revision: bigint | undefined }> => {
  const l = await loadAggregate(store, nodeBinding, streamId('node', uuid));
  return { state: l.state, revision: l.revision };
};

/** another writer (as another process would): read, decide, append with the expected revision */
const other = async (command: NodeCommand): Promise<void> => {
  const r = await handleCommand(nodeBinding, streamId('node', command.data.uuid), { commandId: randomUUID(), actor: 'other', command }, { store });
  if (E.isLeft(r)) throw new Error(r.left.message);
};

const until = async (pred: () => boolean, ms = 3000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
};

/** waits until the index has seen the log's head (its subscription is live) */
const settle = async (): Promise<void> => {
  await sleep(60);
};

const newNode = async (): Promise<string> => {
  const uuid = randomUUID();
  await other({ type: 'CreateNode', data: { uuid, at: at(), fields: { driver: 'fake-hardware' }, initial_provision_state: 'enroll' } } as NodeCommand);
  const { revision } = await fold(uuid);
  await until(() => index.known(uuid)?.revision === revision);
  return uuid;
};

const envelope = (command: NodeCommand): Envelope => {
  const id = randomUUID();
  return { commandId: id, command, actor: 'c1', correlationId: id, causationId: id };
};

const assertIndexEqualsStream = async (uuid: string): Promise<void> => {
  const f = await fold(uuid);
  const k = index.known(uuid);
  assert.ok(k, 'the index folds the node');
  assert.is(k!.revision, f.revision);
  assert.equal(k!.state, f.state);
};

test.before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ironlog-node-index-'));
  store = await openEventStore({ dataDir });
  index = new NodeIndex(watched(store));
  await index.start();
});

test.after(async () => {
  await index.stop();
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('a writer of this process: its events are taken from the writer, not decoded again', async () => {
  const uuid = await newNode();
  const stream = streamId('node', uuid);
  const writer = new NodeWriter(store, uuid, allow, undefined, index);
  const before = selected.length;
  for (const command of [
    { type: 'ReserveNode', data: { uuid, at: at(), host: 'c1', ring_epoch: 1 } },
    { type: 'ReleaseNode', data: { uuid, at: at(), host: 'c1' } },
    { type: 'ReserveNode', data: { uuid, at: at(), host: 'c1', ring_epoch: 1 } },
  ] as NodeCommand[]) {
    const r = await writer.write(() => E.right([envelope(command)]), () => ({ uuid, group: '', driver: 'fake-hardware' }));
    assert.ok(E.isRight(r));
  }
  await settle();
  assert.equal(selected.slice(before).filter(([s]) => s === stream), [], 'no event of the writer was decoded by the index');
  assert.ok(writer.fromCache, 'the writer started from the index');
  await assertIndexEqualsStream(uuid);
});

test('events of another writer after an announced append wait for its writer, then fold on its state', async () => {
  const uuid = await newNode();
  const from = index.known(uuid)!.revision;
  const token = index.writing(uuid, from, 1);
  assert.ok(token, 'the index is at the revision the append starts from');
  // "our" append (one event), then another writer's, both seen by the index before our writer reports
  await other({ type: 'ReserveNode', data: { uuid, at: at(), host: 'c1', ring_epoch: 1 } } as NodeCommand);
  const ours = await fold(uuid);
  assert.is(ours.revision, from + 1n);
  await other({ type: 'ReleaseNode', data: { uuid, at: at(), host: 'c1' } } as NodeCommand);
  await other({ type: 'SetTraits', data: { uuid, at: at(), traits: ['CUSTOM_X'] } } as NodeCommand);
  await settle();
  assert.is(index.known(uuid)!.revision, from, 'nothing folded past the announced append yet');
  index.wrote(uuid, from, from + 1n, ours.state, [], token);
  await assertIndexEqualsStream(uuid);
  const k = index.known(uuid)!;
  assert.ok(k.state.status === 'present' && k.state.node.traits.includes('CUSTOM_X') && k.state.node.reservation === null);
});

test('an abandoned append: what the index passed over is read from the stream', async () => {
  const uuid = await newNode();
  const from = index.known(uuid)!.revision;
  const token = index.writing(uuid, from, 1);
  assert.ok(token);
  // another writer takes the revisions the announced append expected
  await other({ type: 'SetTraits', data: { uuid, at: at(), traits: ['CUSTOM_Y'] } } as NodeCommand);
  await settle();
  index.abandoned(uuid, token!);
  await index.ensure(uuid);
  await until(() => index.known(uuid) !== undefined);
  await assertIndexEqualsStream(uuid);
  const k = index.known(uuid)!;
  assert.ok(k.state.status === 'present' && k.state.node.traits.includes('CUSTOM_Y'));
});

test('a writer that loses a race with another writer: the index still equals the stream', async () => {
  const uuid = await newNode();
  const writer = new NodeWriter(store, uuid, allow, undefined, index);
  await writer.current(); // seeded from the index
  // another writer appends before ours: our append is refused and decided again on the stream
  await other({ type: 'SetTraits', data: { uuid, at: at(), traits: ['CUSTOM_Z'] } } as NodeCommand);
  const r = await writer.write(
    () => E.right([envelope({ type: 'ReserveNode', data: { uuid, at: at(), host: 'c1', ring_epoch: 1 } } as NodeCommand)]),
    () => ({ uuid, group: '', driver: 'fake-hardware' }),
  );
  assert.ok(E.isRight(r));
  await settle();
  await assertIndexEqualsStream(uuid);
  const k = index.known(uuid)!;
  assert.ok(k.state.status === 'present' && k.state.node.traits.includes('CUSTOM_Z') && k.state.node.reservation === 'c1');
});

test('a second announced append on the same node while one is in flight is not announced', async () => {
  const uuid = await newNode();
  const from = index.known(uuid)!.revision;
  const first = index.writing(uuid, from, 1);
  assert.ok(first);
  assert.is(index.writing(uuid, from, 1), undefined);
  index.abandoned(uuid, first!);
  await index.ensure(uuid);
  await assertIndexEqualsStream(uuid);
});

test('a decision handed to the writer is taken only for the command and state object it was made on', async () => {
  const uuid = await newNode();
  const writer = new NodeWriter(store, uuid, allow, undefined, index);
  const before = await writer.current();
  const reserve = { type: 'ReserveNode', data: { uuid, at: at(), host: 'c1', ring_epoch: 1 } } as NodeCommand;
  // a made-up decision for a copy of the state: not the state object the write starts from
  const bogus = [{ type: 'NodeReserved', data: { uuid, at: at(), host: 'somebody-else', ring_epoch: 9 } }] as never;
  writer.decided(reserve, structuredClone(before), bogus, before);
  const r = await writer.write(() => E.right([envelope(reserve)]), () => ({ uuid, group: '', driver: 'fake-hardware' }));
  assert.ok(E.isRight(r));
  const f = await fold(uuid);
  assert.ok(f.state.status === 'present' && f.state.node.reservation === 'c1', 'decided again on the state the write started from');
  // the same state object: the decision is taken as it is (what the caller decided, not decided twice)
  const writer2 = new NodeWriter(store, uuid, allow, undefined, index);
  await settle();
  const now = await writer2.current();
  const release = { type: 'ReleaseNode', data: { uuid, at: at(), host: 'c1' } } as NodeCommand;
  const real = nodeDecider.decide(release, now);
  assert.ok(E.isRight(real));
  const after = real.right.reduce(nodeDecider.evolve, now);
  writer2.decided(release, now, real.right, after);
  const r2 = await writer2.write(() => E.right([envelope(release)]), () => ({ uuid, group: '', driver: 'fake-hardware' }));
  assert.ok(E.isRight(r2) && r2.right.state === after, 'the given state after is the written state');
  await settle();
  await assertIndexEqualsStream(uuid);
});

test.run();
