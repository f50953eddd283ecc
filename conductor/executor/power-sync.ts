// The periodic power-state sync (Ironic's _sync_power_states, reference §4.6, §6.5), over the
// nodes this conductor owns only: read each node's power state through its power interface and
// record a change (PowerStateObserved); after IRONLOG_POWER_STATE_SYNC_MAX_RETRIES failed reads in
// a row the node goes into maintenance with fault "power failure". Like Ironic it skips reserved
// nodes, nodes in maintenance and nodes in wait call-back, clean wait, enroll and adopt failed.
// The fake power interface reads the stored state, so for fake nodes this never writes anything.

import * as E from 'fp-ts/lib/Either.js';
import { randomUUID } from 'node:crypto';
import { execute } from '../../command-handling/execute.ts';
import { actorForConductor } from '../../domain/metadata.ts';
import type { Node, NodeCommand } from '../../domain/node/index.ts';
import type { PowerState } from '../../domain/power/states.ts';
import type { ProvisionState } from '../../domain/provision/states.ts';
import { failureText } from '../../drivers/base.ts';
import { guardFor } from '../fencing.ts';
import { errorText } from '../log.ts';
import { placementOf } from '../node-index.ts';
import type { Executor } from './executor.ts';

export const SYNC_EXCLUDED_STATES: ReadonlySet<ProvisionState> = new Set(['wait call-back', 'clean wait', 'enroll', 'adopt failed']);

export type PowerReading = { ok: true; state: PowerState | null } | { ok: false; error: string };

export type SyncDecision =
  | { kind: 'none'; failures: number }
  | { kind: 'observe'; failures: 0; powerState: PowerState | null }
  | { kind: 'maintenance'; failures: 0; reason: string };

const shown = (s: PowerState | null): string => s ?? 'None';

/** Pure: what one sync of one node does, given its consecutive failed reads so far. */
export const decidePowerSync = (node: Node, reading: PowerReading, failures: number, maxRetries: number): SyncDecision => {
  if (!reading.ok) {
    const count = failures + 1;
    if (count < maxRetries) return { kind: 'none', failures: count };
    return {
      kind: 'maintenance',
      failures: 0,
      reason:
        `During sync_power_state, max retries exceeded for node ${node.uuid}, node state None does not match expected state '${shown(node.power_state)}'. ` +
        `Updating DB state to 'None' Switching node to maintenance mode. Error: ${reading.error}`,
    };
  }
  if (reading.state === node.power_state) return { kind: 'none', failures: 0 };
  return { kind: 'observe', failures: 0, powerState: reading.state };
};

export const syncCandidate = (node: Node): boolean =>
  node.reservation === null && !node.maintenance && !SYNC_EXCLUDED_STATES.has(node.provision_state) && node.target_power_state === null;

export interface PowerSync {
  /** one pass over the owned nodes (tests call it directly) */
  tick(): Promise<void>;
  stop(): void;
}

export const startPowerSync = (ex: Executor, intervalMs: number, maxRetries: number): PowerSync => {
  const conductor = ex.deps.conductor();
  const takeover = ex.deps.takeover();
  const failures = new Map<string, number>();
  let running: Promise<void> | undefined;
  let stopped = false;

  const record = async (node: Node, command: NodeCommand): Promise<void> => {
    const fence = conductor.fenceForCurrentRun();
    const placement = placementOf(node);
    const r = await execute(ex.deps.store, 'node', node.uuid, {
      commandId: `power-sync:${node.uuid}:${ex.host}:${randomUUID()}`,
      actor: actorForConductor(ex.host),
      command,
    }, { guard: guardFor<unknown>(fence, () => placement) });
    if (E.isLeft(r)) ex.log.info({ node: node.uuid, command: command.type, err: r.left.message }, 'power sync write refused');
  };

  const syncOne = async (node: Node): Promise<void> => {
    const driver = ex.driverOf(node);
    if (E.isLeft(driver)) return;
    let reading: PowerReading;
    try {
      reading = { ok: true, state: await driver.right.power.getPowerState({ node, signal: new AbortController().signal }) };
    } catch (e) {
      reading = { ok: false, error: failureText(e) };
    }
    const decision = decidePowerSync(node, reading, failures.get(node.uuid) ?? 0, maxRetries);
    if (decision.failures === 0) failures.delete(node.uuid);
    else failures.set(node.uuid, decision.failures);
    if (!reading.ok && decision.kind === 'none') {
      ex.log.warn({ node: node.uuid, attempt: decision.failures, of: maxRetries, err: reading.error }, 'During sync_power_state, could not get power state');
    }
    const at = new Date().toISOString();
    if (decision.kind === 'observe') {
      ex.log.info({ node: node.uuid, from: node.power_state, to: decision.powerState }, 'During sync_power_state, node state does not match expected state; updating recorded state');
      await record(node, { type: 'ObservePowerState', data: { uuid: node.uuid, at, power_state: decision.powerState } });
    } else if (decision.kind === 'maintenance') {
      ex.log.error({ node: node.uuid }, decision.reason);
      await record(node, { type: 'SetMaintenance', data: { uuid: node.uuid, at, reason: decision.reason, fault: 'power failure' } });
      await record(node, {
        type: 'RecordHistory',
        data: { uuid: node.uuid, at, entry: { uuid: randomUUID(), severity: 'ERROR', event: decision.reason, event_type: 'monitoring', conductor: ex.host, user: null } },
      });
    }
  };

  const pass = async (): Promise<void> => {
    const owned = new Set<string>();
    for (const node of takeover.index.nodes()) {
      if (stopped) return;
      if (conductor.view.ownerOf(placementOf(node)) !== ex.host) continue;
      owned.add(node.uuid);
      if (!syncCandidate(node) || ex.isBusy(node.uuid)) continue;
      await syncOne(node).catch((e: unknown) => ex.log.error({ node: node.uuid, err: errorText(e) }, 'power sync failed'));
    }
    for (const uuid of failures.keys()) if (!owned.has(uuid)) failures.delete(uuid);
  };

  const tick = (): Promise<void> => (running ??= pass().finally(() => (running = undefined)));
  const timer = intervalMs > 0 ? setInterval(() => void tick(), intervalMs) : undefined;
  timer?.unref();
  return {
    tick,
    stop: () => {
      stopped = true;
      if (timer) clearInterval(timer);
    },
  };
};
