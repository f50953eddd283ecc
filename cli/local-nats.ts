// `npm start` must work on a machine with no NATS running: when nothing answers at NATS_URL we
// start Debian's nats-server ourselves (JetStream on, its data in our data dir) and stop it when
// we stop; when there is no nats-server either, we say exactly how to get one.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

const answersNats = (host: string, port: number, timeoutMs = 1000): Promise<boolean> =>
  new Promise((resolve) => {
    const sock = connect({ host, port });
    const finish = (ok: boolean) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(timeoutMs, () => finish(false));
    sock.once('data', (d) => finish(d.toString().startsWith('INFO')));
    sock.once('error', () => finish(false));
  });

const parseUrl = (url: string): { host: string; port: number } => {
  const u = new URL(url.includes('://') ? url : `nats://${url}`);
  return { host: u.hostname || '127.0.0.1', port: Number(u.port || 4222) };
};

export const findNatsServerBinary = (): string | undefined => {
  for (const p of [process.env.NATS_SERVER_BIN, '/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) {
    if (p && existsSync(p)) return p;
  }
  const which = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined;
};

export interface LocalNats {
  /** the server we started, if we had to */
  child?: ChildProcess;
  stop(): Promise<void>;
}

export const ensureNats = async (natsUrl: string, dataDir: string, log: (m: string) => void): Promise<LocalNats> => {
  const urls = natsUrl.split(',').map((s) => s.trim()).filter(Boolean);
  for (const url of urls) {
    const { host, port } = parseUrl(url);
    if (await answersNats(host, port)) return { stop: async () => undefined };
  }
  const bin = findNatsServerBinary();
  const { host, port } = parseUrl(urls[0] ?? 'nats://127.0.0.1:4222');
  if (!bin) {
    throw new Error(
      `No NATS server answers at ${natsUrl}, and no nats-server is installed to start one.\n` +
        `Install it with:  sudo apt-get install nats-server   (Debian/Ubuntu)\n` +
        `or point NATS_URL at a running NATS server (JetStream enabled), then run npm start again.`,
    );
  }
  const storeDir = join(dataDir, 'nats');
  mkdirSync(storeDir, { recursive: true });
  log(`no NATS answered at ${natsUrl}: starting ${bin} on ${host}:${port} (JetStream, data in ${storeDir})`);
  const child = spawn(bin, ['-a', host, '-p', String(port), '-js', '-sd', storeDir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 10_000;
  while (!(await answersNats(host, port, 300))) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with code ${child.exitCode} before accepting connections`);
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error('nats-server did not start within 10 s'); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
};
