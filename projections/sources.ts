// Which log streams the read models fold, and how a stream id maps to (kind, id). Aggregates use
// `<kind>-<id>` (domain/streams.ts); conductor membership is the one `membership-ring` stream.

import { membershipStream, parseStreamId, streamPrefix, type AggregateKind } from '../domain/streams.ts';

export type SourceKind = AggregateKind | 'membership';

export const membershipId = 'ring';

export const parseSource = (stream: string): { kind: SourceKind; id: string } | undefined =>
  stream === membershipStream ? { kind: 'membership', id: membershipId } : parseStreamId(stream);

export const sourcePrefix = (kind: SourceKind): string => (kind === 'membership' ? membershipStream : streamPrefix(kind));
