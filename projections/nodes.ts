// The nodes read model: every node's folded state (domain/node/evolve.ts) with one column per
// scalar Ironic field, so the node list (reference §3.1/§3.2) runs as one SQL query: filters
// AND-ed, any sortable field as sort_key (ties by creation order, Ironic's "id"), marker = the
// uuid of the last node of the previous page, limit; then `fields` keeps only the asked keys.

import type Database from 'better-sqlite3';
import * as E from 'fp-ts/lib/Either.js';
import { domainError, type DomainError } from '../domain/errors.ts';
import type { NodeState } from '../domain/node/evolve.ts';
import type { Node } from '../domain/node/node.ts';
import { interfaceFields } from '../domain/node/node.ts';
import { isProvisionState } from '../domain/provision/states.ts';
import { docsModel, type ColumnSpec, type ColumnValue, type DocsSpec } from './docs.ts';
import { eqFilters, invalidParameter, pickFields, queryPage, queryPageRows, type Collection, type PageQuery, type Where } from './paging.ts';

type Scalar = string | boolean | null | undefined;

const present = (s: NodeState): Node | undefined => (s.status === 'present' ? s.node : undefined);
const bool = (v: boolean | null | undefined): number | null => (v === null || v === undefined ? null : v ? 1 : 0);

/** Scalar node fields: the sortable ones (§3.1: JSON and list fields are not sortable). */
export const sortableNodeFields = [
  'uuid',
  'name',
  'created_at',
  'updated_at',
  'driver',
  'instance_uuid',
  'chassis_uuid',
  'power_state',
  'target_power_state',
  'provision_state',
  'target_provision_state',
  'provision_updated_at',
  'last_error',
  'maintenance',
  'maintenance_reason',
  'fault',
  'reservation',
  'console_enabled',
  'inspection_started_at',
  'inspection_finished_at',
  ...interfaceFields,
  'resource_class',
  'conductor_group',
  'automated_clean',
  'protected',
  'protected_reason',
  'owner',
  'description',
  'allocation_uuid',
  'retired',
  'retired_reason',
  'lessee',
  'boot_mode',
  'secure_boot',
  'shard',
] as const satisfies readonly (keyof Node)[];
export type SortableNodeField = (typeof sortableNodeFields)[number];

/** JSON/list fields: refused as sort keys with 400 (§3.1). */
export const unsortableNodeFields = [
  'properties',
  'driver_info',
  'extra',
  'instance_info',
  'driver_internal_info',
  'clean_step',
  'deploy_step',
  'raid_config',
  'target_raid_config',
  'traits',
  'network_data',
] as const satisfies readonly (keyof Node)[];

/** Every field of the API node (`fields=` accepts these; `conductor` is computed from the ring). */
export const nodeApiFields: readonly string[] = [...sortableNodeFields, ...unsortableNodeFields, 'conductor'];

/** GET /v1/nodes without `fields` or `detail`. */
export const defaultNodeListFields = ['uuid', 'name', 'instance_uuid', 'maintenance', 'power_state', 'provision_state'] as const;

const booleanFields: ReadonlySet<string> = new Set(['maintenance', 'console_enabled', 'automated_clean', 'protected', 'retired', 'secure_boot']);

const columns: ColumnSpec<NodeState>[] = sortableNodeFields.map((f) => ({
  name: f,
  type: booleanFields.has(f) ? 'INTEGER' : 'TEXT',
  get: (s: NodeState): ColumnValue => {
    const n = present(s);
    if (!n) return null;
    const v = n[f] as Scalar;
    return booleanFields.has(f) ? bool(v as boolean | null) : ((v as string | null | undefined) ?? null);
  },
  index: f === 'name' || f === 'instance_uuid' || f === 'chassis_uuid' || f === 'provision_state',
}));

export const nodesSpec: DocsSpec<NodeState> = {
  name: 'nodes',
  kind: 'node',
  table: 'nodes',
  columns,
  exists: (s) => s.status === 'present',
};

export const nodesModel = docsModel(nodesSpec);

// ---- queries -----------------------------------------------------------------------------------

export const nodeFaults = ['power failure', 'clean failure', 'rescue abort failure'] as const;

export interface NodeFilters {
  associated?: boolean;
  maintenance?: boolean;
  retired?: boolean;
  provision_state?: string;
  driver?: string;
  resource_class?: string;
  fault?: string;
  conductor_group?: string;
  /** hostname; needs `conductorOf` (the API's hash ring) */
  conductor?: string;
  owner?: string;
  lessee?: string;
  /** owner OR lessee */
  project?: string;
  description_contains?: string;
  instance_uuid?: string;
  chassis_uuid?: string;
  shard?: readonly string[];
  sharded?: boolean;
}

export interface NodeListQuery extends NodeFilters, PageQuery {
  /** the conductor a node maps to (hash ring); used by the `conductor` filter and field */
  conductorOf?: (node: Node) => string | null;
}

export interface NodeListPage {
  /** full nodes, or only the `fields` asked for (`conductor` included when asked) */
  nodes: Record<string, unknown>[];
  /** set when the page is full (Ironic's `next`): the marker of the next page */
  nextMarker?: string;
}

const collection: Collection = {
  table: 'nodes',
  sortable: sortableNodeFields,
  unsortable: unsortableNodeFields,
  fields: nodeApiFields,
  markerNotFound: (m) => domainError('NodeNotFound', `Node ${m} could not be found.`),
};

export const validateNodeFilters = (q: NodeListQuery): DomainError | undefined => {
  if (q.provision_state !== undefined && !isProvisionState(q.provision_state)) {
    return invalidParameter(`Invalid provision_state value: "${q.provision_state}"`);
  }
  if (q.fault !== undefined && !(nodeFaults as readonly string[]).includes(q.fault)) {
    return invalidParameter(`Unknown fault: "${q.fault}". Valid faults are: ${nodeFaults.join(', ')}`);
  }
  if (q.conductor !== undefined && q.conductorOf === undefined) return invalidParameter('The conductor filter needs the hash ring');
  return undefined;
};

const likeEscape = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The SQL WHERE clause of the filters (all AND-ed), over the nodes table's columns. */
const whereOf = (f: NodeFilters): Where => {
  const w = eqFilters({
    maintenance: f.maintenance === undefined ? undefined : f.maintenance ? 1 : 0,
    retired: f.retired === undefined ? undefined : f.retired ? 1 : 0,
    provision_state: f.provision_state,
    driver: f.driver,
    resource_class: f.resource_class,
    fault: f.fault,
    conductor_group: f.conductor_group?.toLowerCase(),
    owner: f.owner,
    lessee: f.lessee,
    instance_uuid: f.instance_uuid,
    chassis_uuid: f.chassis_uuid,
  });
  if (f.associated !== undefined) w.sql.push(f.associated ? 'instance_uuid IS NOT NULL' : 'instance_uuid IS NULL');
  if (f.project !== undefined) {
    w.sql.push('(owner = ? OR lessee = ?)');
    w.params.push(f.project, f.project);
  }
  if (f.description_contains !== undefined) {
    w.sql.push("description LIKE ? ESCAPE '\\'");
    w.params.push(`%${likeEscape(f.description_contains)}%`);
  }
  if (f.shard !== undefined) {
    if (f.shard.length === 0) w.sql.push('0');
    else {
      w.sql.push(`shard IN (${f.shard.map(() => '?').join(', ')})`);
      w.params.push(...f.shard);
    }
  }
  if (f.sharded !== undefined) w.sql.push(f.sharded ? 'shard IS NOT NULL' : 'shard IS NULL');
  return w;
};

/** Ironic's node list (§3.2): filters AND-ed, then paging (paging.ts), then `fields`. */
export const listNodes = (db: Database.Database, q: NodeListQuery = {}): E.Either<DomainError, NodeListPage> => {
  const bad = validateNodeFilters(q);
  if (bad) return E.left(bad);
  const docs = queryPage(db, collection, whereOf(q), q);
  if (E.isLeft(docs)) return docs;
  let nodes = docs.right.map((d) => (JSON.parse(d) as { node: Node }).node);
  // Ironic filters by conductor after the query (the ring is not in the database): short pages
  if (q.conductor !== undefined) nodes = nodes.filter((n) => q.conductorOf!(n) === q.conductor);
  const conductorOf = q.conductorOf;
  const page: NodeListPage = {
    nodes: q.fields
      ? nodes.map((n) => pickFields(n as unknown as Record<string, unknown>, q.fields!, { conductor: () => (conductorOf ? conductorOf(n) : null) }))
      : (nodes as unknown as Record<string, unknown>[]),
  };
  if (q.limit !== undefined && nodes.length === q.limit && q.instance_uuid === undefined && nodes.length > 0) {
    page.nextMarker = nodes[nodes.length - 1].uuid;
  }
  return E.right(page);
};

/**
 * One node of a page without its document: what the API's render cache needs to find a full
 * render it made before (uuid and the row's revision: both stored before the document in the
 * row, so a page of them reads no document pages). The document is read (nodeDocAt) only for
 * renders the cache lacks: a list of 500 cached nodes reads no documents.
 */
export interface NodeRow {
  uuid: string;
  revision: number;
}

/**
 * listNodes' page (same filters, sorting, marker and limit, in one query) as rows without
 * documents, for a caller that renders whole nodes and keeps renders per revision. No `fields`,
 * no `conductor` filter (that needs the hash ring: use listNodes).
 */
export const listNodeRows = (db: Database.Database, q: Omit<NodeListQuery, 'fields' | 'conductor' | 'conductorOf'> = {}): E.Either<DomainError, NodeRow[]> => {
  const bad = validateNodeFilters(q);
  if (bad) return E.left(bad);
  return queryPageRows<NodeRow>(db, collection, whereOf(q), q, 'id AS uuid, revision');
};

const docStatements = new WeakMap<Database.Database, Database.Statement<[string], { revision: number; doc: string }>>();

/**
 * A live node's document and revision now (a row of listNodeRows, read later: with another
 * process writing the file the revision may have moved on since the page was read).
 */
export const nodeDocAt = (db: Database.Database, uuid: string): { revision: number; node: Node } | undefined => {
  let stmt = docStatements.get(db);
  if (!stmt) docStatements.set(db, (stmt = db.prepare<[string], { revision: number; doc: string }>('SELECT revision, doc FROM nodes WHERE id = ? AND live = 1')));
  const row = stmt.get(uuid);
  return row ? { revision: Number(row.revision), node: (JSON.parse(row.doc) as { node: Node }).node } : undefined;
};

const uuidLike = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One live node by uuid or name. */
export const getNode = (db: Database.Database, ident: string): Node | undefined => {
  const col = uuidLike.test(ident) ? 'id' : 'name';
  const row = db.prepare<[string], { doc: string }>(`SELECT doc FROM nodes WHERE ${col} = ? AND live = 1`).get(uuidLike.test(ident) ? ident.toLowerCase() : ident);
  return row ? (JSON.parse(row.doc) as { node: Node }).node : undefined;
};

/** Live nodes whose indexed column equals a value (e.g. instance_uuid, chassis_uuid), creation order. */
export const nodesBy = (db: Database.Database, column: 'instance_uuid' | 'chassis_uuid' | 'name' | 'provision_state', value: string): Node[] =>
  db
    .prepare<[string], { doc: string }>(`SELECT doc FROM nodes WHERE "${column}" = ? AND live = 1 ORDER BY seq`)
    .all(value)
    .map((r) => (JSON.parse(r.doc) as { node: Node }).node);

/** GET /v1/shards: nodes per shard, most first; nodes with no shard count as "None". */
export const shardCounts = (db: Database.Database): { name: string; count: number }[] =>
  db
    .prepare<[], { name: string | null; count: number }>('SELECT shard AS name, COUNT(*) AS count FROM nodes WHERE live = 1 GROUP BY shard ORDER BY count DESC, name')
    .all()
    .map((r) => ({ name: r.name ?? 'None', count: r.count }));
