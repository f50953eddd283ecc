// Where the secret key comes from: IRONLOG_SECRET_KEY (base64 of 32 bytes). Without it ironlog
// refuses to start, unless dev mode is asked for: then the key lives in <data dir>/secret.key,
// generated on first start (and we say so, since losing it makes stored secrets unreadable).

import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SECRET_KEY_BYTES } from './secret-box.ts';

export interface LoadSecretKeyOptions {
  env?: NodeJS.ProcessEnv;
  /** defaults to IRONLOG_DATA_DIR, then ./data */
  dataDir?: string;
  /** allow a key file in the data dir, generated when missing */
  dev?: boolean;
  /** where to say that a key was generated (default: stderr) */
  log?: (message: string) => void;
}

export interface LoadedSecretKey {
  key: Buffer;
  source: 'env' | 'file' | 'generated';
  path?: string;
}

export class SecretKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretKeyError';
  }
}

const decodeKey = (text: string, where: string): Buffer => {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || key.length !== SECRET_KEY_BYTES)
    throw new SecretKeyError(
      `${where} must be the base64 encoding of exactly ${SECRET_KEY_BYTES} bytes (got ${key.length} bytes). Generate one with: openssl rand -base64 32`,
    );
  return key;
};

export const secretKeyFile = (dataDir: string): string => join(dataDir, 'secret.key');

export const loadSecretKey = (opts: LoadSecretKeyOptions = {}): LoadedSecretKey => {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const fromEnv = env.IRONLOG_SECRET_KEY;
  if (fromEnv !== undefined && fromEnv !== '') return { key: decodeKey(fromEnv, 'IRONLOG_SECRET_KEY'), source: 'env' };

  const dataDir = opts.dataDir ?? env.IRONLOG_DATA_DIR ?? './data';
  const path = secretKeyFile(dataDir);
  if (!opts.dev)
    throw new SecretKeyError(
      'IRONLOG_SECRET_KEY is not set. It is the key that encrypts secrets (BMC passwords, agent tokens) in the event log: ' +
        'set it to the base64 of 32 random bytes (openssl rand -base64 32), or start in dev mode to keep a generated key in ' +
        path,
    );
  if (existsSync(path)) return { key: decodeKey(readFileSync(path, 'utf8'), path), source: 'file', path };

  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(SECRET_KEY_BYTES);
  writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  log(`ironlog: generated a new secret key in ${path} (dev mode). Keep it: without it the secrets in the event log cannot be read.`);
  return { key, source: 'generated', path };
};
