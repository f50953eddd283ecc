// The event store port: the one interface every adapter (embedded SQLite, EventStoreDB) implements.
// The log is the only source of truth; everything else in ironlog is derived from what this returns.
//
// Positions: `position` is a bigint that strictly increases along the global ($all) order, one
// value per event. Every "after" option is EXCLUSIVE (it is a checkpoint: "I have seen up to
// here"), so a consumer stores the last position it handled and resumes with `after: stored`.

/** Expected revision of a stream when appending (EventStoreDB's semantics). */
export type ExpectedRevision =
  | 'no_stream' // the stream must not exist
  | 'any' // no check
  | 'stream_exists' // the stream must exist (have at least one event)
  | bigint; // the stream's last event must have exactly this revision (0-based)

/** Metadata carried by every event (see domain/metadata.ts for its codec). */
export interface EventMetadata {
  correlationId: string;
  causationId: string;
  /** the user (API) or `conductor:<host>` that caused it */
  actor: string;
  /** ISO 8601 time the command was decided */
  timestamp: string;
  /** the command that produced the event; a retried command is recognised by it */
  commandId?: string;
  [key: string]: unknown;
}

/** An event about to be appended. `id` is a UUID derived from the command id. */
export interface EventData {
  id: string;
  type: string;
  data: unknown;
  metadata: EventMetadata;
}

/** An event as stored. `data` and `metadata` are parsed JSON and still have to be decoded. */
export interface RecordedEvent {
  streamId: string;
  /** 0-based revision of the event within its stream */
  revision: bigint;
  /** global position, strictly increasing in $all order */
  position: bigint;
  id: string;
  type: string;
  data: unknown;
  metadata: EventMetadata;
  /** when the store recorded it */
  created: Date;
}

/**
 * A stored event before decoding: plain values a bulk reader can post to another thread, which
 * decodes them there (the SQLite adapter's `decodeRawEvent`, the very decoding its own reads use).
 * [position, streamId, revision, id, type, data as JSON text, metadata as JSON text, created ms].
 * The row is as stored: a corrupt one may hold other types, so decode it rather than trust it.
 */
export type RawRecordedEvent = [bigint, string, bigint, string, string, string, string, bigint];

/** A stored event's columns (RawRecordedEvent's, in its order). */
export type EventColumn = 'position' | 'stream_id' | 'revision' | 'event_id' | 'type' | 'data' | 'metadata' | 'created';

export interface ReadAllRawOptions extends ReadAllOptions {
  /** inclusive global position to read up to; default the end of the log */
  until?: bigint;
  /**
   * integer columns as bigints (default) or as numbers (exact below 2^53, as positions and
   * revisions are: cheaper for a reader that has no use for bigints)
   */
  integers?: 'bigint' | 'number';
}

export interface AppendResult {
  /** the revision of the last event now in the stream */
  nextExpectedRevision: bigint;
  /** the global position of the last appended event */
  position: bigint;
}

/** A stream that must be at `expected` for an append to go ahead (EventStore.appendIf). */
export interface AppendPrecondition {
  streamId: string;
  expected: ExpectedRevision;
}

/** One stream's part of an atomic multi-stream append (EventStore.appendToStreams). */
export interface StreamAppend {
  streamId: string;
  events: EventData[];
  expected: ExpectedRevision;
}

export type Direction = 'forwards' | 'backwards';

export interface ReadStreamOptions {
  direction?: Direction; // default forwards
  /** inclusive; default: start when forwards, end when backwards */
  fromRevision?: bigint | 'start' | 'end';
  maxCount?: number;
}

export interface ReadAllOptions {
  /** exclusive global position; default 'start' */
  after?: bigint | 'start';
  maxCount?: number;
  /** only streams whose id starts with one of these */
  streamPrefixes?: string[];
}

export interface SubscribeOptions {
  /** exclusive global position to resume after; 'start' replays everything, 'end' only new events */
  after?: bigint | 'start' | 'end';
  /** only streams whose id starts with one of these */
  streamPrefixes?: string[];
  /**
   * Only events for which this returns true, judged before the event is decoded (cheaper than a
   * handler that drops them, for a subscriber that needs few of the events of its streams).
   * The others are passed over undecoded: a corrupt one among them does not stop this
   * subscription.
   */
  select?: (streamId: string, revision: bigint, type: string) => boolean;
  /**
   * The handler changes the events it is handed (a bulk rebuild folding states in place): it gets
   * objects of its own. Without it, an adapter may hand the same event objects to several
   * subscribers of the process (the SQLite adapter does), which must treat them as read-only.
   */
  mutatesEvents?: boolean;
  /** called once when the subscription has delivered everything that existed and turns live */
  onCaughtUp?: () => void;
  /** called when the subscription dies with an error (the handler threw, or the store failed) */
  onError?: (err: Error) => void;
}

export interface Subscription {
  /** resolves when the subscription has caught up with the log (turned live) */
  readonly caughtUp: Promise<void>;
  /** the last position delivered to the handler (or the starting point) */
  readonly lastPosition: () => bigint | 'start';
  stop(): Promise<void>;
}

/**
 * The handler receives events in order, in batches (for throughput); the next batch is not
 * delivered before the returned promise settles. A handler that throws stops the subscription
 * and reports through onError.
 */
export type BatchHandler = (events: RecordedEvent[]) => void | Promise<void>;

export interface StreamMetadata {
  maxCount?: number;
  maxAge?: number;
  truncateBefore?: bigint;
  custom?: Record<string, unknown>;
}

export interface EventStore {
  /** A short name for logs and test titles: "sqlite", "eventstoredb". */
  readonly name: string;
  append(streamId: string, events: EventData[], expected: ExpectedRevision): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /**
   * Optional (the SQLite adapter has it; EventStoreDB does not): readAll without decoding and
   * with only the named columns, in that order, per row (values as stored, integers as bigints;
   * data and metadata as JSON text); with one column, each row is that column's value itself (no
   * array per row). A rebuild's threads each read what they need of the same rows and decode
   * them (the SQLite adapter's decodeRawEvent). Consumers fall back to subscribeToAll when a
   * store lacks it.
   */
  readAllColumns?(columns: readonly EventColumn[], options?: ReadAllRawOptions): Promise<unknown[]>;
  /**
   * Optional (the SQLite adapter has it; EventStoreDB has no multi-stream transaction): the
   * appends of several streams in ONE transaction, all or nothing. Each append keeps its own
   * expected-revision check (a mismatch throws its WrongExpectedRevision and writes nothing of any
   * of them) and gets its own result, in order. When every id of every append is already stored
   * (each in its stream, consecutively, in order) it is a retry: the original results, nothing
   * written. The command handler puts uniqueness claims and the aggregate's events in one append
   * with it; without it, it appends them one after the other.
   */
  appendToStreams?(appends: StreamAppend[]): Promise<AppendResult[]>;
  /**
   * Optional (the SQLite adapter has it; EventStoreDB has no condition on another stream):
   * `append`, but only while `precondition.streamId` is at `precondition.expected`, checked in
   * the same transaction as the append. Otherwise WrongExpectedRevision naming the
   * precondition's stream, and nothing is written. A retry of an append that is stored already
   * gets its original result whatever the precondition's stream did since. Fencing uses it: a
   * conductor's append to a node stream holds only while the membership it checked is the
   * membership of the log (conductor/fencing.ts).
   */
  appendIf?(precondition: AppendPrecondition, streamId: string, events: EventData[], expected: ExpectedRevision): Promise<AppendResult>;
  /** the position of the last event in the log, or 'start' when it is empty */
  headPosition(): Promise<bigint | 'start'>;
  subscribeToAll(options: SubscribeOptions, handler: BatchHandler): Subscription;
  getStreamMetadata(streamId: string): Promise<StreamMetadata | undefined>;
  setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void>;
  close(): Promise<void>;
}
