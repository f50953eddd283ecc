// The in-process conductor: what the API talks to when no conductor client (NATS) is configured.
// It serves the hardware types it is given in one conductor group, owns every node of those
// (a ring of one), runs node commands through the command handler, and, for `fake-hardware`,
// finishes the work the way Ironic's fake drivers do once the request is accepted (verify,
// clean, deploy, tear down, inspect, adopt, rescue, unrescue and power complete at once), as
// an Ironic conductor's worker thread would after the API's 202. It also runs the allocation
// process (allocator.ts).
//
// `ironlog api` uses it with IRONLOG_API_CONDUCTORS=local (its default); `ironlog start` and
// deployments with conductors use the NATS conductors (api/nats-conductors.ts). It completes
// work at once without a plan of steps, so deploy templates do not apply here.

import * as E from 'fp-ts/lib/Either.js';
import { randomUUID } from 'node:crypto';
import { execute } from '../command-handling/execute.ts';
import { noValidHost } from '../domain/conductor/index.ts';
import type { DomainError } from '../domain/errors.ts';
import type { NodeCommand } from '../domain/node/commands.ts';
import type { NodeState } from '../domain/node/evolve.ts';
import type { Node } from '../domain/node/node.ts';
import type { ProvisionEvent } from '../domain/provision/states.ts';
import type { EventStore } from '../eventstore/port.ts';
import { fakeHardwareInterfaces } from '../conductor/conductor.ts';
import { isoTime } from './command-bus.ts';
import { Allocator } from './allocator.ts';
import type { CommandMeta, Conductors, ConductorView, HardwareTypeInfo, NodePlacement, ReadModels, Written } from './deps.ts';
import { driverProperties } from './hardware.ts';
import { localExtensions } from './local-extensions.ts';

export interface LocalConductorOptions {
  store: EventStore;
  readModels: ReadModels;
  /** this conductor's hostname (Ironic's [DEFAULT]host) */
  host: string;
  /** its conductor group, lowercased ("" = the default group) */
  group?: string;
  /** default: fake-hardware */
  hardwareTypes?: string[];
  clock: () => Date;
  /** finish fake-hardware work right after accepting it (default true) */
  fakeWork?: boolean;
  /** how long to wait for the read models before choosing allocation candidates */
  readTimeoutMs?: number;
  log?: { warn(obj: object, msg: string): void };
}

type Outcome = E.Either<DomainError, Written>;

/** The event the fake drivers fire to finish the work of each transient state. */
const fakeNext = (n: Node): ProvisionEvent | undefined => {
  switch (n.provision_state) {
    case 'verifying':
    case 'deploying':
    case 'inspecting':
    case 'adopting':
    case 'rescuing':
    case 'unrescuing':
      return 'done';
    case 'cleaning':
      // manual cleaning returns to manageable, automated cleaning ends in available
      return n.target_provision_state === 'manageable' ? 'manage' : 'done';
    case 'deleting':
      return 'clean';
    default:
      return undefined;
  }
};

export class LocalConductor implements Conductors {
  readonly host: string;
  readonly group: string;
  readonly types: readonly string[];
  private readonly startedAt: string;
  private readonly pending = new Set<Promise<void>>();
  private readonly actor: string;

  private readonly allocator: Allocator;
  private readonly extensions: ReturnType<typeof localExtensions>;

  constructor(private readonly o: LocalConductorOptions) {
    this.allocator = new Allocator({
      store: o.store,
      readModels: o.readModels,
      actor: `conductor:${o.host}`,
      clock: o.clock,
      serves: (driver) => this.types.includes(driver),
      background: (work) => this.background(work),
    });
    this.host = o.host;
    this.group = (o.group ?? '').toLowerCase();
    this.types = o.hardwareTypes ?? ['fake-hardware'];
    this.startedAt = isoTime(o.clock());
    this.actor = `conductor:${o.host}`;
    this.extensions = localExtensions({ store: o.store, readModels: o.readModels, actor: this.actor, clock: o.clock, background: (work) => this.background(work) });
  }

  ownerOf(node: NodePlacement): string | null {
    return this.types.includes(node.driver) && node.group.toLowerCase() === this.group ? this.host : null;
  }

  hardwareTypes(): ReadonlyMap<string, HardwareTypeInfo> {
    return new Map(
      this.types.map((name) => [
        name,
        { name, hosts: [this.host], interfaces: fakeHardwareInterfaces[name] ?? {}, properties: driverProperties[name] ?? {} },
      ]),
    );
  }

  extraConductors(): ConductorView[] {
    return [{ hostname: this.host, conductor_group: this.group, alive: true, drivers: [...this.types], created_at: this.startedAt, updated_at: this.startedAt }];
  }

  /** Resolves once all work started so far (fake completions, allocations) has finished. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private background(work: () => Promise<void>): void {
    const p = (async () => {
      // after the API has answered, as an Ironic worker thread runs after the RPC returned
      await new Promise<void>((r) => setImmediate(r));
      await work();
    })().catch((err: unknown) => this.o.log?.warn({ err }, 'in-process conductor work failed'));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async run(nodeUuid: string, command: NodeCommand, meta: CommandMeta, actor: string) {
    return execute(
      this.o.store,
      'node',
      nodeUuid,
      { commandId: meta.commandId, actor, correlationId: meta.correlationId, causationId: meta.commandId, command },
      { now: this.o.clock },
    );
  }

  private internal(meta: CommandMeta): CommandMeta {
    return { actor: this.actor, correlationId: meta.correlationId, commandId: randomUUID() };
  }

  private at(): string {
    return isoTime(this.o.clock());
  }

  async request(node: NodePlacement, command: NodeCommand, meta: CommandMeta): Promise<Outcome> {
    if (this.ownerOf(node) === null) return E.left(noValidHost(node));
    const r = await this.run(node.uuid, command, meta, meta.actor);
    if (E.isLeft(r)) return r;
    const state = r.right.state as NodeState;
    if ((this.o.fakeWork ?? true) && node.driver === 'fake-hardware' && state.status === 'present' && !r.right.duplicate) {
      this.background(() => this.finishFake(state.node, command, meta));
    }
    return E.right({ position: r.right.position });
  }

  /** Vendor passthru and indicators (local-extensions.ts), on a node this conductor owns. */
  async call(node: NodePlacement, action: string, args: Record<string, unknown>, meta: CommandMeta): Promise<E.Either<DomainError, unknown>> {
    if (this.ownerOf(node) === null) return E.left(noValidHost(node));
    return this.extensions.call(node, action, args, meta);
  }

  /** Driver vendor passthru and RAID logical disk properties, for a hardware type served here. */
  async callDriver(driver: string, action: string, args: Record<string, unknown>): Promise<E.Either<DomainError, unknown>> {
    return this.extensions.callDriver(driver, action, args);
  }

  /** Runs one conductor command; a refusal ends the work (logged), as a failed task would. */
  private async step(uuid: string, command: NodeCommand, meta: CommandMeta): Promise<NodeState | undefined> {
    const r = await this.run(uuid, command, this.internal(meta), this.actor);
    if (E.isLeft(r)) {
      this.o.log?.warn({ node: uuid, command: command.type, error: r.left.message }, 'in-process conductor step refused');
      return undefined;
    }
    return r.right.state as NodeState;
  }

  private async finishFake(node: Node, command: NodeCommand, meta: CommandMeta): Promise<void> {
    const uuid = node.uuid;
    switch (command.type) {
      case 'RequestPowerState':
        if (node.target_power_state !== null) {
          await this.step(uuid, { type: 'RecordPowerState', data: { uuid, at: this.at(), power_state: node.target_power_state } }, meta);
        }
        return;
      case 'RequestBootMode': {
        const { boot_mode, secure_boot } = command.data;
        await this.step(uuid, { type: 'RecordBootMode', data: { uuid, at: this.at(), ...(boot_mode !== undefined ? { boot_mode } : {}), ...(secure_boot !== undefined ? { secure_boot } : {}) } }, meta);
        return;
      }
      case 'RequestProvisionAction': {
        let current: Node = node;
        for (let guard = 0; guard < 10; guard++) {
          const event = fakeNext(current);
          if (!event) return;
          if (current.provision_state === 'deleting') await this.tearDown(current, meta);
          const next = await this.step(uuid, { type: 'ApplyProvisionEvent', data: { uuid, at: this.at(), event } }, meta);
          if (!next || next.status !== 'present') return;
          current = next.node;
        }
        return;
      }
      default:
        return;
    }
  }

  /** Ironic's _do_node_tear_down: the instance goes, and with it the node's allocation. */
  private async tearDown(node: Node, meta: CommandMeta): Promise<void> {
    const uuid = node.uuid;
    if (node.allocation_uuid) {
      const id = node.allocation_uuid;
      const m = this.internal(meta);
      await execute(this.o.store, 'allocation', id, { commandId: m.commandId, actor: this.actor, correlationId: m.correlationId, command: { type: 'DeleteAllocation', data: { uuid: id, at: this.at() } } }, { now: this.o.clock });
    }
    const changes: Record<string, unknown> = {};
    if (Object.keys(node.instance_info).length > 0) changes.instance_info = {};
    if (node.instance_uuid !== null) changes.instance_uuid = null;
    if (node.allocation_uuid !== null) changes.allocation_uuid = null;
    if (Object.keys(changes).length > 0) await this.step(uuid, { type: 'UpdateNodeInternal', data: { uuid, at: this.at(), changes } }, meta);
  }

  // ---- allocations ---------------------------------------------------------------------------

  async allocate(allocationUuid: string, meta: CommandMeta): Promise<Outcome> {
    return this.allocator.allocate(allocationUuid, meta);
  }
}
