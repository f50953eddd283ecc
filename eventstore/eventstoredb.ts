// The EventStoreDB adapter, over @eventstore/db-client (v6, gRPC). Selected by EVENTSTORE_URL.
//
// Positions. EventStoreDB orders $all by a (commit, prepare) pair of byte offsets in its
// transaction file. For an event written by an ordinary (implicitly committed) append, which is
// every append the gRPC API can make, the server reports commit === prepare === the event's own
// log position: unique per event and strictly increasing in $all order. Only events of the legacy
// TCP "explicit transactions" carry a shared commit position with distinct prepares; ironlog never
// writes those. So the port's single bigint position is the commit position, and a checkpoint p
// is handed back to the server as { commit: p, prepare: p }.
// Reading $all forwards from a position is inclusive on the server; the port's `after` is
// exclusive, so events at or before `after` are dropped here. Subscriptions from a position are
// already exclusive on the server.
//
// System events (types or streams starting with '$': metadata, statistics, projections, links)
// are never handed to the port's consumers: subscriptions filter them on the server, readAll and
// headPosition skip them.

import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
  excludeSystemEvents,
  jsonEvent,
  streamNameFilter,
} from '@eventstore/db-client';
import type {
  AllStreamResolvedEvent,
  AllStreamSubscription,
  AppendExpectedRevision,
  Filter,
  JSONType,
  Position,
  ReadPosition,
  ResolvedEvent,
  StreamMetadata as EsdbStreamMetadata,
} from '@eventstore/db-client';
import { CorruptStoredEvent, StoreUnavailable, WrongExpectedRevision } from './errors.ts';
import type {
  AppendResult,
  BatchHandler,
  EventData,
  EventMetadata,
  EventStore,
  ExpectedRevision,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamMetadata,
  SubscribeOptions,
  Subscription,
} from './port.ts';

const READ_PAGE = 1_000;
const MAX_BATCH = 1_000;

const toEsdbPosition = (p: bigint): Position => ({ commit: p, prepare: p });
const fromEsdbPosition = (p: Position): bigint => p.commit;

const toEsdbExpected = (e: ExpectedRevision): AppendExpectedRevision => {
  if (e === 'any') return ANY;
  if (e === 'no_stream') return NO_STREAM;
  if (e === 'stream_exists') return STREAM_EXISTS;
  return e;
};

const errorType = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && typeof (e as { type?: unknown }).type === 'string' ? (e as { type: string }).type : undefined;

/** Failures of the connection or the server (not of the request) become StoreUnavailable. */
const translate = (e: unknown, doing: string): Error => {
  if (e instanceof WrongExpectedRevision || e instanceof CorruptStoredEvent || e instanceof StoreUnavailable) return e;
  const type = errorType(e);
  const msg = e instanceof Error ? e.message : String(e);
  if (type === 'unavailable' || type === 'deadline-exceeded' || type === 'timeout' || type === 'not-leader' || type === 'cancelled' || type === 'unknown') {
    return new StoreUnavailable(`EventStoreDB is unavailable (${doing}): ${msg}`, e);
  }
  if (type === 'access-denied') return new StoreUnavailable(`EventStoreDB denied access (${doing}): ${msg}`, e);
  return e instanceof Error ? e : new Error(msg);
};

const isSystem = (streamId: string, type: string): boolean => streamId.startsWith('$') || type.startsWith('$');

/** Converts what the client hands back; anything that is not a well-formed JSON event is corrupt. */
const toRecorded = (resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent => {
  const e = resolved.event;
  if (!e) throw new CorruptStoredEvent('$all', -1n, 'a resolved event without its event (a link to a deleted event?)');
  if (!e.isJson) throw new CorruptStoredEvent(e.streamId, e.revision, `event ${e.id} is not a JSON event`);
  // The client falls back to the raw text when JSON data does not parse, and ironlog only writes
  // objects and arrays (see append), so a string here means the stored JSON is malformed.
  if (typeof e.data === 'string') throw new CorruptStoredEvent(e.streamId, e.revision, `data of event ${e.id} is not valid JSON`);
  const md = e.metadata as unknown;
  if (md === undefined) throw new CorruptStoredEvent(e.streamId, e.revision, `event ${e.id} has no metadata`);
  if (md instanceof Uint8Array) throw new CorruptStoredEvent(e.streamId, e.revision, `metadata of event ${e.id} is not valid JSON`);
  if (typeof md !== 'object' || md === null || Array.isArray(md)) {
    throw new CorruptStoredEvent(e.streamId, e.revision, `metadata of event ${e.id} is not a JSON object`);
  }
  const position = e.position ? fromEsdbPosition(e.position) : resolved.commitPosition;
  if (position === undefined) throw new CorruptStoredEvent(e.streamId, e.revision, `event ${e.id} came without a position`);
  return {
    streamId: e.streamId,
    revision: e.revision,
    position,
    id: e.id,
    type: e.type,
    data: e.data,
    metadata: md as EventMetadata,
    created: e.created,
  };
};

export class EventStoreDbEventStore implements EventStore {
  readonly name = 'eventstoredb';
  private readonly client: EventStoreDBClient;
  private readonly subscriptions = new Set<EsdbSubscription>();
  private closed = false;

  constructor(readonly url: string) {
    try {
      this.client = EventStoreDBClient.connectionString(url);
    } catch (e) {
      throw new StoreUnavailable(`cannot use EVENTSTORE_URL ${url}: ${e instanceof Error ? e.message : String(e)}`, e);
    }
  }

  async append(streamId: string, events: EventData[], expected: ExpectedRevision): Promise<AppendResult> {
    this.assertOpen();
    const esEvents = events.map((ev) => {
      if (typeof ev.data !== 'object' || ev.data === null) {
        // EventStoreDB's JSON events carry objects or arrays; anything else could not be told apart
        // from malformed JSON when read back.
        throw new TypeError(`event ${ev.id} (${ev.type}): data must be a JSON object or array on EventStoreDB`);
      }
      return jsonEvent({ id: ev.id, type: ev.type, data: ev.data as JSONType, metadata: ev.metadata as unknown as JSONType });
    });
    let result;
    try {
      result = await this.client.appendToStream(streamId, esEvents, { expectedRevision: toEsdbExpected(expected) });
    } catch (e) {
      if (e instanceof WrongExpectedVersionError) {
        const actual = e.actualVersion;
        throw new WrongExpectedRevision(streamId, expected, actual === NO_STREAM || typeof actual !== 'bigint' ? 'no_stream' : actual);
      }
      throw translate(e, `appending to ${streamId}`);
    }
    const next = result.nextExpectedRevision;
    // A single event's commit position is its own. For several events (or an idempotent retry the
    // server answers without a position) read the last one back: the port promises its position.
    if (events.length === 1 && result.position) return { nextExpectedRevision: next, position: fromEsdbPosition(result.position) };
    if (next < 0n) return { nextExpectedRevision: next, position: 0n };
    const last = await this.readStream(streamId, { direction: 'backwards', fromRevision: next, maxCount: 1 });
    const position = last[0]?.position ?? (result.position ? fromEsdbPosition(result.position) : 0n);
    return { nextExpectedRevision: next, position };
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const direction = options.direction === 'backwards' ? BACKWARDS : FORWARDS;
    const from = options.fromRevision ?? (direction === BACKWARDS ? 'end' : 'start');
    if (options.maxCount !== undefined && options.maxCount <= 0) return [];
    if (direction === FORWARDS && from === 'end') return [];
    const out: RecordedEvent[] = [];
    try {
      const read = this.client.readStream(streamId, {
        direction,
        fromRevision: from === 'start' ? START : from === 'end' ? END : from,
        ...(options.maxCount !== undefined ? { maxCount: options.maxCount } : {}),
      });
      for await (const resolved of read) out.push(toRecorded(resolved));
    } catch (e) {
      if (e instanceof StreamNotFoundError || e instanceof StreamDeletedError) return [];
      throw translate(e, `reading ${streamId}`);
    }
    return out;
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const limit = options.maxCount ?? Number.POSITIVE_INFINITY;
    if (limit <= 0) return [];
    const prefixes = options.streamPrefixes?.length ? options.streamPrefixes : undefined;
    const out: RecordedEvent[] = [];
    let after = options.after === undefined || options.after === 'start' ? undefined : options.after;
    // No server-side filter for reads in this client: page through $all and filter here.
    for (;;) {
      const fromPosition: ReadPosition = after === undefined ? START : toEsdbPosition(after);
      let got = 0;
      let lastSeen: bigint | undefined;
      try {
        for await (const resolved of this.client.readAll({ fromPosition, direction: FORWARDS, maxCount: READ_PAGE })) {
          got++;
          const e = resolved.event;
          if (!e) continue;
          const pos = e.position ? fromEsdbPosition(e.position) : resolved.commitPosition;
          if (pos === undefined) continue;
          lastSeen = pos;
          if (after !== undefined && pos <= after) continue; // the server's start is inclusive
          if (isSystem(e.streamId, e.type)) continue;
          if (prefixes && !prefixes.some((p) => e.streamId.startsWith(p))) continue;
          out.push(toRecorded(resolved));
          if (out.length >= limit) return out;
        }
      } catch (e) {
        throw translate(e, 'reading $all');
      }
      if (got < READ_PAGE || lastSeen === undefined || (after !== undefined && lastSeen <= after)) return out;
      after = lastSeen;
    }
  }

  async headPosition(): Promise<bigint | 'start'> {
    this.assertOpen();
    let from: ReadPosition = END;
    try {
      for (;;) {
        let got = 0;
        let lastPos: Position | undefined;
        for await (const resolved of this.client.readAll({ fromPosition: from, direction: BACKWARDS, maxCount: 100 })) {
          got++;
          const e = resolved.event;
          if (!e?.position) continue;
          lastPos = e.position;
          if (!isSystem(e.streamId, e.type)) return fromEsdbPosition(e.position);
        }
        if (got < 100 || !lastPos) return 'start';
        from = lastPos; // backwards reads start before the given position
      }
    } catch (e) {
      throw translate(e, 'reading the head of $all');
    }
  }

  subscribeToAll(options: SubscribeOptions, handler: BatchHandler): Subscription {
    this.assertOpen();
    const sub = new EsdbSubscription(this, this.client, options, handler, () => this.subscriptions.delete(sub));
    this.subscriptions.add(sub);
    sub.start();
    return sub;
  }

  async getStreamMetadata(streamId: string): Promise<StreamMetadata | undefined> {
    this.assertOpen();
    let md: EsdbStreamMetadata | undefined;
    try {
      md = (await this.client.getStreamMetadata(streamId)).metadata;
    } catch (e) {
      if (e instanceof StreamNotFoundError) return undefined;
      throw translate(e, `reading the metadata of ${streamId}`);
    }
    if (!md) return undefined;
    const { maxAge, maxCount, truncateBefore, cacheControl, acl, ...custom } = md;
    void cacheControl;
    void acl;
    const out: StreamMetadata = {};
    if (typeof maxCount === 'number') out.maxCount = maxCount;
    if (typeof maxAge === 'number') out.maxAge = maxAge;
    if (typeof truncateBefore === 'number') out.truncateBefore = BigInt(truncateBefore);
    if (Object.keys(custom).length > 0) out.custom = custom;
    return out;
  }

  async setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void> {
    this.assertOpen();
    // EventStoreDB keeps custom keys beside its own ($maxAge, …) in the metadata object.
    const md: EsdbStreamMetadata = {
      ...(metadata.custom ?? {}),
      ...(metadata.maxCount !== undefined ? { maxCount: metadata.maxCount } : {}),
      ...(metadata.maxAge !== undefined ? { maxAge: metadata.maxAge } : {}),
      ...(metadata.truncateBefore !== undefined ? { truncateBefore: Number(metadata.truncateBefore) } : {}),
    };
    try {
      await this.client.setStreamMetadata(streamId, md);
    } catch (e) {
      throw translate(e, `writing the metadata of ${streamId}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    this.closed = true;
    await this.client.dispose();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailable('the EventStoreDB event store is closed');
  }
}

const CAUGHT_UP = Symbol('caught up');

/**
 * One server-side catch-up subscription. Events are grouped into batches of what has already
 * arrived (up to MAX_BATCH), and the next batch waits for the handler: async iteration of the
 * client's stream applies back-pressure to the gRPC call.
 *
 * Caught up: EventStoreDB 23.10+ sends a caughtUp message; the adapter queues a marker behind the
 * events already received, so onCaughtUp fires after they are delivered. Older servers never send
 * it, so the subscription also counts as caught up once it delivers (or, filtered, is checkpointed
 * at) the head position it saw when it started.
 */
class EsdbSubscription implements Subscription {
  readonly caughtUp: Promise<void>;
  private resolveCaughtUp!: () => void;
  private rejectCaughtUp!: (e: Error) => void;
  private isCaughtUp = false;
  private delivered: bigint | 'start';
  private stopped = false;
  private inHandler = false;
  private stream: AllStreamSubscription | undefined;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: EventStoreDbEventStore,
    private readonly client: EventStoreDBClient,
    private readonly options: SubscribeOptions,
    private readonly handler: BatchHandler,
    private readonly forget: () => void,
  ) {
    this.delivered = options.after === undefined || options.after === 'end' ? 'start' : options.after;
    this.caughtUp = new Promise<void>((res, rej) => {
      this.resolveCaughtUp = res;
      this.rejectCaughtUp = rej;
    });
    this.caughtUp.catch(() => {
      /* also reported through onError */
    });
  }

  lastPosition = (): bigint | 'start' => this.delivered;

  start(): void {
    this.done = this.run();
  }

  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.forget();
      if (!this.isCaughtUp) this.rejectCaughtUp(new Error('subscription stopped before it caught up'));
      const s = this.stream;
      if (s) {
        await s.unsubscribe().catch(() => undefined);
        s.destroy();
      }
    }
    if (!this.inHandler) await this.done;
  }

  private markCaughtUp(): void {
    if (this.isCaughtUp || this.stopped) return;
    this.isCaughtUp = true;
    this.resolveCaughtUp();
    this.options.onCaughtUp?.();
  }

  private async run(): Promise<void> {
    try {
      const head = await this.store.headPosition();
      let from: bigint | 'start';
      if (this.options.after === 'end') from = head;
      else from = this.options.after ?? 'start';
      this.delivered = from;
      if (this.stopped) return;

      const prefixes = this.options.streamPrefixes?.length ? this.options.streamPrefixes : undefined;
      const stream: AllStreamSubscription = this.client.subscribeToAll({
        fromPosition: from === 'start' ? START : toEsdbPosition(from),
        resolveLinkTos: false,
        filter: this.filter(prefixes, head),
      });
      this.stream = stream;
      stream.on('caughtUp', () => stream.push(CAUGHT_UP));
      const alreadyCaughtUp = head === 'start' || (from !== 'start' && from >= head);
      if (alreadyCaughtUp) stream.once('confirmation', () => stream.push(CAUGHT_UP));

      let batch: RecordedEvent[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        const events = batch;
        batch = [];
        this.inHandler = true;
        try {
          await this.handler(events);
        } finally {
          this.inHandler = false;
        }
        this.delivered = events[events.length - 1]!.position;
        if (head !== 'start' && this.delivered >= head) this.markCaughtUp();
      };

      for await (const item of stream as AsyncIterable<unknown>) {
        if (this.stopped) break;
        if (item === CAUGHT_UP) {
          await flush();
          this.markCaughtUp();
          continue;
        }
        const resolved = item as AllStreamResolvedEvent;
        const e = resolved.event;
        const select = this.options.select;
        if (e && !isSystem(e.streamId, e.type) && (!prefixes || prefixes.some((p) => e.streamId.startsWith(p))) && (!select || select(e.streamId, e.revision, e.type))) {
          batch.push(toRecorded(resolved));
        }
        if (batch.length >= MAX_BATCH || stream.readableLength === 0) await flush();
        if (this.stopped) break;
      }
      if (!this.stopped) await flush();
      if (!this.stopped) throw new StoreUnavailable('the EventStoreDB subscription ended');
    } catch (e) {
      if (this.stopped) return;
      const err = translate(e, 'subscribing to $all');
      this.stopped = true;
      this.forget();
      if (!this.isCaughtUp) this.rejectCaughtUp(err);
      this.stream?.destroy();
      if (this.options.onError) this.options.onError(err);
      else process.stderr.write(`EventStoreDB subscription failed: ${err.stack ?? err.message}\n`);
    }
  }

  private filter(prefixes: string[] | undefined, head: bigint | 'start'): Filter {
    const checkpointReached = (sub: AllStreamSubscription, position: Position) => {
      if (head !== 'start' && fromEsdbPosition(position) >= head) sub.push(CAUGHT_UP);
    };
    return prefixes
      ? streamNameFilter({ prefixes, checkpointReached })
      : excludeSystemEvents({ checkpointReached });
  }
}

export const openEventStoreDb = (url: string): EventStoreDbEventStore => new EventStoreDbEventStore(url);
