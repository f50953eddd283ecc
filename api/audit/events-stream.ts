// GET /v1/events/stream (ironlog extension): the log as Server-Sent Events, catch-up then live.
//
//   id: <log position>          what EventSource sends back as Last-Event-ID when it reconnects
//   event: <EventType>
//   data: {"id", "stream", "revision", "position", "type", "data", "metadata", "created"}
//
// Resume: `Last-Event-ID` (or `?after=`, `start`, `end`) is exclusive, so a client that resumes
// with the id of the last message it saw gets every later event exactly once. Filters:
// `?node=<uuid>[,<uuid>...]` (the node's own stream) and `?type=A,B`. Secrets are masked.
// A comment every heartbeat interval keeps proxies from timing the stream out; a comment
// `: caught up` marks the end of the catch-up. A client that goes away stops its subscription.

import * as E from 'fp-ts/lib/Either.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { eventTypes } from '../../domain/index.ts';
import { streamId } from '../../domain/streams.ts';
import type { Subscription } from '../../eventstore/port.ts';
import { publicStreamPrefixes } from '../../publisher/subjects.ts';
import { maskDeep, renderEvent } from '../../publisher/wire.ts';
import { clientError } from '../http-errors.ts';
import { list, parseAfter, positionText, queryOf, rejectUnexpected, resolveNodeIdent, single, type AuditOptions } from './params.ts';

export interface EventsStreamOptions extends AuditOptions {
  /** ms between heartbeat comments; default 15000 */
  heartbeatMs?: number;
  /** the reconnection delay EventSource clients are told (`retry:`), ms; default 2000 */
  retryMs?: number;
}

const schema = {
  tags: ['audit'],
  summary: 'Stream committed events as Server-Sent Events (ironlog extension)',
  description:
    'Catch-up from a log position, then live. Each message: `id` = log position, `event` = event type, ' +
    '`data` = JSON `{id, stream, revision, position, type, data, metadata, created}` with secrets shown as `******`. ' +
    'Resume with the `Last-Event-ID` header (or `?after=`): every later event is delivered exactly once. ' +
    'Heartbeat comments keep the connection open.',
  querystring: {
    type: 'object',
    properties: {
      after: { type: 'string', description: 'exclusive log position to start after, `start` (default) or `end`; Last-Event-ID wins over it' },
      node: { type: 'string', description: 'only events of these nodes (comma-separated UUIDs, or names when the API resolves them)' },
      type: { type: 'string', description: 'only these event types (comma-separated, e.g. `ProvisionStateChanged,PowerStateChanged`)' },
    },
  },
  headers: {
    type: 'object',
    properties: { 'last-event-id': { type: 'string', description: 'the position of the last event seen (exclusive)' } },
  },
  response: {
    200: {
      description: 'an endless text/event-stream',
      content: { 'text/event-stream': { schema: { type: 'string' } } },
    },
  },
};

/** Everything a stream needs, validated before the response starts. */
interface StreamRequest {
  after: bigint | 'start' | 'end';
  prefixes: string[];
  types: ReadonlySet<string> | undefined;
}

const parseRequest = async (req: FastifyRequest, o: EventsStreamOptions): Promise<StreamRequest> => {
  const query = queryOf(req);
  rejectUnexpected(query, ['after', 'node', 'type']);
  const header = req.headers['last-event-id'];
  const lastEventId = Array.isArray(header) ? header[0] : header;
  const afterArg = single(query, 'after');
  const after =
    lastEventId !== undefined && lastEventId.trim() !== ''
      ? parseAfter(lastEventId, 'Last-Event-ID')
      : afterArg !== undefined
        ? parseAfter(afterArg, 'after')
        : 'start';
  const nodes = await Promise.all(list(query, 'node').map((n) => resolveNodeIdent(n, o.resolveNode)));
  const typeList = list(query, 'type');
  const unknown = typeList.filter((t) => !eventTypes.has(t));
  if (unknown.length) throw clientError(`Unknown event type(s): ${unknown.join(', ')}.`);
  return {
    after,
    prefixes: nodes.length ? [...new Set(nodes)].map((u) => streamId('node', u)) : [...publicStreamPrefixes],
    types: typeList.length ? new Set(typeList) : undefined,
  };
};

const sseHeaders = (reply: FastifyReply): OutgoingHttpHeaders => {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) out[k] = v;
  return {
    ...out,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // nginx buffers responses unless told not to
    'x-accel-buffering': 'no',
  };
};

export const eventsStreamRoutes = async (app: FastifyInstance, o: EventsStreamOptions): Promise<void> => {
  const mask = o.mask ?? maskDeep;
  const heartbeatMs = o.heartbeatMs ?? 15_000;
  const retryMs = o.retryMs ?? 2000;
  // open streams end when the server closes; otherwise they would hold close() up for ever
  const open = new Set<() => void>();
  app.addHook('preClose', (done) => {
    for (const close of [...open]) close();
    done();
  });

  app.get('/v1/events/stream', { schema }, async (req, reply) => {
    const sr = await parseRequest(req, o);
    reply.hijack();
    const res: ServerResponse = reply.raw;
    res.writeHead(200, sseHeaders(reply));
    res.flushHeaders();

    let closed = false;
    let sub: Subscription | undefined;
    const writers = new Set<() => void>();
    const heartbeat = setInterval(() => {
      if (!closed) res.write(': heartbeat\n\n');
    }, heartbeatMs);
    heartbeat.unref();
    const close = (): void => {
      if (closed) return;
      closed = true;
      open.delete(close);
      clearInterval(heartbeat);
      for (const w of writers) w();
      void sub?.stop().catch(() => undefined);
      if (!res.writableEnded) res.end();
    };
    open.add(close);
    res.on('close', close);

    /** Writes, and waits for the socket to drain (back-pressure holds the subscription up). */
    const write = async (chunk: string): Promise<void> => {
      if (closed) return;
      if (res.write(chunk)) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          writers.delete(done);
          res.off('drain', done);
          resolve();
        };
        writers.add(done);
        res.once('drain', done);
      });
    };

    await write(`retry: ${retryMs}\n: ironlog events after ${positionText(sr.after)}\n\n`);
    const onError = (err: Error): void => {
      req.log.error({ err }, 'event stream: subscription failed');
      // no id: the client resumes from the last event it did get, and meets the error again
      void write(`event: ironlog-error\ndata: ${JSON.stringify({ message: err.message })}\n\n`).then(close);
    };
    try {
      sub = o.store.subscribeToAll(
        {
          after: sr.after,
          streamPrefixes: sr.prefixes,
          onCaughtUp: () => void write(': caught up\n\n'),
          onError,
        },
        async (events) => {
          if (closed) return;
          let out = '';
          for (const ev of events) {
            if (sr.types && !sr.types.has(ev.type)) continue;
            const rendered = renderEvent(ev, mask);
            if (E.isLeft(rendered)) {
              if (out) await write(out);
              throw rendered.left;
            }
            out += `id: ${rendered.right.position}\nevent: ${ev.type}\ndata: ${JSON.stringify(rendered.right)}\n\n`;
          }
          if (out) await write(out);
        },
      );
    } catch (e) {
      onError(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    if (closed) void sub.stop().catch(() => undefined);
  });
};
