// Binds every aggregate kind of the domain to the command handler: how its events are decoded
// from the store, and which of its values must be unique across the fleet (Ironic's unique
// constraints: node name and instance_uuid, port address, portgroup name and address,
// allocation name, deploy template name).

import * as E from 'fp-ts/lib/Either.js';
import { decodeStoredEvent, deciders } from '../domain/index.ts';
import { parseStreamId, type AggregateKind } from '../domain/streams.ts';
import type { Decider } from '../domain/decider.ts';
import type { EventStore, RecordedEvent } from '../eventstore/port.ts';
import { claimKey, type Claim } from './claims.ts';
import { loadAggregate, type AggregateBinding } from './handle.ts';

type AnyState = { status: string; node?: Record<string, unknown>; doc?: Record<string, unknown> };
type Binding = AggregateBinding<unknown, unknown, unknown>;

const present = (s: unknown): Record<string, unknown> | undefined => {
  const st = s as AnyState;
  if (st.status !== 'present') return undefined;
  return st.node ?? st.doc;
};

const claim = (kind: string, value: unknown, normalise: (v: string) => string = (v) => v): Claim[] =>
  typeof value === 'string' && value !== '' ? [{ kind, value: normalise(value) }] : [];
const lower = (v: string) => v.toLowerCase();

const uniqueValues: Partial<Record<AggregateKind, (state: unknown) => Claim[]>> = {
  node: (s) => {
    const d = present(s);
    return d ? [...claim('node-name', d.name), ...claim('node-instance', d.instance_uuid)] : [];
  },
  port: (s) => {
    const d = present(s);
    return d ? claim('port-address', d.address, lower) : [];
  },
  portgroup: (s) => {
    const d = present(s);
    // A portgroup's MAC shares the port address space in Ironic's checks.
    return d ? [...claim('portgroup-name', d.name), ...claim('portgroup-address', d.address, lower)] : [];
  },
  allocation: (s) => {
    const d = present(s);
    return d ? claim('allocation-name', d.name) : [];
  },
  deploytemplate: (s) => {
    const d = present(s);
    return d ? claim('deploytemplate-name', d.name) : [];
  },
};

const decode = (recorded: RecordedEvent): E.Either<Error, unknown> => decodeStoredEvent(recorded);
const encode = (event: unknown): { type: string; data: unknown } => {
  const { type, data } = event as { type: string; data: unknown };
  return { type, data };
};

export const bindingFor = (kind: AggregateKind): Binding => ({
  decider: deciders[kind] as unknown as Decider<unknown, unknown, unknown>,
  decode,
  encode,
  uniqueValues: uniqueValues[kind],
});

/** Does the aggregate in `ownerStream` currently hold the value of claim `c`? */
export const ownerHoldsFor = (store: EventStore) => async (ownerStream: string, c: Claim): Promise<boolean> => {
  const parsed = parseStreamId(ownerStream);
  if (!parsed) return false;
  const binding = bindingFor(parsed.kind);
  if (!binding.uniqueValues) return false;
  const { state } = await loadAggregate(store, binding, ownerStream);
  return binding.uniqueValues(state).some((held) => claimKey(held) === claimKey(c));
};
