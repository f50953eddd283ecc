// FakeInspect (reference §5.2): inspection finishes at once, in `manageable`.

import type { InspectInterface } from '../base.ts';
import { sleepFor, type FakeOptions } from './delay.ts';

export const fakeInspect = (o: FakeOptions): InspectInterface => ({
  getProperties: () => ({}),
  validate: async () => undefined,
  inspectHardware: async (task) => {
    await sleepFor(o.stepDelayMs, task);
    return 'manageable';
  },
  abort: async () => undefined,
});
