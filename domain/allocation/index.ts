// Allocations (reference §3.8): allocating → active (node picked) or error. PATCH changes only
// name and extra. Whether a delete is allowed depends on the node (active, in transition,
// maintenance): the command handler checks it and uses allocationDeleteRefused.

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Decider } from '../decider.ts';
import { DictC, message, nullable, partial, TimestampC } from '../codecs.ts';
import { crudCodecs, crudDecider, type CrudCommand, type CrudEvent, type Lifecycle } from '../crud.ts';
import { domainError, type DomainError } from '../errors.ts';

export const AllocationStateC = t.keyof({ allocating: null, active: null, error: null }, 'AllocationState');
export type AllocationStateName = t.TypeOf<typeof AllocationStateC>;

export const AllocationFieldsC = t.type(
  {
    name: nullable(t.string),
    node_uuid: nullable(t.string),
    state: AllocationStateC,
    last_error: nullable(t.string),
    resource_class: nullable(t.string),
    traits: t.array(t.string),
    candidate_nodes: t.array(t.string),
    extra: DictC,
    owner: nullable(t.string),
  },
  'AllocationFields',
);
export type AllocationFields = t.TypeOf<typeof AllocationFieldsC>;
export const AllocationChangesC = partial({ name: nullable(t.string), extra: DictC }, 'AllocationChanges');
export type AllocationChanges = t.TypeOf<typeof AllocationChangesC>;
/** `node_uuid` given = backfill (≥1.58) of an existing active node, resolved by the handler. */
export const AllocationCreateFieldsC = partial(
  {
    name: nullable(t.string),
    node_uuid: nullable(t.string),
    resource_class: nullable(t.string),
    traits: t.array(t.string),
    candidate_nodes: t.array(t.string),
    extra: DictC,
    owner: nullable(t.string),
  },
  'AllocationCreateFields',
);
export type AllocationCreateFields = t.TypeOf<typeof AllocationCreateFieldsC>;

export const allocationNotFound = (uuid: string): DomainError =>
  domainError('AllocationNotFound', `Allocation ${uuid} could not be found.`);
export const allocationDeleteRefused = (uuid: string, node: string, state: string): DomainError =>
  domainError('InvalidState', `Cannot remove allocation ${uuid} since node ${node} is in state "${state}".`);

const spec = {
  kind: 'Allocation' as const,
  fields: AllocationFieldsC,
  createFields: AllocationCreateFieldsC,
  changes: AllocationChangesC,
  build: (c: AllocationCreateFields): AllocationFields => ({
    name: null,
    node_uuid: null,
    resource_class: null,
    traits: [],
    candidate_nodes: [],
    extra: {},
    owner: null,
    ...c,
    state: 'allocating',
    last_error: null,
  }),
  notFound: allocationNotFound,
  alreadyExists: (uuid: string) => domainError('AllocationAlreadyExists', `An allocation with UUID ${uuid} already exists.`),
  validate: (a: AllocationFields) =>
    a.resource_class === null && a.node_uuid === null
      ? domainError('InvalidParameterValue', 'The resource_class field is mandatory when not backfilling')
      : undefined,
};

const crud = crudDecider(spec);
export const allocationCodecs = crudCodecs(spec);

const base = { uuid: t.string, at: TimestampC };
export const AllocationSucceeded = message('AllocationSucceeded', t.type({ ...base, node_uuid: t.string }));
export const AllocationFailed = message('AllocationFailed', t.type({ ...base, last_error: t.string }));
/** The conductor picked a node (or confirmed the backfilled one). */
export const CompleteAllocation = message('CompleteAllocation', t.type({ ...base, node_uuid: t.string }));
export const FailAllocation = message('FailAllocation', t.type({ ...base, last_error: t.string }));

export const AllocationEventC = t.union(
  [allocationCodecs.events.created, allocationCodecs.events.updated, allocationCodecs.events.deleted, AllocationSucceeded, AllocationFailed],
  'AllocationEvent',
);
export const AllocationCommandC = t.union(
  [allocationCodecs.commands.create, allocationCodecs.commands.update, allocationCodecs.commands.delete, CompleteAllocation, FailAllocation],
  'AllocationCommand',
);
export type AllocationEvent =
  | CrudEvent<'Allocation', AllocationFields, AllocationChanges>
  | t.TypeOf<typeof AllocationSucceeded>
  | t.TypeOf<typeof AllocationFailed>;
export type AllocationCommand =
  | CrudCommand<'Allocation', AllocationCreateFields, AllocationChanges>
  | t.TypeOf<typeof CompleteAllocation>
  | t.TypeOf<typeof FailAllocation>;
export type AllocationState = Lifecycle<AllocationFields>;

const notAllocating = (uuid: string, state: AllocationStateName): DomainError =>
  domainError('InvalidState', `Allocation ${uuid} is in state "${state}", not "allocating".`);

export const allocationDecider: Decider<AllocationCommand, AllocationEvent, AllocationState> = {
  initialState: crud.initialState,
  decide: (command, state) => {
    if (command.type !== 'CompleteAllocation' && command.type !== 'FailAllocation') return crud.decide(command, state);
    const { uuid } = command.data;
    if (state.status !== 'present') return E.left(allocationNotFound(uuid));
    const doc = state.doc;
    if (command.type === 'CompleteAllocation') {
      // a retried completion for the same node is a no-op
      if (doc.state === 'active' && doc.node_uuid === command.data.node_uuid) return E.right([]);
      if (doc.state !== 'allocating') return E.left(notAllocating(uuid, doc.state));
      return E.right([{ type: 'AllocationSucceeded', data: command.data }]);
    }
    if (doc.state === 'error' && doc.last_error === command.data.last_error) return E.right([]);
    if (doc.state !== 'allocating') return E.left(notAllocating(uuid, doc.state));
    return E.right([{ type: 'AllocationFailed', data: command.data }]);
  },
  evolve: (state, event) => {
    if (event.type !== 'AllocationSucceeded' && event.type !== 'AllocationFailed') return crud.evolve(state, event);
    if (state.status !== 'present') return state;
    const doc =
      event.type === 'AllocationSucceeded'
        ? { ...state.doc, state: 'active' as const, node_uuid: event.data.node_uuid, last_error: null, updated_at: event.data.at }
        : { ...state.doc, state: 'error' as const, last_error: event.data.last_error, updated_at: event.data.at };
    return { status: 'present', doc };
  },
};
