// FakePower (reference §5.2): get_power_state returns the stored power_state, set_power_state
// only records the value (the executor writes it), reboot powers on; all five targets supported.

import { driverFailure, type PowerInterface } from '../base.ts';
import { sleepFor, type FakeOptions } from './delay.ts';

export const fakePower = (o: FakeOptions): PowerInterface => ({
  getProperties: () => ({}),
  validate: async () => undefined,
  getPowerState: async (task) => task.node.power_state,
  setPowerState: async (task, state) => {
    if (!['power on', 'power off', 'soft rebooting', 'soft power off'].includes(state)) {
      throw driverFailure('InvalidParameterValue', `set_power_state called with an invalid power state: ${state}.`);
    }
    await sleepFor(o.stepDelayMs, task);
  },
  reboot: (task) => sleepFor(o.stepDelayMs, task),
  getSupportedPowerStates: () => ['power on', 'power off', 'rebooting', 'soft rebooting', 'soft power off'],
});
