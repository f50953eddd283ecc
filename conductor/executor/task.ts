// One node task, as Ironic's TaskManager holds one: the node's exclusive reservation (ReserveNode
// at the ring epoch), the fence of the run that took the work, and an AbortSignal that ends it
// when this conductor loses the node. Every command it applies names the reservation (`holder`),
// goes through the fence right before its append, and carries a command id derived from the
// operation's id and its sequence number, so each is recorded at most once.

import * as E from 'fp-ts/lib/Either.js';
import { execute } from '../../command-handling/execute.ts';
import type { NodePlacement, OwnershipRecord } from '../../domain/conductor/index.ts';
import type { DomainError } from '../../domain/errors.ts';
import { actorForConductor } from '../../domain/metadata.ts';
import type { Holder, Node, NodeCommand, NodeState } from '../../domain/node/index.ts';
import type { EventStore } from '../../eventstore/port.ts';
import type { Task } from '../../drivers/base.ts';
import { guardFor, ownerMetadataKey, type Fence } from '../fencing.ts';
import { placementOf } from '../node-index.ts';

export interface TaskScope {
  store: EventStore;
  fence: Fence;
  holder: Holder;
  /** stamped on every event as `metadata.owner` (the run and the ring epoch it works under) */
  owner: OwnershipRecord;
  /** prefix of every command id this task writes */
  opId: string;
  signal: AbortSignal;
  correlationId?: string;
}

/** Anything without a holder on a command is filled in by the task. */
type WithoutHolder<C> = C extends { type: infer T; data: infer D } ? { type: T; data: Omit<D, 'holder' | 'uuid' | 'at'> } : never;
export type TaskCommand = WithoutHolder<NodeCommand>;

const holderCommands: ReadonlySet<string> = new Set([
  'UpdateNode', 'UpdateNodeInternal', 'ApplyProvisionEvent', 'RecordPowerState', 'FailPowerState', 'ObservePowerState',
  'SetMaintenance', 'ClearMaintenance', 'AttachVif', 'DetachVif', 'SetConsoleMode', 'RecordBootMode',
  'UpdateDriverInternalInfo', 'IssueAgentToken', 'ClearAgentToken', 'RecordAgentHeartbeat', 'PlanSteps', 'StartStep', 'CompleteStep',
]);

export class NodeTask implements Task {
  private seq = 0;
  /** the last command's global position (the API waits for its read models to reach it) */
  position: bigint | undefined;

  constructor(private readonly scope: TaskScope, public node: Node) {}

  get signal(): AbortSignal {
    return this.scope.signal;
  }

  get uuid(): string {
    return this.node.uuid;
  }

  get holder(): Holder {
    return this.scope.holder;
  }

  get placement(): NodePlacement {
    return placementOf(this.node);
  }

  /** Applies one node command under this task's reservation; Right is the node after it. */
  async apply(command: TaskCommand): Promise<E.Either<DomainError, Node>> {
    const { store, holder } = this.scope;
    const uuid = this.node.uuid;
    const data: Record<string, unknown> = { ...command.data, uuid, at: new Date().toISOString() };
    if (holderCommands.has(command.type)) data.holder = holder;
    const commandId = `${this.scope.opId}:${this.seq++}:${command.type}`;
    const placement = this.placement;
    const r = await execute(
      store,
      'node',
      uuid,
      {
        commandId,
        command: { type: command.type, data },
        actor: actorForConductor(holder.host),
        correlationId: this.scope.correlationId ?? this.scope.opId,
        causationId: this.scope.opId,
      },
      { guard: guardFor<unknown>(this.scope.fence, () => placement), extraMetadata: { [ownerMetadataKey]: this.scope.owner } },
    );
    if (E.isLeft(r)) return r;
    const state = r.right.state as NodeState;
    if (state.status === 'present') this.node = state.node;
    if (r.right.position !== undefined) this.position = r.right.position;
    return E.right(this.node);
  }

  reserve(): Promise<E.Either<DomainError, Node>> {
    return this.apply({ type: 'ReserveNode', data: { host: this.holder.host, ring_epoch: this.holder.ring_epoch } });
  }

  release(): Promise<E.Either<DomainError, Node>> {
    return this.apply({ type: 'ReleaseNode', data: { host: this.holder.host } });
  }
}
