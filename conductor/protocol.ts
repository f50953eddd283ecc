// What travels on `ironlog.node.<owner>.<node uuid>` (conductor/README.md): one request, one reply.

import * as t from 'io-ts';
import { nullable, partial } from '../domain/codecs.ts';
import type { DomainError, IronicErrorClass } from '../domain/errors.ts';

export const NodePlacementC = t.type({ uuid: t.string, group: t.string, driver: t.string });

export const NodeRequest = t.intersection([
  t.type({
    /** the retry key: the same command id is executed at most once, whichever conductor gets it */
    commandId: t.string,
    node: NodePlacementC,
    /** what to do, e.g. 'provision', 'power'; each conductor registers a handler per action */
    action: t.string,
    args: t.unknown,
    actor: t.string,
    /** the ring epoch the sender routed by; a receiver that is behind reads the log first */
    epoch: t.number,
  }),
  partial({ correlationId: t.string }),
]);
export type NodeRequest = t.TypeOf<typeof NodeRequest>;

const WireError = t.type({ errorClass: t.string, status: t.number, message: t.string });

export const NodeReply = t.union([
  t.type({ status: t.literal('ok'), host: t.string, epoch: t.number, duplicate: t.boolean, result: t.unknown }),
  /** the receiver does not own the node at `epoch`; `owner` is who does, by its view */
  t.type({ status: t.literal('not_owner'), host: t.string, epoch: t.number, owner: nullable(t.string) }),
  t.type({ status: t.literal('error'), host: t.string, epoch: t.number, error: WireError }),
]);
export type NodeReply = t.TypeOf<typeof NodeReply>;

/** Both ends are ironlog: the error class on the wire is one of ours. */
export const errorFromWire = (e: t.TypeOf<typeof WireError>): DomainError => ({
  errorClass: e.errorClass as IronicErrorClass,
  status: e.status,
  message: e.message,
});

export const encode = (v: unknown): string => JSON.stringify(v);
// one decoder for every message (stateless without { stream: true }): one per message was measurable
const utf8 = new TextDecoder();
export const decodeJson = (data: Uint8Array): unknown => JSON.parse(utf8.decode(data));
