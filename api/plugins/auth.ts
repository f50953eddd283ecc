// Authentication (reference: ironic_lib.auth_basic, Ironic's `auth_strategy`).
//  * http_basic (default): HTTP Basic checked against an Apache htpasswd file whose entries are
//    bcrypt digests ($2y$, $2a$, $2b$), as Ironic's; the file is validated at start-up and
//    re-read when it changes.
//  * noauth: everything is allowed; only when configured.
// `/`, `/v1` and the agent endpoints (`/v1/lookup`, `/v1/heartbeat/<node>`) need no login,
// matched on the path as sent, exactly as Ironic's acl_public_routes.
//
// bcrypt is slow on purpose, so a verified credential is remembered for a short time. The cache
// key is an HMAC of user and password under a key that lives only in this process's memory: the
// clear password is never stored, and the key cannot be used to test guesses offline.

import { createHmac, randomBytes } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../http-errors.ts';
import { globalPlugin } from '../plugin.ts';

export type AuthStrategy = 'http_basic' | 'noauth';

export interface AuthOptions {
  strategy: AuthStrategy;
  htpasswdFile: string;
  /** how long a verified credential is remembered (ms); 0 disables the cache */
  cacheTtlMs?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** the authenticated user (http_basic), `noauth`, or `anonymous` on a public route */
    authUser: string;
  }
}

const REALM = 'Basic realm="Baremetal API"';

const publicRoutes = ['/', '/v1', '/v1/lookup', '/v1/heartbeat/[a-z0-9\\-]+'].map((r) => new RegExp(`^${r}(\\.json|\\.xml)?$`));

/** Whether the path (as sent, before normalisation) is one of Ironic's public API routes. */
export const isPublicPath = (originalUrl: string): boolean => {
  const q = originalUrl.indexOf('?');
  let path = q < 0 ? originalUrl : originalUrl.slice(0, q);
  const stripped = path.replace(/\/+$/, '');
  if (stripped !== '') path = stripped; // Ironic's safe_rstrip never empties the path
  return publicRoutes.some((re) => re.test(path));
};

/** ironic_lib's errors leave in Ironic's format, with ironic_lib's own `error` key beside it. */
const authError = (status: 400 | 401, message: string): ApiError =>
  new ApiError(status, message, 'controller', status === 401 ? { 'WWW-Authenticate': REALM } : {}, { error: { message, code: status } }, 'Unauthorized');

export class HtpasswdError extends Error {
  constructor(message: string) {
    super(`Invalid configuration file. ${message}`);
    this.name = 'HtpasswdError';
  }
}

const bcryptPrefixes = ['$2y$', '$2a$', '$2b$'];

/** Parses htpasswd text: the first entry of each user wins (as ironic_lib scans the file). */
export const parseHtpasswd = (text: string, file = 'htpasswd'): Map<string, string> => {
  const users = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const entry = line.trim();
    if (!entry || !entry.includes(':')) continue;
    const colon = entry.indexOf(':');
    const user = entry.slice(0, colon);
    const crypted = entry.slice(colon + 1);
    if (!bcryptPrefixes.includes(crypted.slice(0, 4))) {
      throw new HtpasswdError(`Only bcrypt digested passwords are supported for ${user} (in ${file})`);
    }
    if (!users.has(user)) users.set(user, crypted);
  }
  return users;
};

/** An htpasswd line for a user (bcrypt, $2y$ as Apache's `htpasswd -B` writes). */
export const htpasswdLine = (user: string, password: string, rounds = 10): string =>
  `${user}:${bcrypt.hashSync(password, rounds).replace(/^\$2[ab]\$/, '$2y$')}`;

const b64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Splits a Basic Authorization header into user and password, or throws ironic_lib's 400/401. */
export const parseBasicAuth = (header: string | undefined): { user: string; password: string } => {
  if (header === undefined) throw authError(401, 'Authorization required');
  const parts = header.trim().split(/\s+/);
  if (parts.length < 2 || parts[0] === '') throw authError(400, 'Could not parse Authorization header');
  const [type, ...rest] = parts;
  if (type!.toLowerCase() !== 'basic') throw authError(400, `Unsupported authorization type "${type}"`);
  const token = rest.join(' ');
  if (!b64.test(token)) throw authError(400, 'Could not decode authorization token');
  const pair = Buffer.from(token, 'base64');
  const colon = pair.indexOf(0x3a);
  if (colon < 0) throw authError(400, 'Could not decode authorization token');
  let user: string;
  try {
    user = new TextDecoder('utf-8', { fatal: true }).decode(pair.subarray(0, colon));
  } catch {
    throw authError(400, 'Could not decode authorization token');
  }
  return { user, password: pair.subarray(colon + 1).toString('utf8') };
};

/** The htpasswd file, re-read when its size or modification time changes (checked ≤ 1/s). */
class HtpasswdFile {
  private users: Map<string, string>;
  private stamp: string;
  private checkedAt = Date.now();

  constructor(private readonly file: string) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new HtpasswdError(
        `Problem reading auth user file: ${file} (${(e as Error).message}). Create it with \`htpasswd -cB ${file} <user>\`, or set IRONLOG_AUTH_STRATEGY=noauth.`,
      );
    }
    this.users = parseHtpasswd(text, file);
    this.stamp = '';
    void this.refreshStamp();
  }

  private async refreshStamp(): Promise<boolean> {
    const st = await fsp.stat(this.file);
    const stamp = `${st.size}:${st.mtimeMs}`;
    const changed = this.stamp !== '' && stamp !== this.stamp;
    this.stamp = stamp;
    return changed;
  }

  async lookup(user: string): Promise<string | undefined> {
    const now = Date.now();
    if (now - this.checkedAt >= 1000) {
      this.checkedAt = now;
      try {
        if (await this.refreshStamp()) this.users = parseHtpasswd(await fsp.readFile(this.file, 'utf8'), this.file);
      } catch (e) {
        // a file being rewritten or briefly invalid keeps the last good contents
        void e;
      }
    }
    return this.users.get(user);
  }
}

interface CachedCredential {
  crypted: string;
  expires: number;
}

export const authPlugin = globalPlugin<AuthOptions>('ironlog-auth', async (app, opts) => {
  app.decorateRequest('authUser', '');
  if (opts.strategy === 'noauth') {
    app.addHook('onRequest', (req: FastifyRequest, _reply, done) => {
      req.authUser = 'noauth';
      done();
    });
    return;
  }

  const file = new HtpasswdFile(opts.htpasswdFile);
  const ttl = opts.cacheTtlMs ?? 60_000;
  const cacheKey = randomBytes(32);
  const cache = new Map<string, CachedCredential>();
  const maxCached = 1024;

  app.addHook('onRequest', async (req: FastifyRequest, _reply: FastifyReply) => {
    if (isPublicPath(req.originalUrl)) {
      req.authUser = 'anonymous';
      return;
    }
    const h = req.headers.authorization;
    const { user, password } = parseBasicAuth(Array.isArray(h) ? h[0] : h);
    const crypted = await file.lookup(user);
    if (crypted === undefined) {
      req.log.info({ user }, 'user not found');
      throw authError(401, 'Incorrect username or password');
    }
    const key = createHmac('sha256', cacheKey).update(user).update('\0').update(password).digest('base64');
    const hit = cache.get(key);
    const now = Date.now();
    if (!(hit && hit.expires > now && hit.crypted === crypted)) {
      if (!(await bcrypt.compare(password, crypted))) {
        req.log.info({ user }, 'password does not match');
        throw authError(401, 'Incorrect username or password');
      }
      if (ttl > 0) {
        if (cache.size >= maxCached) cache.clear();
        cache.set(key, { crypted, expires: now + ttl });
      }
    }
    req.authUser = user;
  });
});
