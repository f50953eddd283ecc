// In-memory stand-ins for what api/deps.ts asks of the rest of ironlog: read models with the
// query API, and a command dispatcher that applies commands to the same maps and returns log
// positions. The read side can lag behind the write side (`lagMs`) to prove the API waits.

import * as E from 'fp-ts/lib/Either.js';
import { domainError, type DomainError } from '../../../domain/errors.ts';
import type {
  ApiCommand,
  ApiDeps,
  ChassisView,
  CommandMeta,
  ListOptions,
  ListResult,
  NodeFilters,
  NodeView,
} from '../../../api/deps.ts';

interface Stored<T> {
  seq: number;
  view: T;
}

const compare = (a: unknown, b: unknown): number => {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  return String(a) < String(b) ? -1 : 1;
};

const page = <T extends { uuid: string }>(
  rows: Stored<T>[],
  opts: ListOptions<unknown>,
  notFound: (m: string) => DomainError,
): ListResult<T> => {
  const key = opts.sortKey;
  const sorted = [...rows].sort((x, y) => {
    const c = key === 'id' ? x.seq - y.seq : compare((x.view as Record<string, unknown>)[key], (y.view as Record<string, unknown>)[key]) || x.seq - y.seq;
    return opts.sortDir === 'desc' ? -c : c;
  });
  let start = 0;
  if (opts.marker !== undefined) {
    const i = sorted.findIndex((r) => r.view.uuid === opts.marker);
    if (i < 0) return E.left(notFound(opts.marker));
    start = i + 1;
  }
  return E.right(sorted.slice(start, start + opts.limit).map((r) => structuredClone(r.view)));
};

export const defaultNode = (uuid: string, now: string): NodeView => ({
  uuid,
  name: null,
  created_at: now,
  updated_at: null,
  driver: 'fake-hardware',
  driver_info: {},
  driver_internal_info: {},
  instance_info: {},
  instance_uuid: null,
  extra: {},
  properties: {},
  chassis_uuid: null,
  power_state: null,
  target_power_state: null,
  provision_state: 'enroll',
  target_provision_state: null,
  provision_updated_at: null,
  last_error: null,
  maintenance: false,
  maintenance_reason: null,
  fault: null,
  reservation: null,
  console_enabled: false,
  clean_step: {},
  deploy_step: {},
  raid_config: {},
  target_raid_config: {},
  inspection_started_at: null,
  inspection_finished_at: null,
  bios_interface: null,
  boot_interface: null,
  console_interface: null,
  deploy_interface: null,
  inspect_interface: null,
  management_interface: null,
  network_interface: null,
  power_interface: null,
  raid_interface: null,
  rescue_interface: null,
  storage_interface: null,
  vendor_interface: null,
  resource_class: null,
  traits: [],
  conductor_group: '',
  automated_clean: null,
  protected: false,
  protected_reason: null,
  owner: null,
  description: null,
  allocation_uuid: null,
  retired: false,
  retired_reason: null,
  lessee: null,
  network_data: {},
  boot_mode: null,
  secure_boot: null,
  shard: null,
});

const fakeInterfaces = {
  bios_interface: 'fake',
  boot_interface: 'fake',
  console_interface: 'fake',
  deploy_interface: 'fake',
  inspect_interface: 'fake',
  management_interface: 'fake',
  network_interface: 'noop',
  power_interface: 'fake',
  raid_interface: 'fake',
  rescue_interface: 'fake',
  storage_interface: 'noop',
  vendor_interface: 'fake',
};

const matches = (n: NodeView, f: NodeFilters): boolean =>
  (f.associated === undefined || (n.instance_uuid !== null) === f.associated) &&
  (f.maintenance === undefined || n.maintenance === f.maintenance) &&
  (f.retired === undefined || n.retired === f.retired) &&
  (f.provision_state === undefined || n.provision_state === f.provision_state) &&
  (f.driver === undefined || n.driver === f.driver) &&
  (f.resource_class === undefined || n.resource_class === f.resource_class) &&
  (f.fault === undefined || n.fault === f.fault) &&
  (f.conductor_group === undefined || n.conductor_group === f.conductor_group) &&
  (f.owner === undefined || n.owner === f.owner) &&
  (f.lessee === undefined || n.lessee === f.lessee) &&
  (f.project === undefined || n.owner === f.project || n.lessee === f.project) &&
  (f.description_contains === undefined || (n.description ?? '').includes(f.description_contains)) &&
  (f.instance_uuid === undefined || n.instance_uuid === f.instance_uuid) &&
  (f.chassis_uuid === undefined || n.chassis_uuid === f.chassis_uuid) &&
  (f.shard === undefined || (n.shard !== null && f.shard.includes(n.shard))) &&
  (f.sharded === undefined || (n.shard !== null) === f.sharded);

export interface FakeOptions {
  /** the read side applies each write this long after it was dispatched */
  lagMs?: number;
  /** the known drivers (others → 400 NoValidHost) */
  drivers?: string[];
}

export interface Fakes {
  deps: ApiDeps;
  commands: Array<{ command: ApiCommand; meta: CommandMeta }>;
  /** seed state directly (no command) */
  putNode(view: NodeView): void;
  /** make the next dispatch fail with this error */
  failNext(e: DomainError): void;
}

export const makeFakes = (opts: FakeOptions = {}): Fakes => {
  const chassis = new Map<string, Stored<ChassisView>>();
  const nodes = new Map<string, Stored<NodeView>>();
  const commands: Fakes['commands'] = [];
  const drivers = opts.drivers ?? ['fake-hardware', 'ipmi', 'redfish'];
  let seq = 0;
  let position = 0n;
  let applied = 0n;
  let failure: DomainError | undefined;
  const waiters: Array<{ pos: bigint; resolve: () => void }> = [];
  const pending: Array<() => void> = [];

  const now = () => new Date().toISOString().replace('Z', '+00:00');

  const nodeByName = (name: string) => [...nodes.values()].find((r) => r.view.name === name);

  const decide = (command: ApiCommand): E.Either<DomainError, () => void> => {
    switch (command.type) {
      case 'CreateChassis':
        if (chassis.has(command.chassisUuid)) return E.left(domainError('Conflict', `A chassis with UUID ${command.chassisUuid} already exists.`));
        return E.right(() => {
          chassis.set(command.chassisUuid, { seq: ++seq, view: { uuid: command.chassisUuid, ...structuredClone(command.fields), created_at: now(), updated_at: null } });
        });
      case 'UpdateChassis': {
        const c = chassis.get(command.chassisUuid);
        if (!c) return E.left(domainError('ChassisNotFound', `Chassis ${command.chassisUuid} could not be found.`));
        return E.right(() => {
          c.view = { ...c.view, ...structuredClone(command.fields), updated_at: now() };
        });
      }
      case 'DeleteChassis':
        if (!chassis.has(command.chassisUuid)) return E.left(domainError('ChassisNotFound', `Chassis ${command.chassisUuid} could not be found.`));
        return E.right(() => void chassis.delete(command.chassisUuid));
      case 'CreateNode': {
        if (nodes.has(command.nodeUuid)) return E.left(domainError('NodeAlreadyExists', `A node with UUID ${command.nodeUuid} already exists.`));
        const f = command.fields;
        if (!drivers.includes(f.driver)) return E.left(domainError('NoValidHost', `No valid host was found. Reason: No conductor service registered which supports driver ${f.driver} for conductor group "${f.conductor_group ?? ''}".`));
        if (f.name && nodeByName(f.name)) return E.left(domainError('DuplicateName', `A node with name ${f.name} already exists.`));
        if (f.chassis_uuid && !chassis.has(f.chassis_uuid)) return E.left(domainError('ChassisNotFound', `Chassis ${f.chassis_uuid} could not be found.`));
        return E.right(() => {
          const v = { ...defaultNode(command.nodeUuid, now()), ...fakeInterfaces, ...structuredClone(f) } as NodeView;
          for (const [k, val] of Object.entries(fakeInterfaces)) if ((v as unknown as Record<string, unknown>)[k] == null) (v as unknown as Record<string, unknown>)[k] = val;
          v.provision_state = command.initialProvisionState;
          if (v.resource_class === undefined) v.resource_class = null;
          nodes.set(command.nodeUuid, { seq: ++seq, view: v });
        });
      }
      case 'UpdateNode': {
        const n = nodes.get(command.nodeUuid);
        if (!n) return E.left(domainError('NodeNotFound', `Node ${command.nodeUuid} could not be found.`));
        const c = command.changes;
        if (c.name) {
          const other = nodeByName(c.name);
          if (other && other.view.uuid !== command.nodeUuid) return E.left(domainError('DuplicateName', `A node with name ${c.name} already exists.`));
        }
        if (c.driver !== undefined && !drivers.includes(c.driver)) return E.left(domainError('NoValidHost', `No valid host was found. Reason: No conductor service registered which supports driver ${c.driver}.`));
        return E.right(() => {
          n.view = { ...n.view, ...structuredClone(c), updated_at: now() } as NodeView;
        });
      }
      case 'DeleteNode': {
        const n = nodes.get(command.nodeUuid);
        if (!n) return E.left(domainError('NodeNotFound', `Node ${command.nodeUuid} could not be found.`));
        return E.right(() => void nodes.delete(command.nodeUuid));
      }
    }
  };

  const applyUpTo = (pos: bigint) => {
    applied = pos;
    for (const w of [...waiters]) {
      if (w.pos <= applied) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };

  const deps: ApiDeps = {
    commands: {
      async dispatch(command, meta) {
        commands.push({ command, meta });
        if (failure) {
          const f = failure;
          failure = undefined;
          return E.left(f);
        }
        const d = decide(command);
        if (E.isLeft(d)) return d;
        const pos = ++position;
        const apply = () => {
          d.right();
          applyUpTo(pos);
        };
        if (opts.lagMs) {
          pending.push(apply);
          setTimeout(() => pending.shift()?.(), opts.lagMs);
        } else apply();
        return E.right({ position: pos });
      },
    },
    readModels: {
      chassis: {
        get: async (uuid) => structuredClone(chassis.get(uuid)?.view),
        list: async (o) => page([...chassis.values()], o, (m) => domainError('ChassisNotFound', `Chassis ${m} could not be found.`)),
      },
      nodes: {
        get: async (uuid) => structuredClone(nodes.get(uuid)?.view),
        getByName: async (name) => structuredClone(nodeByName(name)?.view),
        list: async (o) =>
          page(
            [...nodes.values()].filter((r) => matches(r.view, o.filters)),
            o,
            (m) => domainError('NodeNotFound', `Node ${m} could not be found.`),
          ),
      },
      waitForPosition: (pos, timeoutMs) =>
        new Promise<void>((resolve, reject) => {
          if (applied >= pos) return resolve();
          const timer = setTimeout(() => reject(new Error(`read model still before ${pos}`)), timeoutMs);
          waiters.push({ pos, resolve: () => (clearTimeout(timer), resolve()) });
        }),
    },
  };

  return {
    deps,
    commands,
    putNode: (view) => void nodes.set(view.uuid, { seq: ++seq, view }),
    failNext: (e) => {
      failure = e;
    },
  };
};
