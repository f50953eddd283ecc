// GET /v1/nodes/{node_ident}/timeline (ironlog extension), read straight from the log, the
// source of truth: every event of the node's stream (`node-<uuid>`), oldest first, with type,
// revision, position, actor, correlation id, causation id, command id and time; paged with
// `limit` and `marker` (= the revision of the last entry seen); `include_data=true` adds each
// event's data, secrets masked.

import * as E from 'fp-ts/lib/Either.js';
import type { FastifyInstance } from 'fastify';
import { decodeStoredEvent } from '../../domain/index.ts';
import { EventMetadataC } from '../../domain/metadata.ts';
import { streamId } from '../../domain/streams.ts';
import { CorruptStoredEvent } from '../../eventstore/errors.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { maskDeep } from '../../publisher/wire.ts';
import { clientError } from '../http-errors.ts';
import { baseUrlOf, identParams, nodeIdentOf, nodeNotFound, queryOf, rejectUnexpected, resolveNodeIdent, single, type AuditOptions } from './params.ts';

export interface TimelineOptions extends AuditOptions {
  /** the largest page; default 1000 (Ironic's max_limit) */
  maxLimit?: number;
}

const tags = ['audit'];
const entrySchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string', description: 'event id' },
    type: { type: 'string' },
    revision: { type: 'integer', description: "0-based revision in the node's stream" },
    position: { type: 'string', description: 'global log position (decimal)' },
    actor: { type: 'string', description: 'the user, or `conductor:<host>`' },
    correlation_id: { type: 'string' },
    causation_id: { type: 'string' },
    command_id: { type: 'string', nullable: true },
    time: { type: 'string', format: 'date-time', description: 'when the command was decided' },
    recorded_at: { type: 'string', format: 'date-time', description: 'when the log recorded it' },
    data: { type: 'object', additionalProperties: true, description: 'with include_data=true; secrets masked' },
  },
};

const timelineSchema = {
  tags,
  summary: "A node's full event timeline (ironlog extension)",
  description: "Every event of the node's stream, oldest first, with actor, correlation and causation ids. Beside Ironic's `/history`.",
  params: identParams,
  querystring: {
    type: 'object',
    properties: {
      limit: { type: 'integer', minimum: 1 },
      marker: { type: 'integer', minimum: 0, description: 'revision of the last entry of the previous page' },
      include_data: { type: 'boolean', description: "add each event's data (secrets masked)" },
    },
  },
  response: {
    200: {
      type: 'object',
      additionalProperties: true,
      properties: {
        node_uuid: { type: 'string' },
        timeline: { type: 'array', items: entrySchema },
        next: { type: 'string', description: 'the next page, when there may be one' },
      },
    },
  },
};

const truthy = (v: string | undefined): boolean => {
  if (v === undefined) return false;
  const s = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off', ''].includes(s)) return false;
  throw clientError(`Invalid value for include_data: "${v}" is not a boolean.`);
};

const intArg = (raw: string | undefined, name: string, min: number): number | undefined => {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min) throw clientError(`Invalid value for ${name}: "${raw}" (an integer ≥ ${min} is expected).`);
  return Number(raw);
};

const decodeMetadata = (e: RecordedEvent) => {
  if (!EventMetadataC.is(e.metadata)) throw new CorruptStoredEvent(e.streamId, e.revision, 'metadata lacks correlationId, causationId, actor or timestamp');
  return e.metadata;
};

export const timelineRoutes = async (app: FastifyInstance, o: TimelineOptions): Promise<void> => {
  const mask = o.mask ?? maskDeep;
  const maxLimit = o.maxLimit ?? 1000;

  app.get('/v1/nodes/:node_ident/timeline', { schema: timelineSchema }, async (req) => {
    const query = queryOf(req);
    rejectUnexpected(query, ['limit', 'marker', 'include_data']);
    const limit = Math.min(intArg(single(query, 'limit'), 'limit', 1) ?? maxLimit, maxLimit);
    const marker = intArg(single(query, 'marker'), 'marker', 0);
    const withData = truthy(single(query, 'include_data'));
    const uuid = await resolveNodeIdent(nodeIdentOf(req), o.resolveNode);
    const stream = streamId('node', uuid);
    const events = await o.store.readStream(stream, { fromRevision: marker === undefined ? 'start' : BigInt(marker) + 1n, maxCount: limit });
    if (events.length === 0 && (marker === undefined || (await o.store.readStream(stream, { maxCount: 1 })).length === 0)) {
      throw nodeNotFound(nodeIdentOf(req));
    }
    const timeline = events.map((e) => {
      const m = decodeMetadata(e);
      const entry: Record<string, unknown> = {
        id: e.id,
        type: e.type,
        revision: Number(e.revision),
        position: e.position.toString(),
        actor: m.actor,
        correlation_id: m.correlationId,
        causation_id: m.causationId,
        command_id: m.commandId ?? null,
        time: m.timestamp,
        recorded_at: e.created.toISOString(),
      };
      if (withData) {
        const decoded = decodeStoredEvent(e);
        if (E.isLeft(decoded)) throw decoded.left;
        entry.data = mask(decoded.right.data);
      }
      return entry;
    });
    const body: Record<string, unknown> = { node_uuid: uuid, timeline };
    if (events.length === limit) {
      const last = events[events.length - 1]!.revision;
      body.next = `${baseUrlOf(req)}/v1/nodes/${uuid}/timeline?limit=${limit}&marker=${last}${withData ? '&include_data=true' : ''}`;
    }
    return body;
  });
};
