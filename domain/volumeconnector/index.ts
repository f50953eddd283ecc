// Volume connectors (reference §3.10, boot from volume). (type, connector_id) uniqueness is a claim.

import * as t from 'io-ts';
import type { Decider } from '../decider.ts';
import { DictC, partial } from '../codecs.ts';
import { crudCodecs, crudDecider, type CrudCommand, type CrudEvent, type Lifecycle } from '../crud.ts';
import { domainError } from '../errors.ts';

export const VolumeConnectorTypeC = t.keyof(
  { iqn: null, ip: null, mac: null, wwnn: null, wwpn: null, port: null, portal: null },
  'VolumeConnectorType',
);
export const VolumeConnectorFieldsC = t.type(
  { node_uuid: t.string, type: VolumeConnectorTypeC, connector_id: t.string, extra: DictC },
  'VolumeConnectorFields',
);
export type VolumeConnectorFields = t.TypeOf<typeof VolumeConnectorFieldsC>;
export const VolumeConnectorChangesC = partial(VolumeConnectorFieldsC.props, 'VolumeConnectorChanges');
export type VolumeConnectorChanges = t.TypeOf<typeof VolumeConnectorChangesC>;
export const VolumeConnectorCreateFieldsC = t.intersection(
  [t.type({ node_uuid: t.string, type: VolumeConnectorTypeC, connector_id: t.string }), partial({ extra: DictC })],
  'VolumeConnectorCreateFields',
);
export type VolumeConnectorCreateFields = t.TypeOf<typeof VolumeConnectorCreateFieldsC>;

const spec = {
  kind: 'VolumeConnector' as const,
  fields: VolumeConnectorFieldsC,
  createFields: VolumeConnectorCreateFieldsC,
  changes: VolumeConnectorChangesC,
  build: (c: VolumeConnectorCreateFields): VolumeConnectorFields => ({ extra: {}, ...c }),
  notFound: (uuid: string) => domainError('VolumeConnectorNotFound', `Volume connector ${uuid} could not be found.`),
  alreadyExists: (uuid: string) =>
    domainError('VolumeConnectorAlreadyExists', `A volume connector with UUID ${uuid} already exists.`),
  validate: (c: VolumeConnectorFields) =>
    c.connector_id.length === 0 ? domainError('InvalidParameterValue', 'connector_id must not be empty') : undefined,
};

export const volumeConnectorCodecs = crudCodecs(spec);
export const VolumeConnectorEventC = volumeConnectorCodecs.event;
export const VolumeConnectorCommandC = volumeConnectorCodecs.command;
export type VolumeConnectorEvent = CrudEvent<'VolumeConnector', VolumeConnectorFields, VolumeConnectorChanges>;
export type VolumeConnectorCommand = CrudCommand<'VolumeConnector', VolumeConnectorCreateFields, VolumeConnectorChanges>;
export type VolumeConnectorState = Lifecycle<VolumeConnectorFields>;
export const volumeConnectorDecider: Decider<VolumeConnectorCommand, VolumeConnectorEvent, VolumeConnectorState> =
  crudDecider(spec);
