// Volume connectors and targets (/v1/volume/..., ≥1.32): by uuid, by node; lists with a node filter.

import type Database from 'better-sqlite3';
import type * as E from 'fp-ts/lib/Either.js';
import { domainError, type DomainError } from '../domain/errors.ts';
import { crudBy, crudModel, crudSpec, getCrud, listCrud, type ListPage } from './crud-docs.ts';
import { eqFilters, type Collection, type PageQuery } from './paging.ts';

export const volumeConnectorsSpec = crudSpec({
  name: 'volume_connectors',
  kind: 'volumeconnector',
  table: 'volume_connectors',
  columns: [
    { name: 'uuid' },
    { name: 'node_uuid', index: true },
    { name: 'type' },
    { name: 'connector_id', index: true },
    { name: 'created_at' },
    { name: 'updated_at' },
  ],
});

export const volumeTargetsSpec = crudSpec({
  name: 'volume_targets',
  kind: 'volumetarget',
  table: 'volume_targets',
  columns: [
    { name: 'uuid' },
    { name: 'node_uuid', index: true },
    { name: 'volume_type' },
    { name: 'volume_id', index: true },
    { name: 'boot_index', type: 'INTEGER' },
    { name: 'created_at' },
    { name: 'updated_at' },
  ],
});

export const volumeConnectorsModel = crudModel(volumeConnectorsSpec);
export const volumeTargetsModel = crudModel(volumeTargetsSpec);

const connectorSortable = ['uuid', 'node_uuid', 'type', 'connector_id', 'created_at', 'updated_at'];
const targetSortable = ['uuid', 'node_uuid', 'volume_type', 'volume_id', 'boot_index', 'created_at', 'updated_at'];

export const volumeConnectorsCollection: Collection = {
  table: 'volume_connectors',
  sortable: connectorSortable,
  unsortable: ['extra'],
  fields: [...connectorSortable, 'extra'],
  markerNotFound: (m) => domainError('VolumeConnectorNotFound', `Volume connector ${m} could not be found.`),
};

export const volumeTargetsCollection: Collection = {
  table: 'volume_targets',
  sortable: targetSortable,
  unsortable: ['extra', 'properties'],
  fields: [...targetSortable, 'extra', 'properties'],
  markerNotFound: (m) => domainError('VolumeTargetNotFound', `Volume target ${m} could not be found.`),
};

export const listVolumeConnectors = (db: Database.Database, f: { node_uuid?: string }, q: PageQuery = {}): E.Either<DomainError, ListPage> =>
  listCrud(db, volumeConnectorsCollection, eqFilters({ node_uuid: f.node_uuid }), q);
export const listVolumeTargets = (db: Database.Database, f: { node_uuid?: string }, q: PageQuery = {}): E.Either<DomainError, ListPage> =>
  listCrud(db, volumeTargetsCollection, eqFilters({ node_uuid: f.node_uuid }), q);

export const getVolumeConnector = (db: Database.Database, uuid: string) => getCrud(db, 'volume_connectors', uuid.toLowerCase());
export const getVolumeTarget = (db: Database.Database, uuid: string) => getCrud(db, 'volume_targets', uuid.toLowerCase());
export const volumeConnectorsByNode = (db: Database.Database, nodeUuid: string) => crudBy(db, 'volume_connectors', 'node_uuid', nodeUuid);
export const volumeTargetsByNode = (db: Database.Database, nodeUuid: string) => crudBy(db, 'volume_targets', 'node_uuid', nodeUuid);
