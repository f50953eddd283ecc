// FakeManagement (reference §5.2): PXE is the only boot device, get_boot_device always answers
// {pxe, false}; boot mode and secure boot are accepted and recorded by the executor.

import { driverFailure, type ManagementInterface } from '../base.ts';
import { sleepFor, type FakeOptions } from './delay.ts';

const bootDevices = ['pxe'] as const;
const bootModes = ['bios', 'uefi'] as const;

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
});
