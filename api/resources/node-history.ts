// A node's past: Ironic's `/history` (≥1.78, reference §3.9) from the history read model, and our
// extension `/timeline`: every event of the node's stream with its actor, correlation id and
// time, also for a node deleted since (by uuid or its last name).

import * as E from 'fp-ts/lib/Either.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { domainError } from '../../domain/errors.ts';
import type { ResourceOptions } from '../app.ts';
import { booleanArg, canonicalUuid, envelope, integerArg, isUuidLike, nextUrl, queryOf, rejectUnexpected, uuidArg, validateLimit } from '../collection.ts';
import type { HistoryRecord } from '../deps.ts';
import { clientError, fromDomainError } from '../http-errors.ts';
import { requireVersion } from '../plugins/versions.ts';
import { selfAndBookmark } from '../url.ts';
import { isValidLogicalName, nodeLookup, nodeNotFound } from './node-lookup.ts';

const tags = ['nodes'];

const historyJson = (base: string, nodeUuid: string, r: HistoryRecord, detail: boolean): Record<string, unknown> => {
  const out: Record<string, unknown> = {
    uuid: r.uuid,
    // Ironic's timestamps end in +00:00; a conductor's clock may have written JavaScript's Z form
    created_at: r.created_at.replace(/Z$/, '+00:00'),
    severity: r.severity,
    // the list cuts long events; the detailed view keeps them whole
    event: !detail && r.event.length > 255 ? `${r.event.slice(0, 251)}...` : r.event,
  };
  if (detail) {
    out.event_type = r.event_type;
    out.conductor = r.conductor;
    out.user = r.user;
  }
  out.links = selfAndBookmark(base, 'nodes', `${nodeUuid}/history/${r.uuid}`);
  return out;
};

const timelineSchema = {
  type: 'object',
  properties: {
    node_uuid: { type: 'string' },
    timeline: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          position: { type: 'integer', description: 'global log position (also the SSE event id)' },
          revision: { type: 'integer', description: "the event's revision in the node's stream" },
          type: { type: 'string', description: 'the event type (NodeCreated, ProvisionStateChanged, ...)' },
          actor: { type: 'string', description: 'the user, or conductor:<host>' },
          correlation_id: { type: 'string', description: 'the request id (Openstack-Request-Id) that caused it' },
          causation_id: { type: 'string' },
          time: { type: 'string', format: 'date-time' },
        },
      },
    },
  },
};

export const nodeHistoryRoutes = async (app: FastifyInstance, ctx: ResourceOptions): Promise<void> => {
  const { deps, config } = ctx;
  const lookup = nodeLookup(deps.readModels.nodes);
  const history = deps.readModels.history;

  const list = async (req: FastifyRequest, detailPath: boolean) => {
    requireVersion(req, 78, 'not-found');
    const query = queryOf(req);
    rejectUnexpected(query, ['detail', 'limit', 'marker']);
    const detail = detailPath || (booleanArg(query, 'detail') ?? false);
    const limit = validateLimit(integerArg(query, 'limit'), config.maxLimit);
    const marker = uuidArg(query, 'marker');
    const node = await lookup.resolve(req, lookup.identOf(req));
    const page = await history.page(node.uuid, marker === undefined ? { limit } : { limit, marker: canonicalUuid(marker) });
    if (E.isLeft(page)) throw fromDomainError(page.left);
    const items = page.right.map((r) => historyJson(req.baseUrl, node.uuid, r, detail));
    const next = nextUrl(req.baseUrl, `nodes/${node.uuid}/history`, items, limit, [['detail', detail || undefined]]);
    return envelope('history', items, next);
  };
  app.get('/v1/nodes/:node_ident/history', { schema: { tags, summary: "A node's history (≥1.78): oldest first, limit/marker, ?detail" } }, (req) => list(req, false));
  // python-ironicclient's `node history list --long` asks for /history/detail, which Ironic
  // routes to get_one("detail") and answers 404; we serve the detailed list so the CLI works
  app.get('/v1/nodes/:node_ident/history/detail', { schema: { tags, summary: "A node's detailed history (≥1.78), as python-ironicclient asks for it" } }, (req) => list(req, true));

  app.get('/v1/nodes/:node_ident/history/:event_uuid', { schema: { tags, summary: 'One history record (≥1.78), detailed' } }, async (req) => {
    requireVersion(req, 78, 'not-found');
    rejectUnexpected(queryOf(req), []);
    const node = await lookup.resolve(req, lookup.identOf(req));
    const id = (req.params as { event_uuid: string }).event_uuid;
    if (!isUuidLike(id)) throw clientError(`Expected UUID for event: ${id}`);
    const r = await history.get(node.uuid, canonicalUuid(id));
    if (!r) throw fromDomainError(domainError('NodeHistoryNotFound', `Node history record ${id} could not be found.`));
    return historyJson(req.baseUrl, node.uuid, r, true);
  });

  app.get(
    '/v1/nodes/:node_ident/timeline',
    {
      schema: {
        tags: ['audit'],
        summary: "ironlog extension: every event of a node's stream, with actor, correlation id and time (also after the node was deleted)",
        response: { 200: timelineSchema },
      },
    },
    async (req: FastifyRequest) => {
      rejectUnexpected(queryOf(req), []);
      const ident = (req.params as { node_ident: string }).node_ident;
      if (!isValidLogicalName(ident) && !isUuidLike(ident)) throw clientError(`Expected UUID or name for node_ident: ${ident}`);
      const uuid = await history.resolve(isUuidLike(ident) ? canonicalUuid(ident) : ident);
      if (!uuid) throw nodeNotFound(ident);
      const entries = await history.timeline(uuid);
      return {
        node_uuid: uuid,
        timeline: entries.map((e) => ({
          position: Number(e.position),
          revision: Number(e.revision),
          type: e.type,
          actor: e.actor,
          correlation_id: e.correlationId,
          causation_id: e.causationId,
          time: e.time,
        })),
      };
    },
  );
};
