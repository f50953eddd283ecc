// `node --import tsx ramdisk-agent/main.ts --api-url URL [--macs aa:bb:..,..] [--listen HOST:PORT]
//  [--image-dir DIR] [--lookup-interval-ms N]` (also `ironlog agent …`): a small IPA-like ramdisk
// agent (README.md). SIGTERM/SIGINT stops it.

import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RamdiskAgent, type AgentOptions } from './agent.ts';

const usage = 'usage: ironlog agent --api-url URL [--macs MAC,MAC] [--listen HOST:PORT] [--image-dir DIR] [--lookup-interval-ms N]\n';
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;

export const parseArgs = (args: string[]): AgentOptions | string => {
  const values: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    if (!['--api-url', '--macs', '--listen', '--image-dir', '--lookup-interval-ms'].includes(flag)) return `unknown argument "${a}"`;
    const value = eq > 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined) return `${flag} needs a value`;
    values[flag] = value;
  }
  const apiUrl = values['--api-url'];
  if (!apiUrl) return '--api-url is required';
  try {
    new URL(apiUrl);
  } catch {
    return `--api-url is not a URL: ${apiUrl}`;
  }
  const macs = (values['--macs'] ?? '').split(',').map((m) => m.trim().toLowerCase()).filter((m) => m !== '');
  const bad = macs.find((m) => !MAC.test(m));
  if (bad) return `not a MAC address: ${bad}`;
  if (macs.length === 0) return '--macs is required (the ramdisk has no NICs to read them from)';
  const listen = values['--listen'] ?? '127.0.0.1:9999';
  const colon = listen.lastIndexOf(':');
  const port = Number(listen.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) return `--listen must be HOST:PORT, not ${listen}`;
  const lookupIntervalMs = values['--lookup-interval-ms'] === undefined ? 1000 : Number(values['--lookup-interval-ms']);
  if (!Number.isInteger(lookupIntervalMs) || lookupIntervalMs < 10) return '--lookup-interval-ms must be an integer >= 10';
  return {
    apiUrl,
    macs,
    listenHost: listen.slice(0, colon).replace(/^\[|\]$/g, ''),
    listenPort: port,
    imageDir: values['--image-dir'] ?? join(tmpdir(), 'ironlog-agent-disk'),
    lookupIntervalMs,
  };
};

export const run = async (args: string[]): Promise<number> => {
  const o = parseArgs(args);
  if (typeof o === 'string') {
    process.stderr.write(`ironlog agent: ${o}\n${usage}`);
    return 2;
  }
  const agent = new RamdiskAgent(o);
  await agent.start();
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await agent.stop();
  return 0;
};

const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (isEntry) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`ironlog agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
