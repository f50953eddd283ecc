// Deploy and clean steps (Ironic's conductor/steps.py, deployments.py, cleaning.py): plan the
// ordered list (PlanSteps), then run each as StartStep → the interface's step → CompleteStep, so
// the log says which steps completed and a takeover resumes after the last of them. Every step
// is idempotent: a started, unfinished step runs again on the new owner.

import * as E from 'fp-ts/lib/Either.js';
import type { Dict } from '../../domain/codecs.ts';
import type { DomainError } from '../../domain/errors.ts';
import type { Node, Step, StepKind } from '../../domain/node/index.ts';
import { failureText } from '../../drivers/base.ts';
import { findStep, stepsOf, type Driver } from '../../drivers/hardware-type.ts';
import type { NodeTask, TaskCommand } from './task.ts';

const describe = (s: { interface: string; step: string }): string => `${s.interface}.${s.step}`;

const byPriority = (a: Step, b: Step): number => Number(b.priority ?? 0) - Number(a.priority ?? 0);

/** The steps the driver runs by itself (priority > 0), highest priority first. */
const automatedSteps = (driver: Driver, kind: StepKind): Step[] =>
  stepsOf(driver, kind)
    .filter((s) => s.spec.priority > 0)
    .map((s) => ({ interface: s.interface, step: s.spec.step, priority: s.spec.priority, args: {}, ...(kind === 'clean' ? { abortable: s.spec.abortable } : {}) }) as Step)
    .sort(byPriority);

/**
 * Deploy steps: the driver's, with the user's deploy_steps merged in (a user step overrides the
 * driver step of the same name; priority 0 disables it). Clean steps: the automated ones, or for
 * a manual clean exactly the user's list, in its order. Left: a step the node does not support.
 */
export const planSteps = (driver: Driver, kind: StepKind, node: Node, requested: readonly Step[] | undefined, manual: boolean): E.Either<string, Step[]> => {
  for (const r of requested ?? []) {
    if (!findStep(driver, kind, r.interface, r.step)) {
      return E.left(
        kind === 'clean'
          ? `Node ${node.uuid} does not support this clean step: ${JSON.stringify({ interface: r.interface, step: r.step })}`
          : `Node ${node.uuid} does not support the deploy step ${describe(r)}.`,
      );
    }
  }
  if (kind === 'clean' && manual) {
    return E.right((requested ?? []).map((r) => {
      const found = findStep(driver, kind, r.interface, r.step);
      return { ...r, args: r.args ?? {}, abortable: found?.spec.abortable ?? false } as Step;
    }));
  }
  const merged = new Map(automatedSteps(driver, kind).map((s) => [describe(s), s]));
  for (const r of requested ?? []) merged.set(describe(r), { ...r, args: r.args ?? {} });
  return E.right([...merged.values()].filter((s) => Number(s.priority ?? 0) > 0).sort(byPriority));
};

/** The plan recorded on the node (driver_internal_info.<kind>_steps), if any. */
export const recordedPlan = (node: Node, kind: StepKind): Step[] | undefined => {
  const steps = (node.driver_internal_info as Dict)[`${kind}_steps`];
  return Array.isArray(steps) ? (steps as Step[]) : undefined;
};

/** Where a recorded plan resumes: the started-but-unfinished step again, else the next one. */
export const resumePoint = (node: Node, kind: StepKind): number => {
  const index = (node.driver_internal_info as Dict)[`${kind}_step_index`];
  if (typeof index !== 'number') return 0;
  const current = kind === 'deploy' ? node.deploy_step : node.clean_step;
  return Object.keys(current).length > 0 ? index : index + 1;
};

export type StepsOutcome =
  /** every step ran; `pending` (the last CompleteStep) is to be written with what ends the operation */
  | { kind: 'done'; pending: TaskCommand[] }
  /** the task was aborted (the node moved to another conductor): write nothing more */
  | { kind: 'aborted' }
  /** an append was refused (fenced, or the node changed under us): write nothing more */
  | { kind: 'refused'; error: DomainError }
  | { kind: 'failed'; message: string; step: Step }
  /** a step is waiting for a callback (agent): the node goes to its wait state */
  | { kind: 'wait'; step: Step };

/** The first step's start, recorded with the plan (and the reservation) before the request is answered. */
export const firstStart = (kind: StepKind, steps: readonly Step[]): TaskCommand[] =>
  steps.length > 0 ? [{ type: 'StartStep', data: { kind, step: steps[0], index: 0 } }] : [];

/**
 * Runs steps[from..]; a step's completion is written together with the next step's start.
 * `fromStarted`: the start of steps[from] is already recorded (firstStart).
 */
export const runSteps = async (task: NodeTask, driver: Driver, kind: StepKind, steps: readonly Step[], from: number, fromStarted = false): Promise<StepsOutcome> => {
  let pending: TaskCommand[] = [];
  for (let i = from; i < steps.length; i++) {
    if (task.signal.aborted) return { kind: 'aborted' };
    const step = steps[i];
    if (!(fromStarted && i === from)) {
      const started = await task.applyAll([...pending, { type: 'StartStep', data: { kind, step, index: i } }]);
      if (E.isLeft(started)) return { kind: 'refused', error: started.left };
      pending = [];
    }
    const found = findStep(driver, kind, step.interface, step.step);
    let outcome: 'done' | 'wait';
    try {
      if (!found) throw new Error(`the ${describe(step)} step is not supported`);
      outcome = await found.spec.run(task, (step.args ?? {}) as Dict);
    } catch (e) {
      if (task.signal.aborted) return { kind: 'aborted' };
      const message =
        kind === 'clean'
          ? `Node ${task.uuid} failed step ${JSON.stringify({ interface: step.interface, step: step.step })}: ${failureText(e)}`
          : `Node ${task.uuid} failed deploy step ${describe(step)}: ${failureText(e)}`;
      return { kind: 'failed', message, step };
    }
    if (task.signal.aborted) return { kind: 'aborted' };
    if (outcome === 'wait') return { kind: 'wait', step };
    pending = [{ type: 'CompleteStep', data: { kind } }];
  }
  return { kind: 'done', pending };
};

/** Ironic's wipe_deploy_internal_info / wipe_cleaning_internal_info: the plan ends with its operation. */
export const wipePlan = (kind: StepKind): TaskCommand => ({
  type: 'UpdateDriverInternalInfo',
  data: { set: {}, unset: [`${kind}_steps`, `${kind}_step_index`] },
});
