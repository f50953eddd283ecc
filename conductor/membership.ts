// A conductor's life in the ring: register, heartbeat, watch the others, declare the silent ones
// lost, leave on a clean shutdown, and rejoin as a new run after being declared lost itself.
//
// Liveness is judged only from heartbeats received over NATS, on this process's monotonic clock
// (no trust in other machines' clocks, no KV key expiry: nats-server 2.9 sends no event for it).
// A watcher never declares anyone lost when its own view is suspect:
//   - it is disconnected from NATS, or reconnected less than one loss timeout ago;
//   - its own heartbeats have not come back to it lately (it is the one cut off);
//   - its timer fired late (the process was stopped or starved: SIGSTOP, a long GC pause), so the
//     silence it measured is its own.
// Declarations race through the expected revision of `membership-ring`: one wins, the others
// re-decide and find nothing to do.

import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { Events, type NatsConnection, type Subscription as NatsSubscription } from 'nats';
import { isLive, liveMembers, type HardwareInterfaces, type Membership, type Writer } from '../domain/conductor/index.ts';
import type { EventStore } from '../eventstore/port.ts';
import { appendMembership } from './membership-log.ts';
import type { MembershipView } from './membership-view.ts';
import { subjects } from './subjects.ts';
import { errorText, silentLog, type Log } from './log.ts';

export const Heartbeat = t.type({ hostname: t.string, incarnation: t.string, epoch: t.number, seq: t.number });
export type Heartbeat = t.TypeOf<typeof Heartbeat>;

export interface ConductorMembershipOptions {
  store: EventStore;
  nc: NatsConnection;
  view: MembershipView;
  host: string;
  group: string;
  hardwareTypes: string[];
  interfaces: HardwareInterfaces;
  heartbeatIntervalMs: number;
  heartbeatMisses: number;
  log?: Log;
  /** monotonic milliseconds; tests may drive it */
  clock?: () => number;
}

export type FencedListener = (oldRun: Writer, membership: Membership) => void;
export type JoinedListener = (run: Writer, membership: Membership) => void;

export class ConductorMembership {
  private run: Writer;
  private readonly log: Log;
  private readonly clock: () => number;
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  /** losses are judged several times per heartbeat interval, so detection is close to the timeout */
  private readonly watchMs: number;
  private hbSub: NatsSubscription | undefined;
  private seq = 0;
  private lastTick = 0;
  private connected = true;
  /** no one is judged before this time (a reconnection: the others may still be reconnecting) */
  private judgeAfter = 0;
  private selfHeardAt = 0;
  /** `${hostname}\u0000${incarnation}` -> when we last heard it (or first saw it in the ring) */
  private readonly heardAt = new Map<string, number>();
  private readonly declaring = new Set<string>();
  private rejoining: Promise<void> | undefined;
  private stopped = true;
  /** this run's registration is in the log (until then "not live" is expected, not a fencing) */
  private joined = false;
  private readonly fencedListeners = new Set<FencedListener>();
  private readonly joinedListeners = new Set<JoinedListener>();
  private unwatchView: (() => void) | undefined;

  constructor(private readonly o: ConductorMembershipOptions) {
    this.log = o.log ?? silentLog;
    this.clock = o.clock ?? (() => performance.now());
    this.timeoutMs = o.heartbeatIntervalMs * o.heartbeatMisses;
    this.watchMs = Math.max(10, Math.floor(o.heartbeatIntervalMs / 4));
    this.run = { hostname: o.host, incarnation: randomUUID() };
  }

  /** this run of the conductor: what its appends are fenced by */
  get writer(): Writer {
    return this.run;
  }

  /** is this run a live member of the ring, as far as the last read of the log shows? */
  get live(): boolean {
    return isLive(this.o.view.state, this.run.hostname, this.run.incarnation);
  }

  onFenced(l: FencedListener): () => void {
    this.fencedListeners.add(l);
    return () => this.fencedListeners.delete(l);
  }

  onJoined(l: JoinedListener): () => void {
    this.joinedListeners.add(l);
    return () => this.joinedListeners.delete(l);
  }

  async start(): Promise<void> {
    this.stopped = false;
    const now = this.clock();
    this.lastTick = now;
    this.selfHeardAt = now;
    this.hbSub = this.o.nc.subscribe(subjects.heartbeatAll, { callback: (err, msg) => !err && this.onHeartbeat(msg.data) });
    void this.watchConnection();
    this.unwatchView = this.o.view.onChange((next) => this.onMembershipChange(next));
    await this.register();
    this.publishHeartbeat();
    this.timer = setInterval(() => this.publishHeartbeat(), this.o.heartbeatIntervalMs);
    this.watchTimer = setInterval(() => this.tick(), this.watchMs);
  }

  /** Stops heartbeating; with `leave` (a clean shutdown) appends ConductorLeft first. */
  async stop(options: { leave: boolean } = { leave: true }): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.timer = undefined;
    this.watchTimer = undefined;
    this.unwatchView?.();
    this.hbSub?.unsubscribe();
    this.hbSub = undefined;
    if (options.leave) {
      await appendMembership(this.deps(), { type: 'LeaveConductor', hostname: this.run.hostname, incarnation: this.run.incarnation });
      this.log.info({ host: this.run.hostname, epoch: this.o.view.state.epoch }, 'conductor left the ring');
    }
  }

  private deps() {
    return { store: this.o.store, view: this.o.view, nc: this.o.nc, actorHost: this.o.host };
  }

  private async register(): Promise<void> {
    const r = await appendMembership(this.deps(), {
      type: 'RegisterConductor',
      hostname: this.run.hostname,
      incarnation: this.run.incarnation,
      group: this.o.group,
      hardwareTypes: this.o.hardwareTypes,
      interfaces: this.o.interfaces,
    });
    if (E.isLeft(r)) throw new Error(r.left.message);
    const replaced = r.right.find((e) => e.type === 'ConductorRegistered' && e.data.replaces !== null);
    this.joined = true;
    if (replaced) this.log.warn({ host: this.run.hostname }, 'conductor was still registered as online (a previous run); taking it over');
    this.log.info({ host: this.run.hostname, incarnation: this.run.incarnation, epoch: this.o.view.state.epoch }, 'conductor registered');
    for (const l of this.joinedListeners) l(this.run, this.o.view.state);
  }

  private publishHeartbeat(): void {
    const hb: Heartbeat = { hostname: this.run.hostname, incarnation: this.run.incarnation, epoch: this.o.view.state.epoch, seq: ++this.seq };
    try {
      this.o.nc.publish(subjects.heartbeat(this.run.hostname), JSON.stringify(hb));
    } catch (e) {
      // closed or draining connection: the conductor is going away anyway
      this.log.debug({ err: errorText(e) }, 'heartbeat not published');
    }
  }

  private onHeartbeat(data: Uint8Array): void {
    let hb: Heartbeat;
    try {
      const decoded = Heartbeat.decode(JSON.parse(new TextDecoder().decode(data)));
      if (E.isLeft(decoded)) return;
      hb = decoded.right;
    } catch {
      return;
    }
    const now = this.clock();
    if (hb.hostname === this.run.hostname) {
      if (hb.incarnation === this.run.incarnation) this.selfHeardAt = now;
      return;
    }
    this.heardAt.set(`${hb.hostname}\u0000${hb.incarnation}`, now);
    // the sender has read a newer ring than ours: catch up now rather than at the next poll
    if (hb.epoch > this.o.view.state.epoch) void this.o.view.refresh().catch(() => undefined);
  }

  private async watchConnection(): Promise<void> {
    for await (const s of this.o.nc.status()) {
      if (s.type === Events.Disconnect) {
        this.connected = false;
        this.log.warn({ server: String(s.data) }, 'disconnected from NATS');
      } else if (s.type === Events.Reconnect) {
        this.connected = true;
        this.resetBaselines(this.clock());
        this.judgeAfter = this.clock() + this.timeoutMs;
        this.log.info({ server: String(s.data) }, 'reconnected to NATS');
        this.publishHeartbeat();
      }
    }
  }

  /** Forget measured silences: everyone gets a full timeout from now. */
  private resetBaselines(now: number): void {
    this.selfHeardAt = now;
    for (const key of this.heardAt.keys()) this.heardAt.set(key, now);
  }

  private onMembershipChange(next: Membership): void {
    const now = this.clock();
    const liveKeys = new Set<string>();
    for (const m of liveMembers(next)) {
      const key = `${m.hostname}\u0000${m.incarnation}`;
      liveKeys.add(key);
      // a member we have not heard yet gets a full timeout from the moment we learn of it
      if (!this.heardAt.has(key)) this.heardAt.set(key, now);
    }
    for (const key of this.heardAt.keys()) if (!liveKeys.has(key)) this.heardAt.delete(key);
    if (this.joined && !this.stopped && !isLive(next, this.run.hostname, this.run.incarnation)) void this.rejoin();
  }

  private tick(): void {
    if (this.stopped) return;
    const now = this.clock();
    const gap = now - this.lastTick;
    this.lastTick = now;
    if (gap > this.watchMs + this.o.heartbeatIntervalMs) {
      this.log.warn({ lateByMs: Math.round(gap - this.watchMs) }, 'watch timer fired late (process stopped or starved); not judging others this round');
      this.publishHeartbeat();
      this.resetBaselines(now);
      void this.o.view.refresh().catch(() => undefined);
      return;
    }
    if (!this.joined) return;
    if (!this.live) return void this.rejoin();
    // after a reconnection the others may still be reconnecting: they get twice the timeout
    if (!this.connected || now < this.judgeAfter) return;
    if (now - this.selfHeardAt > 2 * this.o.heartbeatIntervalMs) {
      this.log.warn({ silentForMs: Math.round(now - this.selfHeardAt) }, 'own heartbeats are not coming back; not judging others');
      return;
    }
    for (const m of liveMembers(this.o.view.state)) {
      if (m.hostname === this.run.hostname) continue;
      const key = `${m.hostname}\u0000${m.incarnation}`;
      const heard = this.heardAt.get(key) ?? now;
      if (!this.heardAt.has(key)) this.heardAt.set(key, now);
      const silentFor = now - heard;
      if (silentFor > this.timeoutMs && !this.declaring.has(key)) void this.declareLost(key, m.hostname, m.incarnation, silentFor);
    }
  }

  private async declareLost(key: string, hostname: string, incarnation: string, silentForMs: number): Promise<void> {
    this.declaring.add(key);
    try {
      const r = await appendMembership(this.deps(), {
        type: 'DeclareConductorLost',
        hostname,
        incarnation,
        declaredBy: this.run.hostname,
        // rounded up: it was silent for more than the timeout, and the record must not say "exactly the timeout"
        silentForMs: Math.ceil(silentForMs),
      });
      if (E.isRight(r) && r.right.length > 0) {
        this.log.warn({ lost: hostname, incarnation, silentForMs: Math.round(silentForMs), epoch: this.o.view.state.epoch }, 'declared conductor lost');
      }
    } catch (e) {
      this.log.error({ err: errorText(e), lost: hostname }, 'could not declare conductor lost');
    } finally {
      this.declaring.delete(key);
    }
  }

  /** This run was declared lost (or replaced): stop acting on its behalf and join as a new run. */
  private rejoin(): Promise<void> {
    if (this.rejoining || this.stopped) return this.rejoining ?? Promise.resolve();
    this.rejoining = (async () => {
      const old = this.run;
      const state = this.o.view.state;
      this.log.warn({ host: old.hostname, incarnation: old.incarnation, epoch: state.epoch }, 'this conductor run is no longer in the ring; fencing it and rejoining');
      for (const l of this.fencedListeners) {
        try {
          l(old, state);
        } catch (e) {
          this.log.error({ err: errorText(e) }, 'fenced listener failed');
        }
      }
      this.joined = false;
      this.run = { hostname: old.hostname, incarnation: randomUUID() };
      this.resetBaselines(this.clock());
      for (let attempt = 0; !this.stopped; attempt++) {
        try {
          await this.register();
          return;
        } catch (e) {
          this.log.error({ err: errorText(e), attempt }, 'rejoin failed; retrying');
          await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
        }
      }
    })().finally(() => {
      this.rejoining = undefined;
    });
    return this.rejoining;
  }
}
