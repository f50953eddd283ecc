// Uniqueness across aggregates without a database constraint: a value (node name, MAC address,
// instance_uuid, ...) is owned through a claim stream `claim-<kind>-<value>`, appended with an
// expected revision. Two concurrent writers race on that append and exactly one wins, on every
// event store adapter, because the store itself arbitrates.
//
// A claim whose owner crashed before writing its own aggregate would block the value forever, so
// a claim is only honoured while its owner really holds the value (`ownerHolds`), or while it is
// young enough that the owner may still be writing (`graceMs`).
//
// With a store that appends to several streams in one transaction (`appendToStreams`, the
// embedded SQLite store), the command handler appends the claims and the aggregate's events
// together (`planClaims`): no crash can leave a claim without its aggregate, and a create is one
// commit instead of two. EventStoreDB has no such transaction: there the claims are appended
// first (`acquireClaims`) and the grace period covers a writer that died in between.

import type { EventData, EventStore, EventMetadata, StreamAppend } from '../eventstore/port.ts';
import { isWrongExpectedRevision } from '../eventstore/errors.ts';
import { eventIdFor } from '../domain/metadata.ts';

export interface Claim {
  /** what is unique, e.g. 'node-name', 'port-address' */
  kind: string;
  /** the value, already normalised (MACs lowercased) */
  value: string;
}

export const claimStream = (c: Claim): string => `claim-${c.kind}-${encodeURIComponent(c.value)}`;
export const claimKey = (c: Claim): string => `${c.kind}\u0000${c.value}`;

interface ClaimState {
  holder: string | undefined;
  since: number;
  revision: bigint | undefined;
}

const unclaimed: ClaimState = { holder: undefined, since: 0, revision: undefined };

const readClaim = async (store: EventStore, c: Claim): Promise<ClaimState> => {
  const [last] = await store.readStream(claimStream(c), { direction: 'backwards', maxCount: 1 });
  if (!last) return { holder: undefined, since: 0, revision: undefined };
  const data = last.data as { owner?: unknown };
  const holder = last.type === 'ClaimAcquired' && typeof data.owner === 'string' ? data.owner : undefined;
  return { holder, since: last.created.getTime(), revision: last.revision };
};

export interface ClaimContext {
  store: EventStore;
  /** the aggregate stream that wants the value */
  owner: string;
  commandId: string;
  metadata: EventMetadata;
  /** does `ownerStream` currently hold this value? (reads the owner's aggregate) */
  ownerHolds: (ownerStream: string, c: Claim) => Promise<boolean>;
  now: () => number;
  /** how long a fresh claim is honoured even though its owner does not show it yet */
  graceMs?: number;
}

export type AcquireResult = { ok: true } | { ok: false; claim: Claim; holder: string };

// Event ids derive from the command and the claim stream's revision they were decided on: a
// retried command writes the same ids, and so is recognised as a retry by the store.
const acquiredEvent = (ctx: ClaimContext, c: Claim, cur: ClaimState): EventData => ({
  id: eventIdFor(`${ctx.commandId}:claim:${claimKey(c)}:${String(cur.revision ?? -1n)}`, 0),
  type: 'ClaimAcquired',
  data: { owner: ctx.owner, kind: c.kind, value: c.value },
  metadata: ctx.metadata,
});

const releasedEvent = (ctx: ClaimContext, c: Claim, revision: bigint): EventData => ({
  id: eventIdFor(`${ctx.commandId}:release:${claimKey(c)}:${String(revision)}`, 0),
  type: 'ClaimReleased',
  data: { owner: ctx.owner, kind: c.kind, value: c.value },
  metadata: ctx.metadata,
});

/** Is the claim's holder (another stream) still to be honoured? */
const honoured = async (ctx: ClaimContext, c: Claim, cur: ClaimState): Promise<boolean> =>
  cur.holder !== undefined && (ctx.now() - cur.since < (ctx.graceMs ?? 30_000) || (await ctx.ownerHolds(cur.holder, c)));

export type ClaimPlan = { ok: true; appends: StreamAppend[] } | { ok: false; claim: Claim; holder: string };

/**
 * For a store with `appendToStreams`: the claim-stream appends that acquire `acquire` and give
 * back `release`, each with the expected revision it was read at, to be appended in one
 * transaction with the owner's events. A claim that changed meanwhile fails that transaction
 * with WrongExpectedRevision (the caller reads again); a value honoured for another owner is
 * `ok: false` and nothing is to be written. `assumeNew`: plan the acquisitions as of claim streams
 * that do not exist, without reading them (a first attempt).
 */
export const planClaims = async (ctx: ClaimContext, acquire: Claim[], release: Claim[], options: { assumeNew?: boolean } = {}): Promise<ClaimPlan> => {
  const appends: StreamAppend[] = [];
  for (const c of acquire) {
    // assumeNew: a value never claimed before (most values are, at creates) needs no read; if
    // the claim stream exists after all, the transaction fails and the caller plans again
    const cur = options.assumeNew ? unclaimed : await readClaim(ctx.store, c);
    if (cur.holder === ctx.owner) continue;
    if (await honoured(ctx, c, cur)) return { ok: false, claim: c, holder: cur.holder! };
    appends.push({ streamId: claimStream(c), events: [acquiredEvent(ctx, c, cur)], expected: cur.revision === undefined ? 'no_stream' : cur.revision });
  }
  for (const c of release) {
    const cur = await readClaim(ctx.store, c);
    if (cur.holder !== ctx.owner || cur.revision === undefined) continue;
    appends.push({ streamId: claimStream(c), events: [releasedEvent(ctx, c, cur.revision)], expected: cur.revision });
  }
  return { ok: true, appends };
};

/** Acquire every claim or none (the ones taken are released again on failure). */
export const acquireClaims = async (ctx: ClaimContext, claims: Claim[]): Promise<AcquireResult> => {
  const taken: Claim[] = [];
  for (const c of claims) {
    const r = await acquireOne(ctx, c);
    if (!r.ok) {
      await releaseClaims(ctx, taken);
      return r;
    }
    taken.push(c);
  }
  return { ok: true };
};

const acquireOne = async (ctx: ClaimContext, c: Claim): Promise<AcquireResult> => {
  for (let attempt = 0; attempt < 20; attempt++) {
    const cur = await readClaim(ctx.store, c);
    if (cur.holder === ctx.owner) return { ok: true };
    if (await honoured(ctx, c, cur)) return { ok: false, claim: c, holder: cur.holder! };
    try {
      await ctx.store.append(claimStream(c), [acquiredEvent(ctx, c, cur)], cur.revision === undefined ? 'no_stream' : cur.revision);
      return { ok: true };
    } catch (e) {
      if (!isWrongExpectedRevision(e)) throw e;
      // someone else wrote the claim stream between our read and append: look again
    }
  }
  throw new Error(`claim ${claimStream(c)} kept changing under contention`);
};

export const releaseClaims = async (ctx: ClaimContext, claims: Claim[]): Promise<void> => {
  for (const c of claims) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const cur = await readClaim(ctx.store, c);
      if (cur.holder !== ctx.owner || cur.revision === undefined) break;
      try {
        await ctx.store.append(claimStream(c), [releasedEvent(ctx, c, cur.revision)], cur.revision);
        break;
      } catch (e) {
        if (!isWrongExpectedRevision(e)) throw e;
      }
    }
  }
};

/** Claims in `after` but not in `before` are to acquire; the reverse are to release. */
export const diffClaims = (before: Claim[], after: Claim[]): { acquire: Claim[]; release: Claim[] } => {
  const b = new Set(before.map(claimKey));
  const a = new Set(after.map(claimKey));
  return { acquire: after.filter((c) => !b.has(claimKey(c))), release: before.filter((c) => !a.has(claimKey(c))) };
};
