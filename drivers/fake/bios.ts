// FakeBIOS: Ironic's BIOSInterface steps (apply_configuration, factory_reset), manual only, each
// a no-op that takes one fake step delay.

import type { BiosInterface, StepSpec } from '../base.ts';
import { sleepFor, type FakeOptions } from './delay.ts';

const manual = (o: FakeOptions, name: string, argsinfo?: StepSpec['argsinfo']): StepSpec => ({
  step: name,
  priority: 0,
  abortable: false,
  ...(argsinfo ? { argsinfo } : {}),
  run: async (task) => {
    await sleepFor(o.stepDelayMs, task);
    return 'done';
  },
});

export const fakeBios = (o: FakeOptions): BiosInterface => {
  const steps = [
    manual(o, 'apply_configuration', { settings: { description: 'A list of BIOS settings to apply.', required: true } }),
    manual(o, 'factory_reset'),
  ];
  return { getProperties: () => ({}), validate: async () => undefined, cleanSteps: steps, deploySteps: steps };
};
