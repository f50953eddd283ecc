// The imperative shell around a decider: load the stream, fold it, decide, append with the
// expected revision, and keep uniqueness claims in step with the change.
//
// Idempotency: event ids derive from the command id, and a command whose events are already
// in the stream returns those events again without deciding anew, so a retried command (a
// client retry, a redelivered NATS message, a conductor taking over) appends nothing new.

import * as E from 'fp-ts/lib/Either.js';
import type { Decider } from '../domain/decider.ts';
import { isGuardGrant, type GuardGrant } from './guard.ts';
import { domainError, type DomainError } from '../domain/errors.ts';
import { eventIdFor } from '../domain/metadata.ts';
import type { EventData, EventMetadata, EventStore, ExpectedRevision, RecordedEvent } from '../eventstore/port.ts';
import { DuplicateEventId, isWrongExpectedRevision } from '../eventstore/errors.ts';
import { acquireClaims, diffClaims, planClaims, releaseClaims, type Claim } from './claims.ts';

export interface CommandEnvelope<C> {
  commandId: string;
  command: C;
  actor: string;
  correlationId?: string;
  causationId?: string;
}

/** How one aggregate kind's events are stored and read back. */
export interface AggregateBinding<C, Ev, S> {
  decider: Decider<C, Ev, S>;
  /** stored event → domain event; a Left is a corrupt stored event and is thrown, never skipped */
  decode: (recorded: RecordedEvent) => E.Either<Error, Ev>;
  encode: (event: Ev) => { type: string; data: unknown };
  /** the unique values this state holds (node name, MAC, ...); claims follow their changes */
  uniqueValues?: (state: S) => Claim[];
}

export interface Loaded<S> {
  state: S;
  revision: bigint | undefined;
  events: RecordedEvent[];
}

export const loadAggregate = async <C, Ev, S>(
  store: EventStore,
  binding: AggregateBinding<C, Ev, S>,
  stream: string,
): Promise<Loaded<S>> => {
  const events = await store.readStream(stream);
  let state = binding.decider.initialState();
  for (const recorded of events) {
    const decoded = binding.decode(recorded);
    if (E.isLeft(decoded)) throw decoded.left;
    state = binding.decider.evolve(state, decoded.right);
  }
  return { state, revision: events.at(-1)?.revision, events };
};

export interface Handled<S> {
  state: S;
  /** the events this command produced (or had produced, when it is a retry) */
  events: RecordedEvent[] | { type: string; data: unknown }[];
  /** global position of the last event; wait for read models to reach it */
  position: bigint | undefined;
  revision: bigint | undefined;
  /** true when the command had already been applied and nothing was appended now */
  duplicate: boolean;
}

export interface HandleOptions<S> {
  store: EventStore;
  now?: () => Date;
  /** attempts when another writer appended between our read and our append */
  maxAttempts?: number;
  /**
   * Checked right before appending, with the loaded state (fencing: is this writer still
   * allowed?): a DomainError refuses; a grant with a precondition lets the append go ahead only
   * while that stream is where the check saw it (EventStore.appendIf, where the store has it).
   */
  guard?: (state: S) => Promise<DomainError | GuardGrant | undefined>;
  /** does `ownerStream` currently hold claim `c`? Needed when the binding has unique values. */
  ownerHolds?: (ownerStream: string, c: Claim) => Promise<boolean>;
  /** extra metadata on every event written (a conductor's ownership record: host, run, ring epoch) */
  extraMetadata?: Record<string, unknown>;
  /**
   * A create with an id nobody has used yet (the API's creates): the first attempt decides on the
   * initial state without reading the stream (an empty read was ~0.18 ms of a node create) and
   * appends with `no_stream`, so a stream that does exist fails that append and the next attempt
   * reads it as usual. A decision that fails or yields nothing on the assumed state is taken
   * again on the stream as read, so errors are those of the real state. Meant for fresh command
   * ids too: a command id already applied is recognised by the store (the original position,
   * nothing written) but, unread, reported with `duplicate: false`.
   */
  assumeNew?: boolean;
}

const duplicateName = (c: Claim, holder: string): DomainError => {
  const cls = c.kind === 'port-address' || c.kind === 'portgroup-address' ? 'MACAlreadyExists'
    : c.kind === 'node-instance' ? 'InstanceAssociated'
    : c.kind === 'allocation-name' ? 'AllocationDuplicateName'
    : c.kind === 'deploytemplate-name' ? 'DeployTemplateDuplicateName'
    : c.kind === 'portgroup-name' ? 'PortgroupDuplicateName'
    : 'DuplicateName';
  const messages: Record<string, string> = {
    'node-name': `A node with name ${c.value} already exists.`,
    'port-address': `A port with MAC address ${c.value} already exists.`,
    'portgroup-address': `A port with MAC address ${c.value} already exists.`,
    'portgroup-name': `A portgroup with name ${c.value} already exists.`,
    'node-instance': `Instance ${c.value} is already associated with a node, it cannot be associated with this other node ${holder.replace(/^node-/, '')}`,
    'allocation-name': `Allocation with name ${c.value} already exists.`,
    'deploytemplate-name': `A deploy template with name ${c.value} already exists.`,
  };
  return domainError(cls, messages[c.kind] ?? `${c.kind} ${c.value} already exists.`);
};

export const handleCommand = async <C, Ev, S>(
  binding: AggregateBinding<C, Ev, S>,
  stream: string,
  envelope: CommandEnvelope<C>,
  options: HandleOptions<S>,
): Promise<E.Either<DomainError, Handled<S>>> => {
  const { store } = options;
  const now = options.now ?? (() => new Date());
  const maxAttempts = options.maxAttempts ?? 5;
  let assumeNew = options.assumeNew === true && !options.guard;
  for (let attempt = 1; ; attempt++) {
    const assumed = assumeNew && attempt === 1;
    const loaded: Loaded<S> = assumed ? { state: binding.decider.initialState(), revision: undefined, events: [] } : await loadAggregate(store, binding, stream);
    const already = loaded.events.filter((e) => e.metadata.commandId === envelope.commandId);
    if (already.length > 0) {
      return E.right({ state: loaded.state, events: already, position: already.at(-1)?.position, revision: loaded.revision, duplicate: true });
    }
    const decided = binding.decider.decide(envelope.command, loaded.state);
    if (assumed && (E.isLeft(decided) || decided.right.length === 0)) {
      // not a plain create after all: decide again on what is stored (not counted as an attempt)
      assumeNew = false;
      attempt--;
      continue;
    }
    if (E.isLeft(decided)) return decided;
    const newEvents = decided.right;
    if (newEvents.length === 0) {
      return E.right({ state: loaded.state, events: [], position: undefined, revision: loaded.revision, duplicate: false });
    }
    const guarded = options.guard ? await options.guard(loaded.state) : undefined;
    if (guarded !== undefined && !isGuardGrant(guarded)) return E.left(guarded);
    const precondition = guarded?.precondition;

    const next = newEvents.reduce(binding.decider.evolve, loaded.state);
    const metadata: EventMetadata = {
      ...options.extraMetadata,
      correlationId: envelope.correlationId ?? envelope.commandId,
      causationId: envelope.causationId ?? envelope.commandId,
      actor: envelope.actor,
      timestamp: now().toISOString(),
      commandId: envelope.commandId,
    };
    const claims = binding.uniqueValues
      ? diffClaims(binding.uniqueValues(loaded.state), binding.uniqueValues(next))
      : { acquire: [], release: [] };
    const claimCtx = {
      store,
      owner: stream,
      commandId: envelope.commandId,
      metadata,
      ownerHolds: options.ownerHolds ?? (async () => false),
      now: () => now().getTime(),
    };
    const expected: ExpectedRevision = loaded.revision === undefined ? 'no_stream' : loaded.revision;
    const toAppend: EventData[] = newEvents.map((ev, i) => ({ id: eventIdFor(envelope.commandId, i), ...binding.encode(ev), metadata }));
    const handled = (position: bigint, revision: bigint): E.Either<DomainError, Handled<S>> =>
      E.right({ state: next, events: newEvents.map(binding.encode), position, revision, duplicate: false });
    const retryOrGiveUp = (e: unknown): E.Either<DomainError, Handled<S>> | undefined => {
      // a retried command whose events are stored already: only a read of the stream tells
      if (assumed && e instanceof DuplicateEventId) return undefined;
      if (!isWrongExpectedRevision(e)) throw e;
      if (attempt < maxAttempts) return undefined;
      return E.left(domainError('ConcurrentWrite', `Stream ${e.streamId} was changed by another writer ${attempt} times in a row; retry the request.`));
    };

    if (store.appendToStreams && claims.acquire.length + claims.release.length > 0) {
      // claims and events in one transaction: all of them or none, whatever crashes when
      // first attempt: claims assumed new (no read); one that exists fails the append, and the
      // next attempt reads it (so a contested value costs one more round, a new one none)
      const plan = await planClaims(claimCtx, claims.acquire, claims.release, { assumeNew: attempt === 1 });
      if (!plan.ok) return E.left(duplicateName(plan.claim, plan.holder));
      try {
        // the guard's condition as an empty append with an expected revision: checked in the transaction
        const condition = precondition ? [{ streamId: precondition.streamId, events: [], expected: precondition.expected }] : [];
        const results = await store.appendToStreams([...condition, ...plan.appends, { streamId: stream, events: toAppend, expected }]);
        const result = results[results.length - 1]!;
        // the aggregate's events come last: its position covers the claims' too
        return handled(result.position, result.nextExpectedRevision);
      } catch (e) {
        const out = retryOrGiveUp(e);
        if (out) return out;
        continue;
      }
    }

    if (claims.acquire.length > 0) {
      const got = await acquireClaims(claimCtx, claims.acquire);
      if (!got.ok) return E.left(duplicateName(got.claim, got.holder));
    }
    try {
      const result = precondition && store.appendIf
        ? await store.appendIf(precondition, stream, toAppend, expected)
        : await store.append(stream, toAppend, expected);
      if (claims.release.length > 0) await releaseClaims(claimCtx, claims.release);
      return handled(result.position, result.nextExpectedRevision);
    } catch (e) {
      // Give back what we took, unless the owner stream now holds it anyway (a concurrent
      // command on the same aggregate won with the same value).
      const stillNeeded = await Promise.all(claims.acquire.map((c) => claimCtx.ownerHolds(stream, c)));
      await releaseClaims(claimCtx, claims.acquire.filter((_, i) => !stillNeeded[i]));
      const out = retryOrGiveUp(e);
      if (out) return out;
    }
  }
};
