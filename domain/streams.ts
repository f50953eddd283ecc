// Stream naming. One stream per aggregate instance: `<category>-<id>`. The category is what
// EventStoreDB calls it (the part before the first '-'), so `$ce-node` style projections work.
// Uniqueness claims live in their own `claim-<kind>-<key>` streams (see command-handling/claims.ts).

export const aggregateKinds = [
  'node',
  'port',
  'portgroup',
  'chassis',
  'allocation',
  'deploytemplate',
  'volumeconnector',
  'volumetarget',
  'conductor',
] as const;
export type AggregateKind = (typeof aggregateKinds)[number];

export const streamId = (kind: AggregateKind, id: string): string => `${kind}-${id}`;

export const parseStreamId = (stream: string): { kind: AggregateKind; id: string } | undefined => {
  const dash = stream.indexOf('-');
  if (dash <= 0) return undefined;
  const kind = stream.slice(0, dash) as AggregateKind;
  return (aggregateKinds as readonly string[]).includes(kind) ? { kind, id: stream.slice(dash + 1) } : undefined;
};

/** Stream prefixes a subscriber filters on to see one kind of aggregate. */
export const streamPrefix = (kind: AggregateKind): string => `${kind}-`;

/** The conductor membership log: one stream, so the ring epoch is a total order. */
export const membershipStream = 'membership-ring';
