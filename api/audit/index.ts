// The audit and subscriber extensions of the API, as one fastify plugin the app registers with
// its dependencies (see README.md in this folder):
//   GET /v1/events/stream                      Server-Sent Events from a log position
//   GET /v1/nodes/{node_ident}/timeline        every event of a node (optional: see `timeline`)
//   GET /v1/nodes/{node_ident}/as_of           a node's state at a position or a time

import type { FastifyInstance } from 'fastify';
import { asOfRoutes } from './as-of.ts';
import { eventsStreamRoutes, type EventsStreamOptions } from './events-stream.ts';
import { timelineRoutes, type TimelineOptions } from './timeline.ts';

export type AuditRoutesOptions = EventsStreamOptions &
  TimelineOptions & {
    /** register the log-backed /timeline (default true); false when the app already serves one */
    timeline?: boolean;
  };

export const auditRoutes = async (app: FastifyInstance, o: AuditRoutesOptions): Promise<void> => {
  await app.register(eventsStreamRoutes, o);
  await app.register(asOfRoutes, o);
  if (o.timeline !== false) await app.register(timelineRoutes, o);
};

export { asOfRoutes, eventsStreamRoutes, timelineRoutes };
export type { EventsStreamOptions, TimelineOptions };
export type { AuditOptions, AuditStore, NodeResolver } from './params.ts';
