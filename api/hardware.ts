// What the API knows about hardware types beyond what conductors register: driver properties
// (GET /v1/drivers/{name}/properties, the union of get_properties() over the type's default
// interfaces), and the interface rules of node create/update (reference §5.1): a null
// `<iface>_interface` resolves to the type's default; an implementation the type does not
// enable is refused.

import { domainError, type DomainError } from '../domain/errors.ts';
import type { HardwareTypeInfo, InterfaceName } from './deps.ts';
import { interfaceNames } from './deps.ts';

/** fake-hardware's default vendor interface is FakeVendorB; the other fake interfaces add nothing. */
export const driverProperties: Readonly<Record<string, Record<string, string>>> = {
  'fake-hardware': { B1: 'B1 description. Required.', B2: 'B2 description. Required.' },
};

export type InterfaceFields = Partial<Record<`${InterfaceName}_interface`, string | null>>;

const incompatible = (iface: string, impl: string, hw: string): DomainError =>
  domainError('InvalidParameterValue', `${iface} interface implementation '${impl}' is not supported by hardware type ${hw}.`);

/**
 * The interface fields of a node of hardware type `hw` once defaults are filled in:
 * `given` values are kept (refused when not enabled for the type); null or missing ones take the
 * default when `resolveMissing` (create, or an update with reset_interfaces).
 */
export const resolveInterfaces = (
  hw: HardwareTypeInfo,
  given: InterfaceFields,
  resolveMissing: boolean,
): { ok: InterfaceFields } | { error: DomainError } => {
  const out: InterfaceFields = {};
  for (const name of interfaceNames) {
    const key = `${name}_interface` as const;
    const set = hw.interfaces[name];
    const v = given[key];
    if (typeof v === 'string') {
      if (set && !set.enabled.includes(v)) return { error: incompatible(name, v, hw.name) };
      out[key] = v;
    } else if (resolveMissing || v === null) {
      out[key] = set?.default ?? null;
    }
  }
  return { ok: out };
};
