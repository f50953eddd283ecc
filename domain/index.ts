// The domain's front door: every aggregate's Decider keyed by its AggregateKind, the codecs of
// their commands and events, and the one decoder of stored events (an unknown or malformed
// event is an error naming its stream and revision, never skipped).

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { CorruptStoredEvent } from '../eventstore/errors.ts';
import { firstError } from './codecs.ts';
import { membershipStream, parseStreamId, type AggregateKind } from './streams.ts';

import { allocationDecider, AllocationCommandC, AllocationEventC, type AllocationEvent } from './allocation/index.ts';
import { chassisDecider, ChassisCommandC, ChassisEventC, type ChassisEvent } from './chassis/index.ts';
import { deployTemplateDecider, DeployTemplateCommandC, DeployTemplateEventC, type DeployTemplateEvent } from './deploytemplate/index.ts';
import { nodeDecider, NodeCommandC, NodeEventC, type NodeEvent } from './node/index.ts';
import { portDecider, PortCommandC, PortEventC, type PortEvent } from './port/index.ts';
import { portgroupDecider, PortgroupCommandC, PortgroupEventC, type PortgroupEvent } from './portgroup/index.ts';
import { volumeConnectorDecider, VolumeConnectorCommandC, VolumeConnectorEventC, type VolumeConnectorEvent } from './volumeconnector/index.ts';
import { volumeTargetDecider, VolumeTargetCommandC, VolumeTargetEventC, type VolumeTargetEvent } from './volumetarget/index.ts';
// ---- conductor membership: owned by domain/conductor/ (another author); wired in here only ----
import { membershipDecider, MembershipCommand, MembershipEvent } from './conductor/index.ts';
// -------------------------------------------------------------------------------------------

export const deciders = {
  node: nodeDecider,
  port: portDecider,
  portgroup: portgroupDecider,
  chassis: chassisDecider,
  allocation: allocationDecider,
  deploytemplate: deployTemplateDecider,
  volumeconnector: volumeConnectorDecider,
  volumetarget: volumeTargetDecider,
  // CONDUCTOR: from domain/conductor/ (its events live in the `membership-ring` stream)
  conductor: membershipDecider,
} as const satisfies Record<AggregateKind, { initialState: () => unknown }>;
export type Deciders = typeof deciders;
export type DeciderOf<K extends AggregateKind> = Deciders[K];

/** Codecs of each kind's events (`{type, data}`). */
export const eventCodecs = {
  node: NodeEventC,
  port: PortEventC,
  portgroup: PortgroupEventC,
  chassis: ChassisEventC,
  allocation: AllocationEventC,
  deploytemplate: DeployTemplateEventC,
  volumeconnector: VolumeConnectorEventC,
  volumetarget: VolumeTargetEventC,
  // CONDUCTOR: from domain/conductor/
  conductor: MembershipEvent,
} as const satisfies Record<AggregateKind, t.Mixed>;

/** Codecs of each kind's commands (`{type, data}`). */
export const commandCodecs = {
  node: NodeCommandC,
  port: PortCommandC,
  portgroup: PortgroupCommandC,
  chassis: ChassisCommandC,
  allocation: AllocationCommandC,
  deploytemplate: DeployTemplateCommandC,
  volumeconnector: VolumeConnectorCommandC,
  volumetarget: VolumeTargetCommandC,
  // CONDUCTOR: from domain/conductor/
  conductor: MembershipCommand,
} as const satisfies Record<AggregateKind, t.Mixed>;

export type DomainEvent =
  | NodeEvent
  | PortEvent
  | PortgroupEvent
  | ChassisEvent
  | AllocationEvent
  | DeployTemplateEvent
  | VolumeConnectorEvent
  | VolumeTargetEvent
  | t.TypeOf<typeof MembershipEvent>;

const unionMembers = (c: t.Mixed): t.Mixed[] => (c instanceof t.UnionType ? (c.types as t.Mixed[]) : [c]);

/** event type → [owning kind, codec of that one event] */
const byType: ReadonlyMap<string, { kind: AggregateKind; codec: t.Mixed }> = new Map(
  (Object.entries(eventCodecs) as [AggregateKind, t.Mixed][]).flatMap(([kind, union]) =>
    unionMembers(union).map((codec): [string, { kind: AggregateKind; codec: t.Mixed }] => {
      const literal = (codec as t.InterfaceType<{ type: t.LiteralC<string> }>).props?.type?.value;
      return [literal ?? codec.name, { kind, codec }];
    }),
  ),
);

/** Every event type the domain knows, and the kind that owns it. */
export const eventTypes: ReadonlyMap<string, AggregateKind> = new Map([...byType].map(([type, v]) => [type, v.kind]));

export interface StoredEventLike {
  streamId: string;
  revision: bigint;
  type: string;
  data: unknown;
}

/** Decodes a stored event; the stream must be of the kind that owns the event's type. */
export const decodeStoredEvent = (recorded: StoredEventLike): E.Either<CorruptStoredEvent, DomainEvent> => {
  const corrupt = (reason: string) => E.left(new CorruptStoredEvent(recorded.streamId, recorded.revision, reason));
  const entry = byType.get(recorded.type);
  if (!entry) return corrupt(`unknown event type "${recorded.type}"`);
  const stream = parseStreamId(recorded.streamId);
  const streamKind: AggregateKind | undefined =
    stream?.kind ?? (recorded.streamId === membershipStream ? 'conductor' : undefined);
  if (streamKind !== undefined && streamKind !== entry.kind)
    return corrupt(`event type "${recorded.type}" belongs to ${entry.kind} streams, not ${streamKind}`);
  const decoded = entry.codec.decode({ type: recorded.type, data: recorded.data });
  if (E.isLeft(decoded)) return corrupt(firstError(decoded.left));
  return E.right(decoded.right as DomainEvent);
};

/** What a projection folds with, per kind (state and event typed loosely on purpose). */
export const foldFor = (kind: AggregateKind): { initialState: () => unknown; evolve: (s: unknown, e: unknown) => unknown } => {
  const d = deciders[kind] as unknown as { initialState: () => unknown; evolve: (s: unknown, e: unknown) => unknown };
  return { initialState: d.initialState, evolve: d.evolve };
};

export { eventIdFor, EventMetadataC } from './metadata.ts';
export type { AggregateKind } from './streams.ts';
