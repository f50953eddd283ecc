// The API's read side over the real read models (projections/): a thin adapter from what the API
// asks (deps.ts ReadModels) to the projections' query functions on the read-model database.
// Reads are synchronous SQLite queries on the file the projector writes; waiting for a write's
// position is the projector's.

import type Database from 'better-sqlite3';
import * as E from 'fp-ts/lib/Either.js';
import { domainError } from '../domain/errors.ts';
import { allocationsCollection } from '../projections/allocations.ts';
import { getChassis, listChassis } from '../projections/chassis.ts';
import { getConductor, listConductors } from '../projections/conductors.ts';
import { getCrud, listCrud, type ListPage } from '../projections/crud-docs.ts';
import { listDeployTemplates } from '../projections/deploy-templates.ts';
import { historyRecord, nodeHistory, resolveHistoryNode, timeline } from '../projections/history.ts';
import { listNodeRows, listNodes, nodeDocAt, shardCounts, type NodeRow as StoredNodeRow } from '../projections/nodes.ts';
import { eqFilters, type PageQuery } from '../projections/paging.ts';
import { listPortgroups } from '../projections/portgroups.ts';
import { getPort, listPorts } from '../projections/ports.ts';
import { getVolumeConnector, getVolumeTarget, listVolumeConnectors, listVolumeTargets } from '../projections/volume.ts';
import { withRevision, type ConductorView, type ListOptions, type ListResult, type NodeRowView, type NodeView, type ReadModels } from './deps.ts';

const pageQuery = (o: ListOptions<unknown>): PageQuery => ({
  limit: o.limit,
  sort_key: o.sortKey,
  sort_dir: o.sortDir,
  ...(o.marker !== undefined ? { marker: o.marker } : {}),
});

const docs = <V>(page: E.Either<import('../domain/errors.ts').DomainError, ListPage>): ListResult<V> =>
  E.map((p: ListPage) => p.items as unknown as V[])(page);

const asDoc = <V>(d: Record<string, unknown> | undefined): V | undefined => d as V | undefined;

const uuidLike = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A named crud document by name only (the API resolves UUIDs itself). */
const byName = (db: Database.Database, table: string, name: string): Record<string, unknown> | undefined => {
  const row = db.prepare<[string], { doc: string }>(`SELECT doc FROM ${table} WHERE name = ? AND live = 1 ORDER BY seq LIMIT 1`).get(name);
  return row ? (JSON.parse(row.doc) as { doc: Record<string, unknown> }).doc : undefined;
};

export interface SqliteReadModelsOptions {
  db: Database.Database;
  /**
   * Another process writes the file: a page and its revisions are read in one transaction (one
   * snapshot). Not needed when this process projects: its synchronous reads on the projector's own
   * connection cannot interleave with its writes.
   */
  foreignWriter?: boolean;
  waitForPosition: (position: bigint, timeoutMs: number) => Promise<void>;
}

interface NodeRow {
  revision: number;
  doc: string;
}

/** A row of a full-node list page; its document is read only when asked for (a class: no closures per row). */
class ListedNode implements NodeRowView {
  constructor(
    readonly uuid: string,
    readonly revision: number,
    private readonly docOf: (uuid: string) => NodeView | undefined,
  ) {}

  node(): NodeView | undefined {
    return this.docOf(this.uuid);
  }
}

/** Nodes read with the revision of their row (deps.ts NODE_REVISION), so renders can be reused. */
const nodeQueries = (db: Database.Database, foreignWriter: boolean): ReadModels['nodes'] => {
  const byId = db.prepare<[string], NodeRow>('SELECT revision, doc FROM nodes WHERE id = ? AND live = 1');
  const byName = db.prepare<[string], NodeRow>('SELECT revision, doc FROM nodes WHERE name = ? AND live = 1');
  const revisions = db.prepare<[string], { id: string; revision: number }>('SELECT id, revision FROM nodes WHERE id IN (SELECT value FROM json_each(?))');
  const fromRow = (row: NodeRow | undefined): NodeView | undefined =>
    row ? withRevision((JSON.parse(row.doc) as { node: NodeView }).node, Number(row.revision)) : undefined;
  const pageWithRevisions = (q: Parameters<typeof listNodes>[1]) => {
    const page = listNodes(db, q);
    if (E.isRight(page) && page.right.nodes.length > 0) {
      const nodes = page.right.nodes as unknown as NodeView[];
      const revs = new Map(revisions.all(JSON.stringify(nodes.map((n) => n.uuid))).map((r) => [r.id, Number(r.revision)]));
      for (const n of nodes) {
        const rev = revs.get(n.uuid);
        if (rev !== undefined) withRevision(n, rev);
      }
    }
    return page;
  };
  const listWithRevisions = foreignWriter ? db.transaction(pageWithRevisions) : pageWithRevisions;
  const docOf = (uuid: string): NodeView | undefined => {
    const now = nodeDocAt(db, uuid);
    return now ? withRevision(now.node as unknown as NodeView, now.revision) : undefined;
  };
  const rowView = (r: StoredNodeRow): NodeRowView => new ListedNode(r.uuid, Number(r.revision), docOf);
  const revisionById = db.prepare<[string], { revision: number }>('SELECT revision FROM nodes WHERE id = ? AND live = 1');
  return {
    rowOf: async (uuid) => {
      if (!uuidLike.test(uuid)) return undefined;
      const id = uuid.toLowerCase();
      const r = revisionById.get(id);
      return r ? new ListedNode(id, Number(r.revision), docOf) : undefined;
    },
    listRows: async (o) => E.map((rows: StoredNodeRow[]) => rows.map(rowView))(listNodeRows(db, { ...pageQuery(o), ...o.filters })),
    get: async (uuid) => (uuidLike.test(uuid) ? fromRow(byId.get(uuid.toLowerCase())) : undefined),
    getByName: async (name) => fromRow(byName.get(name)),
    list: async (o) => {
      const page = listWithRevisions({ ...pageQuery(o), ...o.filters });
      return E.map((p: { nodes: Record<string, unknown>[] }) => p.nodes as unknown as NodeView[])(page);
    },
  };
};

export const sqliteReadModels = ({ db, waitForPosition, foreignWriter = false }: SqliteReadModelsOptions): ReadModels => ({
  nodes: nodeQueries(db, foreignWriter),
  chassis: {
    get: async (uuid) => asDoc(getChassis(db, uuid)),
    list: async (o) => docs(listChassis(db, pageQuery(o))),
  },
  ports: {
    get: async (uuid) => asDoc(getPort(db, uuid)),
    list: async (o) => docs(listPorts(db, o.filters, pageQuery(o))),
  },
  portgroups: {
    get: async (uuid) => asDoc(getCrud(db, 'portgroups', uuid.toLowerCase())),
    getByName: async (name) => asDoc(byName(db, 'portgroups', name)),
    list: async (o) => docs(listPortgroups(db, o.filters, pageQuery(o))),
  },
  allocations: {
    get: async (uuid) => asDoc(getCrud(db, 'allocations', uuid.toLowerCase())),
    getByName: async (name) => asDoc(byName(db, 'allocations', name)),
    list: async (o) => {
      const f = o.filters;
      return docs(listCrud(db, allocationsCollection, eqFilters({ node_uuid: f.node_uuid, resource_class: f.resource_class, state: f.state, owner: f.owner }), pageQuery(o)));
    },
  },
  deployTemplates: {
    get: async (uuid) => asDoc(getCrud(db, 'deploy_templates', uuid.toLowerCase())),
    getByName: async (name) => asDoc(byName(db, 'deploy_templates', name)),
    list: async (o) => docs(listDeployTemplates(db, pageQuery(o))),
  },
  volumeConnectors: {
    get: async (uuid) => asDoc(getVolumeConnector(db, uuid)),
    list: async (o) => docs(listVolumeConnectors(db, o.filters, pageQuery(o))),
  },
  volumeTargets: {
    get: async (uuid) => asDoc(getVolumeTarget(db, uuid)),
    list: async (o) => docs(listVolumeTargets(db, o.filters, pageQuery(o))),
  },
  conductors: {
    get: async (hostname) => getConductor(db, hostname) as ConductorView | undefined,
    list: async (o) => E.map((p: { conductors: Record<string, unknown>[] }) => p.conductors as unknown as ConductorView[])(listConductors(db, pageQuery(o))),
  },
  history: {
    page: async (nodeUuid, { limit, marker }) => {
      const r = nodeHistory(db, nodeUuid, marker === undefined ? { limit } : { limit, marker });
      if ('markerNotFound' in r) return E.left(domainError('NodeHistoryNotFound', `Node history record ${r.markerNotFound} could not be found.`));
      return E.right(r.records);
    },
    get: async (nodeUuid, uuid) => historyRecord(db, nodeUuid, uuid),
    timeline: async (nodeUuid) => timeline(db, nodeUuid),
    resolve: async (ident) => resolveHistoryNode(db, ident),
  },
  shards: async () => shardCounts(db),
  waitForPosition,
});
