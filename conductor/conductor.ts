// One conductor, assembled: its view of the ring, its membership (register, heartbeat, watch),
// the node work it serves, and a router to send work to other conductors.

import type { NatsConnection } from 'nats';
import type { HardwareInterfaces } from '../domain/conductor/index.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { ConductorConfig } from './config.ts';
import { fenceFor, type Fence } from './fencing.ts';
import { ConductorMembership } from './membership.ts';
import { MembershipView } from './membership-view.ts';
import { NodeRouter } from './routing.ts';
import { NodeWorkServer, type AnyWorkHandler, type NodeWorkHandler } from './work-server.ts';
import { silentLog, type Log } from './log.ts';

export interface ConductorDeps {
  store: EventStore;
  nc: NatsConnection;
  handlers: Readonly<Record<string, NodeWorkHandler>>;
  anyHandlers?: Readonly<Record<string, AnyWorkHandler>>;
  interfaces?: HardwareInterfaces;
  log?: Log;
}

export interface Conductor {
  readonly config: ConductorConfig;
  readonly view: MembershipView;
  readonly membership: ConductorMembership;
  readonly server: NodeWorkServer;
  readonly router: NodeRouter;
  /** a fence bound to the current run: take it when work starts, keep it for that work's appends */
  fenceForCurrentRun(): Fence;
  /** clean shutdown: stop taking work, finish what was taken, leave the ring */
  stop(options?: { leave: boolean }): Promise<void>;
}

/** Ironic's fake-hardware interfaces (reference §5.2): every interface type served by `fake`. */
export const fakeHardwareInterfaces: HardwareInterfaces = {
  'fake-hardware': Object.fromEntries(
    ['bios', 'boot', 'console', 'deploy', 'inspect', 'management', 'network', 'power', 'raid', 'rescue', 'storage', 'vendor'].map((i) => [
      i,
      { enabled: [i === 'network' ? 'noop' : 'fake'], default: i === 'network' ? 'noop' : 'fake' },
    ]),
  ),
};

export const startConductor = async (config: ConductorConfig, deps: ConductorDeps): Promise<Conductor> => {
  const log = deps.log ?? silentLog;
  const view = new MembershipView({ store: deps.store, nc: deps.nc, pollIntervalMs: config.heartbeatIntervalMs, partitionExponent: config.hashPartitionExponent, log });
  await view.start();
  const interfaces = deps.interfaces ?? Object.fromEntries(config.hardwareTypes.map((hw) => [hw, fakeHardwareInterfaces[hw] ?? {}]));
  const membership = new ConductorMembership({
    store: deps.store,
    nc: deps.nc,
    view,
    host: config.host,
    group: config.group,
    hardwareTypes: config.hardwareTypes,
    interfaces,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    heartbeatMisses: config.heartbeatMisses,
    log,
  });
  const server = new NodeWorkServer({ nc: deps.nc, view, host: config.host, writer: () => membership.writer, handlers: deps.handlers, anyHandlers: deps.anyHandlers, group: config.group, log });
  // take work only once registered, so a request never meets a conductor that the ring lacks
  await membership.start();
  server.start();
  const router = new NodeRouter({ nc: deps.nc, view, rpcTimeoutMs: config.rpcTimeoutMs, rpcDeadlineMs: config.rpcDeadlineMs, log });
  let stopping: Promise<void> | undefined;
  return {
    config,
    view,
    membership,
    server,
    router,
    fenceForCurrentRun: () => fenceFor(view, membership.writer),
    stop: (options = { leave: true }) =>
      (stopping ??= (async () => {
        await server.stop();
        await membership.stop(options);
        view.stop();
      })()),
  };
};
