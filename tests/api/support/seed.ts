// Seeding nodes as stored events, shared by support/app.ts and support/nats-app.ts: a node in any
// state is one NodeCreated (built by the real decider, then overridden), appended straight to the
// log; each append then waits until the read models have caught up with the log's head.

import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import type { ApiDeps } from '../../../api/deps.ts';
import { nodeDecider } from '../../../domain/node/index.ts';
import type { Node } from '../../../domain/node/node.ts';
import type { SqliteEventStore } from '../../../eventstore/sqlite.ts';

const at = () => new Date().toISOString().replace('Z', '+00:00');

export interface NodeSeeder {
  /** waits until the read models have applied everything in the log */
  caughtUp(): Promise<void>;
  appendNodeEvents(uuid: string, events: Array<{ type: string; data: unknown }>): Promise<void>;
  seedNode(fields: Partial<Node>): Promise<Node>;
}

export const nodeSeeder = (store: SqliteEventStore, readModels: Pick<ApiDeps['readModels'], 'waitForPosition'>): NodeSeeder => {
  const caughtUp = async () => {
    const head = await store.headPosition();
    if (head !== 'start') await readModels.waitForPosition(head, 5000);
  };
  const appendNodeEvents = async (uuid: string, events: Array<{ type: string; data: unknown }>) => {
    const existing = await store.readStream(`node-${uuid}`);
    const correlationId = `req-${randomUUID()}`;
    await store.append(
      `node-${uuid}`,
      events.map((e) => ({ id: randomUUID(), type: e.type, data: e.data, metadata: { correlationId, causationId: correlationId, actor: 'test-seed', timestamp: at() } })),
      existing.length === 0 ? 'no_stream' : existing[existing.length - 1]!.revision,
    );
    await caughtUp();
  };
  const seedNode = async (fields: Partial<Node>) => {
    const uuid = fields.uuid ?? randomUUID();
    const decided = nodeDecider.decide({ type: 'CreateNode', data: { uuid, at: at(), fields: { driver: fields.driver ?? 'fake-hardware' } } }, nodeDecider.initialState());
    if (E.isLeft(decided)) throw new Error(decided.left.message);
    const created = decided.right[0] as { type: 'NodeCreated'; data: { node: Node } };
    const node: Node = { ...created.data.node, ...fields, uuid };
    await appendNodeEvents(uuid, [{ type: 'NodeCreated', data: { node } }]);
    return node;
  };
  return { caughtUp, appendNodeEvents, seedNode };
};
