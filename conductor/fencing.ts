// The integration point of fencing: right before a conductor appends to a node stream, read the
// membership log (catching up on anything this process missed while it was stopped) and run the
// pure check (domain/conductor/fence.ts). A lost, departed or replaced run gets NotOwner.
//
// Use it as handleCommand's `guard` (command-handling/handle.ts) via `guardFor`, or append through
// `fencedAppend`, which also stamps the ownership record (writer + ring epoch) on the events'
// metadata as `owner`.
//
// The check and the append are one step where the store can condition an append on another
// stream (EventStore.appendIf, the embedded store): the grant carries the membership stream's
// revision the check was made at, and the append holds only while the membership stream is still
// there, in the append's own transaction. A membership change committed in between (by any
// process) makes the append fail with WrongExpectedRevision on the membership stream; the writer
// then fences again, on the new membership. Where the store cannot (EventStoreDB) what remains
// between the check and the append is the rest of the current run of promise jobs and one write;
// the node stream's expected revision still closes it against the new owner: the new owner's
// first append (its takeover record) and the old owner's late append cannot both succeed. The
// membership is read again for every fence (not shared by the fences of a turn: a shared read of
// even a few milliseconds let an old owner's step land after a join in the log).

import * as E from 'fp-ts/lib/Either.js';
import { checkOwnership, type NodePlacement, type OwnershipRecord, type Writer } from '../domain/conductor/index.ts';
import type { DomainError } from '../domain/errors.ts';
import type { GuardGrant } from '../command-handling/guard.ts';
import type { AppendPrecondition, AppendResult, EventData, EventStore, ExpectedRevision } from '../eventstore/port.ts';
import { membershipStream } from '../domain/streams.ts';
import type { MembershipView } from './membership-view.ts';

/**
 * What a fence grants: the ownership record to stamp on the events and, when the check was made
 * on a membership read from the log, the membership stream's revision it was made at (the
 * append's precondition). Not stamped on events itself.
 */
export type FenceGrant = OwnershipRecord & { precondition?: AppendPrecondition };

export type Fence = (node: NodePlacement) => Promise<E.Either<DomainError, FenceGrant>>;

/**
 * The fence of one run. Bind it to the run that took the work, not to "whoever we are now": work
 * begun by a run that was declared lost must stay refused after the conductor rejoins as a new run.
 */
export const fenceFor =
  (view: MembershipView, writer: Writer): Fence =>
  async (node) => {
    await view.refresh();
    const revision = view.revision;
    const checked = checkOwnership(view.state, writer, node, view.ownerLookup);
    if (E.isLeft(checked)) return checked;
    return E.right({ ...checked.right, precondition: { streamId: membershipStream, expected: revision === undefined ? 'no_stream' : revision } });
  };

/** The ownership record of a grant, without its precondition (what is stamped on events). */
export const ownerOf = (grant: FenceGrant): OwnershipRecord => ({ hostname: grant.hostname, incarnation: grant.incarnation, epoch: grant.epoch });

/**
 * Appends what a fence granted: conditioned on the membership the fence checked where the store
 * can (appendIf), else a plain append.
 */
export const appendGranted = (
  store: EventStore,
  grant: FenceGrant,
  streamId: string,
  events: EventData[],
  expected: ExpectedRevision,
): Promise<AppendResult> =>
  grant.precondition !== undefined && store.appendIf
    ? store.appendIf(grant.precondition, streamId, events, expected)
    : store.append(streamId, events, expected);

/**
 * handleCommand's guard: `placementOf` reads the node's uuid, group and driver from its state.
 * Its grant carries the fence's precondition, so the command's append is conditioned on it too.
 */
export const guardFor =
  <S>(fence: Fence, placementOf: (state: S) => NodePlacement) =>
  async (state: S): Promise<DomainError | GuardGrant> => {
    const r = await fence(placementOf(state));
    if (E.isLeft(r)) return r.left;
    return r.right.precondition ? { granted: true, precondition: r.right.precondition } : { granted: true };
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
  const owner = ownerOf(checked.right);
  const stamped = events.map((e) => ({ ...e, metadata: { ...e.metadata, [ownerMetadataKey]: owner } }));
  const result = await appendGranted(store, checked.right, streamId, stamped, expected);
  return E.right({ result, owner });
};
