// The conductors over NATS (conductor/README.md): the API routes a node command to the node's
// owner on the hash ring with conductor/routing.ts (retries, re-routing, deadline → 503) and
// reads ownership and the served hardware types from a MembershipView.
//
// Protocol (action `node-command` on `ironlog.node.<owner>.<node uuid>`):
//   args   {command: <the domain's node command, {type, data: {uuid, at, ...}}>}
//   result {position: "<global log position of its last event>" | null}   (a string: JSON has no bigint)
// The receiving side is the conductor's (conductor/executor/node-command.ts): it validates with
// the driver, records the command fenced by the membership log, and starts the work.

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { nullable } from '../domain/codecs.ts';
import { liveMembers, type HardwareInterfaces } from '../domain/conductor/index.ts';
import { domainError } from '../domain/errors.ts';
import type { MembershipView } from '../conductor/membership-view.ts';
import type { NodeRouter } from '../conductor/routing.ts';
import type { Allocator } from './allocator.ts';
import type { Conductors, HardwareTypeInfo } from './deps.ts';
import { driverProperties } from './hardware.ts';

export const NODE_COMMAND_ACTION = 'node-command';
/** an agent's heartbeat, args {agent_url, agent_version?, agent_verify_ca?}, result as node-command's */
export const HEARTBEAT_ACTION = 'heartbeat';

export const NodeCommandResultC = t.type({ position: nullable(t.string) });

export interface NatsConductorsOptions {
  view: MembershipView;
  router: NodeRouter;
  /** the allocation process, run here until conductors take allocations over NATS */
  allocator: Allocator;
}

/**
 * Owners looked up once per node and ring: a lookup hashes the uuid (md5), and a detail list or
 * a render-cache key asks it for every node. The view's membership state is a new object after
 * every membership event, so a cache kept per state object cannot outlive a change of the ring.
 */
const cachedOwners = (view: MembershipView): ((node: Parameters<Conductors['ownerOf']>[0]) => string | null) => {
  let state: unknown;
  // by uuid (no key string to build per lookup); the placement it was computed for is kept with it
  let owners = new Map<string, { group: string; driver: string; owner: string | null }>();
  return (node) => {
    const current = view.state;
    if (current !== state || owners.size > 200_000) {
      state = current;
      owners = new Map();
    }
    const known = owners.get(node.uuid);
    if (known !== undefined && known.group === node.group && known.driver === node.driver) return known.owner;
    const owner = view.ownerOf(node) ?? null;
    owners.set(node.uuid, { group: node.group, driver: node.driver, owner });
    return owner;
  };
};

/** The served hardware types, computed once per membership state (every node create asks). */
const cachedHardwareTypes = (view: MembershipView, compute: () => ReadonlyMap<string, HardwareTypeInfo>): (() => ReadonlyMap<string, HardwareTypeInfo>) => {
  let state: unknown;
  let types: ReadonlyMap<string, HardwareTypeInfo> | undefined;
  return () => {
    if (types === undefined || view.state !== state) {
      state = view.state;
      types = compute();
    }
    return types;
  };
};

export const natsConductors = ({ view, router, allocator }: NatsConductorsOptions): Conductors => ({
  ownerOf: cachedOwners(view),

  hardwareTypes: cachedHardwareTypes(view, () => {
    const out = new Map<string, HardwareTypeInfo>();
    for (const m of liveMembers(view.state)) {
      for (const hw of m.hardwareTypes) {
        const cur = out.get(hw);
        const ifaces: HardwareInterfaces[string] = m.interfaces[hw] ?? {};
        if (!cur) out.set(hw, { name: hw, hosts: [m.hostname], interfaces: ifaces, properties: driverProperties[hw] ?? {} });
        else {
          cur.hosts.push(m.hostname);
          // conductors of one type may enable different implementations: the API shows them all
          const merged: HardwareInterfaces[string] = { ...cur.interfaces };
          for (const [iface, set] of Object.entries(ifaces)) {
            const prev = merged[iface];
            merged[iface] = prev ? { default: prev.default, enabled: [...new Set([...prev.enabled, ...set.enabled])] } : set;
          }
          cur.interfaces = merged;
        }
      }
    }
    return out;
  }),

  request: async (node, command, meta) => {
    const r = await router.request(node, NODE_COMMAND_ACTION, { command }, { commandId: meta.commandId, actor: meta.actor, correlationId: meta.correlationId });
    if (E.isLeft(r)) return r;
    const result = NodeCommandResultC.decode(r.right.result);
    if (E.isLeft(result)) return E.left(domainError('TemporaryFailure', `Conductor ${r.right.host} sent a malformed result.`));
    return E.right({ position: result.right.position === null ? undefined : BigInt(result.right.position) });
  },

  call: async (node, action, args, meta) =>
    E.map((r: { result: unknown }) => r.result)(
      await router.request(node, action, args, { commandId: meta.commandId, actor: meta.actor, correlationId: meta.correlationId }),
    ),

  callDriver: async (driver, action, args, meta) => {
    // Ironic routes driver work to any conductor with the driver, whatever its group: ask the
    // group of one that serves it (the default group first), whose conductors share a queue
    const serving = liveMembers(view.state).filter((m) => m.hardwareTypes.includes(driver));
    if (serving.length === 0) return E.left(domainError('NotFound', `Could not find the following driver(s) or hardware type(s): ${driver}.`));
    const group = serving.some((m) => m.group === '') ? '' : serving[0]!.group;
    return E.map((r: { result: unknown }) => r.result)(await router.requestAny(group, action, { ...args, driver }, { actor: meta.actor }));
  },

  heartbeat: async (node, heartbeat, meta) => {
    const r = await router.request(node, HEARTBEAT_ACTION, heartbeat, { commandId: meta.commandId, actor: meta.actor, correlationId: meta.correlationId });
    if (E.isLeft(r)) return r;
    const result = NodeCommandResultC.decode(r.right.result);
    if (E.isLeft(result)) return E.left(domainError('TemporaryFailure', `Conductor ${r.right.host} sent a malformed result.`));
    return E.right({ position: result.right.position === null ? undefined : BigInt(result.right.position) });
  },

  allocate: (uuid, meta) => allocator.allocate(uuid, meta),

  extraConductors: () => [],
});
