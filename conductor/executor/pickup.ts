// Operations requested but never started. The owner records a request's transition and reserves
// the node in one append, so an unreserved node in a transient state (deploying, cleaning, ...)
// arises only when another writer recorded the transition (an API running its own command bus, a
// tool, an older ironlog) or a task released the node without ending its operation. Takeover does
// not touch unreserved nodes (no other run's work is on them), so the rule is the executor's
// (conductor/README.md, "Picking up operations never started"):
//
//   A node this conductor owns that is unreserved, not in maintenance, with no task here, and
//   either in a transient state (deploying, cleaning, verifying, inspecting, adopting, rescuing,
//   unrescuing, deleting) or with a pending power target, is an operation requested and never
//   started. Its owner starts it: from its recorded plan when it has one (resumed after the last
//   completed step), else from the beginning with the arguments of the node's last
//   ProvisionActionRequested event; a pending power target is driven to that target.
//
// Checked on this conductor's (re)join, on every ring change, every
// IRONLOG_CHECK_PROVISION_STATE_INTERVAL_S, and at once for a node whose request arrives again
// as a retry (a duplicate: its first owner may have died before its work got far).

import * as E from 'fp-ts/lib/Either.js';
import { randomUUID } from 'node:crypto';
import type { Node } from '../../domain/node/index.ts';
import { STUCK_STATES_TREATED_AS_FAIL } from '../../domain/provision/states.ts';
import { streamId } from '../../domain/streams.ts';
import { errorText } from '../log.ts';
import { placementOf } from '../node-index.ts';
import type { Executor } from './executor.ts';
import { powerOperation } from './power.ts';
import { operationFor, resumableFromLog, type Operation, type ProvisionRequest } from './provision.ts';
import { templateSteps, withTemplateSteps } from './deploy-templates.ts';
import type { DomainError } from '../../domain/errors.ts';
import type { TaskCommand } from './task.ts';

export const needsPickup = (node: Node): boolean =>
  node.reservation === null && !node.maintenance && (STUCK_STATES_TREATED_AS_FAIL.has(node.provision_state) || node.target_power_state !== null);

/** The user's request behind the node's current operation: its last ProvisionActionRequested. */
const lastRequest = async (ex: Executor, uuid: string): Promise<ProvisionRequest | undefined> => {
  const events = await ex.deps.store.readStream(streamId('node', uuid), { direction: 'backwards', maxCount: 200 });
  const found = events.find((e) => e.type === 'ProvisionActionRequested');
  if (!found) return undefined;
  const { uuid: _u, at: _a, event: _e, ...request } = found.data as ProvisionRequest & { uuid: string; at: string; event: string };
  return request;
};

/** A deploy's request with the deploy templates' steps, as the owner plans a deploy it is asked for (node-command.ts). */
const withTemplates = async (ex: Executor, node: Node, request: ProvisionRequest | undefined): Promise<E.Either<DomainError, ProvisionRequest | undefined>> => {
  if (node.provision_state !== 'deploying') return E.right(request);
  const driver = ex.driverOf(node);
  if (E.isLeft(driver)) return E.right(request); // the operation's own validation reports it
  const found = await templateSteps(ex.deps.store, driver.right, node);
  if (E.isLeft(found)) return found;
  const deploy_steps = withTemplateSteps(found.right, request?.deploy_steps);
  if (deploy_steps === undefined) return E.right(request);
  return E.right(request ? { ...request, deploy_steps } : { verb: 'active', deploy_steps });
};

export interface Pickup {
  /** checks every node this conductor owns, or only `uuid` */
  check(uuid?: string): void;
  stop(): void;
}

export const startPickup = (ex: Executor, intervalMs: number): Pickup => {
  const conductor = ex.deps.conductor();
  const takeover = ex.deps.takeover();
  let stopped = false;
  const inFlight = new Set<string>();

  const pick = async (node: Node): Promise<void> => {
    const uuid = node.uuid;
    let op: Operation | undefined = resumableFromLog(ex, node);
    if (!op && STUCK_STATES_TREATED_AS_FAIL.has(node.provision_state)) {
      const request = await withTemplates(ex, node, await lastRequest(ex, uuid));
      if (E.isLeft(request)) {
        // as the owner would have refused the request itself (400 at the API); the deploy timeout
        // or the next takeover fails it
        ex.log.warn({ node: uuid, err: request.left.message }, 'not picking up a deploy whose templates the driver cannot run');
        return;
      }
      op = operationFor(ex, node, undefined, request.right);
    }
    if (!op && node.target_power_state !== null) op = powerOperation(ex, undefined, undefined);
    if (!op || ex.isBusy(uuid)) return;
    ex.busy.add(uuid);
    const chosen = op;
    const self = conductor.membership.writer;
    const epoch = conductor.view.state.epoch;
    const history: TaskCommand = {
      type: 'RecordHistory',
      data: {
        entry: {
          uuid: randomUUID(),
          severity: 'INFO',
          event: `Conductor ${ex.host} started the ${chosen.name} of node ${uuid}, which was requested but never started.`,
          event_type: 'conductor',
          conductor: ex.host,
          user: null,
        },
      },
    };
    const started = await ex.start({ node, fence: conductor.fenceForCurrentRun(), writer: self, epoch, opId: ex.opId('pickup', uuid) }, chosen, undefined, [history]);
    if (E.isLeft(started)) {
      ex.log.info({ node: uuid, err: started.left.message }, 'could not pick up the operation');
      // the index was behind: someone holds it; takeover decides once it sees the reservation
      if (started.left.errorClass === 'NodeLocked') setTimeout(() => takeover.sweep(), 200).unref();
      return;
    }
    ex.log.info({ node: uuid, operation: chosen.name, state: node.provision_state }, 'picked up an operation that was never started');
  };

  const consider = (node: Node): void => {
    if (stopped || inFlight.has(node.uuid) || !needsPickup(node) || ex.isBusy(node.uuid)) return;
    if (conductor.view.ownerOf(placementOf(node)) !== ex.host) return;
    const self = conductor.view.state.members[ex.host];
    if (!self || self.incarnation !== conductor.membership.writer.incarnation) return;
    inFlight.add(node.uuid);
    void pick(node)
      .catch((e: unknown) => ex.log.error({ node: node.uuid, err: errorText(e) }, 'pickup failed'))
      .finally(() => inFlight.delete(node.uuid));
  };

  const check = (uuid?: string): void => {
    if (uuid !== undefined) {
      void ex.currentNode(uuid, true).then((n) => n && consider(n)).catch(() => undefined);
      return;
    }
    // the nodes a ring change just gave us are folded first
    void takeover.index
      .ensureOwned()
      .then(() => {
        for (const node of takeover.index.nodes()) consider(node);
      })
      .catch((e: unknown) => ex.log.error({ err: errorText(e) }, 'pickup check failed'));
  };

  const offView = conductor.view.onChange(() => check());
  const offJoined = conductor.membership.onJoined(() => check());
  const timer = setInterval(() => check(), intervalMs);
  timer.unref();
  check();
  return {
    check,
    stop: () => {
      stopped = true;
      clearInterval(timer);
      offView();
      offJoined();
    },
  };
};
