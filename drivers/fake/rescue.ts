// FakeRescue (reference §5.2): rescue ends in `rescue`, unrescue in `active`, with no ramdisk
// callback to wait for.

import type { RescueInterface } from '../base.ts';
import { sleepFor, type FakeOptions } from './delay.ts';

export const fakeRescue = (o: FakeOptions): RescueInterface => ({
  getProperties: () => ({}),
  validate: async () => undefined,
  rescue: async (task) => {
    await sleepFor(o.stepDelayMs, task);
    return 'rescue';
  },
  unrescue: async (task) => {
    await sleepFor(o.stepDelayMs, task);
    return 'active';
  },
  cleanUp: async () => undefined,
});
