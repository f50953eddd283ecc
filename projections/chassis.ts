// Chassis (§3.5): by uuid and the list; a chassis' nodes come from the nodes model
// (listNodes with chassis_uuid).

import type Database from 'better-sqlite3';
import type * as E from 'fp-ts/lib/Either.js';
import { domainError, type DomainError } from '../domain/errors.ts';
import { crudModel, crudSpec, getCrud, listCrud, type ListPage } from './crud-docs.ts';
import type { Collection, PageQuery } from './paging.ts';

export const chassisSpec = crudSpec({
  name: 'chassis',
  kind: 'chassis',
  table: 'chassis',
  columns: [{ name: 'uuid' }, { name: 'description' }, { name: 'created_at' }, { name: 'updated_at' }],
});

export const chassisModel = crudModel(chassisSpec);

const sortable = ['uuid', 'description', 'created_at', 'updated_at'];

export const chassisCollection: Collection = {
  table: 'chassis',
  sortable,
  unsortable: ['extra'],
  fields: [...sortable, 'extra'],
  markerNotFound: (m) => domainError('ChassisNotFound', `Chassis ${m} could not be found.`),
};

export const listChassis = (db: Database.Database, q: PageQuery = {}): E.Either<DomainError, ListPage> =>
  listCrud(db, chassisCollection, { sql: [], params: [] }, q);

export const getChassis = (db: Database.Database, uuid: string) => getCrud(db, 'chassis', uuid.toLowerCase());

export const chassisNodeCount = (db: Database.Database, uuid: string): number =>
  db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM nodes WHERE live = 1 AND chassis_uuid = ?').get(uuid)?.n ?? 0;
