// Event metadata (every event carries it; see EventMetadata in eventstore/port.ts) and the
// deterministic event id that makes a retried command append nothing new.

import * as t from 'io-ts';
import { partial } from './codecs.ts';
import { parse as uuidParse, v5 as uuidv5 } from 'uuid';
import type { EventMetadata } from '../eventstore/port.ts';

const Required = t.type({
  correlationId: t.string,
  causationId: t.string,
  /** the user (API) or `conductor:<host>` */
  actor: t.string,
  /** ISO 8601 */
  timestamp: t.string,
});
const Optional = partial({ commandId: t.string });

/** Extra keys are kept as they are (the port allows them). */
export const EventMetadataC: t.Type<EventMetadata, EventMetadata, unknown> = new t.Type<EventMetadata, EventMetadata, unknown>(
  'EventMetadata',
  (u): u is EventMetadata => Required.is(u) && Optional.is(u),
  (u, c) => {
    const r = t.intersection([Required, Optional]).validate(u, c);
    return r._tag === 'Right' ? t.success(u as EventMetadata) : r;
  },
  (m) => m,
);

/** Fixed namespace of ironlog event ids (never change it: stored ids depend on it). */
export const EVENT_ID_NAMESPACE = '6f1d3a0e-4b7c-5e21-9a8d-2c3b4e5f6a70';

/** The id of the `index`-th event a command produced: the same command id always yields the same ids. */
// The same ids as uuidv5(name string, namespace string), for less work on every event appended:
// uuid parses a string namespace twice per call and encodes the name through URI escaping.
const namespaceBytes = uuidParse(EVENT_ID_NAMESPACE);
const utf8 = new TextEncoder();
export const eventIdFor = (commandId: string, index: number): string => uuidv5(utf8.encode(`${commandId}#${index}`), namespaceBytes);

export const actorForConductor = (host: string): string => `conductor:${host}`;
