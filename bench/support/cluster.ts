// A cluster for the conductor benchmarks: a private nats-server on a free port, a fresh data dir,
// real `ironlog conductor` processes (bin/ironlog.js) with the provisioning executor, and a client
// side (membership view, router, the node-command protocol) in this process. Everything started
// here is stopped by `dispose()`.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import type { NatsConnection } from 'nats';
import { handleCommand, loadAggregate } from '../../command-handling/handle.ts';
import { MembershipView } from '../../conductor/membership-view.ts';
import { connectNats } from '../../conductor/nats.ts';
import { nodeBinding } from '../../conductor/node-binding.ts';
import { NodeRouter } from '../../conductor/routing.ts';
import { NODE_COMMAND_ACTION } from '../../conductor/executor/index.ts';
import { liveMembers } from '../../domain/conductor/index.ts';
import type { Node, NodeCommand } from '../../domain/node/index.ts';
import { streamId } from '../../domain/streams.ts';
import { openEventStore } from '../../eventstore/open.ts';
import type { EventStore } from '../../eventstore/port.ts';
import { startNatsServer, type NatsServer } from '../../tests/support/nats.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ClusterOptions {
  hosts: string[];
  /** extra environment of every conductor */
  env?: Record<string, string>;
}

export class BenchCluster {
  readonly procs = new Map<string, ChildProcess>();
  private constructor(
    readonly nats: NatsServer,
    readonly dataDir: string,
    readonly store: EventStore,
    readonly nc: NatsConnection,
    readonly view: MembershipView,
    readonly router: NodeRouter,
    private readonly env: Record<string, string>,
  ) {}

  static async start(o: ClusterOptions): Promise<BenchCluster> {
    const nats = await startNatsServer();
    const dataDir = mkdtempSync(join(tmpdir(), 'ironlog-bench-'));
    const store = await openEventStore({ dataDir });
    const nc = await connectNats([nats.url], { name: 'bench' });
    const view = new MembershipView({ store, nc, pollIntervalMs: 100 });
    await view.start();
    const router = new NodeRouter({ nc, view, rpcTimeoutMs: 10_000, rpcDeadlineMs: 60_000 });
    const c = new BenchCluster(nats, dataDir, store, nc, view, router, { NATS_URL: nats.url, IRONLOG_DATA_DIR: dataDir, IRONLOG_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', ...o.env });
    for (const h of o.hosts) c.spawn(h);
    if (!(await view.waitFor((m) => o.hosts.every((h) => m.members[h] !== undefined), 60_000))) {
      await c.dispose();
      throw new Error('conductors did not register');
    }
    return c;
  }

  spawn(host: string): ChildProcess {
    // BENCH_CONDUCTOR_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the conductors
    const nodeArgs = (process.env.BENCH_CONDUCTOR_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    const child = spawn(process.execPath, [...nodeArgs, join(root, 'bin', 'ironlog.js'), 'conductor', '--host', host], {
      cwd: root,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', process.env.BENCH_VERBOSE ? 'inherit' : 'ignore', process.env.BENCH_VERBOSE ? 'inherit' : 'ignore'],
    });
    this.procs.set(host, child);
    process.once('exit', () => child.kill('SIGKILL'));
    return child;
  }

  async waitMembers(pred: (hosts: string[]) => boolean, ms = 60_000): Promise<void> {
    if (!(await this.view.waitFor((m) => pred(liveMembers(m).map((x) => x.hostname)), ms))) throw new Error('membership did not settle');
  }

  async kill(host: string): Promise<number> {
    const child = this.procs.get(host)!;
    const at = Date.now();
    child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
    this.procs.delete(host);
    return at;
  }

  placement(uuid: string) {
    return { uuid, group: '', driver: 'fake-hardware' };
  }

  async createNodes(count: number, initial: 'enroll' | 'available'): Promise<string[]> {
    const uuids: string[] = [];
    for (let i = 0; i < count; i++) {
      const uuid = randomUUID();
      const r = await handleCommand(nodeBinding, streamId('node', uuid), {
        commandId: randomUUID(),
        actor: 'bench',
        command: { type: 'CreateNode', data: { uuid, at: new Date().toISOString(), fields: { driver: 'fake-hardware' }, initial_provision_state: initial } },
      }, { store: this.store });
      if (E.isLeft(r)) throw new Error(r.left.message);
      uuids.push(uuid);
    }
    return uuids;
  }

  /** The API's PUT: a node command to its owner over NATS. */
  command(uuid: string, command: NodeCommand) {
    return this.router.request(this.placement(uuid), NODE_COMMAND_ACTION, { command }, { actor: 'bench' });
  }

  async node(uuid: string): Promise<Node> {
    const s = (await loadAggregate(this.store, nodeBinding, streamId('node', uuid))).state;
    if (s.status !== 'present') throw new Error(`node ${uuid} missing`);
    return s.node;
  }

  /**
   * CPU time (user + system, ms) used so far by the conductor processes, and by this process: on a
   * shared machine the CPU a command costs is steadier than the wall-clock rate.
   */
  cpuMs(): { conductors: number; bench: number } {
    let conductors = 0;
    for (const child of this.procs.values()) {
      try {
        // fields 14 and 15 of /proc/<pid>/stat (after the parenthesised command name): utime, stime in ticks
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        conductors += ((Number(f[11]) + Number(f[12])) * 1000) / 100;
      } catch {
        /* exited */
      }
    }
    const own = process.cpuUsage();
    return { conductors, bench: (own.user + own.system) / 1000 };
  }

  /** Stops everything; `kill`: SIGKILL the conductors (their running operations are abandoned). */
  async dispose(kill = false): Promise<void> {
    for (const child of this.procs.values()) {
      child.kill(kill ? 'SIGKILL' : 'SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
      clearTimeout(t);
    }
    this.view.stop();
    await this.nc.close();
    await this.store.close();
    await this.nats.dispose();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export const say = (line: string): void => void process.stderr.write(`${line}\n`);
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
