// An ironlog for the ramdisk agent to talk to: a private nats-server, one SQLite data dir, the API
// runtime in NATS mode listening on a real port (the agent is a separate process), and
// `ironlog conductor`s (cli/conductor.ts with the provisioning executor) in this process. API and
// conductor share IRONLOG_SECRET_KEY, as a deployment does: the conductor opens the sealed agent
// token to call the agent. Also spawns agent processes (ramdisk-agent/main.ts) and keeps their logs.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { NatsConnection } from 'nats';
import { buildApp } from '../../../api/app.ts';
import { loadApiConfig } from '../../../api/config.ts';
import { startApiRuntime, type ApiRuntime } from '../../../api/runtime.ts';
import { run as runConductor } from '../../../cli/conductor.ts';
import { MembershipView } from '../../../conductor/membership-view.ts';
import { connectNats } from '../../../conductor/nats.ts';
import { NodeRouter } from '../../../conductor/routing.ts';
import { liveMembers } from '../../../domain/conductor/index.ts';
import type { SecretBox } from '../../../domain/secrets.ts';
import { SqliteEventStore } from '../../../eventstore/sqlite.ts';
import { createSecretBox } from '../../../secrets/secret-box.ts';
import { startNatsServer, type NatsServer } from '../../support/nats.ts';

const repo = join(import.meta.dirname, '..', '..', '..');

export interface AgentProcess {
  child: ChildProcess;
  /** every line it logged (JSON objects) */
  lines: Array<Record<string, unknown>>;
  /** resolves with its callback URL once it listens */
  callbackUrl: Promise<string>;
  stop(): Promise<void>;
}

export interface Reply {
  status: number;
  body: any;
  raw: string;
}

export interface AgentCluster {
  app: FastifyInstance;
  apiUrl: string;
  store: SqliteEventStore;
  secrets: SecretBox;
  dataDir: string;
  call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, version?: string): Promise<Reply>;
  /** polls the node until `until` holds (or throws with the last state after `ms`) */
  waitNode(uuid: string, until: (n: any) => boolean, ms?: number): Promise<any>;
  startAgent(args: string[]): AgentProcess;
  /** starts `ironlog conductor --host <host>` in this process; waits until it is live */
  startConductor(host: string): Promise<void>;
  /** clean shutdown of one conductor (it leaves the ring); waits until the view has it gone */
  stopConductor(host: string): Promise<void>;
  /** the live conductor owning a fake-hardware node of the default group, as the API routes */
  ownerOf(uuid: string): string | undefined;
  eventsOf(uuid: string): Promise<Array<{ type: string; data: any }>>;
  close(): Promise<void>;
}

export const agentCluster = async (env: Record<string, string> = {}): Promise<AgentCluster> => {
  const nats: NatsServer = await startNatsServer();
  const dataDir = mkdtempSync(join(tmpdir(), 'ironlog-agent-'));
  const key = randomBytes(32);
  Object.assign(process.env, {
    NATS_URL: nats.url,
    IRONLOG_DATA_DIR: dataDir,
    IRONLOG_SECRET_KEY: key.toString('base64'),
    IRONLOG_HEARTBEAT_INTERVAL_MS: '200',
    IRONLOG_RPC_TIMEOUT_MS: '3000',
    IRONLOG_RPC_DEADLINE_MS: '8000',
    IRONLOG_LOG_LEVEL: 'silent',
    IRONLOG_SYNC_POWER_STATE_INTERVAL_S: '0',
    ...env,
  });
  const store = new SqliteEventStore({ path: join(dataDir, 'events.sqlite') });
  const nc: NatsConnection = await connectNats([nats.url], { name: 'agent-test-api' });
  const view = new MembershipView({ store, nc, pollIntervalMs: 100 });
  await view.start();
  const router = new NodeRouter({ nc, view, rpcTimeoutMs: 3000, rpcDeadlineMs: 8000 });
  const secrets = createSecretBox(key);
  const runtime: ApiRuntime = await startApiRuntime({ store, readModelsPath: join(dataDir, 'readmodels.sqlite'), secrets, nats: { view, router } });
  const app = buildApp(runtime.deps, loadApiConfig({ ...process.env, IRONLOG_DATA_DIR: dataDir, IRONLOG_AUTH_STRATEGY: 'noauth' }), { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const apiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const conductors = new Map<string, { stop: () => void; exit: Promise<number> }>();
  const startConductor = async (host: string): Promise<void> => {
    let stop!: () => void;
    const until = new Promise<void>((r) => (stop = r));
    let started!: () => void;
    const up = new Promise<void>((r) => (started = r));
    const exit = runConductor(['--host', host], { until, onStarted: () => started() });
    await Promise.race([up, exit.then((code) => Promise.reject(new Error(`conductor ${host} exited with ${code}`)))]);
    conductors.set(host, { stop, exit });
    if (!(await view.waitFor((m) => liveMembers(m).some((x) => x.hostname === host), 10_000))) throw new Error(`${host} never became live`);
  };
  const stopConductor = async (host: string): Promise<void> => {
    const c = conductors.get(host);
    if (!c) return;
    conductors.delete(host);
    c.stop();
    await c.exit;
    if (!(await view.waitFor((m) => !liveMembers(m).some((x) => x.hostname === host), 10_000))) throw new Error(`${host} never left`);
  };
  await startConductor('agent-conductor');

  const agents: AgentProcess[] = [];
  const call = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, version = 'latest'): Promise<Reply> => {
    const r = await app.inject({
      method,
      url,
      headers: { host: 'h', 'x-openstack-ironic-api-version': version, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });
    let body: unknown;
    try {
      body = r.body ? JSON.parse(r.body) : undefined;
    } catch {
      body = undefined;
    }
    return { status: r.statusCode, body, raw: r.body };
  };

  return {
    app,
    apiUrl,
    store,
    secrets,
    dataDir,
    call,
    startConductor,
    stopConductor,
    ownerOf: (uuid) => view.ownerOf({ uuid, group: '', driver: 'fake-hardware' }) ?? undefined,
    waitNode: async (uuid, cond, ms = 30_000) => {
      const deadline = Date.now() + ms;
      let last: any;
      while (Date.now() < deadline) {
        const r = await call('GET', `/v1/nodes/${uuid}`);
        last = r.body;
        if (r.status === 200 && cond(last)) return last;
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error(`node ${uuid} never reached the expected state; last: ${JSON.stringify({ provision_state: last?.provision_state, target: last?.target_provision_state, last_error: last?.last_error, reservation: last?.reservation })}`);
    },
    startAgent: (args) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'ramdisk-agent', 'main.ts'), ...args], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
      const lines: Array<Record<string, unknown>> = [];
      let resolveUrl!: (u: string) => void;
      const callbackUrl = new Promise<string>((r) => (resolveUrl = r));
      let buffer = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          try {
            const obj = JSON.parse(line) as Record<string, unknown>;
            lines.push(obj);
            if (obj.msg === 'agent listening') resolveUrl(String(obj.callback_url));
          } catch {
            lines.push({ msg: 'raw', line });
          }
        }
      });
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      const p: AgentProcess = {
        child,
        lines,
        callbackUrl,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        },
      };
      agents.push(p);
      return p;
    },
    eventsOf: async (uuid) => (await store.readStream(`node-${uuid}`)).map((e) => ({ type: e.type, data: e.data as any })),
    close: async () => {
      await Promise.allSettled(agents.map((a) => a.stop()));
      await app.close();
      for (const host of [...conductors.keys()]) await stopConductor(host).catch(() => undefined);
      await runtime.stop();
      view.stop();
      await nc.drain().catch(() => undefined);
      await store.close();
      await nats.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
};
