// The SecretBox that seals secret values before they enter an event: AES-256-GCM, a random
// 12-byte IV per value. Envelope text: `v1:` + base64(iv ‖ tag ‖ ciphertext).

import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { isSealed, type SealedSecret, type SecretBox } from '../domain/secrets.ts';

const IV_BYTES = 12;
const TAG_BYTES = 16;
export const SECRET_KEY_BYTES = 32;

export class SecretOpenError extends Error {
  constructor(reason: string) {
    super(`Cannot open a sealed secret: ${reason}`);
    this.name = 'SecretOpenError';
  }
}

// IVs come from a pool of random bytes refilled every 341 seals (as node's randomUUID does): one
// call into the CSPRNG per seal was ~0.05 ms of a node create; the bytes are as random.
const IV_POOL_BYTES = IV_BYTES * 341;
const ivPool = Buffer.alloc(IV_POOL_BYTES);
let ivAt = IV_POOL_BYTES;
const nextIv = (): Buffer => {
  if (ivAt + IV_BYTES > IV_POOL_BYTES) {
    randomFillSync(ivPool);
    ivAt = 0;
  }
  // a copy: the pool's bytes are overwritten at the next refill, and no IV is ever used twice
  const iv = Buffer.from(ivPool.subarray(ivAt, ivAt + IV_BYTES));
  ivAt += IV_BYTES;
  return iv;
};

export const createSecretBox = (key: Buffer): SecretBox => {
  if (key.length !== SECRET_KEY_BYTES) throw new Error(`The secret key must be ${SECRET_KEY_BYTES} bytes, got ${key.length}`);
  const k = Buffer.from(key);
  return {
    seal(plain: string): SealedSecret {
      const iv = nextIv();
      const cipher = createCipheriv('aes-256-gcm', k, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return { $secret: `v1:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}` };
    },
    open(sealed: SealedSecret): string {
      if (!isSealed(sealed)) throw new SecretOpenError('not a v1 envelope');
      const raw = Buffer.from(sealed.$secret.slice(3), 'base64');
      if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretOpenError('envelope too short');
      const decipher = createDecipheriv('aes-256-gcm', k, raw.subarray(0, IV_BYTES));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      try {
        return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretOpenError('wrong key or tampered value');
      }
    },
  };
};
