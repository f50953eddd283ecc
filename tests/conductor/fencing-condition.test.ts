// Fencing as one step (conductor/fencing.ts): a conductor's append to a node stream is conditioned
// on the membership stream's revision its fence checked (EventStore.appendIf). Here another
// conductor declares the writer lost in the gap between the fence's check and the append (the race
// the SIGSTOP test cannot aim at): the append is refused, the writer fences again and gets NotOwner,
// and the node stream holds nothing of it. The control run, on a store without appendIf, shows the
// same gap letting the late append in: the condition is what refuses it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { handleCommand } from '../../command-handling/handle.ts';
import { execute } from '../../command-handling/execute.ts';
import { fenceFor, guardFor, type Fence } from '../../conductor/fencing.ts';
import { MembershipView } from '../../conductor/membership-view.ts';
import { appendMembership } from '../../conductor/membership-log.ts';
import { nodeBinding } from '../../conductor/node-binding.ts';
import { NodeWriter, type Envelope } from '../../conductor/executor/node-writer.ts';
import type { NodeCommand } from '../../domain/node/index.ts';
import { streamId } from '../../domain/streams.ts';
import { openEventStore } from '../../eventstore/open.ts';
import type { EventStore } from '../../eventstore/port.ts';

let dataDir: string;
let store: EventStore;
const at = () => new Date().toISOString();
const placement = (uuid: string) => ({ uuid, group: '', driver: 'fake-hardware' });

test.before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ironlog-fencing-condition-'));
  store = await openEventStore({ dataDir });
});
test.after(async () => {
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A conductor run registered in the ring, its view, and a second view (another conductor's). */
const setup = async () => {
  const view = new MembershipView({ store });
  const other = new MembershipView({ store });
  const writer = { hostname: `c-${randomUUID().slice(0, 8)}`, incarnation: randomUUID() };
  await view.refresh();
  const r = await appendMembership({ store, view, actorHost: writer.hostname }, { type: 'RegisterConductor', ...writer, group: '', hardwareTypes: ['fake-hardware'], interfaces: {} });
  assert.ok(E.isRight(r));
  // every other conductor of earlier tests is gone: this one owns every node
  await view.refresh();
  for (const m of Object.values(view.state.members)) {
    if (m.hostname === writer.hostname) continue;
    await other.refresh();
    await appendMembership({ store, view: other, actorHost: writer.hostname }, { type: 'LeaveConductor', hostname: m.hostname, incarnation: m.incarnation });
  }
  await view.refresh();
  const uuid = randomUUID();
  const created = await handleCommand(nodeBinding, streamId('node', uuid), { commandId: randomUUID(), actor: 'api', command: { type: 'CreateNode', data: { uuid, at: at(), fields: { driver: 'fake-hardware' }, initial_provision_state: 'enroll' } } as NodeCommand }, { store });
  assert.ok(E.isRight(created));
  let calls = 0;
  /** the real fence; on its first call another conductor declares the writer lost right after the check */
  const racing: Fence = async (node) => {
    const granted = await fenceFor(view, writer)(node);
    if (calls++ === 0) {
      await other.refresh();
      const lost = await appendMembership({ store, view: other, actorHost: 'c-other' }, { type: 'DeclareConductorLost', ...writer, declaredBy: 'c-other', silentForMs: 3000 });
      assert.ok(E.isRight(lost), 'declared lost in the gap');
    }
    return granted;
  };
  return { uuid, writer, racing, calls: () => calls };
};

const reserve = (uuid: string, host: string): Envelope => {
  const id = randomUUID();
  return { commandId: id, command: { type: 'ReserveNode', data: { uuid, at: at(), host, ring_epoch: 1 } } as NodeCommand, actor: host, correlationId: id, causationId: id };
};

const nodeEvents = async (uuid: string) => (await store.readStream(streamId('node', uuid))).map((e) => e.type);

test('node writer: a loss committed between the check and the append refuses the append (NotOwner)', async () => {
  const { uuid, writer, racing, calls } = await setup();
  const before = await nodeEvents(uuid);
  const w = new NodeWriter(store, uuid, racing, { ...writer, epoch: 1 });
  const r = await w.write(() => E.right([reserve(uuid, writer.hostname)]), () => placement(uuid));
  assert.ok(E.isLeft(r), 'refused');
  assert.is(r.left.errorClass, 'NotOwner', r.left.message);
  assert.is(calls(), 2, 'fenced again after the refused append');
  assert.equal(await nodeEvents(uuid), before, 'nothing of the lost writer in the node stream');
});

test('command handler guard: the same race refuses the command', async () => {
  const { uuid, writer, racing } = await setup();
  const before = await nodeEvents(uuid);
  const env = reserve(uuid, writer.hostname);
  const r = await execute(store, 'node', uuid, { commandId: env.commandId, actor: env.actor, command: env.command }, { guard: guardFor<unknown>(racing, () => placement(uuid)) });
  assert.ok(E.isLeft(r), 'refused');
  assert.is(r.left.errorClass, 'NotOwner', r.left.message);
  assert.equal(await nodeEvents(uuid), before);
});

test('control: on a store without appendIf the same gap lets the late append in', async () => {
  const { uuid, writer, racing } = await setup();
  const plain: EventStore = new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'appendIf') return undefined;
      const v = Reflect.get(target, key, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const w = new NodeWriter(plain, uuid, racing, { ...writer, epoch: 1 });
  const r = await w.write(() => E.right([reserve(uuid, writer.hostname)]), () => placement(uuid));
  assert.ok(E.isRight(r), 'the check-then-append gap');
  assert.ok((await nodeEvents(uuid)).includes('NodeReserved'));
});

test.run();
