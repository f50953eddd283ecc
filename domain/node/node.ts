// The node as the aggregate keeps it: every stored field of reference §3.2 up to 1.82, plus the
// few things ironlog keeps on the node that Ironic keeps elsewhere (vifs, reservation epoch).
// `conductor` is computed from the hash ring and is not stored.

import * as t from 'io-ts';
import { DictC, nullable, partial, TimestampC } from '../codecs.ts';
import { PowerStateC } from '../power/states.ts';
import { ProvisionStateC } from '../provision/states.ts';
import { SealedDriverInfoC, SealedDriverInternalInfoC, SealedInstanceInfoC } from '../secrets.ts';

/** The 12 driver interfaces of drivers/base.py (no `firmware` in 21.4). */
export const driverInterfaces = [
  'bios',
  'boot',
  'console',
  'deploy',
  'inspect',
  'management',
  'network',
  'power',
  'raid',
  'rescue',
  'storage',
  'vendor',
] as const;
export type DriverInterface = (typeof driverInterfaces)[number];
export type InterfaceField = `${DriverInterface}_interface`;
export const interfaceFields = driverInterfaces.map((i) => `${i}_interface` as InterfaceField);

const interfaceProps = Object.fromEntries(interfaceFields.map((f) => [f, nullable(t.string)])) as {
  [K in InterfaceField]: t.UnionC<[t.StringC, t.NullC]>;
};

export const VifC = t.intersection([
  t.type({ id: t.string }),
  partial({ port_uuid: t.string, portgroup_uuid: t.string }),
]);
export type Vif = t.TypeOf<typeof VifC>;

/** Fields a user may set at create time (POST) or change (PATCH); see UpdatableFieldsC. */
const userProps = {
  name: nullable(t.string),
  driver: t.string,
  driver_info: SealedDriverInfoC,
  instance_info: SealedInstanceInfoC,
  instance_uuid: nullable(t.string),
  extra: DictC,
  properties: DictC,
  chassis_uuid: nullable(t.string),
  maintenance: t.boolean,
  resource_class: nullable(t.string),
  conductor_group: t.string,
  automated_clean: nullable(t.boolean),
  protected: t.boolean,
  protected_reason: nullable(t.string),
  owner: nullable(t.string),
  description: nullable(t.string),
  retired: t.boolean,
  retired_reason: nullable(t.string),
  lessee: nullable(t.string),
  network_data: DictC,
  shard: nullable(t.string),
  ...interfaceProps,
};

export const NodeC = t.type(
  {
    uuid: t.string,
    created_at: TimestampC,
    updated_at: nullable(TimestampC),
    ...userProps,
    driver_internal_info: SealedDriverInternalInfoC,
    power_state: nullable(PowerStateC),
    target_power_state: nullable(PowerStateC),
    provision_state: ProvisionStateC,
    target_provision_state: nullable(ProvisionStateC),
    provision_updated_at: nullable(TimestampC),
    last_error: nullable(t.string),
    maintenance_reason: nullable(t.string),
    fault: nullable(t.string),
    /** hostname of the conductor holding the exclusive lock */
    reservation: nullable(t.string),
    /** the ring epoch the holder reserved under (fencing; not an Ironic field) */
    reservation_epoch: nullable(t.number),
    console_enabled: t.boolean,
    clean_step: DictC,
    deploy_step: DictC,
    raid_config: DictC,
    target_raid_config: DictC,
    inspection_started_at: nullable(TimestampC),
    inspection_finished_at: nullable(TimestampC),
    traits: t.array(t.string),
    allocation_uuid: nullable(t.string),
    boot_mode: nullable(t.string),
    secure_boot: nullable(t.boolean),
    /** attached VIFs (Ironic keeps them in port internal_info; we keep them on the node) */
    vifs: t.array(VifC),
    /** the conductor that last took the node over (Ironic's conductor_affinity, a hostname here) */
    conductor_affinity: nullable(t.string),
  },
  'Node',
);
export type Node = t.TypeOf<typeof NodeC>;

/** What PATCH may change (reference §3.2 "Allowed top-level paths"). */
export const UpdatableFieldsC = partial(userProps, 'NodeUpdatableFields');
export type UpdatableFields = t.TypeOf<typeof UpdatableFieldsC>;
export const updatableFieldNames = Object.keys(userProps) as (keyof UpdatableFields)[];

/** Fields only the conductor sets as it works (Ironic's node.save() under its lock). */
export const InternalFieldsC = partial(
  {
    instance_info: SealedInstanceInfoC,
    instance_uuid: nullable(t.string),
    allocation_uuid: nullable(t.string),
    properties: DictC,
    raid_config: DictC,
    fault: nullable(t.string),
    last_error: nullable(t.string),
    conductor_affinity: nullable(t.string),
    inspection_started_at: nullable(TimestampC),
    inspection_finished_at: nullable(TimestampC),
    ...interfaceProps,
  },
  'NodeInternalFields',
);
export type InternalFields = t.TypeOf<typeof InternalFieldsC>;

/** Node fields a create command may carry (everything else gets its default). */
export const CreateFieldsC = t.intersection([t.type({ driver: t.string }), partial(userProps)], 'NodeCreateFields');
export type CreateFields = t.TypeOf<typeof CreateFieldsC>;

export const emptyInterfaces = (): Record<InterfaceField, string | null> =>
  Object.fromEntries(interfaceFields.map((f) => [f, null])) as Record<InterfaceField, string | null>;
