// The node aggregate: Decider + codecs. See domain/README.md.

import type { Decider } from '../decider.ts';
import type { NodeCommand } from './commands.ts';
import { decideNode } from './decide.ts';
import type { NodeEvent } from './events.ts';
import { evolveNodeState, initialNodeState, type NodeState } from './evolve.ts';

export const nodeDecider: Decider<NodeCommand, NodeEvent, NodeState> = {
  initialState: initialNodeState,
  decide: decideNode,
  evolve: evolveNodeState,
};

export * from './node.ts';
export * from './events.ts';
export * from './commands.ts';
export * from './steps.ts';
export * as nodeErrors from './errors.ts';
export { decideNode, MAX_TRAITS_PER_NODE } from './decide.ts';
export { evolveNodeState, initialNodeState, type NodeState } from './evolve.ts';
