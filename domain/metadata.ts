// Event metadata (every event carries it; see EventMetadata in eventstore/port.ts) and the
// deterministic event id that makes a retried command append nothing new.

import { hash } from 'node:crypto';
import * as t from 'io-ts';
import { parse as uuidParse } from 'uuid';
import type { EventMetadata } from '../eventstore/port.ts';
import { partial } from './codecs.ts';

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
// RFC 4122 version 5 (SHA-1 of namespace + name), the same ids as uuid's v5(name, namespace):
// node's one-shot crypto.hash costs a fraction of a Hash object (createHash, update, digest),
// which uuid makes per call, on every event appended (tests/domain/aggregates.test.ts compares).
const namespaceBytes = Buffer.from(uuidParse(EVENT_ID_NAMESPACE));
export const eventIdFor = (commandId: string, index: number): string => {
  const name = `${commandId}#${index}`;
  const input = Buffer.allocUnsafe(16 + Buffer.byteLength(name, 'utf8'));
  namespaceBytes.copy(input, 0);
  input.write(name, 16, 'utf8');
  const h = hash('sha1', input, 'hex');
  // version 5 in the high nibble of byte 6, the RFC 4122 variant (10xx) in the top bits of byte 8
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

export const actorForConductor = (host: string): string => `conductor:${host}`;
