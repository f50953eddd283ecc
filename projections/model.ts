// What a read model is to the projector: its tables (DDL), and a writer that sees every decoded
// event of the kinds it follows and writes its changes when the projector flushes a batch.
// The projector folds each aggregate's events ONCE with the domain's own evolve; models get the
// state before and after the event, so no model re-implements domain logic.

import type Database from 'better-sqlite3';
import type { SourceKind } from './sources.ts';
import type { RecordedEvent } from '../eventstore/port.ts';

/** The event metadata every timeline entry carries (from the stored event's metadata). */
export interface ChangeMeta {
  actor: string;
  correlationId: string;
  causationId: string;
  timestamp: string;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

/** The ChangeMeta of a stored event's metadata (`created` when it has no timestamp). */
export const changeMeta = (metadata: unknown, created: () => Date): ChangeMeta => {
  const m = metadata as Partial<Record<keyof ChangeMeta, unknown>> | undefined;
  return {
    actor: str(m?.actor),
    correlationId: str(m?.correlationId),
    causationId: str(m?.causationId),
    timestamp: str(m?.timestamp) || created().toISOString(),
  };
};

/**
 * A RecordedEvent may carry its ChangeMeta already made under this key: a rebuild's reading
 * thread makes it while the projecting thread works (feed.ts).
 */
export const precomputedMeta = Symbol('ironlog.changeMeta');

/** One event applied to one aggregate. `before`/`after` are the domain's evolve states. */
export interface Change {
  rec: RecordedEvent;
  kind: SourceKind;
  id: string;
  /** the event as decoded by the domain's decoder */
  event: unknown;
  /** the event's type (the stored type: the domain's event type names it) */
  type: string;
  meta: ChangeMeta;
  before: unknown;
  after: unknown;
}

export interface ModelWriter {
  /** called for every change of the kinds the model follows, in log order */
  onChange?(change: Change): void;
  /** write everything pending; runs inside the projector's transaction */
  flush(): void;
  /** bulk rebuilds only: write (inside the one open transaction) what need not stay in memory */
  spill?(): void;
  /** the flush has committed: pending changes are now stored */
  committed?(): void;
  /** forget cached and pending state (after a failed flush, or when another writer moved the checkpoint) */
  reset(): void;
}

/** A table compared by `projections rebuild --verify`, rows ordered by `key`. */
export interface ComparedTable {
  name: string;
  key: string;
  /** rows keyed for comparison, when the stored layout is not canonical (e.g. chunked) */
  rows?: (db: Database.Database) => Map<string, Record<string, unknown>>;
}

export interface ProjectionModel {
  /** stable name, also the checkpoint row's name */
  readonly name: string;
  /** aggregate kinds the model reads (their streams are subscribed to) */
  readonly kinds: readonly SourceKind[];
  readonly ddl: readonly string[];
  readonly tables: readonly ComparedTable[];
  attach(db: Database.Database): ModelWriter;
}

/** A writer that also owns the folded state of one aggregate kind (the docs table of that kind). */
export interface StateOwner extends ModelWriter {
  readonly kind: SourceKind;
  /** apply one event: fold it onto the stored state; returns the states before and after */
  fold(rec: RecordedEvent, id: string, event: unknown, evolve: (s: unknown, e: unknown) => unknown, initial: () => unknown): { before: unknown; after: unknown };
}

export const isStateOwner = (w: ModelWriter): w is StateOwner => typeof (w as Partial<StateOwner>).fold === 'function';

/** A read model that keeps an aggregate kind's state: the projector folds through it. */
export interface StateModel extends ProjectionModel {
  readonly owns: SourceKind;
  attach(db: Database.Database): StateOwner;
}

export const isStateModel = (m: ProjectionModel): m is StateModel => typeof (m as Partial<StateModel>).owns === 'string';
