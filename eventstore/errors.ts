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
  constructor(message: string, readonly cause?: unknown) {
    super(message);
    this.name = 'StoreUnavailable';
  }
}

export const isWrongExpectedRevision = (e: unknown): e is WrongExpectedRevision =>
  e instanceof Error && (e as { kind?: string }).kind === 'WrongExpectedRevision';
