// Chassis (reference §3.5): description + extra. "Not empty" is checked by the command handler
// against the node read model (chassisNotEmpty below gives the error).

import * as t from 'io-ts';
import type { Decider } from '../decider.ts';
import { DictC, nullable, partial } from '../codecs.ts';
import { crudCodecs, crudDecider, type CrudCommand, type CrudEvent, type Lifecycle } from '../crud.ts';
import { domainError, type DomainError } from '../errors.ts';

export const ChassisFieldsC = t.type({ description: nullable(t.string), extra: DictC }, 'ChassisFields');
export type ChassisFields = t.TypeOf<typeof ChassisFieldsC>;
export const ChassisChangesC = partial(ChassisFieldsC.props, 'ChassisChanges');
export type ChassisChanges = t.TypeOf<typeof ChassisChangesC>;

export const chassisNotEmpty = (uuid: string): DomainError =>
  domainError('ChassisNotEmpty', `Cannot complete the requested action because chassis ${uuid} contains nodes.`);

const spec = {
  kind: 'Chassis' as const,
  fields: ChassisFieldsC,
  createFields: ChassisChangesC,
  changes: ChassisChangesC,
  build: (c: ChassisChanges): ChassisFields => ({ description: null, extra: {}, ...c }),
  notFound: (uuid: string) => domainError('ChassisNotFound', `Chassis ${uuid} could not be found.`),
  alreadyExists: (uuid: string) => domainError('ChassisAlreadyExists', `A chassis with UUID ${uuid} already exists.`),
  validate: (d: ChassisFields) =>
    d.description !== null && d.description.length > 255
      ? domainError('InvalidParameterValue', 'Chassis description is longer than 255 characters.')
      : undefined,
};

export const chassisCodecs = crudCodecs(spec);
export const ChassisEventC = chassisCodecs.event;
export const ChassisCommandC = chassisCodecs.command;
export type ChassisEvent = CrudEvent<'Chassis', ChassisFields, ChassisChanges>;
export type ChassisCommand = CrudCommand<'Chassis', ChassisChanges, ChassisChanges>;
export type ChassisState = Lifecycle<ChassisFields>;
export const chassisDecider: Decider<ChassisCommand, ChassisEvent, ChassisState> = crudDecider(spec);
