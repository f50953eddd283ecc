// Clean and deploy steps as the node's events carry them: `args` may hold secrets (a BIOS
// password...), so they are sealed like driver_info. Other step keys (abortable, priority,
// reboot_requested, abort_after...) ride along untouched.

import * as t from 'io-ts';
import { partial } from '../codecs.ts';
import { SealedArgsC } from '../secrets.ts';

export const StepC = t.intersection(
  [
    t.type({ interface: t.string, step: t.string }),
    partial({ args: SealedArgsC, priority: t.union([t.number, t.string]) }),
  ],
  'Step',
);
export type Step = t.TypeOf<typeof StepC>;

export const StepKindC = t.keyof({ clean: null, deploy: null }, 'StepKind');
export type StepKind = t.TypeOf<typeof StepKindC>;
