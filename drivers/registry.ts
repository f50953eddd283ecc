// The hardware types this ironlog build has drivers for, by name (Ironic's driver factory).

import { fakeHardware, type FakeOptions } from './fake/index.ts';
import type { HardwareType } from './hardware-type.ts';

export interface DriverOptions {
  fake: FakeOptions;
}

export const hardwareTypes = (o: DriverOptions): ReadonlyMap<string, HardwareType> => {
  const all = [fakeHardware(o.fake)];
  return new Map(all.map((hw) => [hw.name, hw]));
};
