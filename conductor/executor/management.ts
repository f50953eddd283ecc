// Boot mode, secure boot and console (reference §3.2 states/boot_mode, states/secure_boot,
// states/console): the request is recorded, then the task asks the management or console
// interface and records the outcome; a failure is the node's last_error.

import * as E from 'fp-ts/lib/Either.js';
import type { NodeCommandOf } from '../../domain/node/index.ts';
import { failureText } from '../../drivers/base.ts';
import type { Executor } from './executor.ts';
import { errorHistory, type Operation } from './provision.ts';
import type { NodeTask, TaskCommand } from './task.ts';

const applyAll = async (ex: Executor, task: NodeTask, commands: TaskCommand[]): Promise<void> => {
  if (task.signal.aborted) return;
  const r = await task.applyAll(commands);
  if (E.isLeft(r)) ex.log.warn({ node: task.uuid, commands: commands.map((c) => c.type), err: r.left.message }, 'node task stopped: write refused');
};

export const bootModeOperation = (ex: Executor, request: Omit<NodeCommandOf<'RequestBootMode'>['data'], 'uuid' | 'at'>): Operation => ({
  name: 'boot mode',
  run: async (task) => {
    const driver = ex.driverOf(task.node);
    let error: string | undefined;
    if (E.isLeft(driver)) error = driver.left.message;
    else {
      try {
        await driver.right.management.validate(task);
        if (request.boot_mode !== undefined) await driver.right.management.setBootMode(task, request.boot_mode);
        if (request.secure_boot !== undefined) await driver.right.management.setSecureBootState(task, request.secure_boot);
      } catch (e) {
        error = failureText(e);
      }
    }
    if (task.signal.aborted) return;
    const what = request.boot_mode !== undefined ? `boot mode to ${request.boot_mode}` : `secure boot to ${String(request.secure_boot)}`;
    await applyAll(ex, task, [
      error === undefined
        ? { type: 'RecordBootMode', data: { ...(request.boot_mode !== undefined ? { boot_mode: request.boot_mode } : {}), ...(request.secure_boot !== undefined ? { secure_boot: request.secure_boot } : {}) } }
        : { type: 'UpdateNodeInternal', data: { changes: { last_error: `Failed to set ${what} on node ${task.uuid}: ${error}` } } },
      ...(error === undefined ? [] : [errorHistory(task.holder.host, `Failed to set ${what} on node ${task.uuid}: ${error}`, 'provisioning')]),
      { type: 'ReleaseNode', data: { host: task.holder.host } },
    ]);
  },
});

/** The console mode is recorded by the request; starting or stopping it runs here. */
export const consoleOperation = (ex: Executor, enabled: boolean): Operation => ({
  name: enabled ? 'start console' : 'stop console',
  run: async (task) => {
    const driver = ex.driverOf(task.node);
    let error: string | undefined;
    if (E.isLeft(driver)) error = driver.left.message;
    else {
      try {
        if (enabled) await driver.right.console.startConsole(task);
        else await driver.right.console.stopConsole(task);
      } catch (e) {
        error = failureText(e);
      }
    }
    if (task.signal.aborted) return;
    await applyAll(ex, task, [
      ...(error === undefined
        ? []
        : ([
            { type: 'SetConsoleMode', data: { enabled: !enabled } },
            { type: 'UpdateNodeInternal', data: { changes: { last_error: `Failed to ${enabled ? 'start' : 'stop'} console for node ${task.uuid}: ${error}` } } },
            errorHistory(task.holder.host, `Failed to ${enabled ? 'start' : 'stop'} console for node ${task.uuid}: ${error}`, 'console'),
          ] as TaskCommand[])),
      { type: 'ReleaseNode', data: { host: task.holder.host } },
    ]);
  },
});
