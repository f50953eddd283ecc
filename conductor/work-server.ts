// The receiving side of node work: a conductor subscribes to `ironlog.node.<its host>.*`, checks it
// owns the node under the freshest ring it can read, runs the action's handler, and replies.
//
// A command id is executed at most once:
//   - here, a retry of a command that is running or done returns the same reply (bounded memory);
//   - across conductors (a retry re-routed to a new owner), the handler's events carry the command
//     id and their ids derive from it, so the node stream itself says it was done
//     (command-handling/handle.ts returns `duplicate`), and the fence stops the old owner.

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Msg, NatsConnection, Subscription as NatsSubscription } from 'nats';
import { checkOwnership, type OwnershipRecord, type Writer } from '../domain/conductor/index.ts';
import { domainError, isDomainError, type DomainError } from '../domain/errors.ts';
import type { MembershipView } from './membership-view.ts';
import { fenceFor, type Fence } from './fencing.ts';
import { NodeRequest, decodeJson, encode, type NodeReply } from './protocol.ts';
import { subjects } from './subjects.ts';
import { errorText, silentLog, type Log } from './log.ts';

export interface WorkContext {
  /** the run handling it */
  writer: Writer;
  /** the ownership checked on arrival; check again (fence) right before every append */
  ownership: OwnershipRecord;
  fence: Fence;
}

export interface WorkOutcome {
  result: unknown;
  /** the command had already been applied (found in the node stream); nothing new was done */
  duplicate?: boolean;
}

export const AnyRequest = t.type({ action: t.string, args: t.unknown, actor: t.string });
export type AnyRequest = t.TypeOf<typeof AnyRequest>;
export type AnyWorkHandler = (request: AnyRequest) => Promise<E.Either<DomainError, unknown>>;

export type NodeWorkHandler = (request: NodeRequest, ctx: WorkContext) => Promise<E.Either<DomainError, WorkOutcome>>;

export interface NodeWorkServerOptions {
  nc: NatsConnection;
  view: MembershipView;
  host: string;
  /** the conductor's current run; each request is fenced by the run that accepted it */
  writer: () => Writer;
  handlers: Readonly<Record<string, NodeWorkHandler>>;
  /** work that is not about a node (driver properties, vendor passthru): any conductor of the group */
  anyHandlers?: Readonly<Record<string, AnyWorkHandler>>;
  /** this conductor's group, for the any-conductor subject */
  group?: string;
  log?: Log;
  /** replies remembered by command id; default 20000 */
  dedupCapacity?: number;
}

/** Errors worth another attempt (possibly elsewhere) rather than a final answer. */
const retriableClasses: ReadonlySet<string> = new Set(['TemporaryFailure', 'ConcurrentWrite', 'NotOwner']);
export const retriableError = (e: { errorClass: string }): boolean => retriableClasses.has(e.errorClass);

export class NodeWorkServer {
  private sub: NatsSubscription | undefined;
  private anySub: NatsSubscription | undefined;
  private readonly log: Log;
  private readonly replies = new Map<string, Promise<NodeReply>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** how many commands ran their handler (dedup hits excluded): tests read it */
  executed = 0;

  constructor(private readonly o: NodeWorkServerOptions) {
    this.log = o.log ?? silentLog;
  }

  start(): void {
    this.sub = this.o.nc.subscribe(subjects.nodeWorkFor(this.o.host), {
      callback: (err, msg) => {
        if (err) return this.log.warn({ err: errorText(err) }, 'node work subscription error');
        const p = this.handle(msg).catch((e) => this.log.error({ err: errorText(e) }, 'node work reply failed'));
        this.inFlight.add(p);
        void p.finally(() => this.inFlight.delete(p));
      },
    });
    this.startAny();
  }

  private startAny(): void {
    const handlers = this.o.anyHandlers;
    if (!handlers || Object.keys(handlers).length === 0) return;
    this.anySub = this.o.nc.subscribe(subjects.anyConductor(this.o.group ?? ''), {
      queue: subjects.anyConductorQueue,
      callback: (err, msg) => {
        if (err) return;
        const p = (async () => {
          const epoch = this.o.view.state.epoch;
          let raw: unknown;
          try {
            raw = decodeJson(msg.data);
          } catch {
            raw = undefined;
          }
          const req = AnyRequest.decode(raw);
          const handler = E.isRight(req) ? handlers[req.right.action] : undefined;
          if (E.isLeft(req) || !handler) {
            return this.reply(msg, { status: 'error', host: this.o.host, epoch, error: domainError('InvalidParameterValue', 'Malformed or unknown conductor request.') });
          }
          const out = await handler(req.right).catch((e: unknown) => E.left(domainError('TemporaryFailure', errorText(e))));
          this.reply(msg, E.isRight(out)
            ? { status: 'ok', host: this.o.host, epoch, duplicate: false, result: out.right ?? null }
            : { status: 'error', host: this.o.host, epoch, error: out.left });
        })();
        this.inFlight.add(p);
        void p.finally(() => this.inFlight.delete(p));
      },
    });
  }

  /** Stops taking work and waits for the work already taken to reply. */
  async stop(): Promise<void> {
    this.sub?.unsubscribe();
    this.sub = undefined;
    this.anySub?.unsubscribe();
    this.anySub = undefined;
    await Promise.allSettled([...this.inFlight]);
  }

  private reply(msg: Msg, r: NodeReply): void {
    if (msg.reply) msg.respond(encode(r));
  }

  private async handle(msg: Msg): Promise<void> {
    const { view } = this.o;
    let raw: unknown;
    try {
      raw = decodeJson(msg.data);
    } catch {
      raw = undefined;
    }
    const decoded = NodeRequest.decode(raw);
    if (E.isLeft(decoded)) {
      return this.reply(msg, { status: 'error', host: this.o.host, epoch: view.state.epoch, error: domainError('Invalid', 'Malformed node work request.') });
    }
    const req = decoded.right;
    const known = this.replies.get(req.commandId);
    if (known) return this.reply(msg, await known);

    // the sender routed by a newer ring than ours: read it before judging ownership
    if (req.epoch > view.state.epoch) await view.refresh();
    const writer = this.o.writer();
    const owned = checkOwnership(view.state, writer, req.node, view.ownerLookup);
    if (E.isLeft(owned)) {
      return this.reply(msg, { status: 'not_owner', host: this.o.host, epoch: view.state.epoch, owner: view.ownerOf(req.node) ?? null });
    }
    const handler = this.o.handlers[req.action];
    if (!handler) {
      return this.reply(msg, { status: 'error', host: this.o.host, epoch: view.state.epoch, error: domainError('InvalidParameterValue', `Unknown node action ${req.action}.`) });
    }

    const run = this.execute(handler, req, { writer, ownership: owned.right, fence: fenceFor(view, writer) });
    this.remember(req.commandId, run);
    const r = await run;
    // a non-final answer must not stick to the command id: a retry should really retry
    if (r.status === 'not_owner' || (r.status === 'error' && retriableError(r.error))) {
      this.replies.delete(req.commandId);
    }
    this.reply(msg, r);
  }

  private async execute(handler: NodeWorkHandler, req: NodeRequest, ctx: WorkContext): Promise<NodeReply> {
    const { view } = this.o;
    this.executed++;
    try {
      const out = await handler(req, ctx);
      if (E.isRight(out)) {
        return { status: 'ok', host: this.o.host, epoch: view.state.epoch, duplicate: out.right.duplicate ?? false, result: out.right.result ?? null };
      }
      if (out.left.errorClass === 'NotOwner') {
        return { status: 'not_owner', host: this.o.host, epoch: view.state.epoch, owner: view.ownerOf(req.node) ?? null };
      }
      return { status: 'error', host: this.o.host, epoch: view.state.epoch, error: out.left };
    } catch (e) {
      const err = isDomainError(e) ? e : domainError('TemporaryFailure', `Conductor ${this.o.host} failed to run ${req.action}: ${errorText(e)}`);
      this.log.error({ err: errorText(e), action: req.action, node: req.node.uuid, commandId: req.commandId }, 'node work handler failed');
      return { status: 'error', host: this.o.host, epoch: view.state.epoch, error: err };
    }
  }

  private remember(commandId: string, reply: Promise<NodeReply>): void {
    this.replies.set(commandId, reply);
    const cap = this.o.dedupCapacity ?? 20_000;
    while (this.replies.size > cap) {
      const oldest = this.replies.keys().next().value;
      if (oldest === undefined) break;
      this.replies.delete(oldest);
    }
  }
}
