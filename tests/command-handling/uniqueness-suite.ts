// Uniqueness under concurrency, for any event store adapter: `open` gives two stores that are
// separate connections (or clients) to one log, so their writes really race.
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { randomUUID } from 'node:crypto';
import type { EventStore } from '../../eventstore/port.ts';
import { execute } from '../../command-handling/execute.ts';
import type { AggregateKind } from '../../domain/streams.ts';

export interface TwoWriters { a: EventStore; b: EventStore; close: () => Promise<void> }

const at = () => new Date().toISOString();
const run = (store: EventStore, kind: AggregateKind, id: string, command: unknown, now?: () => Date) =>
  execute(store, kind, id, { commandId: randomUUID(), actor: 'test', command }, { now });

const createNode = (store: EventStore, fields: Record<string, unknown>, uuid = randomUUID()) =>
  run(store, 'node', uuid, { type: 'CreateNode', data: { uuid, at: at(), fields: { driver: 'fake-hardware', ...fields } } });

/** Each round, both writers try the same value at once: exactly one must win, the other get `errorClass`. */
const race = async (
  w: TwoWriters,
  rounds: number,
  attempt: (store: EventStore, round: number) => Promise<E.Either<{ errorClass: string }, unknown>>,
  errorClass: string,
) => {
  for (let i = 0; i < rounds; i++) {
    const [x, y] = await Promise.all([attempt(w.a, i), attempt(w.b, i)]);
    const wins = [x, y].filter(E.isRight).length;
    assert.is(wins, 1, `round ${i}: exactly one writer wins`);
    const loser = [x, y].find(E.isLeft)!;
    if (E.isLeft(loser)) assert.is(loser.left.errorClass, errorClass);
  }
};

export const uniquenessSuite = (test: Test, name: string, open: () => Promise<TwoWriters>) => {
  // values unique to this run, so the suite can run again against a long-lived server
  const tag = randomUUID().slice(0, 8);
  const TAG = tag.toUpperCase();
  const macBase = `52:${tag.slice(0, 2)}:${tag.slice(2, 4)}:${tag.slice(4, 6)}:${tag.slice(6, 8)}`;
  test(`${name}: concurrent node creates with one name: one wins, the other gets DuplicateName (409)`, async () => {
    const w = await open();
    try {
      await race(w, 15, (s, i) => createNode(s, { name: `same-${tag}-${i}` }), 'DuplicateName');
    } finally { await w.close(); }
  });

  test(`${name}: concurrent instance_uuid association: one wins (InstanceAssociated)`, async () => {
    const w = await open();
    try {
      for (let i = 0; i < 10; i++) {
        const inst = randomUUID();
        const [x, y] = await Promise.all([createNode(w.a, { instance_uuid: inst }), createNode(w.b, { instance_uuid: inst })]);
        assert.is([x, y].filter(E.isRight).length, 1, `round ${i}: one node gets instance ${inst}`);
        const loser = [x, y].find(E.isLeft)!;
        if (E.isLeft(loser)) assert.is(loser.left.errorClass, 'InstanceAssociated');
      }
    } finally { await w.close(); }
  });

  test(`${name}: port MAC addresses are unique whatever their case`, async () => {
    const w = await open();
    try {
      const node = randomUUID();
      assert.ok(E.isRight(await createNode(w.a, {}, node)));
      await race(w, 10, (s, i) => {
        const uuid = randomUUID();
        const mac = `${macBase}:${i.toString(16).padStart(2, '0')}`;
        return run(s, 'port', uuid, { type: 'CreatePort', data: { uuid, at: at(), fields: { address: s === w.a ? mac : mac.toUpperCase(), node_uuid: node } } });
      }, 'MACAlreadyExists');
    } finally { await w.close(); }
  });

  test(`${name}: portgroup names, allocation names and deploy template names race to one winner`, async () => {
    const w = await open();
    try {
      const node = randomUUID();
      assert.ok(E.isRight(await createNode(w.a, {}, node)));
      await race(w, 5, (s, i) => {
        const uuid = randomUUID();
        return run(s, 'portgroup', uuid, { type: 'CreatePortgroup', data: { uuid, at: at(), fields: { node_uuid: node, name: `pg-${tag}-${i}` } } });
      }, 'PortgroupDuplicateName');
      await race(w, 5, (s, i) => {
        const uuid = randomUUID();
        return run(s, 'allocation', uuid, { type: 'CreateAllocation', data: { uuid, at: at(), fields: { name: `alloc-${tag}-${i}`, resource_class: 'baremetal' } } });
      }, 'AllocationDuplicateName');
      await race(w, 5, (s, i) => {
        const uuid = randomUUID();
        return run(s, 'deploytemplate', uuid, { type: 'CreateDeployTemplate', data: { uuid, at: at(), fields: { name: `CUSTOM_T${TAG}_${i}`, steps: [{ interface: 'bios', step: 'apply_configuration', args: {}, priority: 10 }] } } });
      }, 'DeployTemplateDuplicateName');
    } finally { await w.close(); }
  });

  test(`${name}: renaming and deleting give a name back`, async () => {
    const w = await open();
    try {
      const n1 = randomUUID();
      assert.ok(E.isRight(await createNode(w.a, { name: `first-${tag}` }, n1)));
      assert.ok(E.isLeft(await createNode(w.b, { name: `first-${tag}` })));
      const renamed = await run(w.a, 'node', n1, { type: 'UpdateNode', data: { uuid: n1, at: at(), changes: { name: `second-${tag}` } } });
      assert.ok(E.isRight(renamed), 'rename succeeds');
      assert.ok(E.isRight(await createNode(w.b, { name: `first-${tag}` })), 'the old name is free again');
      const dup = await createNode(w.b, { name: `second-${tag}` });
      assert.ok(E.isLeft(dup) && dup.left.errorClass === 'DuplicateName', 'the new name is held');
      assert.ok(E.isRight(await run(w.a, 'node', n1, { type: 'DeleteNode', data: { uuid: n1, at: at() } })), 'delete an enroll node');
      assert.ok(E.isRight(await createNode(w.b, { name: `second-${tag}` })), 'a deleted node gives its name back');
    } finally { await w.close(); }
  });

  test(`${name}: a claim left by a writer that died before creating its node is taken over after the grace period`, async () => {
    const w = await open();
    try {
      // the dead writer: its claim exists, its node stream never came
      await w.a.append(`claim-node-name-orphan-${tag}`, [{ id: randomUUID(), type: 'ClaimAcquired', data: { owner: `node-${randomUUID()}`, kind: 'node-name', value: `orphan-${tag}` }, metadata: { correlationId: 'c', causationId: 'c', actor: 'test', timestamp: at() } }], 'no_stream');
      const uuid = randomUUID();
      const early = await createNode(w.b, { name: `orphan-${tag}` }, uuid);
      assert.ok(E.isLeft(early), 'a young claim is honoured: its owner may still be writing');
      const later = await run(w.b, 'node', uuid, { type: 'CreateNode', data: { uuid, at: at(), fields: { driver: 'fake-hardware', name: `orphan-${tag}` } } }, () => new Date(Date.now() + 60_000));
      assert.ok(E.isRight(later), 'past the grace period the orphaned claim is taken over');
    } finally { await w.close(); }
  });
};
