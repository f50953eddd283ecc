// Typed failures of the event store port. Adapters translate their own errors into these so
// callers (command handlers, projections) never depend on an adapter.

import type { ExpectedRevision } from './port.ts';

export class WrongExpectedRevision extends Error {
  readonly kind = 'WrongExpectedRevision' as const;
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** the stream's actual last revision, or 'no_stream' */
    readonly actual: bigint | 'no_stream',
  ) {
    super(`Append to stream "${streamId}" expected revision ${String(expected)} but the stream is at ${String(actual)}`);
    this.name = 'WrongExpectedRevision';
  }
}

/** A stored event that cannot be parsed or decoded. Never skipped: the reader stops on it. */
export class CorruptStoredEvent extends Error {
  readonly kind = 'CorruptStoredEvent' as const;
  constructor(
    readonly streamId: string,
    readonly revision: bigint,
    readonly reason: string,
  ) {
    super(`Stored event ${streamId}@${revision} is malformed: ${reason}`);
    this.name = 'CorruptStoredEvent';
  }
}

/** The store cannot be reached, is locked past its timeout, or cannot be written. */
export class StoreUnavailable extends Error {
  readonly kind = 'StoreUnavailable' as const;
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'StoreUnavailable';
  }
}

export const isWrongExpectedRevision = (e: unknown): e is WrongExpectedRevision =>
  e instanceof Error && (e as { kind?: string }).kind === 'WrongExpectedRevision';

/**
 * An append whose event ids were already stored, but not as one retry of an earlier append (some
 * ids are new, they sit in another stream, or in another order). A genuine retry (every id
 * present, consecutively, in this stream) is not an error: the store returns the original result.
 */
export class DuplicateEventId extends Error {
  readonly kind = 'DuplicateEventId' as const;
  constructor(
    readonly streamId: string,
    readonly eventId: string,
    readonly reason: string,
  ) {
    super(`Append to stream "${streamId}" reuses event id ${eventId}: ${reason}`);
    this.name = 'DuplicateEventId';
  }
}

export const isStoreUnavailable = (e: unknown): e is StoreUnavailable =>
  e instanceof Error && (e as { kind?: string }).kind === 'StoreUnavailable';

