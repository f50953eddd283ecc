// The allocation process (reference §3.8), Ironic's conductor-side create_allocation: pick a
// random node matching {resource class, available, unassociated, powered, not in maintenance,
// candidate list, owner, traits ⊇ requested} (a node named like the allocation first, 1.79),
// record the allocation on it (allocation_uuid, instance_uuid, traits in instance_info) and mark
// the allocation active; or mark it failed with Ironic's last_error. A backfill (≥1.58) only
// records the allocation on the given node.
//
// It runs after the API has answered (Ironic's RPC is a cast), through the command handler, in
// the API process until the conductors take allocation requests over NATS.

import * as E from 'fp-ts/lib/Either.js';
import { randomUUID } from 'node:crypto';
import { execute } from '../command-handling/execute.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { AllocationCommand } from '../domain/allocation/index.ts';
import { isoTime } from './command-bus.ts';
import type { AllocationView, CommandMeta, NodeView, ReadModels, Written } from './deps.ts';
import type { DomainError } from '../domain/errors.ts';

export interface AllocatorOptions {
  store: EventStore;
  readModels: ReadModels;
  /** who the events name (`conductor:<host>`) */
  actor: string;
  clock: () => Date;
  /** hardware types whose nodes may be picked */
  serves: (driver: string) => boolean;
  /** runs work after the current request has been answered */
  background: (work: () => Promise<void>) => void;
  log?: { warn(obj: object, msg: string): void };
}

export class Allocator {
  /** one allocation at a time: two must never pick the same node */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly o: AllocatorOptions) {}

  async allocate(allocationUuid: string, meta: CommandMeta): Promise<E.Either<DomainError, Written>> {
    this.o.background(() => {
      const next = this.queue.then(() => this.run(allocationUuid, meta));
      this.queue = next.catch(() => undefined);
      return next;
    });
    return E.right({ position: undefined });
  }

  private at(): string {
    return isoTime(this.o.clock());
  }

  private async exec(kind: 'allocation' | 'node', id: string, command: unknown, meta: CommandMeta) {
    return execute(this.o.store, kind, id, { commandId: randomUUID(), actor: this.o.actor, correlationId: meta.correlationId, causationId: meta.commandId, command }, { now: this.o.clock });
  }

  private async finish(uuid: string, command: AllocationCommand, meta: CommandMeta): Promise<void> {
    const r = await this.exec('allocation', uuid, command, meta);
    if (E.isLeft(r)) this.o.log?.warn({ allocation: uuid, error: r.left.message }, 'allocation not recorded');
  }

  async run(uuid: string, meta: CommandMeta): Promise<void> {
    const alloc = await this.o.readModels.allocations.get(uuid);
    if (!alloc || alloc.state !== 'allocating') return;
    const fail = (error: string) =>
      this.finish(uuid, { type: 'FailAllocation', data: { uuid, at: this.at(), last_error: `Failed to process allocation ${uuid}: ${error}.` } }, meta);
    const complete = (node: string) => this.finish(uuid, { type: 'CompleteAllocation', data: { uuid, at: this.at(), node_uuid: node } }, meta);

    if (alloc.node_uuid) {
      const node = await this.o.readModels.nodes.get(alloc.node_uuid);
      if (!node) return fail(`node ${alloc.node_uuid} could not be found`);
      return (await this.bind(node, alloc, meta)) ? complete(node.uuid) : fail(`node ${node.uuid} could not be associated with it`);
    }
    // the previous allocation's node must show as taken before candidates are chosen
    const head = await this.o.store.headPosition();
    if (head !== 'start') await this.o.readModels.waitForPosition(head, 10_000);
    for (const node of await this.candidates(alloc)) {
      if (await this.bind(node, alloc, meta)) return complete(node.uuid);
    }
    let why = `no available nodes match the resource class ${alloc.resource_class}`;
    if (alloc.traits.length > 0) why += ` and the traits ${alloc.traits.join(', ')}`;
    return fail(why);
  }

  private async candidates(alloc: AllocationView): Promise<NodeView[]> {
    const found: NodeView[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await this.o.readModels.nodes.list({
        limit: 1000,
        sortKey: 'id',
        sortDir: 'asc',
        ...(marker !== undefined ? { marker } : {}),
        filters: { provision_state: 'available', associated: false, maintenance: false, ...(alloc.resource_class ? { resource_class: alloc.resource_class } : {}) },
      });
      if (E.isLeft(page)) break;
      for (const n of page.right) {
        if (n.power_state === null || n.allocation_uuid !== null || n.retired || n.reservation !== null) continue;
        if (!this.o.serves(n.driver)) continue;
        if (alloc.candidate_nodes.length > 0 && !alloc.candidate_nodes.includes(n.uuid)) continue;
        if (alloc.owner !== null && n.owner !== alloc.owner && n.lessee !== alloc.owner) continue;
        if (!alloc.traits.every((t) => n.traits.includes(t))) continue;
        found.push(n);
      }
      if (page.right.length < 1000) break;
      marker = page.right[page.right.length - 1]!.uuid;
    }
    for (let i = found.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [found[i], found[j]] = [found[j]!, found[i]!];
    }
    return alloc.name ? [...found.filter((n) => n.name === alloc.name), ...found.filter((n) => n.name !== alloc.name)] : found;
  }

  /** Records the allocation on the node; false when the node refuses (taken meanwhile, locked...). */
  private async bind(node: NodeView, alloc: AllocationView, meta: CommandMeta): Promise<boolean> {
    const changes: Record<string, unknown> = { allocation_uuid: alloc.uuid };
    if (node.instance_uuid === null) changes.instance_uuid = alloc.uuid;
    if (alloc.traits.length > 0) changes.instance_info = { ...node.instance_info, traits: alloc.traits };
    const r = await this.exec('node', node.uuid, { type: 'UpdateNodeInternal', data: { uuid: node.uuid, at: this.at(), changes } }, meta);
    if (E.isLeft(r)) {
      this.o.log?.warn({ node: node.uuid, allocation: alloc.uuid, error: r.left.message }, 'candidate node refused the allocation');
      return false;
    }
    return true;
  }
}
