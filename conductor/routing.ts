// The sending side of node work (the API, or a conductor handing work on): find the node's owner on
// the ring, send the request to `ironlog.node.<owner>.<node uuid>`, and keep going until a final
// answer or the deadline:
//   - no responders (the owner's subscription is gone: it died) or a timeout: read the ring again
//     and resend, to the new owner once the loss has been declared;
//   - `not_owner` (the receiver's ring is newer, or ours is): catch up to its epoch and resend;
//   - the owner changes on the ring while we wait for its reply: resend to the new owner at once
//     instead of waiting out the timeout.
// Every resend carries the same command id, so the command runs at most once (work-server.ts).

import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import { ErrorCode, type NatsConnection, type NatsError } from 'nats';
import type { NodePlacement } from '../domain/conductor/index.ts';
import { domainError, type DomainError } from '../domain/errors.ts';
import type { MembershipView } from './membership-view.ts';
import { NodeReply, decodeJson, encode, errorFromWire, type NodeRequest } from './protocol.ts';
import { subjects } from './subjects.ts';
import { retriableError } from './work-server.ts';
import { errorText, silentLog, type Log } from './log.ts';

export interface RouteOptions {
  /** reuse it to retry a command; default a fresh uuid */
  commandId?: string;
  actor: string;
  correlationId?: string;
  /** one attempt's reply timeout; default the router's rpcTimeoutMs */
  timeoutMs?: number;
  /** give up (TemporaryFailure) after this long; default the router's rpcDeadlineMs */
  deadlineMs?: number;
}

export interface Routed {
  result: unknown;
  duplicate: boolean;
  /** the conductor that answered */
  host: string;
  attempts: number;
  commandId: string;
}

export interface NodeRouterOptions {
  nc: NatsConnection;
  view: MembershipView;
  rpcTimeoutMs: number;
  rpcDeadlineMs: number;
  log?: Log;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const natsCode = (e: unknown): string | undefined => (typeof e === 'object' && e !== null ? (e as Partial<NatsError>).code : undefined);

export class NodeRouter {
  private readonly log: Log;
  constructor(private readonly o: NodeRouterOptions) {
    this.log = o.log ?? silentLog;
  }

  /** Work that is not about a node: any live conductor of `group` (Ironic picks one at random). */
  async requestAny(group: string, action: string, args: unknown, options: RouteOptions): Promise<E.Either<DomainError, Routed>> {
    const deadline = Date.now() + (options.deadlineMs ?? this.o.rpcDeadlineMs);
    for (let attempt = 1; ; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0) return E.left(domainError('TemporaryFailure', `No conductor of group "${group}" answered ${action}.`));
      try {
        const msg = await this.o.nc.request(subjects.anyConductor(group), encode({ action, args, actor: options.actor }), {
          timeout: Math.max(1, Math.min(options.timeoutMs ?? this.o.rpcTimeoutMs, left)),
        });
        const decoded = NodeReply.decode(decodeJson(msg.data));
        if (E.isLeft(decoded)) return E.left(domainError('TemporaryFailure', 'A conductor sent a malformed reply.'));
        const reply = decoded.right;
        if (reply.status === 'ok') return E.right({ result: reply.result, duplicate: false, host: reply.host, attempts: attempt, commandId: '' });
        if (reply.status === 'error' && !retriableError(reply.error)) return E.left(errorFromWire(reply.error));
      } catch (e) {
        if (natsCode(e) === ErrorCode.NoResponders && attempt === 1 && Object.keys(this.o.view.state.members).length === 0) {
          return E.left(domainError('TemporaryFailure', 'No conductors are registered.'));
        }
      }
      await sleep(Math.min(500, 25 * 2 ** attempt));
    }
  }

  async request(node: NodePlacement, action: string, args: unknown, options: RouteOptions): Promise<E.Either<DomainError, Routed>> {
    const { view, nc } = this.o;
    const commandId = options.commandId ?? randomUUID();
    const timeoutMs = options.timeoutMs ?? this.o.rpcTimeoutMs;
    const deadline = Date.now() + (options.deadlineMs ?? this.o.rpcDeadlineMs);
    let backoff = 25;
    let refreshedForNoHost = false;
    let lastProblem = 'no attempt made';
    for (let attempt = 1; ; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0) {
        return E.left(domainError('TemporaryFailure', `No conductor completed ${action} on node ${node.uuid} within the deadline (${attempt - 1} attempts; last: ${lastProblem}).`));
      }
      const owner = view.resolveOwner(node);
      if (E.isLeft(owner)) {
        if (!refreshedForNoHost) {
          refreshedForNoHost = true;
          await view.refresh();
          continue;
        }
        return owner;
      }
      const host = owner.right.hostname;
      const request: NodeRequest = {
        commandId,
        node,
        action,
        args,
        actor: options.actor,
        epoch: view.state.epoch,
        ...(options.correlationId !== undefined ? { correlationId: options.correlationId } : {}),
      };
      let ownerMoved: (() => void) | undefined;
      const moved = new Promise<'moved'>((resolve) => {
        ownerMoved = view.onChange(() => {
          if (view.ownerOf(node) !== host) resolve('moved');
        });
      });
      try {
        const outcome = await Promise.race([
          nc.request(subjects.nodeWork(host, node.uuid), encode(request), { timeout: Math.max(1, Math.min(timeoutMs, left)) }),
          moved,
        ]);
        if (outcome === 'moved') {
          lastProblem = `owner ${host} left the ring while the request was out`;
          continue;
        }
        const decoded = NodeReply.decode(decodeJson(outcome.data));
        if (E.isLeft(decoded)) return E.left(domainError('TemporaryFailure', `Conductor ${host} sent a malformed reply.`));
        const reply = decoded.right;
        if (reply.status === 'ok') {
          return E.right({ result: reply.result, duplicate: reply.duplicate, host: reply.host, attempts: attempt, commandId });
        }
        if (reply.status === 'error') {
          if (!retriableError(reply.error)) return E.left(errorFromWire(reply.error));
          lastProblem = `${reply.host}: ${reply.error.message}`;
          await sleep(backoff);
          backoff = Math.min(500, backoff * 2);
          continue;
        }
        lastProblem = `${reply.host} does not own it at epoch ${reply.epoch} (says ${reply.owner ?? 'nobody'})`;
        if (reply.epoch > view.state.epoch) {
          await view.waitFor((m) => m.epoch >= reply.epoch, Math.min(2000, Math.max(0, deadline - Date.now())));
        } else {
          // the receiver is behind us: give its poll or our notice a moment to reach it
          await sleep(backoff);
          backoff = Math.min(500, backoff * 2);
          await view.refresh();
        }
      } catch (e) {
        const code = natsCode(e);
        lastProblem = code === ErrorCode.NoResponders ? `no responders on ${host}` : code === ErrorCode.Timeout ? `${host} timed out` : errorText(e);
        this.log.debug({ node: node.uuid, host, attempt, problem: lastProblem }, 're-routing node work');
        if (code !== ErrorCode.Timeout) {
          await sleep(backoff);
          backoff = Math.min(500, backoff * 2);
        }
        await view.refresh().catch(() => undefined);
      } finally {
        ownerMoved?.();
      }
    }
  }
}
