// JetStream publishes with their acks, a chunk at a time, over one reply subscription.
//
// nats.js's `js.publish` is a request per message: a request object, a timer, and — when the ack
// has arrived — a "cancelled" NatsError built (stack trace and all) just to settle a promise that
// is already settled. With one publish per event that was ~5% of the API process's CPU while
// nodes moved through their states. This sends the same message (PUB with the same headers and
// a reply subject) and reads the same ack, with one wildcard subscription for every ack and one
// timer per chunk. What an ack means (stream, seq, duplicate, the API error) is JetStream's
// publish protocol, unchanged.

import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type NatsError, type Subscription } from 'nats';

export interface PublishAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

export interface OutgoingMessage {
  subject: string;
  payload: string;
  headers: MsgHdrs;
}

interface Waiting {
  resolve(ack: PublishAck): void;
  reject(err: Error): void;
}

/** A JetStream API error or an answer that is not an ack. */
export class PublishRefused extends Error {
  constructor(message: string, readonly code?: number) {
    super(message);
    this.name = 'PublishRefused';
  }
}

export class AckedPublisher {
  private readonly prefix: string;
  private readonly sub: Subscription;
  private readonly waiting = new Map<string, Waiting>();
  private next = 0;

  constructor(private readonly nc: NatsConnection, private readonly timeoutMs: number) {
    this.prefix = `${createInbox()}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, { callback: (err, msg) => this.answered(err, msg) });
  }

  /**
   * Publishes the messages in this order and settles, for each, its ack or why there is none
   * (JetStream's refusal, no stream listening, or no answer within the timeout).
   */
  publishAll(messages: OutgoingMessage[]): Promise<PromiseSettledResult<PublishAck>[]> {
    const tokens: string[] = [];
    const acks = messages.map((m) => {
      const token = String(this.next++);
      tokens.push(token);
      const ack = new Promise<PublishAck>((resolve, reject) => this.waiting.set(token, { resolve, reject }));
      try {
        this.nc.publish(m.subject, m.payload, { reply: this.prefix + token, headers: m.headers });
      } catch (e) {
        this.settle(token, e instanceof Error ? e : new Error(String(e)));
      }
      return ack;
    });
    const timer = setTimeout(() => {
      const late = new Error(`no JetStream ack within ${this.timeoutMs} ms`);
      for (const t of tokens) this.settle(t, late);
    }, this.timeoutMs);
    return Promise.allSettled(acks).finally(() => clearTimeout(timer));
  }

  /** Stops listening; whatever still waits fails. */
  close(): void {
    this.sub.unsubscribe();
    const closed = new Error('publisher closed');
    for (const t of [...this.waiting.keys()]) this.settle(t, closed);
  }

  private settle(token: string, outcome: PublishAck | Error): void {
    const w = this.waiting.get(token);
    if (!w) return;
    this.waiting.delete(token);
    if (outcome instanceof Error) w.reject(outcome);
    else w.resolve(outcome);
  }

  private answered(err: NatsError | null, msg: Msg): void {
    if (err) {
      // the subscription itself failed (permissions, connection closed): nothing will answer
      for (const t of [...this.waiting.keys()]) this.settle(t, err);
      return;
    }
    const token = msg.subject.slice(this.prefix.length);
    if (!this.waiting.has(token)) return; // timed out already
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      this.settle(token, new PublishRefused(`no JetStream stream listens on the subject (503 no responders)`, 503));
      return;
    }
    let body: { stream?: string; seq?: number; duplicate?: boolean; error?: { code?: number; err_code?: number; description?: string } };
    try {
      body = JSON.parse(msg.string()) as typeof body;
    } catch {
      this.settle(token, new PublishRefused('JetStream answered something that is not JSON'));
      return;
    }
    if (body.error) {
      this.settle(token, new PublishRefused(`JetStream refused the message: ${body.error.description ?? 'no description'} (${body.error.err_code ?? body.error.code})`, body.error.code));
      return;
    }
    if (!body.stream || typeof body.seq !== 'number') {
      this.settle(token, new PublishRefused('JetStream answered without an ack'));
      return;
    }
    this.settle(token, { stream: body.stream, seq: body.seq, duplicate: body.duplicate === true });
  }
}
