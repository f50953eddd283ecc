// The fake hardware type's one knob: how long each of its steps takes (IRONLOG_FAKE_STEP_DELAY_MS,
// Ironic's [fake]*_delay options folded into one), so a test can act in the middle of an
// operation. A step sleeps; reads (get_power_state, get_boot_device...) and bookkeeping calls
// (prepare, clean_up, validate) do not.

import type { Task } from '../base.ts';

export interface FakeOptions {
  /** ms each fake step (power change, deploy/clean step, tear down, inspect, rescue...) sleeps */
  stepDelayMs: number;
}

/** Sleeps `ms`, or less if the task is aborted (the caller checks task.signal afterwards). */
export const sleepFor = (ms: number, task: Pick<Task, 'signal'>): Promise<void> =>
  ms <= 0 || task.signal.aborted
    ? Promise.resolve()
    : new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          task.signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        task.signal.addEventListener('abort', done, { once: true });
      });
