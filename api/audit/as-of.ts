// GET /v1/nodes/{node_ident}/as_of?position=N | ?time=ISO (ironlog extension): the node as it was,
// its events up to and including log position N (or recorded at or before the time) folded with
// the domain's own evolve, secrets masked. Read from the log, so any past state can be asked for.

import * as E from 'fp-ts/lib/Either.js';
import type { FastifyInstance } from 'fastify';
import { decodeStoredEvent, foldFor } from '../../domain/index.ts';
import type { NodeState } from '../../domain/node/evolve.ts';
import { streamId } from '../../domain/streams.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { maskDeep } from '../../publisher/wire.ts';
import { clientError } from '../http-errors.ts';
import { identParams, nodeIdentOf, nodeNotFound, parsePosition, queryOf, rejectUnexpected, resolveNodeIdent, single, type AuditOptions } from './params.ts';

const tags = ['audit'];
const asOfSchema = {
  tags,
  summary: "A node's state as of a log position or a time (ironlog extension)",
  description:
    "The node's events up to and including `position` (or recorded at or before `time`), folded as the domain folds them; " +
    'secrets shown as `******`. `status` is `absent` before the node was created and `deleted` after it was deleted.',
  params: identParams,
  querystring: {
    type: 'object',
    properties: {
      position: { type: 'string', description: 'a global log position (inclusive)' },
      time: { type: 'string', format: 'date-time', description: 'an ISO 8601 time (inclusive)' },
    },
  },
  response: {
    200: {
      type: 'object',
      additionalProperties: true,
      properties: {
        node_uuid: { type: 'string' },
        as_of: { type: 'object', additionalProperties: true },
        status: { type: 'string', enum: ['absent', 'present', 'deleted'] },
        revision: { type: 'integer', nullable: true, description: 'the last event applied' },
        position: { type: 'string', nullable: true },
        time: { type: 'string', nullable: true, description: 'when the last event applied was recorded' },
        node: { type: 'object', nullable: true, additionalProperties: true },
      },
    },
  },
};

export const asOfRoutes = async (app: FastifyInstance, o: AuditOptions): Promise<void> => {
  const mask = o.mask ?? maskDeep;

  app.get('/v1/nodes/:node_ident/as_of', { schema: asOfSchema }, async (req) => {
    const query = queryOf(req);
    rejectUnexpected(query, ['position', 'time']);
    const positionArg = single(query, 'position');
    const timeArg = single(query, 'time');
    if ((positionArg === undefined) === (timeArg === undefined)) throw clientError('Give exactly one of position and time.');
    let upTo: (e: RecordedEvent) => boolean;
    let asOf: Record<string, string>;
    if (positionArg !== undefined) {
      const p = parsePosition(positionArg, 'position');
      upTo = (e) => e.position <= p;
      asOf = { position: p.toString() };
    } else {
      const t = Date.parse(timeArg!);
      if (!/^\d{4}-\d{2}-\d{2}/.test(timeArg!) || Number.isNaN(t)) throw clientError(`Invalid time "${timeArg}": expected an ISO 8601 time.`);
      upTo = (e) => e.created.getTime() <= t;
      asOf = { time: new Date(t).toISOString() };
    }
    const uuid = await resolveNodeIdent(nodeIdentOf(req), o.resolveNode);
    const events = await o.store.readStream(streamId('node', uuid));
    if (events.length === 0) throw nodeNotFound(nodeIdentOf(req));
    const { initialState, evolve } = foldFor('node');
    let state = initialState();
    let last: RecordedEvent | undefined;
    for (const e of events) {
      if (!upTo(e)) break;
      const decoded = decodeStoredEvent(e);
      if (E.isLeft(decoded)) throw decoded.left;
      state = evolve(state, decoded.right);
      last = e;
    }
    const s = state as NodeState;
    return {
      node_uuid: uuid,
      as_of: asOf,
      status: s.status,
      revision: last ? Number(last.revision) : null,
      position: last ? last.position.toString() : null,
      time: last ? last.created.toISOString() : null,
      node: s.status === 'present' ? mask(s.node) : null,
    };
  });
};
