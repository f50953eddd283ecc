// Ports (reference §3.3). Cross-aggregate rules (the node exists and is not inspecting, the
// portgroup belongs to the same node and accepts pxe ports, the MAC is unique) are the command
// handler's, with read models and claims.

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Decider } from '../decider.ts';
import { type Dict, DictC, jsonEqual, message, nullable, partial, TimestampC } from '../codecs.ts';
import { crudCodecs, crudDecider, type CrudCommand, type CrudEvent, type Lifecycle } from '../crud.ts';
import { domainError, type DomainError } from '../errors.ts';
import { invalidMac, isMac, normaliseMac } from '../mac.ts';

export const PortFieldsC = t.type(
  {
    address: t.string,
    node_uuid: t.string,
    extra: DictC,
    /** read-only to users; the conductor writes it (tenant_vif_port_id...) */
    internal_info: DictC,
    local_link_connection: DictC,
    pxe_enabled: t.boolean,
    portgroup_uuid: nullable(t.string),
    physical_network: nullable(t.string),
    is_smartnic: t.boolean,
  },
  'PortFields',
);
export type PortFields = t.TypeOf<typeof PortFieldsC>;
const { internal_info: _internal, ...userProps } = PortFieldsC.props;
export const PortChangesC = partial(userProps, 'PortChanges');
export type PortChanges = t.TypeOf<typeof PortChangesC>;
export const PortCreateFieldsC = t.intersection([t.type({ address: t.string, node_uuid: t.string }), PortChangesC], 'PortCreateFields');
export type PortCreateFields = t.TypeOf<typeof PortCreateFieldsC>;

export const LOCAL_LINK_CONNECTION_KEYS = ['port_id', 'switch_id', 'switch_info', 'hostname', 'network_type'] as const;

const invalid = (m: string) => domainError('InvalidParameterValue', m);

const validate = (p: PortFields): DomainError | undefined => {
  if (!isMac(p.address)) return invalidMac(p.address);
  if (p.physical_network !== null && (p.physical_network.length === 0 || p.physical_network.length > 64))
    return invalid('physical_network must be a non-empty string of at most 64 characters.');
  const llc = p.local_link_connection;
  const unknown = Object.keys(llc).filter((k) => !(LOCAL_LINK_CONNECTION_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0)
    return invalid(`Unsupported local_link_connection keys: ${unknown.join(', ')}. Supported: ${LOCAL_LINK_CONNECTION_KEYS.join(', ')}.`);
  if (llc.network_type !== undefined && llc.network_type !== 'managed' && llc.network_type !== 'unmanaged')
    return invalid(`Invalid network_type ${String(llc.network_type)}: it must be "managed" or "unmanaged".`);
  if (p.is_smartnic && (typeof llc.port_id !== 'string' || typeof llc.hostname !== 'string'))
    return invalid(`Smart NIC port must have port_id and hostname in local_link_connection, port: ${p.address}`);
  return undefined;
};

export const portNotFound = (uuid: string): DomainError => domainError('PortNotFound', `Port ${uuid} could not be found.`);

const spec = {
  kind: 'Port' as const,
  fields: PortFieldsC,
  createFields: PortCreateFieldsC,
  changes: PortChangesC,
  build: (c: PortCreateFields): PortFields => ({
    extra: {},
    local_link_connection: {},
    pxe_enabled: true,
    portgroup_uuid: null,
    physical_network: null,
    is_smartnic: false,
    ...c,
    address: normaliseMac(c.address),
    internal_info: {},
  }),
  normaliseChanges: (c: PortChanges): PortChanges => (c.address !== undefined ? { ...c, address: normaliseMac(c.address) } : c),
  notFound: portNotFound,
  alreadyExists: (uuid: string) => domainError('PortAlreadyExists', `A port with UUID ${uuid} already exists.`),
  validate,
};

const crud = crudDecider(spec);
export const portCodecs = crudCodecs(spec);

const base = { uuid: t.string, at: TimestampC };
/** The conductor's writes to internal_info (VIF binding and the like). */
export const PortInternalInfoUpdated = message('PortInternalInfoUpdated', t.type({ ...base, set: DictC, unset: t.array(t.string) }));
export const UpdatePortInternalInfo = message('UpdatePortInternalInfo', t.type({ ...base, set: DictC, unset: t.array(t.string) }));

export const PortEventC = t.union(
  [portCodecs.events.created, portCodecs.events.updated, portCodecs.events.deleted, PortInternalInfoUpdated],
  'PortEvent',
);
export const PortCommandC = t.union(
  [portCodecs.commands.create, portCodecs.commands.update, portCodecs.commands.delete, UpdatePortInternalInfo],
  'PortCommand',
);
export type PortEvent = CrudEvent<'Port', PortFields, PortChanges> | t.TypeOf<typeof PortInternalInfoUpdated>;
export type PortCommand = CrudCommand<'Port', PortCreateFields, PortChanges> | t.TypeOf<typeof UpdatePortInternalInfo>;
export type PortState = Lifecycle<PortFields>;

export const portDecider: Decider<PortCommand, PortEvent, PortState> = {
  initialState: crud.initialState,
  decide: (command, state) => {
    if (command.type !== 'UpdatePortInternalInfo') return crud.decide(command, state);
    const { uuid, at, set, unset } = command.data;
    if (state.status !== 'present') return E.left(portNotFound(uuid));
    const info = state.doc.internal_info;
    const realSet = Object.fromEntries(Object.entries(set).filter(([k, v]) => !jsonEqual(info[k], v)));
    const realUnset = unset.filter((k) => k in info && !(k in set));
    if (Object.keys(realSet).length === 0 && realUnset.length === 0) return E.right([]);
    return E.right([{ type: 'PortInternalInfoUpdated', data: { uuid, at, set: realSet, unset: realUnset } }]);
  },
  evolve: (state, event) => {
    if (event.type !== 'PortInternalInfoUpdated') return crud.evolve(state, event);
    if (state.status !== 'present') return state;
    const kept: Dict = Object.fromEntries(
      Object.entries(state.doc.internal_info).filter(([k]) => !event.data.unset.includes(k)),
    );
    const internal_info = { ...kept, ...event.data.set };
    return { status: 'present', doc: { ...state.doc, internal_info, updated_at: event.data.at } };
  },
};

