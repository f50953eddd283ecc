// Node and driver work beyond the node commands (conductor/README.md, "Node work actions"):
// indicators (Ironic's get_supported_indicators / get_indicator_state / set_indicator_state),
// driver-level vendor passthru (driver_vendor_passthru, get_driver_vendor_passthru_methods) and
// RAID logical disk properties (get_raid_logical_disk_properties). The checks and calls are
// plain functions over a driver, shared with the API's in-process conductor
// (api/local-conductor.ts); the handlers below wrap them for the NATS work server.
//
// Setting an indicator takes Ironic's exclusive lock: the node is reserved for the call, and
// what the driver reports to remember (driver_internal_info keys: the fake BMC's LEDs) is
// recorded together with the release, in one append, fenced like every task write.

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { type Dict, firstError, isPlainObject, partial } from '../../domain/codecs.ts';
import { domainError, type DomainError } from '../../domain/errors.ts';
import type { Node } from '../../domain/node/index.ts';
import { failureText, indicatorStates, type DriverPassthruMethod, type IndicatorState, type Task, type VendorInterface } from '../../drivers/base.ts';
import type { Driver, HardwareType } from '../../drivers/hardware-type.ts';
import type { AnyRequest, AnyWorkHandler, NodeWorkHandler, WorkOutcome } from '../work-server.ts';
import type { Executor } from './executor.ts';
import { asDomainError, exclusively } from './queries.ts';

const neverAborted = new AbortController().signal;
const readTask = (node: Node): Task => ({ node, signal: neverAborted });

const unsupported = (driver: string, extension: string): DomainError =>
  domainError('UnsupportedDriverExtension', `Driver ${driver} does not support ${extension} (disabled or not implemented).`);

export const driverNotFound = (name: string): DomainError => domainError('NotFound', `Could not find the following driver(s) or hardware type(s): ${name}.`);

// ---- indicators -------------------------------------------------------------------------------

export const IndicatorArgs = t.type({ component: t.string, indicator: t.string });
export const SetIndicatorArgs = t.type({ component: t.string, indicator: t.string, state: t.string });
export const SupportedIndicatorArgs = partial({ component: t.string });

export const supportedIndicators = async (driver: Driver, node: Node, component?: string): Promise<unknown> => {
  const m = driver.management;
  if (!m.getSupportedIndicators) throw unsupported(node.driver, 'get_supported_indicators');
  await m.validate(readTask(node));
  return m.getSupportedIndicators(readTask(node), component);
};

export const indicatorState = async (driver: Driver, node: Node, component: string, indicator: string): Promise<IndicatorState> => {
  const m = driver.management;
  if (!m.getIndicatorState) throw unsupported(node.driver, 'get_indicator_state');
  await m.validate(readTask(node));
  return m.getIndicatorState(readTask(node), component, indicator);
};

/**
 * What can be refused before the lock is taken (so a refusal writes nothing): the state's
 * spelling, and the indicator as the driver lists it (component, name, read-only, its states).
 */
export const checkIndicatorSet = async (driver: Driver, node: Node, component: string, indicator: string, state: string): Promise<void> => {
  const m = driver.management;
  if (!m.setIndicatorState || !m.getSupportedIndicators) throw unsupported(node.driver, 'set_indicator_state');
  if (!(indicatorStates as readonly string[]).includes(state)) {
    throw domainError('InvalidParameterValue', `Invalid indicator state ${state} specified; valid states are ${indicatorStates.join(', ')}.`);
  }
  await m.validate(readTask(node));
  const supported = await m.getSupportedIndicators(readTask(node), component);
  const c = supported[component];
  if (!c) throw domainError('InvalidParameterValue', `Invalid component ${component} specified.`);
  const info = c[indicator];
  if (!info) throw domainError('InvalidParameterValue', `Invalid indicator ${indicator} specified.`);
  if (info.readonly) throw domainError('InvalidParameterValue', `Indicator ${indicator} of component ${component} is read-only.`);
  if (!info.states.includes(state as IndicatorState)) {
    throw domainError('InvalidParameterValue', `Invalid state ${state} for indicator ${indicator} of component ${component}; it supports ${info.states.join(', ')}.`);
  }
};

/** Calls set_indicator_state (checked first); Right = driver_internal_info keys to record (maybe none). */
export const setIndicator = async (driver: Driver, task: Task, component: string, indicator: string, state: string): Promise<Dict | undefined> => {
  await checkIndicatorSet(driver, task.node, component, indicator, state);
  return driver.management.setIndicatorState!(task, component, indicator, state as IndicatorState);
};

// ---- driver vendor passthru -------------------------------------------------------------------

export const DriverArgs = t.type({ driver: t.string });
export const NodeVendorArgs = t.intersection([t.type({ method: t.string }), partial({ http_method: t.string, info: t.unknown })]);
export const DriverVendorArgs = t.intersection([t.type({ driver: t.string, method: t.string }), partial({ http_method: t.string, info: t.unknown })]);

/** The answer of a passthru call, as Ironic's RPC returns it. */
export interface PassthruReply {
  return: unknown;
  async: boolean;
  attach: boolean;
}

const vendorsOf = (hw: HardwareType): VendorInterface[] => hw.implementations.vendor.map(([, v]) => v);

/** get_driver_vendor_passthru_methods: the default vendor interface's driver routes. */
export const driverVendorMethods = (hw: HardwareType): Record<string, DriverPassthruMethod> => {
  const vendor = vendorsOf(hw)[0];
  if (!vendor) throw unsupported(hw.name, 'vendor interface');
  return { ...(vendor.driverRoutes?.() ?? {}) };
};

/**
 * driver_vendor_passthru: the first vendor interface of the hardware type with the method,
 * Ironic's checks in Ironic's order, then the call (in the background for an async method).
 */
export const driverVendorCall = async (
  hw: HardwareType,
  method: string,
  httpMethod: string,
  info: Dict,
  background: (work: () => Promise<unknown>) => void,
): Promise<PassthruReply> => {
  const vendors = vendorsOf(hw);
  if (vendors.length === 0) throw unsupported(hw.name, 'vendor interface');
  const vendor = vendors.find((v) => v.driverRoutes?.()[method] !== undefined);
  const route = vendor?.driverRoutes?.()[method];
  if (!vendor || !route || !vendor.driverCall) throw domainError('InvalidParameterValue', `No handler for method ${method}`);
  const http = httpMethod.toUpperCase();
  if (!route.http_methods.includes(http)) throw domainError('InvalidParameterValue', `The method ${method} does not support HTTP ${http}`);
  await vendor.driverValidate?.(method, info);
  const call = vendor.driverCall.bind(vendor);
  if (route.async) {
    background(() => call(method, http, info, neverAborted));
    return { return: null, async: true, attach: route.attach };
  }
  return { return: (await call(method, http, info, neverAborted)) ?? null, async: false, attach: route.attach };
};

/**
 * Node vendor passthru without Ironic's lock handling: the in-process conductor's version of
 * queries.ts `vendor_passthru` (same checks, same answer), for a conductor that keeps no tasks.
 */
export const nodeVendorCall = async (
  driver: Driver,
  node: Node,
  method: string,
  httpMethod: string,
  info: Dict,
  background: (work: () => Promise<unknown>) => void,
): Promise<PassthruReply> => {
  const route = driver.vendor.routes()[method];
  if (!route) throw domainError('InvalidParameterValue', `No handler for method ${method}`);
  const http = httpMethod.toUpperCase();
  if (!route.http_methods.includes(http)) throw domainError('InvalidParameterValue', `The method ${method} does not support HTTP ${http}`);
  await driver.vendor.validate(readTask(node), method, info);
  if (route.async) {
    background(() => driver.vendor.call(readTask(node), method, http, info));
    return { return: null, async: true, attach: route.attach };
  }
  return { return: (await driver.vendor.call(readTask(node), method, http, info)) ?? null, async: false, attach: route.attach };
};

// ---- RAID -------------------------------------------------------------------------------------

/** get_raid_logical_disk_properties: the first RAID interface that is not no-raid. */
export const raidLogicalDiskProperties = (hw: HardwareType): Record<string, string> => {
  for (const [, raid] of hw.implementations.raid) {
    const props = raid.getLogicalDiskProperties?.();
    if (props) return props;
  }
  throw unsupported(hw.name, 'raid');
};

// ---- the handlers -----------------------------------------------------------------------------

const decoded = <A>(codec: t.Decoder<unknown, A>, action: string, raw: unknown): E.Either<DomainError, A> =>
  E.mapLeft((errs: t.Errors) => domainError('InvalidParameterValue', `Invalid arguments for ${action}: ${firstError(errs)}`))(codec.decode(raw ?? {}));

const attempt = async <T>(f: () => Promise<T>): Promise<E.Either<DomainError, T>> => {
  try {
    return E.right(await f());
  } catch (e) {
    return E.left(asDomainError(e));
  }
};

/** indicators: read on the node as it is now (Ironic's shared lock), set under a reservation. */
export const indicatorHandlers = (ex: Executor): Record<string, NodeWorkHandler> => {
  const withNode =
    <A>(codec: t.Decoder<unknown, A>, f: (driver: Driver, node: Node, args: A) => Promise<unknown>): NodeWorkHandler =>
    async (req) => {
      const args = decoded(codec, req.action, req.args);
      if (E.isLeft(args)) return args;
      const node = await ex.currentNode(req.node.uuid, true);
      if (!node) return E.left(domainError('NodeNotFound', `Node ${req.node.uuid} could not be found.`));
      const driver = ex.driverOf(node);
      if (E.isLeft(driver)) return driver;
      return E.map((result: unknown): WorkOutcome => ({ result: result ?? null }))(await attempt(() => f(driver.right, node, args.right)));
    };

  const set: NodeWorkHandler = async (req, ctx) => {
    const args = decoded(SetIndicatorArgs, req.action, req.args);
    if (E.isLeft(args)) return args;
    const node = await ex.currentNode(req.node.uuid, true);
    if (!node) return E.left(domainError('NodeNotFound', `Node ${req.node.uuid} could not be found.`));
    const driver = ex.driverOf(node);
    if (E.isLeft(driver)) return driver;
    const { component, indicator, state } = args.right;
    const checked = await attempt(() => checkIndicatorSet(driver.right, node, component, indicator, state));
    if (E.isLeft(checked)) return checked;
    const done = await exclusively(
      ex,
      node,
      req,
      ctx,
      (task) => setIndicator(driver.right, task, component, indicator, state),
      (set) => (set && Object.keys(set).length > 0 ? [{ type: 'UpdateDriverInternalInfo', data: { set, unset: [] } }] : []),
    );
    if (E.isLeft(done)) return done;
    return E.right({ result: { position: done.right.position === undefined ? null : done.right.position.toString() } });
  };

  return {
    get_supported_indicators: withNode(SupportedIndicatorArgs, (driver, node, a) => supportedIndicators(driver, node, a.component)),
    get_indicator_state: withNode(IndicatorArgs, (driver, node, a) => indicatorState(driver, node, a.component, a.indicator)),
    set_indicator_state: set,
  };
};

/** Work about a hardware type, not a node: any conductor of the group that has the driver. */
export const driverHandlers = (ex: Executor): Record<string, AnyWorkHandler> => {
  const withType =
    <A extends { driver: string }>(codec: t.Decoder<unknown, A>, f: (hw: HardwareType, args: A) => Promise<unknown>): AnyWorkHandler =>
    async (req: AnyRequest) => {
      const args = decoded(codec, req.action, req.args);
      if (E.isLeft(args)) return args;
      const hw = ex.deps.hardwareTypes.get(args.right.driver);
      if (!hw) return E.left(driverNotFound(args.right.driver));
      return attempt(() => f(hw, args.right));
    };
  const failed = (method: string) => (e: unknown) => ex.log.warn({ method, err: failureText(e) }, 'driver vendor passthru method failed');
  return {
    driver_vendor_passthru_methods: withType(DriverArgs, async (hw) => driverVendorMethods(hw)),
    driver_vendor_passthru: withType(DriverVendorArgs, (hw, a) =>
      driverVendorCall(hw, a.method, a.http_method ?? 'POST', isPlainObject(a.info) ? a.info : {}, (work) => {
        void work().catch(failed(a.method));
      }),
    ),
    raid_logical_disk_properties: withType(DriverArgs, async (hw) => raidLogicalDiskProperties(hw)),
  };
};
