// FakeDeploy (reference §5.2): deploying needs no agent and no wait state; tear_down returns
// `deleted`. Its deploy steps are Ironic's `deploy` (priority 100) plus the two the agent deploy
// runs after it, so a deployment has several recorded steps a takeover can resume between.
// Ironic's FakeDeploy has no clean steps; ours offers the agent's two automated ones
// (erase_devices_metadata 99, erase_devices 10) so automated cleaning is a resumable sequence too.

import type { DeployInterface, StepSpec } from '../base.ts';
import { sleepFor, type FakeOptions } from './delay.ts';

const step = (o: FakeOptions, name: string, priority: number, abortable = false): StepSpec => ({
  step: name,
  priority,
  abortable,
  run: async (task) => {
    await sleepFor(o.stepDelayMs, task);
    return 'done';
  },
});

export const fakeDeploy = (o: FakeOptions): DeployInterface => ({
  getProperties: () => ({}),
  validate: async () => undefined,
  deploySteps: [step(o, 'deploy', 100), step(o, 'write_image', 80), step(o, 'prepare_instance_boot', 60)],
  cleanSteps: [step(o, 'erase_devices_metadata', 99, true), step(o, 'erase_devices', 10, true)],
  prepare: async () => undefined,
  tearDown: async (task) => {
    await sleepFor(o.stepDelayMs, task);
    return 'deleted';
  },
  cleanUp: async () => undefined,
  takeOver: async () => undefined,
  prepareCleaning: async () => 'done',
  tearDownCleaning: async () => undefined,
});
