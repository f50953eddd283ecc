// Volume targets (reference §3.10). (node, boot_index) uniqueness is a claim.

import * as t from 'io-ts';
import type { Decider } from '../decider.ts';
import { DictC, partial } from '../codecs.ts';
import { crudCodecs, crudDecider, type CrudCommand, type CrudEvent, type Lifecycle } from '../crud.ts';
import { domainError } from '../errors.ts';

export const VolumeTargetFieldsC = t.type(
  { node_uuid: t.string, volume_type: t.string, properties: DictC, boot_index: t.number, volume_id: t.string, extra: DictC },
  'VolumeTargetFields',
);
export type VolumeTargetFields = t.TypeOf<typeof VolumeTargetFieldsC>;
export const VolumeTargetChangesC = partial(VolumeTargetFieldsC.props, 'VolumeTargetChanges');
export type VolumeTargetChanges = t.TypeOf<typeof VolumeTargetChangesC>;
export const VolumeTargetCreateFieldsC = t.intersection(
  [
    t.type({ node_uuid: t.string, volume_type: t.string, boot_index: t.number, volume_id: t.string }),
    partial({ properties: DictC, extra: DictC }),
  ],
  'VolumeTargetCreateFields',
);
export type VolumeTargetCreateFields = t.TypeOf<typeof VolumeTargetCreateFieldsC>;

const spec = {
  kind: 'VolumeTarget' as const,
  fields: VolumeTargetFieldsC,
  createFields: VolumeTargetCreateFieldsC,
  changes: VolumeTargetChangesC,
  build: (c: VolumeTargetCreateFields): VolumeTargetFields => ({ properties: {}, extra: {}, ...c }),
  notFound: (uuid: string) => domainError('VolumeTargetNotFound', `Volume target ${uuid} could not be found.`),
  alreadyExists: (uuid: string) => domainError('VolumeTargetAlreadyExists', `A volume target with UUID ${uuid} already exists.`),
  validate: (v: VolumeTargetFields) =>
    !Number.isInteger(v.boot_index) || v.boot_index < 0
      ? domainError('InvalidParameterValue', `Invalid boot_index ${v.boot_index}: it must be an integer of at least 0.`)
      : undefined,
};

export const volumeTargetCodecs = crudCodecs(spec);
export const VolumeTargetEventC = volumeTargetCodecs.event;
export const VolumeTargetCommandC = volumeTargetCodecs.command;
export type VolumeTargetEvent = CrudEvent<'VolumeTarget', VolumeTargetFields, VolumeTargetChanges>;
export type VolumeTargetCommand = CrudCommand<'VolumeTarget', VolumeTargetCreateFields, VolumeTargetChanges>;
export type VolumeTargetState = Lifecycle<VolumeTargetFields>;
export const volumeTargetDecider: Decider<VolumeTargetCommand, VolumeTargetEvent, VolumeTargetState> = crudDecider(spec);
