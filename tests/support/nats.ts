// A private nats-server for a test or a benchmark: its own free port, its own JetStream store in a
// temp dir, stopped (and its dir removed) at the end. `restart()` brings it back on the same port
// and store so clients can prove they reconnect.
//
// Script use (benches, manual runs): `node --import tsx tests/support/nats.ts` starts one, prints
// `nats_url: nats://127.0.0.1:PORT` on stdout and keeps it up until SIGINT/SIGTERM.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const natsServerBinary = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  readonly pid: () => number | undefined;
  /** stops the server (SIGTERM, then SIGKILL after 5 s); the store dir is kept for restart() */
  stop(): Promise<void>;
  /** starts it again on the same port and store dir */
  restart(): Promise<void>;
  /** stops it and removes its store dir */
  dispose(): Promise<void>;
}

export interface StartNatsOptions {
  port?: number;
  jetstream?: boolean;
  /** ms to wait for the server to accept connections; default 10 s */
  startTimeoutMs?: number;
  /** pass nats-server's stdout/stderr through (debugging) */
  verbose?: boolean;
}

/** A port that was free a moment ago (bind to 0, read it, release it). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** True once the server speaks NATS (sends its INFO line) on the port. */
const probe = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const sock = tcpConnect({ host: '127.0.0.1', port });
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => finish(false));
    sock.on('data', (buf) => finish(buf.toString('latin1').startsWith('INFO ')));
    sock.on('error', () => finish(false));
    sock.on('close', () => finish(false));
  });

const waitExit = (child: ChildProcess, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });

export async function startNatsServer(options: StartNatsOptions = {}): Promise<NatsServer> {
  if (!existsSync(natsServerBinary)) throw new Error(`nats-server not found at ${natsServerBinary}`);
  const port = options.port ?? (await freePort());
  const storeDir = mkdtempSync(join(tmpdir(), 'ironlog-nats-'));
  const jetstream = options.jetstream ?? true;
  const startTimeout = options.startTimeoutMs ?? 10_000;
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const args = ['-a', '127.0.0.1', '-p', String(port)];
    if (jetstream) args.push('-js', '-sd', storeDir);
    const proc = spawn(natsServerBinary, args, { stdio: options.verbose ? 'inherit' : 'ignore' });
    child = proc;
    let exited = false;
    proc.once('exit', () => (exited = true));
    const deadline = Date.now() + startTimeout;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`nats-server exited during start (port ${port})`);
      if (await probe(port)) return;
      await sleep(50);
    }
    proc.kill('SIGKILL');
    throw new Error(`nats-server did not accept connections on ${port} within ${startTimeout} ms`);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    if (!(await waitExit(proc, 5000))) {
      proc.kill('SIGKILL');
      await waitExit(proc, 5000);
    }
  };

  await launch();
  // a test that crashes must not leave a server behind
  const onExit = () => child?.kill('SIGKILL');
  process.once('exit', onExit);

  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    pid: () => child?.pid,
    stop,
    restart: async () => {
      await stop();
      // the port is in TIME_WAIT-free LISTEN state only after the old process is gone; retry
      // briefly in case the kernel has not released it yet
      for (let attempt = 0; ; attempt++) {
        try {
          await launch();
          return;
        } catch (e) {
          if (attempt >= 5) throw e;
          await sleep(200);
        }
      }
    },
    dispose: async () => {
      await stop();
      process.removeListener('exit', onExit);
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const portArg = process.argv.indexOf('--port');
  const server = await startNatsServer(portArg > 0 ? { port: Number(process.argv[portArg + 1]) } : {});
  process.stdout.write(`nats_url: ${server.url}\n`);
  const shutdown = () => void server.dispose().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
