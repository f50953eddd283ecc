// A hardware type is the set of interface implementations it supports, per interface type, in
// order of preference (reference §5.1). A node's `<iface>_interface` names one; null means the
// default, the first supported one. `driverFor(node)` resolves all twelve for a task.

import type { HardwareInterfaces } from '../domain/conductor/index.ts';
import type { Node } from '../domain/node/node.ts';
import { driverFailure, interfaceTypes, type InterfaceByType, type InterfaceType, type StepSpec } from './base.ts';

export type Implementations = { readonly [K in InterfaceType]: ReadonlyArray<readonly [name: string, impl: InterfaceByType[K]]> };

export interface HardwareType {
  readonly name: string;
  readonly implementations: Implementations;
}

/** A node's resolved interfaces, as Ironic's task.driver. */
export type Driver = { readonly [K in InterfaceType]: InterfaceByType[K] } & {
  readonly hardwareType: string;
  /** the implementation name of each interface */
  readonly names: { readonly [K in InterfaceType]: string };
};

const interfaceField = (i: InterfaceType): keyof Node => `${i}_interface` as keyof Node;
/** the twelve field names, built once: building them for every lookup was ~2% of a conductor's CPU under dispatch load */
const interfaceFields: readonly (keyof Node)[] = interfaceTypes.map(interfaceField);

/** The interface set a conductor registers for this hardware type (membership, /v1/drivers). */
export const registeredInterfaces = (hw: HardwareType): HardwareInterfaces[string] =>
  Object.fromEntries(
    interfaceTypes.map((i) => {
      const names = hw.implementations[i].map(([n]) => n);
      return [i, { enabled: names, default: names[0] ?? '' }];
    }),
  );

/** Resolved drivers by hardware type and the node's twelve interface fields (they rarely change). */
const resolved = new WeakMap<HardwareType, Map<string, Driver>>();

export const driverFor = (hw: HardwareType, node: Node): Driver => {
  let key = '';
  for (const f of interfaceFields) key += `${node[f] ?? ''}|`;
  let byKey = resolved.get(hw);
  if (!byKey) resolved.set(hw, (byKey = new Map()));
  const known = byKey.get(key);
  if (known) return known;
  const driver = resolveDriver(hw, node);
  byKey.set(key, driver);
  return driver;
};

const resolveDriver = (hw: HardwareType, node: Node): Driver => {
  const names = {} as Record<InterfaceType, string>;
  const resolved = {} as Record<InterfaceType, unknown>;
  for (const i of interfaceTypes) {
    const wanted = node[interfaceField(i)];
    const list = hw.implementations[i] as ReadonlyArray<readonly [string, unknown]>;
    const found = typeof wanted === 'string' ? list.find(([n]) => n === wanted) : list[0];
    if (!found) {
      throw driverFailure(
        'InvalidParameterValue',
        typeof wanted === 'string'
          ? `Interface ${i}_interface "${wanted}" is not supported by hardware type ${hw.name} on node ${node.uuid}.`
          : `Hardware type ${hw.name} has no ${i} interface.`,
      );
    }
    names[i] = found[0];
    resolved[i] = found[1];
  }
  return { ...(resolved as { [K in InterfaceType]: InterfaceByType[K] }), hardwareType: hw.name, names };
};

export interface FoundStep {
  interface: InterfaceType;
  spec: StepSpec;
}

const listSteps = (driver: Driver, kind: 'clean' | 'deploy'): readonly FoundStep[] =>
  Object.freeze(
    interfaceTypes.flatMap((i) => {
      if (i === 'vendor' || i === 'console') return [];
      const iface = driver[i] as { cleanSteps?: readonly StepSpec[]; deploySteps?: readonly StepSpec[] };
      const specs = (kind === 'clean' ? iface.cleanSteps : iface.deploySteps) ?? [];
      return specs.map((spec) => ({ interface: i, spec }));
    }),
  );

/**
 * A driver's step lists, listed once: drivers are shared (driverFor caches them) and their
 * interfaces' step specs are fixed, while every plan and every step run looked them up again.
 */
const stepLists = new WeakMap<Driver, { clean: readonly FoundStep[]; deploy: readonly FoundStep[] }>();

/** Every clean or deploy step the node's interfaces offer (Ironic's get_clean_steps / get_deploy_steps). */
export const stepsOf = (driver: Driver, kind: 'clean' | 'deploy'): readonly FoundStep[] => {
  let lists = stepLists.get(driver);
  if (!lists) stepLists.set(driver, (lists = { clean: listSteps(driver, 'clean'), deploy: listSteps(driver, 'deploy') }));
  return lists[kind];
};

export const findStep = (driver: Driver, kind: 'clean' | 'deploy', iface: string, step: string): FoundStep | undefined =>
  stepsOf(driver, kind).find((s) => s.interface === iface && s.spec.step === step);
