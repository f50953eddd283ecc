// What the API needs from the rest of ironlog. The API never touches the event store: it reads
// read models (projections/) and sends commands (command-handling/), then waits until the read
// models have applied its write before answering, so a GET right after a 2xx write sees it.
//
// Views use Ironic's field names (snake_case), so the API maps them onto the wire with no
// renaming. Timestamps are ISO 8601 strings in UTC.

import type { Either } from 'fp-ts/lib/Either.js';
import type { DomainError } from '../domain/errors.ts';

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

// ---- chassis -----------------------------------------------------------------------------------

export interface ChassisView {
  uuid: string;
  description: string | null;
  extra: Record<string, unknown>;
  created_at: string;
  updated_at: string | null;
}

export interface ChassisQueries {
  get(uuid: string): Promise<ChassisView | undefined>;
  list(options: ListOptions<Record<string, never>>): Promise<ListResult<ChassisView>>;
}

// ---- nodes -------------------------------------------------------------------------------------

export const interfaceNames = [
  'bios',
  'boot',
  'console',
  'deploy',
  'inspect',
  'management',
  'network',
  'power',
  'raid',
  'rescue',
  'storage',
  'vendor',
] as const;
export type InterfaceName = (typeof interfaceNames)[number];

/**
 * A node as the read model holds it. Secret values may be stored masked or encrypted: the API
 * masks them again on the way out, whatever they are.
 */
export interface NodeView {
  uuid: string;
  name: string | null;
  created_at: string;
  updated_at: string | null;
  driver: string;
  driver_info: Record<string, unknown>;
  driver_internal_info: Record<string, unknown>;
  instance_info: Record<string, unknown>;
  instance_uuid: string | null;
  extra: Record<string, unknown>;
  properties: Record<string, unknown>;
  chassis_uuid: string | null;
  power_state: string | null;
  target_power_state: string | null;
  provision_state: string;
  target_provision_state: string | null;
  provision_updated_at: string | null;
  last_error: string | null;
  maintenance: boolean;
  maintenance_reason: string | null;
  fault: string | null;
  reservation: string | null;
  console_enabled: boolean;
  clean_step: Record<string, unknown>;
  deploy_step: Record<string, unknown>;
  raid_config: Record<string, unknown>;
  target_raid_config: Record<string, unknown>;
  inspection_started_at: string | null;
  inspection_finished_at: string | null;
  bios_interface: string | null;
  boot_interface: string | null;
  console_interface: string | null;
  deploy_interface: string | null;
  inspect_interface: string | null;
  management_interface: string | null;
  network_interface: string | null;
  power_interface: string | null;
  raid_interface: string | null;
  rescue_interface: string | null;
  storage_interface: string | null;
  vendor_interface: string | null;
  resource_class: string | null;
  traits: string[];
  conductor_group: string;
  automated_clean: boolean | null;
  protected: boolean;
  protected_reason: string | null;
  owner: string | null;
  description: string | null;
  allocation_uuid: string | null;
  retired: boolean;
  retired_reason: string | null;
  lessee: string | null;
  network_data: Record<string, unknown>;
  boot_mode: string | null;
  secure_boot: boolean | null;
  shard: string | null;
}

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

export interface NodeQueries {
  get(uuid: string): Promise<NodeView | undefined>;
  getByName(name: string): Promise<NodeView | undefined>;
  list(options: ListOptions<NodeFilters>): Promise<ListResult<NodeView>>;
}

// ---- reading your writes -----------------------------------------------------------------------

export interface ReadModels {
  chassis: ChassisQueries;
  nodes: NodeQueries;
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

export interface ChassisFields {
  description: string | null;
  extra: Record<string, unknown>;
}

/** Writable node fields (reference §3.2), as the API has validated them. */
export type NodeWritable = Partial<
  Pick<
    NodeView,
    | 'name'
    | 'driver'
    | 'driver_info'
    | 'instance_info'
    | 'instance_uuid'
    | 'extra'
    | 'properties'
    | 'chassis_uuid'
    | 'maintenance'
    | 'resource_class'
    | 'conductor_group'
    | 'automated_clean'
    | 'protected'
    | 'protected_reason'
    | 'owner'
    | 'description'
    | 'retired'
    | 'retired_reason'
    | 'lessee'
    | 'network_data'
    | 'shard'
    | 'console_enabled'
    | 'boot_mode'
    | 'secure_boot'
    | `${InterfaceName}_interface`
  >
>;

export type ApiCommand =
  | { type: 'CreateChassis'; chassisUuid: string; fields: ChassisFields }
  | { type: 'UpdateChassis'; chassisUuid: string; fields: ChassisFields }
  | { type: 'DeleteChassis'; chassisUuid: string }
  | {
      type: 'CreateNode';
      nodeUuid: string;
      /** `enroll` (≥1.11) or `available` (older versions), decided by the API */
      initialProvisionState: 'enroll' | 'available';
      fields: NodeWritable & { driver: string };
    }
  | {
      type: 'UpdateNode';
      nodeUuid: string;
      /** only the fields the patch changed */
      changes: NodeWritable;
      /** ≥1.45, only with a driver change */
      resetInterfaces?: boolean;
    }
  | { type: 'DeleteNode'; nodeUuid: string };

export interface CommandDispatcher {
  /**
   * Decides and appends (or hands to the owning conductor), and returns the log position of the
   * last event written, or the DomainError the API answers with.
   */
  dispatch(command: ApiCommand, meta: CommandMeta): Promise<Either<DomainError, { position: bigint }>>;
}

/** The hash ring as the API sees it (reference §6.3): which conductor owns a node. */
export interface ConductorRing {
  /** the hostname owning the node, or null when no live conductor serves its driver/group */
  conductorFor(node: NodeView): string | null;
}

export interface ApiDeps {
  readModels: ReadModels;
  commands: CommandDispatcher;
  /** optional until the conductors land: without it `conductor` is null on every node */
  ring?: ConductorRing;
}
