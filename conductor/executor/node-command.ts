// The `node-command` action (conductor/README.md, "Node work actions"): the API hands the owner a
// node command exactly as the domain defines it (`{type, data: {uuid, at, ...}}`), as Ironic's
// API calls its conductor's RPC. The owner
//   1. checks what Ironic's conductor checks before anything is written (driver validation of
//      deploy, tear down, inspect, rescue, clean, power, boot mode and console requests);
//   2. records the command under the request's command id (a retry is a duplicate), fenced;
//   3. when the command starts work (a provision verb into a transient state, a power change,
//      a boot mode change, the console), reserves the node at its ring epoch, records what must
//      be known before answering (the plan of steps), and answers: the API's 202. The work then
//      runs in the background (provision.ts, power.ts, management.ts) and releases the node.
// Commands that start no work (maintenance, traits, VIFs...) are recorded and answered.

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { execute } from '../../command-handling/execute.ts';
import { firstError } from '../../domain/codecs.ts';
import { domainError, type DomainError } from '../../domain/errors.ts';
import { NodeCommandC, nodeCommandCodecs, nodeDecider, nodeErrors, type Node, type NodeCommand, type NodeEvent, type NodeState, type Step } from '../../domain/node/index.ts';
import type { PowerTarget } from '../../domain/power/states.ts';
import { failureText } from '../../drivers/base.ts';
import type { Driver } from '../../drivers/hardware-type.ts';
import type { NodeRequest } from '../protocol.ts';
import type { NodeWorkHandler, WorkContext, WorkOutcome } from '../work-server.ts';
import { guardFor } from '../fencing.ts';
import { placementOf } from '../node-index.ts';
import type { Executor } from './executor.ts';
import { bootModeOperation, consoleOperation } from './management.ts';
import { validatePowerRequest } from './power.ts';
import { powerOperation } from './power.ts';
import { operationFor, type Operation } from './provision.ts';
import { templateSteps, withTemplateSteps } from './deploy-templates.ts';
import { NodeWriter, type Envelope } from './node-writer.ts';

export const NODE_COMMAND_ACTION = 'node-command';
export const NodeCommandArgsC = t.type({ command: t.unknown });

/** NodeCommandC, by the command's type (one codec tried, not the union's thirty). */
const codecByType = new Map<string, t.Decoder<unknown, NodeCommand>>(nodeCommandCodecs.map((c) => [c.name, c as unknown as t.Decoder<unknown, NodeCommand>]));
const decodeCommand = (u: unknown) => {
  const type = typeof u === 'object' && u !== null ? (u as { type?: unknown }).type : undefined;
  const codec = typeof type === 'string' ? codecByType.get(type) : undefined;
  return codec ? codec.decode(u) : NodeCommandC.decode(u);
};

const STARTS_WORK: ReadonlySet<string> = new Set(['RequestProvisionAction', 'RequestPowerState', 'RequestBootMode', 'SetConsoleMode']);

const positionText = (p: bigint | undefined): string | null => (p === undefined ? null : p.toString());

/** validation reads nothing that a task's end would change: it never aborts */
const neverAborted = new AbortController().signal;

/** Ironic's synchronous checks in the conductor, before the transition is saved. */
const preValidate = async (driver: Driver, node: Node, command: NodeCommand): Promise<DomainError | undefined> => {
  const task = { node, signal: neverAborted };
  const check = async (ifaces: Array<keyof Driver & ('power' | 'deploy' | 'inspect' | 'rescue' | 'network' | 'management' | 'console')>, wrap: (e: string) => string) => {
    try {
      for (const i of ifaces) await driver[i].validate(task);
      return undefined;
    } catch (e) {
      return domainError('InvalidParameterValue', wrap(failureText(e)));
    }
  };
  switch (command.type) {
    case 'RequestProvisionAction':
      switch (command.data.verb) {
        case 'active':
        case 'deploy':
        case 'rebuild':
          return check(['power', 'deploy'], (e) => `RPC do_node_deploy failed to validate deploy or power info for node ${node.uuid}. Error: ${e}`);
        case 'deleted':
        case 'undeploy':
          return check(['power', 'deploy'], (e) => `RPC do_node_tear_down failed to validate deploy or power info. Error: ${e}`);
        case 'inspect':
          return check(['power', 'inspect'], (e) => `RPC inspect_hardware failed to validate inspection or power info. Error: ${e}`);
        case 'rescue':
        case 'unrescue':
          return check(['power', 'rescue'], (e) => `RPC do_node_${command.data.verb} failed to validate rescue or power info for node ${node.uuid}. Error: ${e}`);
        case 'clean':
          return check(['power', 'network'], (e) => `RPC do_node_clean failed to validate power info. Cannot clean node ${node.uuid}. Error: ${e}`);
        default:
          return undefined;
      }
    case 'RequestPowerState':
      return validatePowerRequest(driver, task, command.data.target);
    case 'RequestBootMode': {
      const bad = await check(['management'], (e) => e);
      if (bad) return bad;
      const mode = command.data.boot_mode;
      if (mode !== undefined && !driver.management.getSupportedBootModes(task).includes(mode)) {
        return domainError('UnsupportedDriverExtension', `Driver ${driver.hardwareType} does not support boot mode ${mode} on node ${node.uuid}.`);
      }
      return undefined;
    }
    case 'SetConsoleMode':
      return check(['console'], (e) => e);
    default:
      return undefined;
  }
};

/** The work a recorded command starts, given the node after it. */
const followUp = (ex: Executor, command: NodeCommand, before: Node | undefined, after: Node, fromTemplates: readonly Step[] = []): Operation | undefined => {
  switch (command.type) {
    case 'RequestProvisionAction': {
      const { uuid: _u, at: _a, ...asked } = command.data;
      const deploy_steps = withTemplateSteps(fromTemplates, asked.deploy_steps);
      const request = deploy_steps === undefined ? asked : { ...asked, deploy_steps };
      return operationFor(ex, after, request.verb === 'abort' ? 'abort' : undefined, request, before?.provision_state);
    }
    case 'RequestPowerState':
      return powerOperation(ex, command.data.target as PowerTarget, command.data.timeout);
    case 'RequestBootMode': {
      const { uuid: _u, at: _a, ...request } = command.data;
      return bootModeOperation(ex, request);
    }
    case 'SetConsoleMode':
      return before?.console_enabled === command.data.enabled ? undefined : consoleOperation(ex, command.data.enabled);
    default:
      return undefined;
  }
};

/** Is the command recorded already; else the node, its driver, and the command's events (or the refusal). */
const checkCommand = (ex: Executor) => async (
  writer: NodeWriter,
  commandId: string,
  command: NodeCommand,
): Promise<E.Either<DomainError, { before: Extract<NodeState, { status: 'present' }>; driver: Driver; events: NodeEvent[] }> | 'duplicate'> => {
  const recorded = await writer.isRecorded(commandId);
  const before = await writer.current();
  if (before.status !== 'present') return E.left(nodeErrors.nodeNotFound(writer.uuid));
  if (recorded) return 'duplicate';
  const driver = ex.driverOf(before.node);
  if (E.isLeft(driver)) return driver;
  const invalid = await preValidate(driver.right, before.node, command);
  if (invalid) return E.left(invalid);
  const decided = nodeDecider.decide(command, before);
  if (E.isLeft(decided)) return decided;
  return E.right({ before, driver: driver.right, events: decided.right });
};

/** A command that starts no work: recorded (with its claims, if any) and answered. */
const record = (ex: Executor, req: NodeRequest, ctx: WorkContext, command: NodeCommand) =>
  execute(
    ex.deps.store,
    'node',
    command.data.uuid,
    { commandId: req.commandId, actor: req.actor, ...(req.correlationId !== undefined ? { correlationId: req.correlationId } : {}), command },
    {
      guard: guardFor(ctx.fence, (s) => {
        const st = s as NodeState;
        return st.status === 'present' ? placementOf(st.node) : req.node;
      }),
    },
  );

export const nodeCommandHandler = (ex: Executor, onDuplicate: (uuid: string) => void): NodeWorkHandler => {
  const check = checkCommand(ex);
  return (req, ctx) => handleNodeCommand(ex, check, onDuplicate, req, ctx);
};

const handleNodeCommand = async (
  ex: Executor,
  check: ReturnType<typeof checkCommand>,
  onDuplicate: (uuid: string) => void,
  req: NodeRequest,
  ctx: WorkContext,
): Promise<E.Either<DomainError, WorkOutcome>> => {
  const args = NodeCommandArgsC.decode(req.args);
  if (E.isLeft(args)) return E.left(domainError('Invalid', 'A node-command request needs {command}.'));
  const decoded = decodeCommand(args.right.command);
  if (E.isLeft(decoded)) return E.left(domainError('Invalid', `Invalid node command: ${firstError(decoded.left)}`));
  const command = decoded.right;
  const uuid = req.node.uuid;
  if (command.data.uuid !== uuid) return E.left(domainError('Invalid', `The command is about node ${command.data.uuid}, not ${uuid}.`));

  if (!STARTS_WORK.has(command.type)) {
    const r = await record(ex, req, ctx, command);
    if (E.isLeft(r)) return r;
    return E.right({ result: { position: positionText(r.right.position) }, duplicate: r.right.duplicate });
  }

  // Ironic's exclusive lock: one task per node at a time
  if (ex.isBusy(uuid)) return E.left(ex.locked(uuid));
  ex.busy.add(uuid);
  let handedOver = false;
  try {
    // started from the conductor's node index (the node is folded there when owned here)
    const writer = new NodeWriter(ex.deps.store, uuid, ctx.fence, { hostname: ctx.writer.hostname, incarnation: ctx.writer.incarnation, epoch: ctx.ownership.epoch }, ex.deps.takeover().index);
    const lead: Envelope = {
      commandId: req.commandId,
      command,
      actor: req.actor,
      correlationId: req.correlationId ?? req.commandId,
      causationId: req.commandId,
    };
    // decided on the index's state; a refusal is checked again on the stream (the index may lag)
    let checked: E.Either<DomainError, { before: Extract<NodeState, { status: 'present' }>; driver: Driver; events: NodeEvent[] }> | 'duplicate';
    for (;;) {
      checked = await check(writer, req.commandId, command);
      if (checked === 'duplicate' || E.isRight(checked) || !writer.fromCache) break;
      await writer.reload();
    }
    if (checked === 'duplicate') {
      // a retry re-routed here: the command was recorded by a conductor that may have died before
      // starting its work; pickup starts it if nobody holds the node
      onDuplicate(uuid);
      return E.right({ result: { position: positionText(writer.position) }, duplicate: true });
    }
    if (E.isLeft(checked)) return checked;
    const { before, events } = checked.right;
    const after = events.reduce<NodeState>(nodeDecider.evolve, before);
    // the write that records the command starts from the same state: it takes this decision
    writer.decided(command, before, events, after);
    let fromTemplates: Step[] = [];
    if (command.type === 'RequestProvisionAction' && after.status === 'present' && after.node.provision_state === 'deploying') {
      const found = await templateSteps(ex.deps.store, checked.right.driver, after.node);
      if (E.isLeft(found)) return found;
      fromTemplates = found.right;
    }
    const op = after.status === 'present' ? followUp(ex, command, before.node, after.node, fromTemplates) : undefined;
    if (!op || after.status !== 'present') {
      const r = await writer.write(() => E.right([lead]), () => req.node);
      if (E.isLeft(r)) return r;
      return E.right({ result: { position: positionText(r.right.position) }, duplicate: r.right.duplicate });
    }
    const started = await ex.start(
      { node: after.node, fence: ctx.fence, writer: ctx.writer, epoch: ctx.ownership.epoch, opId: req.commandId, nodeWriter: writer, correlationId: lead.correlationId },
      op,
      lead,
    );
    if (E.isLeft(started)) return started;
    if (started.right.written.duplicate) {
      onDuplicate(uuid);
      return E.right({ result: { position: positionText(started.right.written.position) }, duplicate: true });
    }
    handedOver = true;
    return E.right({ result: { position: positionText(started.right.written.position) } });
  } finally {
    if (!handedOver) ex.busy.delete(uuid);
  }
};
