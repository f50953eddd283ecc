// What the all-in-one `npm start` prepares on a machine that has never run ironlog: a secret key
// and an admin login in the data dir. It says what it made and where, once; later starts reuse them.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadSecretKey } from '../secrets/key.ts';
import { htpasswdLine } from '../api/plugins/auth.ts';
import type { ApiConfig } from '../api/config.ts';

export const prepareFirstStart = (env: NodeJS.ProcessEnv, dataDir: string, api: ApiConfig, log: (m: string) => void): void => {
  mkdirSync(dataDir, { recursive: true });
  // the all-in-one start may keep its key in the data dir (conventions.md); a production
  // deployment sets IRONLOG_SECRET_KEY instead and never gets here with dev mode
  if (!env.IRONLOG_SECRET_KEY) {
    const { key, source, path } = loadSecretKey({ env, dataDir, dev: true, log });
    env.IRONLOG_SECRET_KEY = key.toString('base64');
    if (source === 'file') log(`using the secret key in ${path}`);
  }
  if (api.authStrategy === 'http_basic' && !existsSync(api.htpasswdFile)) {
    const password = randomBytes(12).toString('base64url');
    mkdirSync(dirname(api.htpasswdFile), { recursive: true });
    writeFileSync(api.htpasswdFile, `${htpasswdLine('admin', password)}\n`, { mode: 0o600 });
    const note = join(dataDir, 'admin-password');
    writeFileSync(note, `${password}\n`, { mode: 0o600 });
    log(`created ${api.htpasswdFile} with user "admin"; its password is in ${note}`);
  }
};
