// Node work that is not a recorded command (conductor/README.md, "Node work actions"): driver
// validation, the boot device, NMI, the console's connection info and vendor passthru. Reads take
// Ironic's shared lock (no reservation); setting the boot device, injecting an NMI and vendor
// methods that need the exclusive lock reserve the node for the call and release it after.

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { type Dict, firstError, isPlainObject, partial } from '../../domain/codecs.ts';
import { domainError, isDomainError, type DomainError } from '../../domain/errors.ts';
import type { Node } from '../../domain/node/index.ts';
import { failureText, interfaceTypes, type Task } from '../../drivers/base.ts';
import type { Driver } from '../../drivers/hardware-type.ts';
import type { AnyWorkHandler, NodeWorkHandler, WorkContext, WorkOutcome } from '../work-server.ts';
import type { NodeRequest } from '../protocol.ts';
import type { Executor } from './executor.ts';
import type { NodeTask, TaskCommand } from './task.ts';

const neverAborted = new AbortController().signal;

type Query<A> = (ex: Executor, node: Node, driver: Driver, args: A, req: NodeRequest, ctx: WorkContext) => Promise<E.Either<DomainError, unknown>>;

/** a thrown driver failure as the API's error (Ironic answers a driver's failure with 400) */
export const asDomainError = (e: unknown): DomainError => (isDomainError(e) ? e : domainError('InvalidParameterValue', failureText(e)));

/** A node action with decoded args, on the node as it is now, with its driver. */
const nodeAction =
  <A>(ex: Executor, codec: t.Decoder<unknown, A>, q: Query<A>): NodeWorkHandler =>
  async (req, ctx) => {
    const args = codec.decode(req.args ?? {});
    if (E.isLeft(args)) return E.left(domainError('InvalidParameterValue', `Invalid arguments for ${req.action}: ${firstError(args.left)}`));
    const node = await ex.currentNode(req.node.uuid, true);
    if (!node) return E.left(domainError('NodeNotFound', `Node ${req.node.uuid} could not be found.`));
    const driver = ex.driverOf(node);
    if (E.isLeft(driver)) return driver;
    const r = await q(ex, node, driver.right, args.right, req, ctx).catch((e: unknown) => E.left(asDomainError(e)));
    return E.map((result: unknown): WorkOutcome => ({ result: result ?? null }))(r);
  };

/**
 * Ironic's exclusive lock for a synchronous call: reserve, call, release, answer. `recorded`: what
 * the call leaves on the node (its commands go into the release's append). `position`: where that
 * append landed, for the API's read-your-writes.
 */
export const exclusively = async <T>(
  ex: Executor,
  node: Node,
  req: NodeRequest,
  ctx: WorkContext,
  f: (task: NodeTask) => Promise<T>,
  recorded: (value: T) => TaskCommand[] = () => [],
): Promise<E.Either<DomainError, { value: T; position: bigint | undefined }>> => {
  const uuid = node.uuid;
  if (ex.isBusy(uuid)) return E.left(ex.locked(uuid));
  ex.busy.add(uuid);
  const takeover = ex.deps.takeover();
  const controller = takeover.track(uuid);
  try {
    const task = ex.newTask(
      { node, fence: ctx.fence, writer: ctx.writer, epoch: ctx.ownership.epoch, opId: req.commandId, ...(req.correlationId !== undefined ? { correlationId: req.correlationId } : {}) },
      controller.signal,
    );
    const reserved = await task.reserve();
    if (E.isLeft(reserved)) return reserved;
    let out: E.Either<DomainError, T>;
    try {
      out = E.right(await f(task));
    } catch (e) {
      out = E.left(asDomainError(e));
    }
    const written = await task.applyAll([...(E.isRight(out) ? recorded(out.right) : []), task.releaseCommand()]);
    if (E.isLeft(out)) return out;
    if (E.isLeft(written)) return written;
    return E.right({ value: out.right, position: task.position });
  } finally {
    takeover.untrack(uuid, controller);
    ex.busy.delete(uuid);
  }
};

const valueOf = <T>(r: E.Either<DomainError, { value: T }>): E.Either<DomainError, T> => E.map((x: { value: T }) => x.value)(r);

const readTask = (node: Node): Task => ({ node, signal: neverAborted });

// ---- validate (GET /v1/nodes/{node}/validate, reference §5.3) ---------------------------------------

const validate: Query<unknown> = async (_ex, node, driver) => {
  const out: Record<string, { result: boolean; reason?: string }> = {};
  for (const i of interfaceTypes) {
    if (i === 'vendor') continue;
    try {
      await driver[i].validate(readTask(node));
      out[i] = { result: true };
    } catch (e) {
      out[i] = { result: false, reason: failureText(e) };
    }
  }
  return E.right(out);
};

// ---- management -------------------------------------------------------------------------------------

const SetBootDeviceArgs = t.intersection([t.type({ boot_device: t.string }), partial({ persistent: t.boolean })]);

const getBootDevice: Query<unknown> = async (_ex, node, driver) => {
  await driver.management.validate(readTask(node));
  return E.right(await driver.management.getBootDevice(readTask(node)));
};

const supportedBootDevices: Query<unknown> = async (_ex, node, driver) =>
  E.right({ supported_boot_devices: [...driver.management.getSupportedBootDevices(readTask(node))] });

const setBootDevice: Query<t.TypeOf<typeof SetBootDeviceArgs>> = async (ex, node, driver, args, req, ctx) =>
  valueOf(
    await exclusively(ex, node, req, ctx, async (task) => {
      await driver.management.validate(task);
      await driver.management.setBootDevice(task, args.boot_device, args.persistent ?? false);
      return null;
    }),
  );

const injectNmi: Query<unknown> = async (ex, node, driver, _args, req, ctx) =>
  valueOf(
    await exclusively(ex, node, req, ctx, async (task) => {
      await driver.management.validate(task);
      await driver.management.injectNmi(task);
      return null;
    }),
  );

// ---- console ----------------------------------------------------------------------------------------

const getConsole: Query<unknown> = async (_ex, node, driver) => {
  if (!node.console_enabled) return E.left(domainError('NodeConsoleNotEnabled', `Console access is not enabled on node ${node.uuid}`));
  return E.right({ console_enabled: true, console_info: await driver.console.getConsole(readTask(node)) });
};

// ---- vendor passthru --------------------------------------------------------------------------------

const VendorArgs = t.intersection([t.type({ method: t.string }), partial({ http_method: t.string, info: t.unknown })]);

const vendorPassthru: Query<t.TypeOf<typeof VendorArgs>> = async (ex, node, driver, args, req, ctx) => {
  const routes = driver.vendor.routes();
  const route = routes[args.method];
  if (!route) return E.left(domainError('InvalidParameterValue', `No handler for method ${args.method}`));
  const http = (args.http_method ?? 'POST').toUpperCase();
  if (!route.http_methods.includes(http)) return E.left(domainError('InvalidParameterValue', `The method ${args.method} does not support HTTP ${http}`));
  const info: Dict = isPlainObject(args.info) ? args.info : {};
  await driver.vendor.validate(readTask(node), args.method, info);
  const reply = (value: unknown) => ({ return: value ?? null, async: route.async, attach: route.attach });
  if (!route.async) {
    if (!route.require_exclusive_lock) return E.right(reply(await driver.vendor.call(readTask(node), args.method, http, info)));
    return E.map(reply)(valueOf(await exclusively(ex, node, req, ctx, (task) => driver.vendor.call(task, args.method, http, info))));
  }
  const failed = (e: unknown) => ex.log.warn({ node: node.uuid, method: args.method, err: failureText(e) }, 'vendor passthru method failed');
  if (!route.require_exclusive_lock) {
    void driver.vendor.call(readTask(node), args.method, http, info).catch(failed);
    return E.right(reply(null));
  }
  if (ex.isBusy(node.uuid)) return E.left(ex.locked(node.uuid));
  ex.busy.add(node.uuid);
  const started = await ex.start({ node, fence: ctx.fence, writer: ctx.writer, epoch: ctx.ownership.epoch, opId: req.commandId }, {
    run: async (task) => {
      await driver.vendor.call(task, args.method, http, info).catch(failed);
      if (!task.signal.aborted) await task.release();
    },
  });
  return E.map(() => reply(null))(started);
};

const vendorMethods: Query<unknown> = async (_ex, _node, driver) => E.right(driver.vendor.routes());

export const queryHandlers = (ex: Executor): Record<string, NodeWorkHandler> => ({
  validate: nodeAction(ex, t.unknown, validate),
  get_boot_device: nodeAction(ex, t.unknown, getBootDevice),
  get_supported_boot_devices: nodeAction(ex, t.unknown, supportedBootDevices),
  set_boot_device: nodeAction(ex, SetBootDeviceArgs, setBootDevice),
  inject_nmi: nodeAction(ex, t.unknown, injectNmi),
  get_console: nodeAction(ex, t.unknown, getConsole),
  vendor_passthru: nodeAction(ex, VendorArgs, vendorPassthru),
  vendor_passthru_methods: nodeAction(ex, t.unknown, vendorMethods),
});

// ---- work for any conductor of the group (not about one node) ---------------------------------------

const DriverArgs = t.type({ driver: t.string });

/** driver_properties: every interface's get_properties merged (GET /v1/drivers/{name}/properties); the driver vendor passthru and RAID properties are in extensions.ts. */
export const anyHandlers = (ex: Executor): Record<string, AnyWorkHandler> => ({
  driver_properties: async (req) => {
    const args = DriverArgs.decode(req.args);
    if (E.isLeft(args)) return E.left(domainError('InvalidParameterValue', 'driver_properties needs {driver}.'));
    const hw = ex.deps.hardwareTypes.get(args.right.driver);
    if (!hw) return E.left(domainError('NotFound', `Could not find the following driver(s) or hardware type(s): ${args.right.driver}.`));
    const props: Record<string, string> = {};
    for (const i of interfaceTypes) {
      const [, impl] = hw.implementations[i][0] ?? [];
      if (impl) Object.assign(props, impl.getProperties());
    }
    return E.right(props);
  },
});
