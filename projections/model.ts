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

/** a backslash or a control character: a JSON string holding one is not written as it reads */
const notPlainJson = /[\\\u0000-\u001f]/;

/**
 * `changeMeta(JSON.parse(text), created)` without JSON.parse, for metadata written the usual way:
 * a flat JSON object with no whitespace whose values are all strings without escapes
 * (`{"correlationId":"…","actor":"…",…}`). Anything else (another layout, a non-string value,
 * an escape, invalid JSON) gives undefined: ask JSON.parse. When it answers, the text IS a JSON
 * object and the answer is exactly changeMeta's (duplicate keys: the last one wins, as in
 * JSON.parse), except that a missing or empty timestamp is '' (the caller puts `created` there:
 * no closure to make per event). Measured: several times cheaper than JSON.parse for the
 * metadata every event carries.
 */
export const scanChangeMeta = (text: string): ChangeMeta | undefined =>
  notPlainJson.test(text) ? undefined : scanChangeMetaIn(text, 0, text.length);

/**
 * scanChangeMeta of `text.slice(from, to)`, for a text the caller has checked to hold no
 * backslash or control character in that range (a fed rebuild's reader tests a whole batch of
 * metadata at once: feed.ts). The values it returns are slices of `text`: they keep it alive.
 */
export const scanChangeMetaIn = (text: string, from: number, to: number): ChangeMeta | undefined => {
  const n = to - from;
  if (n < 2 || text.charCodeAt(from) !== 123 /* { */ || text.charCodeAt(to - 1) !== 125 /* } */) return undefined;
  let actor = '';
  let correlationId = '';
  let causationId = '';
  let timestamp = '';
  let i = from + 1;
  if (n > 2) {
    for (;;) {
      // "key":"value" — neither holds a quote, a backslash or a control character (checked by
      // the caller); no quote found past `to` belongs to this text
      if (text.charCodeAt(i) !== 34) return undefined;
      const keyEnd = text.indexOf('"', i + 1);
      if (keyEnd < 0 || keyEnd + 3 >= to || text.charCodeAt(keyEnd + 1) !== 58 /* : */ || text.charCodeAt(keyEnd + 2) !== 34) return undefined;
      const valueEnd = text.indexOf('"', keyEnd + 3);
      if (valueEnd < 0 || valueEnd >= to - 1) return undefined;
      const keyLength = keyEnd - i - 1;
      // only the four keys are looked at; the others are checked for their shape only
      if (keyLength === 5 && text.startsWith('actor', i + 1)) actor = text.slice(keyEnd + 3, valueEnd);
      else if (keyLength === 13 && text.startsWith('correlationId', i + 1)) correlationId = text.slice(keyEnd + 3, valueEnd);
      else if (keyLength === 11 && text.startsWith('causationId', i + 1)) causationId = text.slice(keyEnd + 3, valueEnd);
      else if (keyLength === 9 && text.startsWith('timestamp', i + 1)) timestamp = text.slice(keyEnd + 3, valueEnd);
      i = valueEnd + 1;
      if (i === to - 1) break;
      if (text.charCodeAt(i) !== 44 /* , */) return undefined;
      i++;
    }
  }
  return { actor, correlationId, causationId, timestamp };
};

/**
 * Marks a RecordedEvent whose node-timeline entry a fed rebuild's reading thread has built already
 * (it hands the chunks over through `prebuiltOutput`; history.ts).
 */
export const timelineBuilt = Symbol('ironlog.timelineBuilt');

/**
 * A batch delivered by a fed rebuild may carry, under this key, output its reading thread made
 * for some models, by model name: the projector gives each its part (ModelWriter.prebuilt).
 */
export const prebuiltOutput = Symbol('ironlog.prebuilt');
export type PrebuiltOutput = Record<string, unknown>;

/**
 * One event applied to one aggregate. `before`/`after` are the domain's evolve states. In a bulk
 * rebuild the domain may fold an event in place (Fold.evolveInPlace): `before` is then the same
 * object as `after`, for events that change nothing a follower compares (existence, name).
 */
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
  /** fed rebuilds only: output the reading thread made for this model (see prebuiltOutput) */
  prebuilt?(output: unknown): void;
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
