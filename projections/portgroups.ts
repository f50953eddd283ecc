// Portgroups (§3.4): by uuid or name, by node, by address; list with node/address filters.

import type Database from 'better-sqlite3';
import type * as E from 'fp-ts/lib/Either.js';
import { domainError, type DomainError } from '../domain/errors.ts';
import { crudBy, crudModel, crudSpec, getCrudByIdent, listCrud, type ListPage } from './crud-docs.ts';
import { eqFilters, type Collection, type PageQuery } from './paging.ts';

export const portgroupsSpec = crudSpec({
  name: 'portgroups',
  kind: 'portgroup',
  table: 'portgroups',
  columns: [
    { name: 'uuid' },
    { name: 'name', index: true },
    { name: 'address', index: true },
    { name: 'node_uuid', index: true },
    { name: 'mode' },
    { name: 'standalone_ports_supported', type: 'INTEGER' },
    { name: 'created_at' },
    { name: 'updated_at' },
  ],
});

export const portgroupsModel = crudModel(portgroupsSpec);

const sortable = ['uuid', 'name', 'address', 'node_uuid', 'mode', 'standalone_ports_supported', 'created_at', 'updated_at'];
const unsortable = ['extra', 'internal_info', 'properties'];

export const portgroupsCollection: Collection = {
  table: 'portgroups',
  sortable,
  unsortable,
  fields: [...sortable, ...unsortable],
  markerNotFound: (m) => domainError('PortgroupNotFound', `Portgroup ${m} could not be found.`),
};

export const listPortgroups = (db: Database.Database, f: { node_uuid?: string; address?: string }, q: PageQuery = {}): E.Either<DomainError, ListPage> =>
  listCrud(db, portgroupsCollection, eqFilters({ node_uuid: f.node_uuid, address: f.address?.toLowerCase() }), q);

export const getPortgroup = (db: Database.Database, uuidOrName: string) => getCrudByIdent(db, 'portgroups', uuidOrName);
export const portgroupsByNode = (db: Database.Database, nodeUuid: string) => crudBy(db, 'portgroups', 'node_uuid', nodeUuid);
export const portgroupByAddress = (db: Database.Database, mac: string) => crudBy(db, 'portgroups', 'address', mac.toLowerCase())[0];
