// Ports (§3.3): lookups by MAC address (the agent's /v1/lookup, uniqueness checks), by node and by
// portgroup, and the list with its filters (node, address, portgroup, shard) and paging.

import type Database from 'better-sqlite3';
import type * as E from 'fp-ts/lib/Either.js';
import { domainError, type DomainError } from '../domain/errors.ts';
import { crudBy, crudModel, crudSpec, getCrud, listCrud, type ListPage } from './crud-docs.ts';
import { eqFilters, type Collection, type PageQuery } from './paging.ts';

export const portsSpec = crudSpec({
  name: 'ports',
  kind: 'port',
  table: 'ports',
  columns: [
    { name: 'uuid' },
    // MACs are stored normalised (lowercase) by the domain
    { name: 'address', index: true },
    { name: 'node_uuid', index: true },
    { name: 'portgroup_uuid', index: true },
    { name: 'pxe_enabled', type: 'INTEGER' },
    { name: 'physical_network' },
    { name: 'is_smartnic', type: 'INTEGER' },
    { name: 'created_at' },
    { name: 'updated_at' },
  ],
});

export const portsModel = crudModel(portsSpec);

const sortable = ['uuid', 'address', 'node_uuid', 'portgroup_uuid', 'pxe_enabled', 'physical_network', 'is_smartnic', 'created_at', 'updated_at'];
const unsortable = ['extra', 'internal_info', 'local_link_connection'];

export const portsCollection: Collection = {
  table: 'ports',
  sortable,
  unsortable,
  fields: [...sortable, ...unsortable],
  markerNotFound: (m) => domainError('PortNotFound', `Port ${m} could not be found.`),
};

export interface PortFilters {
  node_uuid?: string;
  /** a MAC: normalised to lowercase */
  address?: string;
  portgroup_uuid?: string;
  /** ports of nodes in these shards */
  shard?: readonly string[];
}

export const listPorts = (db: Database.Database, f: PortFilters, q: PageQuery = {}): E.Either<DomainError, ListPage> => {
  const where = eqFilters({ node_uuid: f.node_uuid, address: f.address?.toLowerCase(), portgroup_uuid: f.portgroup_uuid });
  if (f.shard !== undefined) {
    where.sql.push(`node_uuid IN (SELECT id FROM nodes WHERE live = 1 AND shard IN (${f.shard.map(() => '?').join(', ') || 'NULL'}))`);
    where.params.push(...f.shard);
  }
  return listCrud(db, portsCollection, where, q);
};

export const getPort = (db: Database.Database, uuid: string) => getCrud(db, 'ports', uuid.toLowerCase());
export const portByAddress = (db: Database.Database, mac: string) => crudBy(db, 'ports', 'address', mac.toLowerCase())[0];
export const portsByNode = (db: Database.Database, nodeUuid: string) => crudBy(db, 'ports', 'node_uuid', nodeUuid);
export const portsByPortgroup = (db: Database.Database, portgroupUuid: string) => crudBy(db, 'ports', 'portgroup_uuid', portgroupUuid);
/** Nodes owning any of these MACs (the agent's lookup), in creation order of the ports. */
export const nodeUuidsByAddresses = (db: Database.Database, macs: readonly string[]): string[] => {
  if (macs.length === 0) return [];
  const rows = db
    .prepare<string[], { node_uuid: string }>(`SELECT DISTINCT node_uuid FROM ports WHERE live = 1 AND address IN (${macs.map(() => '?').join(', ')})`)
    .all(...macs.map((m) => m.toLowerCase()));
  return rows.map((r) => r.node_uuid);
};
