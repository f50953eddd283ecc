// Ironic's RAID config rules (ironic/drivers/raid_config_schema.json + ironic.common.raid.
// validate_configuration), kept here so the API's early refusal and the domain's decision are one
// rule. `{}` is not validated: Ironic lets an operator unset target_raid_config with it.

import { domainError, type DomainError } from '../errors.ts';

const levels = ['JBOD', '0', '1', '2', '5', '6', '1+0', '5+0', '6+0'];
const diskTypes = ['hdd', 'ssd'];
const interfaceTypes = ['sata', 'scsi', 'sas'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const repr = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v));

type Rule = (v: unknown) => string | undefined;
const oneOf = (values: string[]): Rule => (v) =>
  typeof v === 'string' && values.includes(v) ? undefined : `${repr(v)} is not one of [${values.map((x) => `'${x}'`).join(', ')}]`;
const bool: Rule = (v) => (typeof v === 'boolean' ? undefined : `${repr(v)} is not of type 'boolean'`);
const str: Rule = (v) => (typeof v === 'string' ? undefined : `${repr(v)} is not of type 'string'`);

const diskRules: Record<string, Rule> = {
  raid_level: oneOf(levels),
  size_gb: (v) => (v === 'MAX' || (isInt(v) && v > 0) ? undefined : `${repr(v)} is not valid under any of the given schemas`),
  volume_name: str,
  is_root_volume: bool,
  share_physical_disks: bool,
  disk_type: oneOf(diskTypes),
  interface_type: oneOf(interfaceTypes),
  number_of_physical_disks: (v) => (isInt(v) && v >= 1 ? undefined : `${repr(v)} is not valid: an integer >= 1 is expected`),
  controller: str,
  physical_disks: (v) =>
    Array.isArray(v) && v.every((d) => typeof d === 'string') ? undefined : `${repr(v)} is not an array of strings`,
};

const invalid = (why: string): DomainError => domainError('InvalidParameterValue', `RAID config validation error: ${why}`);

/** undefined when `config` is a target RAID config Ironic accepts */
export const raidConfigError = (config: unknown): DomainError | undefined => {
  if (!isObject(config)) return invalid(`${repr(config)} is not of type 'object'`);
  if (Object.keys(config).length === 0) return undefined;
  const extra = Object.keys(config).filter((k) => k !== 'logical_disks');
  if (extra.length > 0) return invalid(`Additional properties are not allowed (${extra.map(repr).join(', ')} unexpected)`);
  const disks = config.logical_disks;
  if (disks === undefined) return invalid("'logical_disks' is a required property");
  if (!Array.isArray(disks)) return invalid(`${repr(disks)} is not of type 'array'`);
  if (disks.length === 0) return invalid('[] is too short');
  for (const disk of disks) {
    if (!isObject(disk)) return invalid(`${repr(disk)} is not of type 'object'`);
    for (const required of ['raid_level', 'size_gb']) if (!(required in disk)) return invalid(`'${required}' is a required property`);
    for (const [key, value] of Object.entries(disk)) {
      const rule = diskRules[key];
      if (!rule) return invalid(`Additional properties are not allowed ('${key}' was unexpected)`);
      const why = rule(value);
      if (why) return invalid(why);
    }
    if ('physical_disks' in disk && !('controller' in disk)) return invalid("'controller' is a dependency of 'physical_disks'");
  }
  const roots = disks.filter((d) => isObject(d) && d.is_root_volume === true).length;
  if (roots > 1) {
    return domainError('InvalidParameterValue', `Raid config cannot have more than one root volume. ${roots} root volumes were specified`);
  }
  return undefined;
};
