// Takeover, cleanup and periodic tasks over the nodes this conductor owns (conductor/README.md).
//
// Triggers: every ring change, this conductor's (re)join, and a periodic sweep. For each node the
// ring gives it, `needsTakeover` (pure) says whether someone else's run left it reserved or
// mid-operation; `planTakeover` (pure) says what to append; the commands go through
// handleCommand with the fence as guard, with command ids derived from (node, epoch, step), so a
// repeated takeover appends nothing twice. Operations with recorded steps are handed to a
// resumer (the provisioning executor registers one per operation).
//
// Cleanup: nodes this conductor loses (a join moved them, or this run was fenced) have their
// local work aborted through the AbortSignal their resumer received; no append is needed (they
// would be fenced) — the new owner re-takes the reservation.

import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import { handleCommand } from '../command-handling/handle.ts';
import {
  callbackTimedOut,
  ironicCallbackTimeouts,
  needsTakeover,
  planTakeover,
  type CallbackTimeouts,
  type Membership,
  type ResumableOperation,
} from '../domain/conductor/index.ts';
import type { Holder, Node, NodeCommand } from '../domain/node/index.ts';
import { actorForConductor } from '../domain/metadata.ts';
import { streamId } from '../domain/streams.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Conductor } from './conductor.ts';
import { guardFor, type Fence } from './fencing.ts';
import { nodeBinding } from './node-binding.ts';
import { NodeIndex, placementOf } from './node-index.ts';
import { errorText, silentLog, type Log } from './log.ts';

export interface ResumeContext {
  fence: Fence;
  holder: Holder;
  signal: AbortSignal;
}

/** Continues an operation from `fromStep`; resolves when it ends (the reservation is its to release). */
export type Resumer = (node: Node, fromStep: number, ctx: ResumeContext) => Promise<void>;

export interface TakeoverOptions {
  conductor: Conductor;
  store: EventStore;
  log?: Log;
  resumers?: Partial<Record<ResumableOperation, Resumer>>;
  timeouts?: CallbackTimeouts;
  /** how often the periodic sweep runs (takeover safety net + callback timeouts); default 60 s */
  periodicMs?: number;
  /** how many nodes are taken over at once */
  concurrency?: number;
}

export interface Takeover {
  readonly index: NodeIndex;
  /** nodes with an operation run by this process (resumed here, or registered by the executor) */
  readonly running: ReadonlyMap<string, AbortController>;
  /** the executor registers an operation it starts, so takeover leaves the node alone */
  track(uuid: string): AbortController;
  untrack(uuid: string, controller: AbortController): void;
  /** resolves when the queue of pending takeovers is empty (tests) */
  idle(): Promise<void>;
  sweep(): void;
  stop(): Promise<void>;
}

export const startTakeover = async (o: TakeoverOptions): Promise<Takeover> => {
  const { conductor, store } = o;
  const log = o.log ?? silentLog;
  const host = conductor.config.host;
  const timeouts = o.timeouts ?? ironicCallbackTimeouts;
  // the index folds the nodes this conductor owns; the others are only placed
  const index = new NodeIndex(store, (p) => conductor.view.ownerOf(p) === host);
  await index.start();
  const running = new Map<string, AbortController>();
  const queued = new Set<string>();
  const queue: string[] = [];
  let active = 0;
  let stopped = false;
  let idleWaiters: Array<() => void> = [];

  const track = (uuid: string): AbortController => {
    const c = new AbortController();
    running.get(uuid)?.abort();
    running.set(uuid, c);
    return c;
  };
  const untrack = (uuid: string, c: AbortController) => {
    if (running.get(uuid) === c) running.delete(uuid);
  };

  const ownedNow = (node: Node): boolean => conductor.view.ownerOf(placementOf(node)) === host;

  const runCommands = async (node: Node, commands: NodeCommand[], fence: Fence, key: string | number): Promise<boolean> => {
    const guard = guardFor<unknown>(fence, () => placementOf(node));
    for (let i = 0; i < commands.length; i++) {
      const r = await handleCommand(nodeBinding, streamId('node', node.uuid), {
        commandId: `takeover:${node.uuid}:${host}:${key}:${i}`,
        command: commands[i],
        actor: actorForConductor(host),
      }, { store, guard });
      if (E.isLeft(r)) {
        log.warn({ node: node.uuid, command: commands[i].type, err: r.left.message }, 'takeover step refused');
        return false;
      }
    }
    return true;
  };

  const takeOver = async (uuid: string): Promise<void> => {
    await index.ensure(uuid);
    const node = index.get(uuid);
    const self = conductor.view.state.members[host];
    if (!node || !self || self.incarnation !== conductor.membership.writer.incarnation) return;
    if (!ownedNow(node) || !needsTakeover(node, { host, joinedAt: self.joinedAt }, running.has(uuid))) return;
    const fence = conductor.fenceForCurrentRun();
    const epoch = conductor.view.state.epoch;
    const plan = planTakeover(node, {
      host,
      epoch,
      joinedAt: self.joinedAt,
      at: new Date().toISOString(),
      historyId: randomUUID(),
      canResume: (op) => o.resumers?.[op] !== undefined,
    });
    if (!(await runCommands(node, plan.commands, fence, epoch))) return;
    log.info({ node: uuid, from: node.reservation ?? node.conductor_affinity, epoch, plan: plan.summary }, 'took over node');
    if (plan.action.kind === 'resume') {
      const resumer = o.resumers?.[plan.action.operation];
      const fresh = index.get(uuid) ?? node;
      if (resumer) {
        const c = track(uuid);
        void resumer(fresh, plan.action.fromStep, { fence, holder: { host, ring_epoch: epoch }, signal: c.signal })
          .catch((e) => log.error({ node: uuid, err: errorText(e) }, 'resumed operation failed'))
          .finally(() => untrack(uuid, c));
      }
    }
  };

  const pump = (): void => {
    const limit = o.concurrency ?? 8;
    while (!stopped && active < limit && queue.length > 0) {
      const uuid = queue.shift() as string;
      queued.delete(uuid);
      active++;
      void takeOver(uuid)
        .catch((e) => log.error({ node: uuid, err: errorText(e) }, 'takeover failed'))
        .finally(() => {
          active--;
          pump();
          if (active === 0 && queue.length === 0) {
            const w = idleWaiters;
            idleWaiters = [];
            for (const f of w) f();
          }
        });
    }
  };

  const enqueue = (uuid: string) => {
    if (queued.has(uuid)) return;
    queued.add(uuid);
    queue.push(uuid);
  };

  // nodes the ring has just given us are folded from their streams before they are judged
  const sweep = (): void => {
    if (stopped) return;
    void index
      .ensureOwned()
      .then(sweepFolded)
      .catch((e) => log.error({ err: errorText(e) }, 'takeover sweep failed'));
  };

  const sweepFolded = (): void => {
    if (stopped) return;
    const self = conductor.view.state.members[host];
    if (!self) return;
    // nodes with an operation in flight (a reservation) first; active nodes only change affinity
    const later: string[] = [];
    for (const node of index.nodes()) {
      if (!ownedNow(node)) continue;
      if (!needsTakeover(node, { host, joinedAt: self.joinedAt }, running.has(node.uuid))) continue;
      if (node.reservation !== null) enqueue(node.uuid);
      else later.push(node.uuid);
    }
    for (const uuid of later) enqueue(uuid);
    pump();
  };

  // cleanup: work on nodes this process no longer owns stops here
  const cleanup = (): void => {
    for (const [uuid, c] of running) {
      const placement = index.placementFor(uuid);
      if (!placement || conductor.view.ownerOf(placement) !== host) {
        c.abort();
        running.delete(uuid);
        log.info({ node: uuid }, 'node moved to another conductor; local work stopped');
      }
    }
  };

  const callbackTimeoutsTick = async (): Promise<void> => {
    const now = Date.now();
    for (const node of index.nodes()) {
      if (stopped || !ownedNow(node) || running.has(node.uuid)) continue;
      const lastError = callbackTimedOut(node, now, timeouts);
      if (lastError === undefined) continue;
      const epoch = conductor.view.state.epoch;
      const holder = { host, ring_epoch: epoch };
      const at = new Date().toISOString();
      const commands: NodeCommand[] = [
        { type: 'ReserveNode', data: { uuid: node.uuid, at, host, ring_epoch: epoch } },
        { type: 'ApplyProvisionEvent', data: { uuid: node.uuid, at, event: 'fail', last_error: lastError, holder } },
        // Ironic powers the node off after a callback timeout, which wipes the agent token (a later boot looks up again)
        { type: 'ClearAgentToken', data: { uuid: node.uuid, at, holder } },
        { type: 'ReleaseNode', data: { uuid: node.uuid, at, host } },
      ];
      const ok = await runCommands(node, commands, conductor.fenceForCurrentRun(), `timeout:${node.provision_updated_at ?? ''}`).catch(() => false);
      if (ok) log.warn({ node: node.uuid, state: node.provision_state }, lastError);
    }
  };

  const offView = conductor.view.onChange((_next: Membership) => {
    cleanup();
    sweep();
  });
  const offJoined = conductor.membership.onJoined(() => sweep());
  const offFenced = conductor.membership.onFenced(() => {
    for (const c of running.values()) c.abort();
    running.clear();
  });
  const timer = setInterval(() => {
    sweep();
    void callbackTimeoutsTick().catch((e) => log.error({ err: errorText(e) }, 'callback timeout check failed'));
  }, o.periodicMs ?? 60_000);
  timer.unref();
  sweep();

  return {
    index,
    running,
    track,
    untrack,
    sweep,
    idle: () => (active === 0 && queue.length === 0 ? Promise.resolve() : new Promise((r) => idleWaiters.push(r))),
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      offView();
      offJoined();
      offFenced();
      for (const c of running.values()) c.abort();
      await index.stop();
    },
  };
};
