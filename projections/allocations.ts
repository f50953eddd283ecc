// Allocations (§3.8): by uuid or name, by node; list with node/resource_class/state/owner filters.

import type Database from 'better-sqlite3';
import type * as E from 'fp-ts/lib/Either.js';
import { domainError, type DomainError } from '../domain/errors.ts';
import { crudBy, crudModel, crudSpec, getCrudByIdent, listCrud, type ListPage } from './crud-docs.ts';
import { eqFilters, type Collection, type PageQuery } from './paging.ts';

export const allocationsSpec = crudSpec({
  name: 'allocations',
  kind: 'allocation',
  table: 'allocations',
  columns: [
    { name: 'uuid' },
    { name: 'name', index: true },
    { name: 'node_uuid', index: true },
    { name: 'state', index: true },
    { name: 'last_error' },
    { name: 'resource_class' },
    { name: 'owner' },
    { name: 'created_at' },
    { name: 'updated_at' },
  ],
});

export const allocationsModel = crudModel(allocationsSpec);

const sortable = ['uuid', 'name', 'node_uuid', 'state', 'last_error', 'resource_class', 'owner', 'created_at', 'updated_at'];
const unsortable = ['extra', 'candidate_nodes', 'traits'];

export const allocationsCollection: Collection = {
  table: 'allocations',
  sortable,
  unsortable,
  fields: [...sortable, ...unsortable],
  markerNotFound: (m) => domainError('AllocationNotFound', `Allocation ${m} could not be found.`),
};

export interface AllocationFilters {
  node_uuid?: string;
  resource_class?: string;
  state?: string;
  owner?: string;
}

export const listAllocations = (db: Database.Database, f: AllocationFilters, q: PageQuery = {}): E.Either<DomainError, ListPage> =>
  listCrud(db, allocationsCollection, eqFilters({ node_uuid: f.node_uuid, resource_class: f.resource_class, state: f.state, owner: f.owner }), q);

export const getAllocation = (db: Database.Database, uuidOrName: string) => getCrudByIdent(db, 'allocations', uuidOrName);
export const allocationByNode = (db: Database.Database, nodeUuid: string) => crudBy(db, 'allocations', 'node_uuid', nodeUuid)[0];
export const allocationsInState = (db: Database.Database, state: string) => crudBy(db, 'allocations', 'state', state);
