// The SecretBox that seals secret values before they enter an event: AES-256-GCM, a random
// 12-byte IV per value. Envelope text: `v1:` + base64(iv ‖ tag ‖ ciphertext).

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
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

export const createSecretBox = (key: Buffer): SecretBox => {
  if (key.length !== SECRET_KEY_BYTES) throw new Error(`The secret key must be ${SECRET_KEY_BYTES} bytes, got ${key.length}`);
  const k = Buffer.from(key);
  return {
    seal(plain: string): SealedSecret {
      const iv = randomBytes(IV_BYTES);
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
