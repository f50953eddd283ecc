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
import { liveMembers, type HardwareInterfaces } from '../domain/conductor/index.ts';
import { domainError } from '../domain/errors.ts';
import type { MembershipView } from '../conductor/membership-view.ts';
import type { NodeRouter } from '../conductor/routing.ts';
import type { Allocator } from './allocator.ts';
import type { Conductors, HardwareTypeInfo } from './deps.ts';
import { driverProperties } from './hardware.ts';

export const NODE_COMMAND_ACTION = 'node-command';

export const NodeCommandResultC = t.type({ position: t.union([t.string, t.null]) });

export interface NatsConductorsOptions {
  view: MembershipView;
  router: NodeRouter;
  /** the allocation process, run here until conductors take allocations over NATS */
  allocator: Allocator;
}

export const natsConductors = ({ view, router, allocator }: NatsConductorsOptions): Conductors => ({
  ownerOf: (node) => view.ownerOf(node) ?? null,

  hardwareTypes: () => {
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
  },

  request: async (node, command, meta) => {
    const r = await router.request(node, NODE_COMMAND_ACTION, { command }, { commandId: meta.commandId, actor: meta.actor, correlationId: meta.correlationId });
    if (E.isLeft(r)) return r;
    const result = NodeCommandResultC.decode(r.right.result);
    if (E.isLeft(result)) return E.left(domainError('TemporaryFailure', `Conductor ${r.right.host} sent a malformed result.`));
    return E.right({ position: result.right.position === null ? undefined : BigInt(result.right.position) });
  },

  allocate: (uuid, meta) => allocator.allocate(uuid, meta),

  extraConductors: () => [],
});
