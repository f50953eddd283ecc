// FakeConsole (reference §5.2): starting and stopping do nothing; get_console returns {}.

import type { ConsoleInterface } from '../base.ts';
import { sleepFor, type FakeOptions } from './delay.ts';

export const fakeConsole = (o: FakeOptions): ConsoleInterface => ({
  getProperties: () => ({}),
  validate: async () => undefined,
  startConsole: (task) => sleepFor(o.stepDelayMs, task),
  stopConsole: (task) => sleepFor(o.stepDelayMs, task),
  getConsole: async () => ({}),
});
