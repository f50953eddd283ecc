// The in-process conductor's node and driver work beyond node commands (vendor passthru,
// indicators, RAID logical disk properties): the same driver calls and checks as the NATS
// conductors' handlers (conductor/executor/extensions.ts), over this build's drivers, with the
// node read from the read models. Setting an indicator records what the driver reports to keep
// (driver_internal_info) through the command handler, as the conductor's actor.

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { execute } from '../command-handling/execute.ts';
import { firstError, isPlainObject } from '../domain/codecs.ts';
import { domainError, type DomainError } from '../domain/errors.ts';
import type { Node } from '../domain/node/node.ts';
import type { EventStore } from '../eventstore/port.ts';
import { asDomainError } from '../conductor/executor/queries.ts';
import {
  driverNotFound,
  driverVendorCall,
  driverVendorMethods,
  IndicatorArgs,
  indicatorState,
  nodeVendorCall,
  NodeVendorArgs,
  raidLogicalDiskProperties,
  setIndicator,
  SetIndicatorArgs,
  supportedIndicators,
  SupportedIndicatorArgs,
} from '../conductor/executor/extensions.ts';
import { driverFor, type Driver, type HardwareType } from '../drivers/hardware-type.ts';
import { hardwareTypes as builtIn } from '../drivers/registry.ts';
import { isoTime } from './command-bus.ts';
import type { CommandMeta, NodePlacement, ReadModels } from './deps.ts';

export interface LocalExtensionsOptions {
  store: EventStore;
  readModels: ReadModels;
  /** the conductor's actor (`conductor:<host>`) */
  actor: string;
  clock: () => Date;
  /** hands async vendor methods to the conductor's background work */
  background: (work: () => Promise<void>) => void;
  hardwareTypes?: ReadonlyMap<string, HardwareType>;
}

type Outcome = E.Either<DomainError, unknown>;

const decoded = <A>(codec: t.Decoder<unknown, A>, action: string, raw: unknown): E.Either<DomainError, A> =>
  E.mapLeft((errs: t.Errors) => domainError('InvalidParameterValue', `Invalid arguments for ${action}: ${firstError(errs)}`))(codec.decode(raw));

const neverAborted = new AbortController().signal;

export const localExtensions = (o: LocalExtensionsOptions) => {
  const types = o.hardwareTypes ?? builtIn({ fake: { stepDelayMs: 0 } });
  const background = (work: () => Promise<unknown>) =>
    o.background(async () => {
      await work();
    });

  const withDriver = async (uuid: string, f: (driver: Driver, node: Node) => Promise<unknown>): Promise<Outcome> => {
    const node = await o.readModels.nodes.get(uuid);
    if (!node) return E.left(domainError('NodeNotFound', `Node ${uuid} could not be found.`));
    const hw = types.get(node.driver);
    if (!hw) return E.left(driverNotFound(node.driver));
    try {
      return E.right((await f(driverFor(hw, node), node)) ?? null);
    } catch (e) {
      return E.left(asDomainError(e));
    }
  };

  const call = async (node: NodePlacement, action: string, args: Record<string, unknown>, meta: CommandMeta): Promise<Outcome> => {
    switch (action) {
      case 'vendor_passthru_methods':
        return withDriver(node.uuid, async (d) => d.vendor.routes());
      case 'vendor_passthru': {
        const a = decoded(NodeVendorArgs, action, args);
        if (E.isLeft(a)) return a;
        const { method, http_method, info } = a.right;
        return withDriver(node.uuid, (d, n) => nodeVendorCall(d, n, method, http_method ?? 'POST', isPlainObject(info) ? info : {}, background));
      }
      case 'get_supported_indicators': {
        const a = decoded(SupportedIndicatorArgs, action, args);
        if (E.isLeft(a)) return a;
        return withDriver(node.uuid, (d, n) => supportedIndicators(d, n, a.right.component));
      }
      case 'get_indicator_state': {
        const a = decoded(IndicatorArgs, action, args);
        if (E.isLeft(a)) return a;
        return withDriver(node.uuid, (d, n) => indicatorState(d, n, a.right.component, a.right.indicator));
      }
      case 'set_indicator_state': {
        const a = decoded(SetIndicatorArgs, action, args);
        if (E.isLeft(a)) return a;
        const { component, indicator, state } = a.right;
        const set = await withDriver(node.uuid, (d, n) => setIndicator(d, { node: n, signal: neverAborted }, component, indicator, state));
        if (E.isLeft(set)) return set;
        const keys = isPlainObject(set.right) ? set.right : {};
        if (Object.keys(keys).length === 0) return E.right({ position: null });
        const r = await execute(
          o.store,
          'node',
          node.uuid,
          {
            commandId: meta.commandId,
            actor: o.actor,
            correlationId: meta.correlationId,
            causationId: meta.commandId,
            command: { type: 'UpdateDriverInternalInfo', data: { uuid: node.uuid, at: isoTime(o.clock()), set: keys, unset: [] } },
          },
          { now: o.clock },
        );
        return E.map((h: { position: bigint | undefined }) => ({ position: h.position === undefined ? null : h.position.toString() }))(r);
      }
      default:
        return E.left(domainError('InvalidParameterValue', `Unknown node action ${action}.`));
    }
  };

  const callDriver = async (driver: string, action: string, args: Record<string, unknown>): Promise<Outcome> => {
    const hw = types.get(driver);
    if (!hw) return E.left(driverNotFound(driver));
    try {
      switch (action) {
        case 'driver_vendor_passthru_methods':
          return E.right(driverVendorMethods(hw));
        case 'raid_logical_disk_properties':
          return E.right(raidLogicalDiskProperties(hw));
        case 'driver_vendor_passthru': {
          const a = decoded(NodeVendorArgs, action, args);
          if (E.isLeft(a)) return a;
          const { method, http_method, info } = a.right;
          return E.right(await driverVendorCall(hw, method, http_method ?? 'POST', isPlainObject(info) ? info : {}, background));
        }
        default:
          return E.left(domainError('InvalidParameterValue', `Unknown driver action ${action}.`));
      }
    } catch (e) {
      return E.left(asDomainError(e));
    }
  };

  return { call, callDriver };
};
