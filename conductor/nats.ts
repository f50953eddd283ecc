// One NATS connection per process, reconnecting forever: a nats-server restart must cost a
// conductor a few hundred milliseconds, never its life.

import { connect, type NatsConnection } from 'nats';

export interface ConnectOptions {
  name: string;
  /** ms between reconnect attempts to the same server; default 250 */
  reconnectTimeWaitMs?: number;
  /** ms to wait for the first connection; default 10000 */
  timeoutMs?: number;
}

export const connectNats = (servers: string[], o: ConnectOptions): Promise<NatsConnection> =>
  connect({
    servers,
    name: o.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: o.reconnectTimeWaitMs ?? 250,
    reconnectJitter: 50,
    timeout: o.timeoutMs ?? 10_000,
    // a conductor starting before nats-server keeps trying instead of exiting
    waitOnFirstConnect: true,
    // nats.js otherwise captures a stack trace (new Error()) on every request and subscription
    // callback to append it to a later error: a cost on every node request for a trace we log
    // as text anyway
    noAsyncTraces: true,
  });
