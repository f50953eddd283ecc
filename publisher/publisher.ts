// Publishes every committed event on NATS (subjects: publisher/subjects.ts), into the JetStream
// stream IRONLOG_EVENTS, so a subscriber that resumes from a stream sequence misses nothing and
// sees nothing twice.
//
// Driven by the event store's subscribeToAll. One "cycle" = connect-side setup, then one
// subscription: ensure the stream, read where it ends, resume after the larger of that position
// and the checkpoint file, publish batch by batch. Any failure (NATS down, an ack timeout, another
// publisher in the way) ends the cycle; the next one starts after a backoff from what JetStream
// really holds, so nothing is lost and nothing is stored twice:
//  - every message carries `Nats-Msg-Id` = the event id (JetStream drops a repeat within its
//    duplicate window), and
//  - every message expects the stream's last sequence to be the one before it
//    (`Nats-Expected-Last-Sequence`), so a message can only be stored right after its predecessor:
//    the stream is a gap-free prefix of the log in log order, whatever failed, and two publishers
//    running at once cannot interleave.
// Messages are pipelined (many in flight, acks awaited per chunk), so a backlog goes out fast.

import * as E from 'fp-ts/lib/Either.js';
import { connect, headers as natsHeaders, type NatsConnection } from 'nats';
import { AckedPublisher } from './acks.ts';
import type { EventStore, RecordedEvent, Subscription } from '../eventstore/port.ts';
import { checkpointPath, readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import { ensureStream, streamTail } from './jetstream.ts';
import { EVENTS_STREAM, EVENTS_STREAM_SUBJECTS, eventSubject, Headers, publicStreamPrefixes } from './subjects.ts';
import { maskDeep, renderEvent, type EventJson, type Masker } from './wire.ts';

/** A pino logger satisfies it. */
export interface PublisherLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const nothing = (): void => undefined;
const silent: PublisherLog = { debug: nothing, info: nothing, warn: nothing, error: nothing };

export interface PublisherOptions {
  store: Pick<EventStore, 'subscribeToAll'>;
  /** one URL, a comma-separated list, or an array (NATS_URL) */
  natsUrl: string | string[];
  /** where the checkpoint file lives (IRONLOG_DATA_DIR) */
  dataDir: string;
  log?: PublisherLog;
  /** JetStream stream name; default IRONLOG_EVENTS */
  streamName?: string;
  /** how long to wait for a JetStream ack or API answer; default 5000 ms */
  ackTimeoutMs?: number;
  /** messages in flight before acks are awaited; default 256 */
  maxInFlight?: number;
  /** backoff between failed cycles; default 100 ms doubling up to 5000 ms */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** used only when the publisher creates the stream; default 2 min / keep for ever */
  duplicateWindowMs?: number;
  maxAgeMs?: number;
  mask?: Masker;
  /** NATS connection name; default ironlog-publisher */
  name?: string;
  /**
   * The checkpoint file is written at most this often (default 1000 ms; 0 = after every
   * acknowledged chunk), and always when a cycle ends or the publisher stops. JetStream's last
   * message is the truth after a crash, so a file a little behind costs nothing: it only matters
   * once messages age out of the stream.
   */
  checkpointIntervalMs?: number;
  /**
   * Once caught up, wait this long after a batch that was not full before taking the next one
   * (default 10 ms; 0 = never): events committed meanwhile go out together, in one socket write
   * and one read of their acks, instead of one round trip each. Live, the log grows a few events
   * at a time, and each round trip (a write, a read, an ack to parse) cost more CPU than the
   * event's own publishing. Events reach NATS at most this much later.
   */
  lingerMs?: number;
}

export interface PublisherStatus {
  connected: boolean;
  /** the last log position JetStream acknowledged (or the position resumed after) */
  position: bigint | 'start';
  /** messages acknowledged since start */
  published: number;
  /** cycles that ended in an error since start */
  failures: number;
  lastError: string | undefined;
  caughtUp: boolean;
}

export interface Publisher {
  stop(): Promise<void>;
  status(): PublisherStatus;
}

class ResyncNeeded extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResyncNeeded';
  }
}

const sleep = (ms: number, wake: Promise<void>): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    void wake.then(() => {
      clearTimeout(t);
      resolve();
    });
  });

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const maxPosition = (a: bigint | undefined, b: bigint | undefined): bigint | undefined =>
  a === undefined ? b : b === undefined ? a : a > b ? a : b;

export const startPublisher = (options: PublisherOptions): Publisher => new EventPublisher(options);

class EventPublisher implements Publisher {
  private readonly log: PublisherLog;
  private readonly servers: string[];
  private readonly streamName: string;
  private readonly ackTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly mask: Masker;
  private readonly cpPath: string;
  private readonly cpIntervalMs: number;
  private readonly lingerMs: number;
  /** ends the current linger at once (stop) */
  private endLinger: (() => void) | undefined;
  /** acknowledged but not yet in the checkpoint file */
  private cpPending: bigint | undefined;
  private cpWrittenAt = 0;
  private cpTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private signalStop!: () => void;
  private readonly stopSignal: Promise<void>;
  private readonly done: Promise<void>;
  private nc: NatsConnection | undefined;
  private sub: Subscription | undefined;
  private endCycle: (() => void) | undefined;
  private state: PublisherStatus = { connected: false, position: 'start', published: 0, failures: 0, lastError: undefined, caughtUp: false };

  constructor(private readonly o: PublisherOptions) {
    this.log = o.log ?? silent;
    this.servers = (Array.isArray(o.natsUrl) ? o.natsUrl : o.natsUrl.split(',')).map((s) => s.trim()).filter(Boolean);
    this.streamName = o.streamName ?? EVENTS_STREAM;
    this.ackTimeoutMs = o.ackTimeoutMs ?? 5000;
    this.maxInFlight = o.maxInFlight ?? 256;
    this.mask = o.mask ?? maskDeep;
    this.cpPath = checkpointPath(o.dataDir);
    this.cpIntervalMs = Math.max(0, o.checkpointIntervalMs ?? 1000);
    this.lingerMs = Math.max(0, o.lingerMs ?? 10);
    this.stopSignal = new Promise((r) => (this.signalStop = r));
    this.done = this.run();
  }

  status(): PublisherStatus {
    return { ...this.state, connected: this.nc !== undefined && !this.nc.isClosed() && this.state.connected };
  }

  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.signalStop();
      this.endLinger?.();
      await this.sub?.stop().catch(() => undefined);
      this.endCycle?.();
    }
    await this.done;
  }

  /** Waits lingerMs, or until stop(). */
  private linger(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.endLinger = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.lingerMs);
      this.endLinger = done;
    });
  }

  /** Records an acknowledged position: in the file now, or within cpIntervalMs. */
  private checkpoint(position: bigint): void {
    this.cpPending = position;
    const due = this.cpWrittenAt + this.cpIntervalMs - Date.now();
    if (due <= 0) this.flushCheckpoint();
    else if (!this.cpTimer) {
      this.cpTimer = setTimeout(() => {
        this.cpTimer = undefined;
        try {
          this.flushCheckpoint();
        } catch (e) {
          this.log.warn({ err: errorText(e) }, 'event publisher: cannot write the checkpoint file');
        }
      }, due);
      this.cpTimer.unref();
    }
  }

  private flushCheckpoint(): void {
    if (this.cpTimer) clearTimeout(this.cpTimer);
    this.cpTimer = undefined;
    const position = this.cpPending;
    if (position === undefined) return;
    this.cpPending = undefined;
    this.cpWrittenAt = Date.now();
    writeCheckpoint(this.cpPath, { position, stream: this.streamName });
  }

  private async run(): Promise<void> {
    let backoff = this.o.retryMinMs ?? 100;
    const maxBackoff = this.o.retryMaxMs ?? 5000;
    while (!this.stopping) {
      const publishedBefore = this.state.published;
      try {
        const nc = this.nc ?? (await this.connect());
        if (this.stopping) break;
        await this.cycle(nc);
      } catch (e) {
        if (this.stopping) break;
        if (this.state.published !== publishedBefore) backoff = this.o.retryMinMs ?? 100;
        this.state.failures++;
        this.state.lastError = errorText(e);
        this.state.caughtUp = false;
        const level = e instanceof ResyncNeeded ? 'info' : 'warn';
        this.log[level]({ err: errorText(e), retryInMs: backoff }, 'event publisher: cycle ended, resuming from what JetStream holds');
        await sleep(backoff, this.stopSignal);
        backoff = Math.min(backoff * 2, maxBackoff);
      }
    }
    const nc = this.nc;
    this.nc = undefined;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }

  /** One attempt; the connection then reconnects by itself for ever. */
  private async connect(): Promise<NatsConnection> {
    const nc = await connect({
      servers: this.servers,
      name: this.o.name ?? 'ironlog-publisher',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 50,
      timeout: this.ackTimeoutMs,
      // no stack captured per request (one per published message): failures are reported by
      // what failed, not by where the publish was called from
      noAsyncTraces: true,
    });
    this.nc = nc;
    this.state.connected = true;
    this.log.info({ server: nc.getServer() }, 'event publisher: connected to NATS');
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') this.state.connected = false;
        if (s.type === 'reconnect') this.state.connected = true;
        if (s.type === 'disconnect' || s.type === 'reconnect') this.log.info({ server: s.data }, `event publisher: NATS ${s.type}`);
      }
    })();
    void nc.closed().then(() => {
      if (this.nc === nc) this.nc = undefined;
      this.state.connected = false;
    });
    return nc;
  }

  /** Resolves when stopped; rejects when publishing failed. */
  private async cycle(nc: NatsConnection): Promise<void> {
    const jsm = await nc.jetstreamManager({ timeout: this.ackTimeoutMs });
    const ensured = await ensureStream(jsm, {
      name: this.streamName,
      duplicateWindowMs: this.o.duplicateWindowMs ?? 120_000,
      maxAgeMs: this.o.maxAgeMs ?? 0,
    });
    if (ensured.created) this.log.info({ stream: this.streamName, subjects: ensured.subjects }, 'event publisher: created the JetStream stream');
    else if (!ensured.subjects.includes(EVENTS_STREAM_SUBJECTS)) {
      this.log.warn({ stream: this.streamName, subjects: ensured.subjects }, `event publisher: the stream does not list ${EVENTS_STREAM_SUBJECTS}`);
    }
    const tail = await streamTail(jsm, this.streamName);
    const file = readCheckpoint(this.cpPath);
    const resumeAfter = maxPosition(tail.position, file?.stream === this.streamName ? file.position : undefined);
    let expectedSeq = tail.lastSeq;
    this.state.position = resumeAfter ?? 'start';
    this.log.info(
      { after: resumeAfter?.toString() ?? 'start', streamLastSeq: tail.lastSeq, streamPosition: tail.position?.toString(), checkpoint: file?.position.toString() },
      'event publisher: resuming',
    );
    if (this.stopping) return;

    const acked = new AckedPublisher(nc, this.ackTimeoutMs);

    const publishBatch = async (events: RecordedEvent[]): Promise<void> => {
      // a corrupt event stops the publisher on it (logged at each retry), never skipped; the
      // events before it still go out, so the checkpoint reaches it
      const rendered: { ev: RecordedEvent; json: EventJson }[] = [];
      let corrupt: Error | undefined;
      for (const ev of events) {
        const r = renderEvent(ev, this.mask);
        if (E.isLeft(r)) {
          corrupt = r.left;
          break;
        }
        rendered.push({ ev, json: r.right });
      }
      for (let i = 0; i < rendered.length && !this.stopping; i += this.maxInFlight) {
        const chunk = rendered.slice(i, i + this.maxInFlight);
        const base = expectedSeq;
        const settled = await acked.publishAll(
          chunk.map(({ ev, json }, k) => {
            // append, not set: a fresh header set has nothing to replace (set searches it twice)
            const h = natsHeaders();
            h.append(Headers.position, json.position);
            h.append(Headers.stream, ev.streamId);
            h.append(Headers.revision, String(json.revision));
            h.append(Headers.type, ev.type);
            // JetStream's own: deduplication by event id, and stored only right after its predecessor
            h.append('Nats-Msg-Id', ev.id);
            h.append('Nats-Expected-Last-Sequence', String(base + k));
            return { subject: eventSubject(ev.streamId, ev.type), payload: JSON.stringify(json), headers: h };
          }),
        );
        const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed) throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
        const acks = settled.map((s) => (s as PromiseFulfilledResult<{ duplicate: boolean }>).value);
        const last = chunk[chunk.length - 1]!.ev;
        const duplicates = acks.filter((a) => a.duplicate).length;
        this.state.published += acks.length - duplicates;
        this.state.position = last.position;
        this.checkpoint(last.position);
        if (duplicates > 0) {
          // stored before (by us before a crash, or by a second publisher): the stream's last
          // sequence is no longer base + n, so start again from what it really holds
          throw new ResyncNeeded(`JetStream already held ${duplicates} of these events`);
        }
        expectedSeq = base + chunk.length;
      }
      if (corrupt) throw corrupt;
      // the next batch is delivered once this handler settles: whatever is committed meanwhile
      if (this.lingerMs > 0 && this.state.caughtUp && !this.stopping && events.length < this.maxInFlight) await this.linger();
    };

    await new Promise<void>((resolve, reject) => {
      this.endCycle = resolve;
      this.sub = this.o.store.subscribeToAll(
        {
          after: resumeAfter ?? 'start',
          streamPrefixes: [...publicStreamPrefixes],
          onCaughtUp: () => {
            this.state.caughtUp = true;
            this.log.info({ position: this.state.position.toString() }, 'event publisher: caught up with the log');
          },
          onError: reject,
        },
        publishBatch,
      );
    }).finally(async () => {
      this.endCycle = undefined;
      acked.close();
      try {
        this.flushCheckpoint();
      } catch (e) {
        this.log.warn({ err: errorText(e) }, 'event publisher: cannot write the checkpoint file');
      }
      const sub = this.sub;
      this.sub = undefined;
      await sub?.stop().catch(() => undefined);
    });
  }
}
