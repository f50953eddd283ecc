// How the conductor reads and writes node streams with command-handling/handle.ts. (If
// command-handling grows a shared binding per aggregate, use that one instead.)

import * as E from 'fp-ts/lib/Either.js';
import type { AggregateBinding } from '../command-handling/handle.ts';
import { decodeStoredEvent } from '../domain/index.ts';
import { nodeDecider, type NodeCommand, type NodeEvent, type NodeState } from '../domain/node/index.ts';
import type { RecordedEvent } from '../eventstore/port.ts';

const decodeNodeEvent = (r: RecordedEvent): E.Either<Error, NodeEvent> => {
  const d = decodeStoredEvent(r);
  if (E.isLeft(d)) return d;
  const parsed = d.right as { type: string };
  return E.right(parsed as NodeEvent);
};

export const nodeBinding: AggregateBinding<NodeCommand, NodeEvent, NodeState> = {
  decider: nodeDecider,
  decode: decodeNodeEvent,
  encode: (e) => ({ type: e.type, data: e.data }),
};
