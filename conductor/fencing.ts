// The integration point of fencing: right before a conductor appends to a node stream, read the
// membership log (catching up on anything this process missed while it was stopped) and run the
// pure check (domain/conductor/fence.ts). A lost, departed or replaced run gets NotOwner.
//
// Use it as handleCommand's `guard` (command-handling/handle.ts) via `guardFor`, or append through
// `fencedAppend`, which also stamps the ownership record (writer + ring epoch) on the events'
// metadata as `owner`.
//
// What remains between the check and the append is the rest of the current run of promise jobs
// (the embedded store commits the appends issued in it together, right after it: group commit)
// and one SQLite write; the node stream's expected revision closes it against the new owner: the
// new owner's first append (its takeover record) and the old owner's late append cannot both
// succeed. The membership is read again for every fence (not shared by the fences of a turn: a
// shared read of even a few milliseconds let an old owner's step land after a join in the log).

import * as E from 'fp-ts/lib/Either.js';
import { checkOwnership, type NodePlacement, type OwnershipRecord, type Writer } from '../domain/conductor/index.ts';
import type { DomainError } from '../domain/errors.ts';
import type { AppendResult, EventData, EventStore, ExpectedRevision } from '../eventstore/port.ts';
import type { MembershipView } from './membership-view.ts';

export type Fence = (node: NodePlacement) => Promise<E.Either<DomainError, OwnershipRecord>>;

/**
 * The fence of one run. Bind it to the run that took the work, not to "whoever we are now": work
 * begun by a run that was declared lost must stay refused after the conductor rejoins as a new run.
 */
export const fenceFor =
  (view: MembershipView, writer: Writer): Fence =>
  async (node) => {
    await view.refresh();
    return checkOwnership(view.state, writer, node, view.ownerLookup);
  };

/** handleCommand's guard: `placementOf` reads the node's uuid, group and driver from its state. */
export const guardFor =
  <S>(fence: Fence, placementOf: (state: S) => NodePlacement) =>
  async (state: S): Promise<DomainError | undefined> => {
    const r = await fence(placementOf(state));
    return E.isLeft(r) ? r.left : undefined;
  };

export const ownerMetadataKey = 'owner';

export const fencedAppend = async (
  store: EventStore,
  fence: Fence,
  node: NodePlacement,
  streamId: string,
  events: EventData[],
  expected: ExpectedRevision,
): Promise<E.Either<DomainError, { result: AppendResult; owner: OwnershipRecord }>> => {
  const checked = await fence(node);
  if (E.isLeft(checked)) return checked;
  const owner = checked.right;
  const stamped = events.map((e) => ({ ...e, metadata: { ...e.metadata, [ownerMetadataKey]: owner } }));
  const result = await store.append(streamId, stamped, expected);
  return E.right({ result, owner });
};
