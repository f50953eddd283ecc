// The request shapes every CRUD resource shares with Ironic's: a show route's `?fields=`, a
// collection page's `next` link, and a create's 201 + Location.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { checkAllowSpecifyFields, nextUrl, queryOf, rejectUnexpected, stringListArg, type CommonListArgs } from '../collection.ts';

/** A show route takes no query but `fields`, and `fields` only from the version that knows it. */
export const showFields = (req: FastifyRequest): string[] | undefined => {
  const query = queryOf(req);
  rejectUnexpected(query, ['fields']);
  const fields = stringListArg(query, 'fields');
  checkAllowSpecifyFields(req, fields);
  return fields;
};

/**
 * The `next` link of a full page: the same sort, the same `fields`, and `detail` unless the page
 * came from the `/detail` path (which the link keeps instead).
 */
export const nextPage = (
  req: FastifyRequest,
  resource: string,
  detailPath: boolean,
  items: readonly Record<string, unknown>[],
  args: Pick<CommonListArgs, 'limit' | 'sortKey' | 'sortDir' | 'detail'>,
  fields: readonly string[] | undefined,
): string | undefined =>
  nextUrl(req.baseUrl, detailPath ? `${resource}/detail` : resource, items, args.limit, [
    ['sort_key', args.sortKey],
    ['sort_dir', args.sortDir],
    ['detail', detailPath ? undefined : args.detail],
    ['fields', fields],
  ]);

/** 201 Created, with the new item's URL as Location. */
export const created = (req: FastifyRequest, reply: FastifyReply, path: string, uuid: string): void => {
  reply.code(201).header('location', `${req.baseUrl}/v1/${path}/${uuid}`);
};
