// A process's view of the membership ring: the `membership-ring` stream folded into a Membership,
// kept fresh three ways — a NATS notice after every membership append (fast), a poll of the stream
// (in case a notice was lost, e.g. while NATS was restarting), and an explicit refresh() right
// before anything that must not act on a stale ring (fencing, re-routing).
//
// Both conductors and request senders (the API) hold one; the rings it builds are the same in every
// process that has read the same events.

import * as E from 'fp-ts/lib/Either.js';
import type { NatsConnection, Subscription as NatsSubscription } from 'nats';
import { membershipStream } from '../domain/streams.ts';
import {
  evolveMembership,
  emptyMembership,
  liveMembers,
  resolveOwner,
  MembershipEvent,
  type Member,
  type Membership,
  type NodePlacement,
  type OwnerLookup,
} from '../domain/conductor/index.ts';
import type { DomainError } from '../domain/errors.ts';
import type { EventStore, RecordedEvent } from '../eventstore/port.ts';
import { CorruptStoredEvent } from '../eventstore/errors.ts';
import { buildRings, defaultPartitionExponent, ownerOfNode, type Rings } from './hash-ring.ts';
import { subjects } from './subjects.ts';
import { errorText, silentLog, type Log } from './log.ts';

export interface MembershipViewOptions {
  store: EventStore;
  /** without NATS the view relies on polling and explicit refreshes */
  nc?: NatsConnection;
  /** default 1000 ms */
  pollIntervalMs?: number;
  partitionExponent?: number;
  log?: Log;
}

export type ChangeListener = (next: Membership, prev: Membership, events: readonly MembershipEvent[]) => void;

export const decodeMembershipEvent = (r: RecordedEvent): MembershipEvent => {
  const decoded = MembershipEvent.decode({ type: r.type, data: r.data });
  if (E.isLeft(decoded)) throw new CorruptStoredEvent(r.streamId, r.revision, `not a membership event of a known shape (${r.type})`);
  return decoded.right;
};

const sameMembers = (a: readonly Member[], b: readonly Member[]): boolean => {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

export class MembershipView {
  private current: Membership = emptyMembership();
  private lastRevision: bigint | undefined;
  private readonly history: MembershipEvent[] = [];
  private readonly listeners = new Set<ChangeListener>();
  private running: Promise<Membership> | undefined;
  private queued: Promise<Membership> | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private noticeSub: NatsSubscription | undefined;
  private ringCache: { key: string; members: readonly Member[]; rings: Rings } | undefined;
  /** liveMembers of `current`, computed once per membership state */
  private liveCache: { state: Membership; members: readonly Member[] } | undefined;
  private readonly log: Log;
  readonly partitionExponent: number;

  constructor(private readonly options: MembershipViewOptions) {
    this.log = options.log ?? silentLog;
    this.partitionExponent = options.partitionExponent ?? defaultPartitionExponent;
  }

  get state(): Membership {
    return this.current;
  }

  /** the membership stream's last revision read, for appending with an expected revision */
  get revision(): bigint | undefined {
    return this.lastRevision;
  }

  /** every membership event read so far, in order (ringAt(events, epoch) over it) */
  get events(): readonly MembershipEvent[] {
    return this.history;
  }

  async start(): Promise<void> {
    await this.refresh();
    const nc = this.options.nc;
    if (nc) {
      this.noticeSub = nc.subscribe(subjects.membershipChanged, {
        callback: () => void this.refresh().catch((e) => this.log.warn({ err: errorText(e) }, 'membership refresh failed')),
      });
    }
    const every = this.options.pollIntervalMs ?? 1000;
    this.pollTimer = setInterval(() => {
      void this.refresh().catch((e) => this.log.warn({ err: errorText(e) }, 'membership poll failed'));
    }, every);
    this.pollTimer.unref();
  }

  stop(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    this.noticeSub?.unsubscribe();
    this.noticeSub = undefined;
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Reads what the membership stream gained since the last read. Calls made while a read runs
   * share the next read, so each caller sees the log as it was at some point after its call.
   */
  refresh(): Promise<Membership> {
    if (this.queued) return this.queued;
    if (this.running) {
      this.queued = this.running
        .catch(() => undefined)
        .then(() => {
          this.queued = undefined;
          return this.refresh();
        });
      return this.queued;
    }
    const run = this.readNew().finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async readNew(): Promise<Membership> {
    const from = this.lastRevision === undefined ? 'start' : this.lastRevision + 1n;
    const recorded = await this.options.store.readStream(membershipStream, { fromRevision: from });
    if (recorded.length === 0) return this.current;
    const prev = this.current;
    const fresh: MembershipEvent[] = [];
    let next = prev;
    for (const r of recorded) {
      const e = decodeMembershipEvent(r);
      next = evolveMembership(next, e);
      fresh.push(e);
      this.lastRevision = r.revision;
    }
    this.history.push(...fresh);
    this.current = next;
    for (const l of this.listeners) {
      try {
        l(next, prev, fresh);
      } catch (e) {
        this.log.error({ err: errorText(e) }, 'membership change listener failed');
      }
    }
    return next;
  }

  /** Resolves true once `pred` holds of the membership (refreshing as it waits), false on timeout. */
  async waitFor(pred: (m: Membership) => boolean, timeoutMs: number, everyMs = 50): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (pred(await this.refresh())) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  rings(): Rings {
    const state = this.current;
    if (this.liveCache?.state !== state) this.liveCache = { state, members: liveMembers(state) };
    return this.ringsFor(this.liveCache.members);
  }

  /**
   * Rings are rebuilt only when the members that shape them change. Every request, fence and
   * node-index update looks an owner up: the same member objects (membership states share them
   * until a member changes) answer without building the key.
   */
  private ringsFor(members: readonly Member[]): Rings {
    const cached = this.ringCache;
    if (cached !== undefined && sameMembers(cached.members, members)) return cached.rings;
    const key = members.map((m) => `${m.hostname}|${m.group}|${m.hardwareTypes.join(',')}`).join(';');
    this.ringCache = { key, members, rings: cached?.key === key ? cached.rings : buildRings(members, this.partitionExponent) };
    return this.ringCache.rings;
  }

  /** the ring lookup the pure fencing check takes */
  readonly ownerLookup: OwnerLookup = (members: readonly Member[], node: NodePlacement) => ownerOfNode(this.ringsFor(members), node);

  ownerOf(node: NodePlacement): string | undefined {
    return ownerOfNode(this.rings(), node);
  }

  /** api/deps.ts ConductorRing: the host the API reports as `node.conductor`, or null (NoValidHost) */
  conductorFor(node: { uuid: string; conductor_group?: string | null; driver: string }): string | null {
    return this.ownerOf({ uuid: node.uuid, group: node.conductor_group ?? '', driver: node.driver }) ?? null;
  }

  resolveOwner(node: NodePlacement): E.Either<DomainError, Member> {
    return resolveOwner(this.current, node, this.ownerLookup);
  }
}
