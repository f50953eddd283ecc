// Where a committed event goes on NATS (documented in publisher/README.md):
//
//   ironlog.events.<category>.<id>.<EventType>
//
// <category> and <id> are the two halves of the event's stream name split at its first '-'
// (`node-<uuid>` → `node`, `<uuid>`; `membership-ring` → `membership`, `ring`), the same split
// EventStoreDB calls a category. Every token is escaped as the conductor subjects are (`.`, `*`,
// `>`, `%` and whitespace become %XX), so a subscriber filters with plain NATS wildcards:
// `ironlog.events.node.<uuid>.>` (one node), `ironlog.events.*.*.ProvisionStateChanged` (one type).

import { subjectToken } from '../conductor/subjects.ts';
import { aggregateKinds, membershipStream, streamPrefix } from '../domain/streams.ts';

export const SUBJECT_ROOT = 'ironlog.events';
/** The JetStream stream that keeps every published event (subjects `ironlog.events.>`). */
export const EVENTS_STREAM = 'IRONLOG_EVENTS';
export const EVENTS_STREAM_SUBJECTS = `${SUBJECT_ROOT}.>`;

/** Headers on every message, beside JetStream's `Nats-Msg-Id` (= the event id). */
export const Headers = {
  position: 'Ironlog-Position',
  stream: 'Ironlog-Stream',
  revision: 'Ironlog-Revision',
  type: 'Ironlog-Event-Type',
} as const;

/**
 * The streams whose events subscribers see: every aggregate and the conductor membership log.
 * Uniqueness claim streams (`claim-...`) are the command handler's bookkeeping, not domain
 * events, and stay private.
 */
export const publicStreamPrefixes: readonly string[] = [...aggregateKinds.map(streamPrefix), membershipStream];

export const isPublicStream = (streamId: string): boolean => publicStreamPrefixes.some((p) => streamId.startsWith(p));

const splitStream = (streamId: string): [string, string] => {
  const dash = streamId.indexOf('-');
  return dash > 0 ? [streamId.slice(0, dash), streamId.slice(dash + 1)] : [streamId, ''];
};

export const eventSubject = (streamId: string, eventType: string): string => {
  const [category, id] = splitStream(streamId);
  return `${SUBJECT_ROOT}.${subjectToken(category)}.${subjectToken(id)}.${subjectToken(eventType)}`;
};

/** Filter subjects for subscribers (any argument left out is a wildcard). */
export const subjectFilter = (o: { category?: string; id?: string; type?: string } = {}): string => {
  if (o.category === undefined && o.id === undefined && o.type === undefined) return EVENTS_STREAM_SUBJECTS;
  const tok = (s: string | undefined) => (s === undefined ? '*' : subjectToken(s));
  return `${SUBJECT_ROOT}.${tok(o.category)}.${tok(o.id)}.${tok(o.type)}`;
};
