// The shape six aggregates share: create, update (field changes), delete, each with its own
// rules. One spec per aggregate yields its command and event codecs and its Decider pieces.

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { jsonEqual, message, TimestampC, type Dict } from './codecs.ts';
import type { DomainError } from './errors.ts';

/** The stored document: the aggregate's fields plus identity and timestamps. */
export type Doc<F> = F & { uuid: string; created_at: string; updated_at: string | null };

export type Lifecycle<F> =
  | { status: 'absent' }
  | { status: 'present'; doc: Doc<F> }
  | { status: 'deleted'; uuid: string };

export interface CrudSpec<K extends string, F, C, U> {
  /** `Port` → PortCreated / CreatePort ... */
  kind: K;
  fields: t.Type<F, F, unknown>;
  createFields: t.Type<C, C, unknown>;
  changes: t.Type<U, U, unknown>;
  /** defaults applied to a create */
  build: (create: C) => F;
  notFound: (uuid: string) => DomainError;
  alreadyExists: (uuid: string) => DomainError;
  /** rules on the whole document, after a create and after every update */
  validate?: (doc: F) => DomainError | undefined;
  /** rules on an update, given the current document */
  validateChanges?: (current: Doc<F>, changes: U) => DomainError | undefined;
  /** normalise an update's values (lowercase a MAC...) */
  normaliseChanges?: (changes: U) => U;
  validateDelete?: (current: Doc<F>) => DomainError | undefined;
}

export const crudCodecs = <K extends string, F, C, U>(spec: CrudSpec<K, F, C, U>) => {
  const base = { uuid: t.string, at: TimestampC };
  const events = {
    created: message(`${spec.kind}Created` as `${K}Created`, t.type({ ...base, fields: spec.fields })),
    updated: message(`${spec.kind}Updated` as `${K}Updated`, t.type({ ...base, changes: spec.changes })),
    deleted: message(`${spec.kind}Deleted` as `${K}Deleted`, t.type(base)),
  };
  const commands = {
    create: message(`Create${spec.kind}` as `Create${K}`, t.type({ ...base, fields: spec.createFields })),
    update: message(`Update${spec.kind}` as `Update${K}`, t.type({ ...base, changes: spec.changes })),
    delete: message(`Delete${spec.kind}` as `Delete${K}`, t.type(base)),
  };
  return {
    events,
    commands,
    /** the whole event/command union of an aggregate that has nothing beyond create/update/delete */
    event: t.union([events.created, events.updated, events.deleted], `${spec.kind}Event`),
    command: t.union([commands.create, commands.update, commands.delete], `${spec.kind}Command`),
  };
};

export type CrudEvent<K extends string, F, U> =
  | { type: `${K}Created`; data: { uuid: string; at: string; fields: F } }
  | { type: `${K}Updated`; data: { uuid: string; at: string; changes: U } }
  | { type: `${K}Deleted`; data: { uuid: string; at: string } };

export type CrudCommand<K extends string, C, U> =
  | { type: `Create${K}`; data: { uuid: string; at: string; fields: C } }
  | { type: `Update${K}`; data: { uuid: string; at: string; changes: U } }
  | { type: `Delete${K}`; data: { uuid: string; at: string } };

export const crudDecider = <K extends string, F, C, U>(spec: CrudSpec<K, F, C, U>) => {
  const initialState = (): Lifecycle<F> => ({ status: 'absent' });

  const decide = (command: CrudCommand<K, C, U>, state: Lifecycle<F>): E.Either<DomainError, CrudEvent<K, F, U>[]> => {
    const { uuid, at } = command.data;
    if (command.type === `Create${spec.kind}`) {
      if (state.status === 'present') return E.left(spec.alreadyExists(uuid));
      const fields = spec.build((command.data as { fields: C }).fields);
      const invalid = spec.validate?.(fields);
      if (invalid) return E.left(invalid);
      return E.right([{ type: `${spec.kind}Created`, data: { uuid, at, fields } } as CrudEvent<K, F, U>]);
    }
    if (state.status !== 'present') return E.left(spec.notFound(uuid));
    const doc = state.doc;
    if (command.type === `Update${spec.kind}`) {
      const raw = (command.data as { changes: U }).changes;
      const changes = spec.normaliseChanges ? spec.normaliseChanges(raw) : raw;
      const invalid = spec.validateChanges?.(doc, changes);
      if (invalid) return E.left(invalid);
      const delta = Object.fromEntries(
        Object.entries(changes as Dict).filter(([k, v]) => v !== undefined && !jsonEqual((doc as Dict)[k], v)),
      ) as U;
      if (Object.keys(delta as Dict).length === 0) return E.right([]);
      const after = { ...doc, ...delta } as F;
      const invalidAfter = spec.validate?.(after);
      if (invalidAfter) return E.left(invalidAfter);
      return E.right([{ type: `${spec.kind}Updated`, data: { uuid, at, changes: delta } } as CrudEvent<K, F, U>]);
    }
    const refused = spec.validateDelete?.(doc);
    if (refused) return E.left(refused);
    return E.right([{ type: `${spec.kind}Deleted`, data: { uuid, at } } as CrudEvent<K, F, U>]);
  };

  const evolve = (state: Lifecycle<F>, event: CrudEvent<K, F, U>): Lifecycle<F> => {
    if (event.type === `${spec.kind}Created`) {
      const d = event.data as { uuid: string; at: string; fields: F };
      return { status: 'present', doc: { ...d.fields, uuid: d.uuid, created_at: d.at, updated_at: null } };
    }
    if (state.status !== 'present') return state;
    if (event.type === `${spec.kind}Updated`) {
      const d = event.data as { at: string; changes: U };
      return { status: 'present', doc: { ...state.doc, ...d.changes, updated_at: d.at } };
    }
    if (event.type === `${spec.kind}Deleted`) return { status: 'deleted', uuid: state.doc.uuid };
    return state;
  };

  return { initialState, decide, evolve };
};
