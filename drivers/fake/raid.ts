// FakeRAID: Ironic's RAIDInterface steps (create_configuration and delete_configuration as manual
// clean steps, apply_configuration and delete_configuration as deploy steps), each a no-op that
// takes one fake step delay. Its logical disk properties are the generic RAID schema's.

import type { RaidInterface, StepSpec } from '../base.ts';
import { logicalDiskProperties } from '../raid-schema.ts';
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

export const fakeRaid = (o: FakeOptions): RaidInterface => ({
  getProperties: () => ({}),
  validate: async () => undefined,
  getLogicalDiskProperties: () => ({ ...logicalDiskProperties }),
  cleanSteps: [
    manual(o, 'create_configuration', {
      create_root_volume: { description: 'Whether to create the root volume (default true).', required: false },
      create_nonroot_volumes: { description: 'Whether to create the non-root volumes (default true).', required: false },
    }),
    manual(o, 'delete_configuration'),
  ],
  deploySteps: [
    manual(o, 'apply_configuration', { raid_config: { description: 'The RAID configuration to apply.', required: true } }),
    manual(o, 'delete_configuration'),
  ],
});
