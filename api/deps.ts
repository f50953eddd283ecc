// What the API needs from the rest of ironlog. The API writes only through commands (the audit
// extensions read the log itself, through `store`):
// it reads read models (projections/), sends the domain's own commands (domain/*/commands.ts,
// `{type, data: {uuid, at, ...}}`) through the command handler or to the owning conductor, and
// then waits until the read models have applied its write before answering, so a GET right
// after a 2xx write sees it.
//
// Documents use Ironic's field names (snake_case), so the API maps them onto the wire with no
// renaming. Timestamps are ISO 8601 strings in UTC (`...+00:00`).

import type { EventStore } from '../eventstore/port.ts';
import type { Either } from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import type { AllocationFields } from '../domain/allocation/index.ts';
import type { ChassisFields } from '../domain/chassis/index.ts';
import type { HardwareInterfaces, NodePlacement } from '../domain/conductor/index.ts';
import type { Doc } from '../domain/crud.ts';
import type { DeployTemplateFields } from '../domain/deploytemplate/index.ts';
import type { DomainError } from '../domain/errors.ts';
import type { commandCodecs } from '../domain/index.ts';
import type { NodeCommand } from '../domain/node/commands.ts';
import { driverInterfaces, type Node } from '../domain/node/node.ts';
import type { PortFields } from '../domain/port/index.ts';
import type { PortgroupFields } from '../domain/portgroup/index.ts';
import type { SecretBox } from '../domain/secrets.ts';
import type { AggregateKind } from '../domain/streams.ts';
import type { VolumeConnectorFields } from '../domain/volumeconnector/index.ts';
import type { VolumeTargetFields } from '../domain/volumetarget/index.ts';

export type { NodePlacement } from '../domain/conductor/index.ts';

export type SortDir = 'asc' | 'desc';

export interface ListOptions<Filters> {
  /** > 0, already capped at max_limit */
  limit: number;
  /** UUID (or, for conductors, hostname) of the last item of the previous page */
  marker?: string;
  /** `id` = creation order; otherwise a field name the API has already checked */
  sortKey: string;
  sortDir: SortDir;
  filters: Filters;
}

/** A list either fails (an unknown marker: the resource's NotFound error) or returns one page. */
export type ListResult<T> = Either<DomainError, T[]>;

// ---- documents ---------------------------------------------------------------------------------

/** A node as the read model holds it: the domain's folded node. Secret values are sealed. */
export type NodeView = Node;

/**
 * The read-model revision a node was read at (its stream revision), attached by the read models
 * as a non-enumerable property: a copy made with `{...node}` does not carry it. Together with the
 * uuid it identifies the node's content, so the API can reuse what it rendered for it.
 */
export const NODE_REVISION: unique symbol = Symbol('ironlog.nodeRevision');
export const withRevision = <N extends object>(node: N, revision: number): N =>
  Object.defineProperty(node, NODE_REVISION, { value: revision, enumerable: false });
export const revisionOf = (node: object): number | undefined => (node as { [NODE_REVISION]?: number })[NODE_REVISION];
export type ChassisView = Doc<ChassisFields>;
export type PortView = Doc<PortFields>;
export type PortgroupView = Doc<PortgroupFields>;
export type AllocationView = Doc<AllocationFields>;
export type DeployTemplateView = Doc<DeployTemplateFields>;
export type VolumeConnectorView = Doc<VolumeConnectorFields>;
export type VolumeTargetView = Doc<VolumeTargetFields>;

/** the 12 driver interfaces, as the domain names them */
export const interfaceNames = driverInterfaces;
export type InterfaceName = (typeof interfaceNames)[number];

/** The node-list filters of reference §3.2, already parsed and version-checked. All AND-ed. */
export interface NodeFilters {
  associated?: boolean;
  maintenance?: boolean;
  retired?: boolean;
  provision_state?: string;
  driver?: string;
  resource_class?: string;
  fault?: string;
  /** lowercased */
  conductor_group?: string;
  owner?: string;
  lessee?: string;
  /** owner OR lessee */
  project?: string;
  description_contains?: string;
  instance_uuid?: string;
  chassis_uuid?: string;
  shard?: string[];
  sharded?: boolean;
}

/**
 * A node of a list page without its document: enough to find a render made before (uuid and
 * read-model revision). `node()` reads the document as it is now (with its revision attached;
 * another process writing the file may have moved it on, or deleted the node).
 */
export interface NodeRowView {
  uuid: string;
  revision: number;
  node(): NodeView | undefined;
}

export interface NodeQueries {
  get(uuid: string): Promise<NodeView | undefined>;
  getByName(name: string): Promise<NodeView | undefined>;
  list(options: ListOptions<NodeFilters>): Promise<ListResult<NodeView>>;
  /** list's page as rows whose documents are parsed on demand (full renders from the render cache); optional */
  listRows?(options: ListOptions<NodeFilters>): Promise<ListResult<NodeRowView>>;
  /** a live node by uuid as such a row (a show served from the render cache reads no document); optional */
  rowOf?(uuid: string): Promise<NodeRowView | undefined>;
}

/** One crud collection (ports, portgroups, ...): by uuid, optionally by name, and the list. */
export interface DocQueries<V, Filters> {
  get(uuid: string): Promise<V | undefined>;
  list(options: ListOptions<Filters>): Promise<ListResult<V>>;
}
export interface NamedDocQueries<V, Filters> extends DocQueries<V, Filters> {
  getByName(name: string): Promise<V | undefined>;
}

export interface PortFilters {
  node_uuid?: string;
  /** lowercased MAC */
  address?: string;
  portgroup_uuid?: string;
  shard?: string[];
}
export interface PortgroupFilters {
  node_uuid?: string;
  address?: string;
}
export interface AllocationFilters {
  node_uuid?: string;
  resource_class?: string;
  state?: string;
  owner?: string;
}
export interface NodeScopedFilters {
  node_uuid?: string;
}

/** GET /v1/conductors rows (reference §3.7). */
export interface ConductorView {
  hostname: string;
  conductor_group: string;
  alive: boolean;
  drivers: string[];
  created_at: string;
  updated_at: string | null;
}

export interface ConductorQueries {
  get(hostname: string): Promise<ConductorView | undefined>;
  list(options: ListOptions<Record<string, never>>): Promise<ListResult<ConductorView>>;
}

/** Ironic's node history record (§3.9). */
export interface HistoryRecord {
  uuid: string;
  created_at: string;
  severity: string;
  event: string;
  event_type: string;
  conductor: string | null;
  user: string | null;
}

/** Our timeline: every event of a node's stream. */
export interface TimelineEntry {
  position: bigint;
  revision: bigint;
  type: string;
  actor: string;
  correlationId: string;
  causationId: string;
  time: string;
}

export interface HistoryQueries {
  /** oldest first; marker = uuid of the last record of the previous page (unknown → Left) */
  page(nodeUuid: string, options: { limit: number; marker?: string }): Promise<Either<DomainError, HistoryRecord[]>>;
  get(nodeUuid: string, recordUuid: string): Promise<HistoryRecord | undefined>;
  /** every event of the node's stream, oldest first; nodes deleted since are still known */
  timeline(nodeUuid: string): Promise<TimelineEntry[]>;
  /** a node's uuid from its uuid or current or former name, also after it was deleted */
  resolve(ident: string): Promise<string | undefined>;
}

export interface ReadModels {
  nodes: NodeQueries;
  chassis: DocQueries<ChassisView, Record<string, never>>;
  ports: DocQueries<PortView, PortFilters>;
  portgroups: NamedDocQueries<PortgroupView, PortgroupFilters>;
  allocations: NamedDocQueries<AllocationView, AllocationFilters>;
  deployTemplates: NamedDocQueries<DeployTemplateView, Record<string, never>>;
  volumeConnectors: DocQueries<VolumeConnectorView, NodeScopedFilters>;
  volumeTargets: DocQueries<VolumeTargetView, NodeScopedFilters>;
  /** conductors recorded in the membership log (alive or not) */
  conductors: ConductorQueries;
  history: HistoryQueries;
  /** GET /v1/shards: nodes per shard, most first; no shard = "None" */
  shards(): Promise<Array<{ name: string; count: number }>>;
  /**
   * Resolves once every read model has applied the log up to and including `position`.
   * Rejects (any Error) when that takes longer than `timeoutMs`: the API answers 503.
   */
  waitForPosition(position: bigint, timeoutMs: number): Promise<void>;
}

// ---- commands ----------------------------------------------------------------------------------

export interface CommandMeta {
  /** the authenticated user (`noauth` without auth) */
  actor: string;
  /** the request id (`req-<uuid>`), which becomes the events' correlation id */
  correlationId: string;
  /** unique per command; a retried command is recognised by it */
  commandId: string;
}

/** The aggregate kinds the API writes (conductor membership is the conductors' own). */
export type WriteKind = Exclude<AggregateKind, 'conductor'>;
/** A kind's commands, exactly as the domain's codecs define them. */
export type CommandOf<K extends WriteKind> = t.TypeOf<(typeof commandCodecs)[K]>;

/** A command's outcome: the log position of its last event, undefined when nothing was written. */
export interface Written {
  position: bigint | undefined;
}

export interface CommandBus {
  /** Decides and appends (command-handling/execute.ts). */
  execute<K extends WriteKind>(kind: K, id: string, command: CommandOf<K>, meta: CommandMeta): Promise<Either<DomainError, Written>>;
}

// ---- conductors --------------------------------------------------------------------------------

/** A hardware type as the live conductors serve it (Ironic's conductor_hardware_interfaces). */
export interface HardwareTypeInfo {
  name: string;
  /** live conductors serving it */
  hosts: string[];
  /** interface type → enabled implementations and the default */
  interfaces: HardwareInterfaces[string];
  /** GET /v1/drivers/{name}/properties */
  properties: Record<string, string>;
}

/** What an agent's heartbeat tells its node's conductor (reference §7.2). */
export interface AgentHeartbeat {
  agent_url: string;
  agent_version?: string;
  agent_verify_ca?: string;
}

/**
 * The conductor layer as the API sees it. In Ironic the API sends node work to the owning
 * conductor over RPC; here over NATS (conductor/routing.ts), or, when no conductor client is
 * configured, to an in-process conductor (api/local-conductor.ts).
 */
export interface Conductors {
  /** the conductor owning the node on the hash ring, or null (no live conductor serves it) */
  ownerOf(node: NodePlacement): string | null;
  /** the hardware types served by live conductors, by name */
  hardwareTypes(): ReadonlyMap<string, HardwareTypeInfo>;
  /** runs a node command on the owning conductor (NoValidHost when there is none) */
  request(node: NodePlacement, command: NodeCommand, meta: CommandMeta): Promise<Either<DomainError, Written>>;
  /**
   * Node work that is not a recorded command (vendor passthru, indicators: conductor/README.md's
   * node work actions) on the owning conductor; Right is the action's JSON result.
   */
  call(node: NodePlacement, action: string, args: Record<string, unknown>, meta: CommandMeta): Promise<Either<DomainError, unknown>>;
  /**
   * Work about a hardware type, not a node (driver vendor passthru, RAID logical disk
   * properties), on any live conductor serving it (Ironic's get_topic_for_driver); `args` gets
   * `driver` added. Right is the action's JSON result.
   */
  callDriver(driver: string, action: string, args: Record<string, unknown>, meta: CommandMeta): Promise<Either<DomainError, unknown>>;
  /**
   * Ironic's heartbeat RPC: an agent's heartbeat (token already checked) to the node's owner, which
   * records it and continues a deploy/clean waiting for the agent. Absent: the API records it as
   * a `RecordAgentHeartbeat` node command (the in-process conductor drives no agent).
   */
  heartbeat?(node: NodePlacement, heartbeat: AgentHeartbeat, meta: CommandMeta): Promise<Either<DomainError, Written>>;
  /** Ironic's create_allocation RPC: start the allocation process of a new allocation */
  allocate(allocationUuid: string, meta: CommandMeta): Promise<Either<DomainError, Written>>;
  /** conductors this process runs that the membership log does not list (the in-process one) */
  extraConductors(): ConductorView[];
}

export interface ApiDeps {
  readModels: ReadModels;
  commands: CommandBus;
  conductors: Conductors;
  /** seals secret values (BMC passwords, configdrive, rescue password) before they enter a command */
  secrets: SecretBox;
  clock: () => Date;
  /** the event log itself, for the audit extensions (SSE stream, state as of a position) */
  store?: Pick<EventStore, 'readStream' | 'subscribeToAll'>;
}
