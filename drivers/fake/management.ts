// FakeManagement (reference §5.2): PXE is the only boot device, get_boot_device always answers
// {pxe, false}; boot mode and secure boot are accepted and recorded by the executor.
// Indicators are Ironic's fake ones: `led-0@chassis` (read-only, OFF/ON) and `led@system`
// (BLINKING/OFF/ON). Ironic's fake answers ON for every indicator and cannot set one; ours keeps
// what was set, as a fake BMC would, in the node's driver_internal_info (`fake_indicators`,
// {component: {indicator: state}}): the executor records it like any driver state, so the log
// stays the only source of truth and every conductor that later owns the node reads the same
// LEDs. An indicator never set reads ON, as Ironic's fake.

import type { Dict } from '../../domain/codecs.ts';
import { isPlainObject } from '../../domain/codecs.ts';
import { driverFailure, indicatorStates, type IndicatorState, type ManagementInterface, type SupportedIndicators, type Task } from '../base.ts';
import { sleepFor, type FakeOptions } from './delay.ts';

const bootDevices = ['pxe'] as const;
const bootModes = ['bios', 'uefi'] as const;

const indicators: SupportedIndicators = {
  chassis: { 'led-0': { readonly: true, states: ['OFF', 'ON'] } },
  system: { led: { readonly: false, states: ['BLINKING', 'OFF', 'ON'] } },
};

/** The driver_internal_info key the fake BMC's LEDs live in. */
export const FAKE_INDICATORS_KEY = 'fake_indicators';

const known = (component: string, indicator: string) => {
  const c = indicators[component];
  if (!c) throw driverFailure('InvalidParameterValue', `Invalid component ${component} specified.`);
  const i = c[indicator];
  if (!i) throw driverFailure('InvalidParameterValue', `Invalid indicator ${indicator} specified.`);
  return i;
};

const stored = (task: Task): Record<string, Record<string, unknown>> => {
  const v = task.node.driver_internal_info[FAKE_INDICATORS_KEY];
  if (!isPlainObject(v)) return {};
  const out: Record<string, Record<string, unknown>> = {};
  for (const [c, names] of Object.entries(v)) if (isPlainObject(names)) out[c] = names;
  return out;
};

export const fakeManagement = (o: FakeOptions): ManagementInterface => ({
  getProperties: () => ({}),
  validate: async () => undefined,
  getSupportedBootDevices: () => bootDevices,
  setBootDevice: async (task, device) => {
    if (!(bootDevices as readonly string[]).includes(device)) throw driverFailure('InvalidParameterValue', `Invalid boot device ${device} specified.`);
    await sleepFor(o.stepDelayMs, task);
  },
  getBootDevice: async () => ({ boot_device: 'pxe', persistent: false }),
  injectNmi: (task) => sleepFor(o.stepDelayMs, task),
  getSupportedBootModes: () => bootModes,
  setBootMode: async (task, mode) => {
    if (!(bootModes as readonly string[]).includes(mode)) throw driverFailure('InvalidParameterValue', `Invalid boot mode ${mode} specified.`);
    await sleepFor(o.stepDelayMs, task);
  },
  setSecureBootState: (task) => sleepFor(o.stepDelayMs, task),
  getSensorsData: async () => ({}),
  getSupportedIndicators: async (_task, component) =>
    Object.fromEntries(Object.entries(indicators).filter(([c]) => component === undefined || component === c)),
  getIndicatorState: async (task, component, indicator) => {
    known(component, indicator);
    const s = stored(task)[component]?.[indicator];
    return typeof s === 'string' && (indicatorStates as readonly string[]).includes(s) ? (s as IndicatorState) : 'ON';
  },
  setIndicatorState: async (task, component, indicator, state): Promise<Dict> => {
    const info = known(component, indicator);
    if (info.readonly) throw driverFailure('InvalidParameterValue', `Indicator ${indicator} of component ${component} is read-only.`);
    if (!info.states.includes(state)) {
      throw driverFailure('InvalidParameterValue', `Invalid state ${state} for indicator ${indicator} of component ${component}; it supports ${info.states.join(', ')}.`);
    }
    await sleepFor(o.stepDelayMs, task);
    const all = stored(task);
    return { [FAKE_INDICATORS_KEY]: { ...all, [component]: { ...(all[component] ?? {}), [indicator]: state } } };
  },
});
