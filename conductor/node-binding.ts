// How the conductor reads and writes node streams with command-handling/handle.ts. (If
// command-handling grows a shared binding per aggregate, use that one instead.)

import * as E from 'fp-ts/lib/Either.js';
import type { AggregateBinding } from '../command-handling/handle.ts';
import { decodeStoredEvent } from '../domain/index.ts';
import { nodeDecider, type NodeCommand, type NodeEvent, type NodeState } from '../domain/node/index.ts';
import type { RecordedEvent } from '../eventstore/port.ts';
import { decodeForProjection } from '../projections/domain.ts';

// The compiled-guard fast path gives decodeStoredEvent's answers at a fraction of its cost (every
// event a conductor folds goes through here); the slow path only builds the error.
const decodeNodeEvent = (r: RecordedEvent): E.Either<Error, NodeEvent> => {
  const fast = decodeForProjection(r);
  if (fast.ok) return E.right(fast.event as NodeEvent);
  const d = decodeStoredEvent(r);
  return E.isLeft(d) ? d : E.right(d.right as NodeEvent);
};

export const nodeBinding: AggregateBinding<NodeCommand, NodeEvent, NodeState> = {
  decider: nodeDecider,
  decode: decodeNodeEvent,
  encode: (e) => ({ type: e.type, data: e.data }),
};
