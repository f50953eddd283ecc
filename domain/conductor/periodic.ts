// The callback timeouts (reference §6.4, §6.5): a node left in a wait state longer than its
// timeout, measured from provision_updated_at in the log, gets `fail`. Ironic only touches
// unreserved nodes that are not in maintenance. Pure: the shell passes the time.

import type { Node } from '../node/node.ts';
import type { ProvisionState } from '../provision/states.ts';

export interface CallbackTimeouts {
  /** seconds; 0 disables (as Ironic) */
  deployCallbackS: number;
  cleanCallbackS: number;
  rescueCallbackS: number;
  inspectWaitS: number;
}

export const ironicCallbackTimeouts: CallbackTimeouts = { deployCallbackS: 1800, cleanCallbackS: 1800, rescueCallbackS: 1800, inspectWaitS: 1800 };

const timeoutFor = (state: ProvisionState, t: CallbackTimeouts): number | undefined =>
  state === 'wait call-back'
    ? t.deployCallbackS
    : state === 'clean wait'
      ? t.cleanCallbackS
      : state === 'rescue wait'
        ? t.rescueCallbackS
        : state === 'inspect wait'
          ? t.inspectWaitS
          : undefined;

const messageFor = (node: Node): string => {
  switch (node.provision_state) {
    case 'wait call-back':
      return `Timeout reached while waiting for callback for node ${node.uuid}`;
    case 'clean wait':
      return 'Timeout reached while cleaning the node. Please check if the ramdisk responded.';
    case 'rescue wait':
      return `Timeout reached while waiting for rescue ramdisk callback for node ${node.uuid}`;
    default:
      return 'Introspection timeout';
  }
};

/** The last_error to fail the node with, or undefined when its wait has not timed out. */
export const callbackTimedOut = (node: Node, nowMs: number, timeouts: CallbackTimeouts): string | undefined => {
  const limit = timeoutFor(node.provision_state, timeouts);
  if (limit === undefined || limit <= 0) return undefined;
  if (node.reservation !== null || node.maintenance) return undefined;
  if (node.provision_updated_at === null) return undefined;
  const since = Date.parse(node.provision_updated_at);
  if (Number.isNaN(since) || nowMs - since < limit * 1000) return undefined;
  return messageFor(node);
};
