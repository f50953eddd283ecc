// The projector's view of the real domain (domain/index.ts): its stored-event decoder and each
// kind's initialState/evolve. The membership stream is the domain's `conductor` kind.
//
// Decoding is on the rebuild's hot path, so it has a fast path: every event codec of the domain
// is an identity codec (io-ts `t.type` of strings, literals, keyofs and dict guards: decoding
// returns its input unchanged), so its type guard `is` accepts exactly what `decode` accepts, at
// a third of the cost (no validation context is built); and the guards are compiled
// (guards.ts: the same checks as `is`, without walking the codec tree), a third of that again. Anything `is` refuses goes through the
// domain's decodeStoredEvent, which names the stream, revision and reason: never skipped.
// tests/projections/domain-decode.test.ts holds the two paths to the same answers.

import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import { decodeStoredEvent, eventCodecs, foldFor } from '../domain/index.ts';
import { evolveNodeStateInPlace } from '../domain/node/evolve.ts';
import { membershipStream, streamPrefix, type AggregateKind } from '../domain/streams.ts';
import type { RecordedEvent } from '../eventstore/port.ts';
import type { ProjectionDomain } from './domain-port.ts';
import { compileGuard } from './guards.ts';

interface EventGuard {
  kind: AggregateKind;
  /** the stream ids of that kind start with it (the membership stream is the conductor kind's) */
  prefix: string;
  is: (u: unknown) => boolean;
}

const guards: ReadonlyMap<string, EventGuard> = new Map(
  (Object.entries(eventCodecs) as [AggregateKind, t.Mixed][]).flatMap(([kind, union]) => {
    const members = (union as unknown as { types?: t.Mixed[] }).types ?? [union];
    return members.map((codec): [string, EventGuard] => {
      const literal = (codec as unknown as { props?: { type?: { value?: unknown } } }).props?.type?.value;
      return [typeof literal === 'string' ? literal : codec.name, { kind, prefix: streamPrefix(kind), is: compileGuard(codec) }];
    });
  }),
);

/**
 * The stream belongs to the guard's kind: what parseStreamId(streamId).kind === kind says (kinds
 * hold no '-', so the prefix `<kind>-` is exactly "the part before the first '-' is the kind"),
 * without slicing the stream id for every event.
 */
const ofKind = (g: EventGuard, streamId: string): boolean =>
  streamId.startsWith(g.prefix) || (g.kind === 'conductor' && streamId === membershipStream);

/** The domain's decoder with the type-guard fast path; same answers as decodeStoredEvent. */
export const decodeForProjection = (rec: RecordedEvent): { ok: true; event: unknown } | { ok: false; reason: string } => {
  const guard = guards.get(rec.type);
  if (guard !== undefined && ofKind(guard, rec.streamId)) {
    const candidate = { type: rec.type, data: rec.data };
    if (guard.is(candidate)) return { ok: true, event: candidate };
  }
  const r = decodeStoredEvent(rec);
  return E.isRight(r) ? { ok: true, event: r.right } : { ok: false, reason: r.left.reason };
};

export const productionDomain: ProjectionDomain = {
  decode: decodeForProjection,
  foldFor: (kind) => {
    if (kind === 'membership') return foldFor('conductor');
    if (kind === 'conductor') return undefined; // conductors live in the membership stream
    if (kind === 'node') return { ...foldFor(kind), evolveInPlace: evolveNodeStateInPlace as (s: unknown, e: unknown) => unknown };
    return foldFor(kind);
  },
};
