// The conductor's own in-memory index of every node (state folded from the node streams through
// a catch-up subscription), so that on a ring change it can tell at once which nodes it gained
// and lost without asking a read model that may lag.

import * as E from 'fp-ts/lib/Either.js';
import { nodeDecider, type Node, type NodeState } from '../domain/node/index.ts';
import { streamPrefix, parseStreamId } from '../domain/streams.ts';
import type { EventStore, Subscription } from '../eventstore/port.ts';
import type { NodePlacement } from '../domain/conductor/index.ts';
import { nodeBinding } from './node-binding.ts';

export const placementOf = (node: Node): NodePlacement => ({ uuid: node.uuid, group: node.conductor_group ?? '', driver: node.driver });

export class NodeIndex {
  private readonly states = new Map<string, NodeState>();
  private sub: Subscription | undefined;
  private readonly listeners = new Set<(uuids: string[]) => void>();

  constructor(private readonly store: EventStore) {}

  async start(): Promise<void> {
    this.sub = this.store.subscribeToAll({ after: 'start', streamPrefixes: [streamPrefix('node')] }, (batch) => {
      const touched: string[] = [];
      for (const r of batch) {
        const id = parseStreamId(r.streamId)?.id;
        if (id === undefined) continue;
        const decoded = nodeBinding.decode(r);
        if (E.isLeft(decoded)) throw decoded.left;
        const prev = this.states.get(id) ?? nodeDecider.initialState();
        this.states.set(id, nodeDecider.evolve(prev, decoded.right));
        touched.push(id);
      }
      for (const l of this.listeners) l(touched);
    });
    await this.sub.caughtUp;
  }

  async stop(): Promise<void> {
    await this.sub?.stop();
    this.sub = undefined;
  }

  onUpdate(l: (uuids: string[]) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  get(uuid: string): Node | undefined {
    const s = this.states.get(uuid);
    return s?.status === 'present' ? s.node : undefined;
  }

  nodes(): Node[] {
    const out: Node[] = [];
    for (const s of this.states.values()) if (s.status === 'present') out.push(s.node);
    return out;
  }
}
