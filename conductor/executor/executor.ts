// What every part of the executor shares: the store, this conductor, its drivers, and the set of
// nodes with a task starting or running in this process (the in-process half of Ironic's lock;
// the node's `reservation` is the half everyone sees). `launch` hands a reserved task to the
// background, registered with takeover so that losing the node aborts it.

import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import { loadAggregate } from '../../command-handling/handle.ts';
import type { Writer } from '../../domain/conductor/index.ts';
import { domainError, type DomainError } from '../../domain/errors.ts';
import { nodeErrors, type Node } from '../../domain/node/index.ts';
import { streamId } from '../../domain/streams.ts';
import type { EventStore } from '../../eventstore/port.ts';
import { driverFor, type Driver, type HardwareType } from '../../drivers/hardware-type.ts';
import type { Conductor } from '../conductor.ts';
import type { Fence } from '../fencing.ts';
import { errorText, type Log } from '../log.ts';
import { nodeBinding } from '../node-binding.ts';
import type { Takeover } from '../takeover.ts';
import type { Envelope, NodeWriter, Written } from './node-writer.ts';
import { NodeTask, type TaskCommand } from './task.ts';

export interface ExecutorSettings {
  /** Ironic [conductor]automated_clean */
  automatedClean: boolean;
  /** seconds between power-state syncs; 0 disables */
  syncPowerStateIntervalS: number;
  powerStateSyncMaxRetries: number;
  /** seconds between sweeps for operations requested but never started */
  pickupIntervalS: number;
}

export interface ExecutorDeps {
  /** this conductor's hostname */
  host: string;
  store: EventStore;
  log: Log;
  conductor: () => Conductor;
  takeover: () => Takeover;
  hardwareTypes: ReadonlyMap<string, HardwareType>;
  settings: ExecutorSettings;
}

export interface TaskStart {
  node: Node;
  /** the node writer that read the node (its cached state saves the task a read) */
  nodeWriter?: NodeWriter;
  fence: Fence;
  writer: Writer;
  epoch: number;
  opId: string;
  correlationId?: string;
}

export class Executor {
  /** nodes with a task starting or running here: a second request gets NodeLocked at once */
  readonly busy = new Set<string>();
  readonly host: string;

  constructor(readonly deps: ExecutorDeps) {
    this.host = deps.host;
  }

  get log(): Log {
    return this.deps.log;
  }

  /** Is a task on this node starting or running in this process (here or as a resumed takeover)? */
  isBusy(uuid: string): boolean {
    return this.busy.has(uuid) || this.deps.takeover().running.has(uuid);
  }

  locked(uuid: string): DomainError {
    return nodeErrors.nodeLocked(uuid, this.host);
  }

  driverOf(node: Node): E.Either<DomainError, Driver> {
    const hw = this.deps.hardwareTypes.get(node.driver);
    if (!hw) return E.left(domainError('NotFound', `Could not find the following driver(s) or hardware type(s): ${node.driver}.`));
    try {
      return E.right(driverFor(hw, node));
    } catch (e) {
      return E.left(e as DomainError);
    }
  }

  /** The node as this conductor's index has it, or as its stream has it right now. */
  async currentNode(uuid: string, fresh = false): Promise<Node | undefined> {
    if (!fresh) {
      const known = this.deps.takeover().index.get(uuid);
      if (known) return known;
    }
    const loaded = await loadAggregate(this.deps.store, nodeBinding, streamId('node', uuid));
    return loaded.state.status === 'present' ? loaded.state.node : undefined;
  }

  newTask(s: TaskStart, signal: AbortSignal): NodeTask {
    return new NodeTask(
      {
        store: this.deps.store,
        fence: s.fence,
        holder: { host: this.host, ring_epoch: s.epoch },
        owner: { hostname: s.writer.hostname, incarnation: s.writer.incarnation, epoch: s.epoch },
        opId: s.opId,
        signal,
        ...(s.correlationId !== undefined ? { correlationId: s.correlationId } : {}),
      },
      s.node,
      s.nodeWriter,
    );
  }

  /**
   * Starts a task: registers it with takeover (whose cleanup aborts it if the node moves away),
   * then writes in one append the user's command (`lead`, when the request carries one), the
   * reservation and what the operation records before the request is answered (its plan of
   * steps, `prepare`), and runs the operation in the background. The caller has put the node in
   * `busy`; it stays there until the work ends. Left: refused, nothing runs. A `duplicate` write
   * (the lead was already recorded) runs nothing either.
   */
  async start(
    s: TaskStart,
    op: { run(task: NodeTask): Promise<void>; prepare?(node: Node): TaskCommand[] },
    lead?: Envelope,
    extra: readonly TaskCommand[] = [],
  ): Promise<E.Either<DomainError, { task: NodeTask; written: Written }>> {
    const takeover = this.deps.takeover();
    const uuid = s.node.uuid;
    const controller = takeover.track(uuid);
    const task = this.newTask(s, controller.signal);
    const end = () => {
      takeover.untrack(uuid, controller);
      this.busy.delete(uuid);
    };
    let written: E.Either<DomainError, Written>;
    try {
      written = await task.write(lead, [task.reserveCommand(), ...extra, ...(op.prepare?.(s.node) ?? [])]);
    } catch (e) {
      end();
      throw e;
    }
    if (E.isLeft(written) || written.right.duplicate) {
      end();
      return E.isLeft(written) ? written : E.right({ task, written: written.right });
    }
    void op
      .run(task)
      .catch((e: unknown) => this.log.error({ node: uuid, err: errorText(e) }, 'node task failed'))
      .finally(end);
    return E.right({ task, written: written.right });
  }

  /** Resolves once no task runs here, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.busy.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  opId(kind: string, uuid: string): string {
    return `${kind}:${uuid}:${this.host}:${randomUUID()}`;
  }
}
