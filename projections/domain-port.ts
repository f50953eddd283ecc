// The two things the projector needs from the domain: decode a stored event (the domain's own
// codec; an unknown or malformed event is an error, never skipped) and each aggregate kind's
// initial state and evolve. Tests plug in a tiny fake; production binds domain/index.ts.

import type { SourceKind } from './sources.ts';
import type { RecordedEvent } from '../eventstore/port.ts';

export type Decoded = { ok: true; event: unknown } | { ok: false; reason: string };

export interface Fold {
  initialState: () => unknown;
  evolve: (state: unknown, event: unknown) => unknown;
  /**
   * Optional, bulk rebuilds only (a state nobody else holds): evolve that may apply an event to the
   * state in place and return the same object, for events that change neither the aggregate's
   * existence nor anything a follower compares between before and after (the node's name). Must
   * give what evolve gives.
   */
  evolveInPlace?: (state: unknown, event: unknown) => unknown;
}

export interface ProjectionDomain {
  decode: (rec: RecordedEvent) => Decoded;
  /** undefined when the domain has no aggregate of that kind (its streams are not read) */
  foldFor: (kind: SourceKind) => Fold | undefined;
}
