// The API's configuration, from the environment as /work/shared/conventions.md says
// (a config file may set the same keys; whoever reads it passes them in `env`).

import * as path from 'node:path';
import type { AuthStrategy } from './plugins/auth.ts';

export interface ApiConfig {
  host: string;
  port: number;
  authStrategy: AuthStrategy;
  htpasswdFile: string;
  dataDir: string;
  /** Ironic's [api]public_endpoint: the BASE of links; default the request's host URL */
  publicEndpoint?: string;
  /** Ironic's [api]max_limit */
  maxLimit: number;
  /** largest request body accepted, in bytes (configdrives make provision bodies big) */
  bodyLimit: number;
  /** seconds a verified http_basic credential is remembered (bcrypt is slow) */
  authCacheSeconds: number;
  /** how long a write waits for the read model to reach its position before answering 503 */
  readYourWritesTimeoutMs: number;
  /** Ironic's [api]restrict_lookup: /v1/lookup only finds nodes in LOOKUP_ALLOWED states */
  restrictLookup: boolean;
  /** Ironic's [api]ramdisk_heartbeat_timeout (seconds), told to the agent at lookup */
  ramdiskHeartbeatTimeout: number;
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const intOf = (env: NodeJS.ProcessEnv, name: string, dflt: number, min: number, max: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
};

const boolOf = (env: NodeJS.ProcessEnv, name: string, dflt: boolean): boolean => {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return dflt;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
};

export const loadApiConfig = (env: NodeJS.ProcessEnv = process.env): ApiConfig => {
  const dataDir = path.resolve(env.IRONLOG_DATA_DIR || './data');
  const strategy = (env.IRONLOG_AUTH_STRATEGY || 'http_basic').trim();
  if (strategy !== 'http_basic' && strategy !== 'noauth') {
    throw new ConfigError(`IRONLOG_AUTH_STRATEGY must be "http_basic" or "noauth", got "${strategy}"`);
  }
  const publicEndpoint = env.IRONLOG_API_PUBLIC_ENDPOINT?.trim();
  if (publicEndpoint && !/^https?:\/\/[^/]+/.test(publicEndpoint)) {
    throw new ConfigError(`IRONLOG_API_PUBLIC_ENDPOINT must be an http(s) URL, got "${publicEndpoint}"`);
  }
  return {
    host: env.IRONLOG_API_HOST || '127.0.0.1',
    port: intOf(env, 'IRONLOG_API_PORT', 6385, 0, 65535),
    authStrategy: strategy,
    htpasswdFile: path.resolve(env.IRONLOG_HTPASSWD_FILE || path.join(dataDir, 'htpasswd')),
    dataDir,
    ...(publicEndpoint ? { publicEndpoint } : {}),
    maxLimit: intOf(env, 'IRONLOG_API_MAX_LIMIT', 1000, 1, 1_000_000),
    bodyLimit: intOf(env, 'IRONLOG_API_MAX_BODY_SIZE', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    authCacheSeconds: intOf(env, 'IRONLOG_AUTH_CACHE_SECONDS', 60, 0, 3600),
    readYourWritesTimeoutMs: intOf(env, 'IRONLOG_API_READ_TIMEOUT_MS', 10_000, 1, 600_000),
    restrictLookup: boolOf(env, 'IRONLOG_API_RESTRICT_LOOKUP', true),
    ramdiskHeartbeatTimeout: intOf(env, 'IRONLOG_API_RAMDISK_HEARTBEAT_TIMEOUT', 300, 1, 86_400),
    logLevel: env.IRONLOG_LOG_LEVEL || 'info',
  };
};
