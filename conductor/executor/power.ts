// Power operations (reference §4.6, Ironic's change_node_power_state + node_power_action): the
// request sets target_power_state (PowerStateChangeRequested) and is answered; the task then asks
// the power interface, records the new power_state and clears the target, or records last_error
// ("Failed to change power state to ...") and clears the target.

import * as E from 'fp-ts/lib/Either.js';
import { domainError, type DomainError } from '../../domain/errors.ts';
import type { PowerState, PowerTarget } from '../../domain/power/states.ts';
import { powerVerbs } from '../../domain/power/states.ts';
import { failureText } from '../../drivers/base.ts';
import type { Driver } from '../../drivers/hardware-type.ts';
import type { Executor } from './executor.ts';
import { errorHistory, type Operation } from './provision.ts';
import type { NodeTask } from './task.ts';

/** Checked before the request is recorded: the driver must validate and support the target. */
export const validatePowerRequest = async (driver: Driver, task: { node: NodeTask['node']; signal: AbortSignal }, target: PowerTarget): Promise<DomainError | undefined> => {
  try {
    await driver.power.validate(task);
  } catch (e) {
    return domainError('InvalidParameterValue', failureText(e));
  }
  const supported = driver.power.getSupportedPowerStates(task);
  if (!supported.includes(target)) {
    return domainError('InvalidParameterValue', `The driver ${driver.hardwareType} does not support the power state "${target}" on node ${task.node.uuid}; it supports ${supported.join(', ')}.`);
  }
  return undefined;
};

export const powerAction = async (driver: Driver, task: NodeTask, requested: PowerTarget, timeoutS: number | undefined): Promise<PowerState> => {
  if (requested === 'rebooting') await driver.power.reboot(task, timeoutS);
  else await driver.power.setPowerState(task, requested, timeoutS);
  return powerVerbs[requested].targetPowerState;
};

/** `requested` is what the user asked for; a pickup only knows target_power_state. */
export const powerOperation = (ex: Executor, requested: PowerTarget | undefined, timeoutS: number | undefined): Operation => ({
  name: 'power',
  run: async (task) => {
    const target = requested ?? (task.node.target_power_state as PowerTarget | null) ?? undefined;
    const holder = task.holder.host;
    const driver = ex.driverOf(task.node);
    if (target === undefined) {
      await task.release();
      return;
    }
    let outcome: E.Either<string, PowerState>;
    if (E.isLeft(driver)) outcome = E.left(driver.left.message);
    else {
      try {
        outcome = E.right(await powerAction(driver.right, task, target, timeoutS));
      } catch (e) {
        outcome = E.left(failureText(e));
      }
    }
    if (task.signal.aborted) return;
    const error = E.isLeft(outcome) ? `Failed to change power state to '${powerVerbs[target].targetPowerState}' by '${target}'. Error: ${outcome.left}` : undefined;
    const recorded = await task.applyAll([
      E.isRight(outcome) ? { type: 'RecordPowerState', data: { power_state: outcome.right } } : { type: 'FailPowerState', data: { error: error as string } },
      ...(error !== undefined ? [errorHistory(holder, error, 'monitoring')] : []),
      task.releaseCommand(),
    ]);
    if (E.isLeft(recorded)) ex.log.warn({ node: task.uuid, err: recorded.left.message, host: holder }, 'power task stopped: write refused');
  },
});
