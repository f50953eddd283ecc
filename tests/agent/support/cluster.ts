// An ironlog for the ramdisk agent to talk to (tests/api/support/nats-app.ts): a private nats-server, one SQLite data dir, the API
// runtime in NATS mode listening on a real port (the agent is a separate process), and
// `ironlog conductor`s (cli/conductor.ts with the provisioning executor) in this process. API and
// conductor share IRONLOG_SECRET_KEY, as a deployment does: the conductor opens the sealed agent
// token to call the agent. Also spawns agent processes (ramdisk-agent/main.ts) and keeps their logs.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { SecretBox } from '../../../domain/secrets.ts';
import type { SqliteEventStore } from '../../../eventstore/sqlite.ts';
import { natsApp } from '../../api/support/nats-app.ts';

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
  // API and conductors share one secret key, as a deployment does (the conductor opens the token)
  const na = await natsApp(
    { IRONLOG_RPC_TIMEOUT_MS: '3000', IRONLOG_RPC_DEADLINE_MS: '8000', IRONLOG_SYNC_POWER_STATE_INTERVAL_S: '0', ...env },
    { secretKey: randomBytes(32), listen: true },
  );
  const { app, store, secrets, dataDir, view, startConductor, stopConductor } = na;
  const apiUrl = na.apiUrl!;
  await startConductor('agent-conductor');

  const agents: AgentProcess[] = [];
  const call = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, version = 'latest'): Promise<Reply> => {
    const { status, body, raw } = await na.call(method, url, payload, version);
    return { status, body, raw };
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
      await na.close();
    },
  };
};
