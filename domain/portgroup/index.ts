// Portgroups (reference §3.4). Name uniqueness is a claim; "not empty" is checked by the
// command handler against the port read model (portgroupNotEmpty gives the error).

import * as t from 'io-ts';
import type { Decider } from '../decider.ts';
import { DictC, nullable, partial } from '../codecs.ts';
import { crudCodecs, crudDecider, type CrudCommand, type CrudEvent, type Lifecycle } from '../crud.ts';
import { domainError, type DomainError } from '../errors.ts';
import { invalidMac, isMac, normaliseMac } from '../mac.ts';

/** [DEFAULT]default_portgroup_mode */
export const DEFAULT_PORTGROUP_MODE = 'active-backup';

export const PortgroupFieldsC = t.type(
  {
    name: nullable(t.string),
    address: nullable(t.string),
    node_uuid: t.string,
    extra: DictC,
    internal_info: DictC,
    mode: t.string,
    properties: DictC,
    standalone_ports_supported: t.boolean,
  },
  'PortgroupFields',
);
export type PortgroupFields = t.TypeOf<typeof PortgroupFieldsC>;
const { internal_info: _internal, mode: _mode, ...userProps } = PortgroupFieldsC.props;
/** `mode: null` is a PATCH remove, which Ironic refuses (400). */
export const PortgroupChangesC = partial({ ...userProps, mode: nullable(t.string) }, 'PortgroupChanges');
export type PortgroupChanges = t.TypeOf<typeof PortgroupChangesC>;
export const PortgroupCreateFieldsC = t.intersection(
  [t.type({ node_uuid: t.string }), partial({ ...userProps, mode: t.string })],
  'PortgroupCreateFields',
);
export type PortgroupCreateFields = t.TypeOf<typeof PortgroupCreateFieldsC>;

export const portgroupNotEmpty = (uuid: string): DomainError =>
  domainError('PortgroupNotEmpty', `Cannot complete the requested action because portgroup ${uuid} contains ports.`);

const spec = {
  kind: 'Portgroup' as const,
  fields: PortgroupFieldsC,
  createFields: PortgroupCreateFieldsC,
  changes: PortgroupChangesC as t.Type<PortgroupChanges, PortgroupChanges, unknown>,
  build: (c: PortgroupCreateFields): PortgroupFields => ({
    name: null,
    extra: {},
    mode: DEFAULT_PORTGROUP_MODE,
    properties: {},
    standalone_ports_supported: true,
    ...c,
    address: c.address ? normaliseMac(c.address) : null,
    internal_info: {},
  }),
  normaliseChanges: (c: PortgroupChanges): PortgroupChanges =>
    typeof c.address === 'string' ? { ...c, address: normaliseMac(c.address) } : c,
  notFound: (uuid: string) => domainError('PortgroupNotFound', `Portgroup ${uuid} could not be found.`),
  alreadyExists: (uuid: string) => domainError('PortgroupAlreadyExists', `A portgroup with UUID ${uuid} already exists.`),
  validateChanges: (_d: unknown, c: PortgroupChanges) =>
    c.mode === null ? domainError('InvalidParameterValue', 'mode cannot be removed from a portgroup') : undefined,
  validate: (p: PortgroupFields) => (p.address !== null && !isMac(p.address) ? invalidMac(p.address) : undefined),
};

export const portgroupCodecs = crudCodecs(spec);
export const PortgroupEventC = portgroupCodecs.event;
export const PortgroupCommandC = portgroupCodecs.command;
export type PortgroupEvent = CrudEvent<'Portgroup', PortgroupFields, PortgroupChanges>;
export type PortgroupCommand = CrudCommand<'Portgroup', PortgroupCreateFields, PortgroupChanges>;
export type PortgroupState = Lifecycle<PortgroupFields>;
export const portgroupDecider: Decider<PortgroupCommand, PortgroupEvent, PortgroupState> = crudDecider(spec);
