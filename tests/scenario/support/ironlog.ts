// `ironlog start` (what `npm start` runs, with its node options) as a real child process for
// scenario tests and the API benchmark: its own data dir, a free API port, its own private
// nats-server (tests/support/nats.ts, so nothing depends on the machine's NATS), http_basic with
// the generated admin password unless noauth is asked for. `stop()` sends SIGTERM, waits, and removes everything it made.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startNatsServer, type NatsServer } from '../../support/nats.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Ironlog {
  /** http://127.0.0.1:PORT */
  readonly base: string;
  readonly port: number;
  readonly dataDir: string;
  readonly nats: NatsServer;
  /** the generated admin password (http_basic), or undefined (noauth) */
  readonly password: string | undefined;
  readonly child: ChildProcess;
  /** everything the process printed so far */
  output(): string;
  /** headers for fetch: auth (if any), JSON, the given microversion */
  headers(version?: string): Record<string, string>;
  /** GET/POST/... with those headers; the body parsed when it is JSON */
  call(method: string, path: string, body?: unknown, version?: string): Promise<{ status: number; body: any; raw: string; headers: Headers }>;
  /** pid of the start process and of every descendant (nats-server excluded: it is ours) */
  pids(): number[];
  stop(): Promise<void>;
}

export interface StartOptions {
  auth?: 'http_basic' | 'noauth';
  env?: Record<string, string>;
  /** extra node arguments (e.g. --cpu-prof) */
  nodeArgs?: string[];
  startTimeoutMs?: number;
}

/** Direct and indirect children of a pid, from /proc. */
export const descendants = (pid: number): number[] => {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(name), Number(rest[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parentOf) if (parent === p) { out.push(child); walk(child); }
  };
  walk(pid);
  return out;
};

/** VmRSS of a process in KiB (0 when it is gone). */
export const rssKiB = (pid: number): number => {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
};

/**
 * The node options `npm start` runs ironlog with (package.json `scripts.start`: `node <options>
 * --import tsx cli/main.ts start`), so what is tested and measured is what `npm start` runs.
 */
export const startNodeOptions = (): string[] => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.trim().split(/\s+/);
  const end = words.indexOf('--import');
  if (words[0] !== 'node' || end < 0) throw new Error(`package.json scripts.start is not "node [options] --import tsx ...": ${pkg.scripts.start}`);
  return words.slice(1, end);
};

export const startIronlog = async (o: StartOptions = {}): Promise<Ironlog> => {
  const nats = await startNatsServer();
  const dataDir = mkdtempSync(join(tmpdir(), 'ironlog-scenario-'));
  const port = await freePort();
  const auth = o.auth ?? 'http_basic';
  const child = spawn(process.execPath, [...startNodeOptions(), ...(o.nodeArgs ?? []), '--import', 'tsx', join(root, 'cli/main.ts'), 'start'], {
    cwd: root,
    env: {
      ...process.env,
      IRONLOG_DATA_DIR: dataDir,
      NATS_URL: nats.url,
      IRONLOG_API_PORT: String(port),
      IRONLOG_SECRET_KEY: '',
      IRONLOG_AUTH_STRATEGY: auth,
      IRONLOG_LOG_LEVEL: 'warn',
      IRONLOG_CONDUCTOR_HOST: 'scenario-conductor',
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const exited = await Promise.race([new Promise((r) => child.once('exit', () => r(true))), sleep(15_000).then(() => false)]);
      if (!exited) child.kill('SIGKILL');
    }
    await nats.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  };

  const base = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + (o.startTimeoutMs ?? 60_000);
    // with IRONLOG_LOG_LEVEL=warn the "is up" line is not printed: wait for the API to answer
    for (;;) {
      if (child.exitCode !== null) throw new Error(`ironlog start exited with ${child.exitCode}:\n${out}`);
      if (Date.now() > deadline) throw new Error(`ironlog start not up in time:\n${out}`);
      const up = await fetch(`${base}/v1`).then((r) => r.ok, () => false);
      if (up) break;
      await sleep(100);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const password = auth === 'http_basic' ? readFileSync(join(dataDir, 'admin-password'), 'utf8').trim() : undefined;
  const headers = (version = 'latest'): Record<string, string> => ({
    'content-type': 'application/json',
    'x-openstack-ironic-api-version': version,
    ...(password ? { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` } : {}),
  });
  return {
    base,
    port,
    dataDir,
    nats,
    password,
    child,
    output: () => out,
    headers,
    call: async (method, path, body, version) => {
      const r = await fetch(`${base}${path}`, { method, headers: headers(version), ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      const raw = await r.text();
      let parsed: unknown = undefined;
      try {
        parsed = raw ? JSON.parse(raw) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: r.status, body: parsed, raw, headers: r.headers };
    },
    pids: () => (child.pid === undefined ? [] : [child.pid, ...descendants(child.pid)]),
    stop,
  };
};
