// Which values are secret, how a sealed secret looks in an event, and pure walkers that seal,
// mask or open a dict. Encryption itself is an injected SecretBox (secrets/secret-box.ts); the
// domain only ever sees sealed envelopes, and node event codecs refuse clear secret values.

import * as t from 'io-ts';
import { isPlainObject, type Dict } from './codecs.ts';

/** What Ironic prints instead of a secret. */
export const SECRET_MASK = '******';

/** `{"$secret": "v1:<base64>"}`: the only form a secret value takes in an event. */
export interface SealedSecret {
  $secret: string;
}
const ENVELOPE = /^v1:[A-Za-z0-9+/]+={0,2}$/;
export const isSealed = (u: unknown): u is SealedSecret =>
  isPlainObject(u) && Object.keys(u).length === 1 && typeof u.$secret === 'string' && ENVELOPE.test(u.$secret);
export const SealedSecretC: t.Type<SealedSecret, SealedSecret, unknown> = new t.Type<SealedSecret, SealedSecret, unknown>(
  'SealedSecret',
  isSealed,
  (u, c) => (isSealed(u) ? t.success(u) : t.failure(u, c, 'expected a sealed secret {"$secret": "v1:..."}')),
  (s) => s,
);

export interface SecretBox {
  seal(plain: string): SealedSecret;
  open(sealed: SealedSecret): string;
}

/** oslo.utils strutils._SANITIZE_KEYS (lowercase; matched as substrings of the lowercased key). */
export const SANITIZE_KEYS: readonly string[] = [
  'adminpass',
  'admin_pass',
  'password',
  'admin_password',
  'auth_token',
  'new_pass',
  'auth_password',
  'secret_uuid',
  'secret',
  'sys_pswd',
  'token',
  'configdrive',
  'chappassword',
  'encrypted_key',
  'private_key',
  'encryption_key_id',
  'fernetkey',
  'sslkey',
  'passphrase',
  'cephclusterfsid',
  'octaviaheartbeatkey',
  'rabbitcookie',
  'cephmanilaclientkey',
  'pacemakerremoteauthkey',
  'designaterndckey',
  'cephadminkey',
  'heatauthencryptionkey',
  'cephclientkey',
  'keystonecredential',
  'barbicansimplecryptokek',
  'cephrgwkey',
  'swifthashsuffix',
  'migrationsshkey',
  'cephmdskey',
  'cephmonkey',
];

/** SANITIZE_KEYS escaped for a regular expression. */
export const SANITIZE_KEY_PATTERNS: readonly string[] = SANITIZE_KEYS.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

// one regex for "any of them inside": ~35 `includes` per key were a cost of every render and seal
const anySanitizeKey = new RegExp(SANITIZE_KEY_PATTERNS.join('|'));

/** Whether a lower-cased string holds any of SANITIZE_KEYS. */
export const hasSanitizeKey = (lower: string): boolean => anySanitizeKey.test(lower);

/** As oslo's mask_dict_password decides it. */
export const isPasswordLikeKey = (key: string): boolean => hasSanitizeKey(key.toLowerCase());

/**
 * Where a dict lives decides which of its keys are secret:
 * - driver_info, step args (clean/deploy steps, deploy templates): password-like keys
 * - instance_info: password-like keys (configdrive, rescue_password...) plus image_url
 * - driver_internal_info: agent_secret_token only (Ironic masks nothing else there)
 */
export type SecretScope = 'driver_info' | 'instance_info' | 'driver_internal_info' | 'args';

export const isSecretKey = (key: string, scope: SecretScope): boolean => {
  switch (scope) {
    case 'driver_internal_info':
      return key === 'agent_secret_token';
    case 'instance_info':
      return key === 'image_url' || isPasswordLikeKey(key);
    default:
      return isPasswordLikeKey(key);
  }
};

// Nested dicts are walked (as mask_dict_password recurses before it looks at the key); only
// the top level of driver_internal_info holds its one secret.
const recurses = (scope: SecretScope): boolean => scope !== 'driver_internal_info';

/** A secret is a string; other scalars are sealed as their JSON text. */
const plainOf = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** Seals every clear value at a secret key (already sealed values and nulls stay as they are). */
export const sealSecrets = (obj: Dict, box: SecretBox, scope: SecretScope = 'driver_info'): Dict => {
  const out: Dict = {};
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (isSealed(v) || v === null || v === undefined) out[k] = v;
    else if (isPlainObject(v) && recurses(scope)) out[k] = sealSecrets(v, box, scope);
    else if (isSecretKey(k, scope)) out[k] = box.seal(plainOf(v));
    else out[k] = v;
  }
  return out;
};

/** The dict with every secret (sealed, or clear at a secret key) replaced by `******`. */
export const maskSecrets = (obj: Dict, scope: SecretScope = 'driver_info'): Dict => {
  const out: Dict = {};
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (isSealed(v)) out[k] = SECRET_MASK;
    else if (isPlainObject(v) && recurses(scope)) out[k] = maskSecrets(v, scope);
    else if (isSecretKey(k, scope) && v !== null && v !== undefined && v !== '') out[k] = SECRET_MASK;
    else out[k] = v;
  }
  return out;
};

/** For the conductor, which needs the clear values (BMC password, agent token...). */
export const openSecrets = (obj: Dict, box: SecretBox): Dict => {
  const out: Dict = {};
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (isSealed(v)) out[k] = box.open(v);
    else if (isPlainObject(v)) out[k] = openSecrets(v, box);
    else out[k] = v;
  }
  return out;
};

/** Paths (`a.b`) of secret keys that hold a clear value. Empty means the dict may be stored. */
export const findClearSecrets = (obj: Dict, scope: SecretScope, prefix = ''): string[] => {
  const found: string[] = [];
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (isSealed(v) || v === null || v === undefined) continue;
    if (isPlainObject(v) && recurses(scope)) found.push(...findClearSecrets(v, scope, `${prefix}${k}.`));
    else if (isSecretKey(k, scope)) found.push(`${prefix}${k}`);
  }
  return found;
};

/** A dict codec that refuses clear secret values: events can only ever carry sealed ones. */
export const sealedDict = (scope: SecretScope): t.Type<Dict, Dict, unknown> =>
  new t.Type<Dict, Dict, unknown>(
    `SealedDict<${scope}>`,
    (u): u is Dict => isPlainObject(u) && findClearSecrets(u, scope).length === 0,
    (u, c) => {
      if (!isPlainObject(u)) return t.failure(u, c, 'expected an object');
      const clear = findClearSecrets(u, scope);
      return clear.length === 0
        ? t.success(u)
        : t.failure(u, c, `clear-text secret at ${scope}.${clear.join(', ')}: seal it before it reaches the domain`);
    },
    (d) => d,
  );

export const SealedDriverInfoC = sealedDict('driver_info');
export const SealedInstanceInfoC = sealedDict('instance_info');
export const SealedDriverInternalInfoC = sealedDict('driver_internal_info');
export const SealedArgsC = sealedDict('args');
