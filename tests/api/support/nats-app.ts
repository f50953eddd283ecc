// The API on the real stack with its node work going to real conductors over NATS: a private
// nats-server, one SQLite data dir, the API runtime in NATS mode (api/nats-conductors.ts), and
// `ironlog conductor` runs in this process (cli/conductor.ts with the provisioning executor and
// fake-hardware), which can be started and stopped (all of them stopped = no conductor alive).
// Also seeds nodes in any state as stored events, like support/app.ts.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { NatsConnection } from 'nats';
import { buildApp } from '../../../api/app.ts';
import { loadApiConfig } from '../../../api/config.ts';
import { startApiRuntime, type ApiRuntime } from '../../../api/runtime.ts';
import { run as runConductor, type ConductorRuntime } from '../../../cli/conductor.ts';
import { MembershipView } from '../../../conductor/membership-view.ts';
import { connectNats } from '../../../conductor/nats.ts';
import { NodeRouter } from '../../../conductor/routing.ts';
import { liveMembers } from '../../../domain/conductor/index.ts';
import type { Node } from '../../../domain/node/node.ts';
import type { SecretBox } from '../../../domain/secrets.ts';
import { SqliteEventStore } from '../../../eventstore/sqlite.ts';
import { createSecretBox } from '../../../secrets/secret-box.ts';
import { startNatsServer, type NatsServer } from '../../support/nats.ts';
import { nodeSeeder } from './seed.ts';

export interface NatsApp {
  app: FastifyInstance;
  store: SqliteEventStore;
  runtime: ApiRuntime;
  view: MembershipView;
  secrets: SecretBox;
  dataDir: string;
  /** http://127.0.0.1:<port> when started with `listen` (for separate processes such as the ramdisk agent) */
  apiUrl?: string;
  /** the API's own NATS connection (a test may spy on subjects with it) */
  nc: NatsConnection;
  /** starts `ironlog conductor --host <host>` in this process and waits until it is a live member */
  startConductor(host: string): Promise<void>;
  /** stops one conductor (clean shutdown: it leaves the ring); waits until the view has it gone */
  stopConductor(host: string): Promise<void>;
  /** waits until the API's view has exactly these live conductors */
  waitLive(hosts: string[], ms?: number): Promise<void>;
  call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, version?: string): Promise<{ status: number; body: any; raw: string; headers: Record<string, unknown> }>;
  /** appends a NodeCreated holding this node (any state), and waits for the read models */
  seedNode(fields: Partial<Node>): Promise<Node>;
  appendNodeEvents(uuid: string, events: Array<{ type: string; data: unknown }>): Promise<void>;
  count(): Promise<number>;
  caughtUp(): Promise<void>;
  close(): Promise<void>;
}

export interface NatsAppOptions {
  /** the secret key the API seals with; also set as IRONLOG_SECRET_KEY so in-process conductors open what it seals */
  secretKey?: Buffer;
  /** listen on a free loopback port (apiUrl), besides app.inject */
  listen?: boolean;
}

export const natsApp = async (env: Record<string, string> = {}, options: NatsAppOptions = {}): Promise<NatsApp> => {
  const nats: NatsServer = await startNatsServer();
  const dataDir = mkdtempSync(join(tmpdir(), 'ironlog-api-nats-'));
  Object.assign(process.env, {
    NATS_URL: nats.url,
    IRONLOG_DATA_DIR: dataDir,
    IRONLOG_HEARTBEAT_INTERVAL_MS: '200',
    IRONLOG_RPC_TIMEOUT_MS: '2000',
    IRONLOG_RPC_DEADLINE_MS: '4000',
    IRONLOG_LOG_LEVEL: 'silent',
    ...(options.secretKey ? { IRONLOG_SECRET_KEY: options.secretKey.toString('base64') } : {}),
    ...env,
  });
  const store = new SqliteEventStore({ path: join(dataDir, 'events.sqlite') });
  const nc: NatsConnection = await connectNats([nats.url], { name: 'api-nats-test' });
  const view = new MembershipView({ store, nc, pollIntervalMs: 100 });
  await view.start();
  const router = new NodeRouter({ nc, view, rpcTimeoutMs: Number(process.env.IRONLOG_RPC_TIMEOUT_MS), rpcDeadlineMs: Number(process.env.IRONLOG_RPC_DEADLINE_MS) });
  const secrets = createSecretBox(options.secretKey ?? randomBytes(32));
  const runtime = await startApiRuntime({ store, readModelsPath: join(dataDir, 'readmodels.sqlite'), secrets, nats: { view, router } });
  const app = buildApp(runtime.deps, loadApiConfig({ ...env, IRONLOG_DATA_DIR: dataDir, IRONLOG_AUTH_STRATEGY: 'noauth' }), { logger: false });
  let apiUrl: string | undefined;
  if (options.listen) {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    apiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  } else await app.ready();
  const running = new Map<string, { stop: () => void; exit: Promise<number> }>();

  const waitLive = async (hosts: string[], ms = 10_000) => {
    const want = [...hosts].sort().join(',');
    const ok = await view.waitFor((m) => liveMembers(m).map((x) => x.hostname).sort().join(',') === want, ms);
    if (!ok) throw new Error(`live conductors never became [${want}]`);
  };
  const { caughtUp, appendNodeEvents, seedNode } = nodeSeeder(store, runtime.deps.readModels);

  return {
    app,
    store,
    runtime,
    view,
    secrets,
    dataDir,
    ...(apiUrl !== undefined ? { apiUrl } : {}),
    nc,
    startConductor: async (host) => {
      let stop!: () => void;
      const until = new Promise<void>((r) => (stop = r));
      let started!: (rt: ConductorRuntime) => void;
      const up = new Promise<ConductorRuntime>((r) => (started = r));
      const exit = runConductor(['--host', host], { until, onStarted: (rt) => started(rt) });
      await Promise.race([up, exit.then((code) => Promise.reject(new Error(`conductor ${host} exited with ${code}`)))]);
      running.set(host, { stop, exit });
      if (!(await view.waitFor((m) => liveMembers(m).some((x) => x.hostname === host), 10_000))) throw new Error(`${host} never became live`);
    },
    stopConductor: async (host) => {
      const c = running.get(host);
      if (!c) return;
      running.delete(host);
      c.stop();
      await c.exit;
      if (!(await view.waitFor((m) => !liveMembers(m).some((x) => x.hostname === host), 10_000))) throw new Error(`${host} never left`);
    },
    waitLive,
    call: async (method, url, payload, version = 'latest') => {
      const r = await app.inject({
        method,
        url,
        headers: { host: 'h', 'x-openstack-ironic-api-version': version, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(payload === undefined ? {} : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
      });
      let body: unknown;
      try {
        body = r.body ? JSON.parse(r.body) : undefined;
      } catch {
        body = undefined;
      }
      return { status: r.statusCode, body, raw: r.body, headers: r.headers };
    },
    seedNode,
    appendNodeEvents,
    count: async () => (await store.readAll()).length,
    caughtUp,
    close: async () => {
      await app.close();
      for (const [, c] of running) c.stop();
      await Promise.allSettled([...running.values()].map((c) => c.exit));
      running.clear();
      await runtime.stop();
      view.stop();
      await nc.drain().catch(() => undefined);
      await store.close();
      await nats.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
};
