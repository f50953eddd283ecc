// An event as subscribers see it, on NATS and in the API's event stream: the stored event,
// decoded (a corrupt event is an error, never skipped or passed on), with every secret masked.
// Events only ever hold sealed secrets ({"$secret": "v1:..."}); subscribers get "******" in their
// place, and the dicts Ironic masks by key (driver_info, instance_info, driver_internal_info, step
// args) are masked by key as well, so nothing secret leaves even if a value slipped through.

import * as E from 'fp-ts/lib/Either.js';
import { isPlainObject } from '../domain/codecs.ts';
import { EventMetadataC } from '../domain/metadata.ts';
import { isSealed, maskSecrets, SECRET_MASK, type SecretScope } from '../domain/secrets.ts';
import { CorruptStoredEvent } from '../eventstore/errors.ts';
import type { RecordedEvent } from '../eventstore/port.ts';
// the domain's decoder with the projector's compiled type-guard fast path (same answers as
// domain/index.ts decodeStoredEvent, held to them by tests/projections/domain-decode.test.ts)
import { decodeForProjection } from '../projections/domain.ts';

/** Replaces every secret in a JSON value by "******". */
export type Masker = (value: unknown) => unknown;

// a Map: a key such as "constructor" in an event's dict must not find Object.prototype's
const scopeOfKey: ReadonlyMap<string, SecretScope> = new Map<string, SecretScope>([
  ['driver_info', 'driver_info'],
  ['instance_info', 'instance_info'],
  ['driver_internal_info', 'driver_internal_info'],
  ['args', 'args'],
]);

/**
 * Copies only what it masks (a value with nothing to mask comes back as itself): every event is
 * rendered once for NATS and once per event-stream subscriber, and a deep copy of a node's
 * fields was the publisher's largest allocation.
 */
export const maskDeep: Masker = (value) => {
  if (isSealed(value)) return SECRET_MASK;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const m = maskDeep(v);
      if (m !== v) (out ??= value.slice())[i] = m;
    }
    return out ?? value;
  }
  if (!isPlainObject(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const k of Object.keys(value)) {
    const v = value[k];
    const scope = scopeOfKey.get(k);
    const m = maskDeep(scope !== undefined && isPlainObject(v) ? maskSecrets(v, scope) : v);
    if (m !== v) (out ??= { ...value })[k] = m;
  }
  return out ?? value;
};

export interface EventJson {
  /** the event's id (JetStream's Nats-Msg-Id) */
  id: string;
  stream: string;
  /** 0-based revision within its stream */
  revision: number;
  /** global log position, a decimal string (positions are 64-bit) */
  position: string;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  /** when the store recorded it (ISO 8601) */
  created: string;
}

/** Decodes a stored event (data and metadata) and renders it masked. */
export const renderEvent = (recorded: RecordedEvent, mask: Masker = maskDeep): E.Either<CorruptStoredEvent, EventJson> => {
  const decoded = decodeForProjection(recorded);
  if (!decoded.ok) return E.left(new CorruptStoredEvent(recorded.streamId, recorded.revision, decoded.reason));
  if (!EventMetadataC.is(recorded.metadata)) {
    return E.left(new CorruptStoredEvent(recorded.streamId, recorded.revision, 'metadata lacks correlationId, causationId, actor or timestamp'));
  }
  return E.right({
    id: recorded.id,
    stream: recorded.streamId,
    revision: Number(recorded.revision),
    position: recorded.position.toString(),
    type: recorded.type,
    data: mask((decoded.event as { data: unknown }).data),
    metadata: mask(recorded.metadata) as Record<string, unknown>,
    created: recorded.created.toISOString(),
  });
};
