// Secrets: which keys are secret, sealing/masking walkers, the AES-GCM box and key loading.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import {
  findClearSecrets,
  hasSanitizeKey,
  isPasswordLikeKey,
  SANITIZE_KEYS,
  isSealed,
  isSecretKey,
  maskSecrets,
  openSecrets,
  sealSecrets,
  SealedDriverInfoC,
  SealedSecretC,
  SECRET_MASK,
} from '../../domain/secrets.ts';
import { createSecretBox, SecretOpenError } from '../../secrets/secret-box.ts';
import { loadSecretKey, SecretKeyError } from '../../secrets/key.ts';
import { NodeUpdated } from '../../domain/node/events.ts';

const box = createSecretBox(randomBytes(32));

test('password-like keys as oslo mask_dict_password sees them', () => {
  for (const k of ['ipmi_password', 'redfish_password', 'IPMI_PASSWORD', 'auth_token', 'secret', 'my_secret_thing', 'snmp_auth_key_passphrase', 'token'])
    assert.ok(isSecretKey(k, 'driver_info'), k);
  for (const k of ['ipmi_username', 'ipmi_address', 'redfish_address', 'deploy_kernel', 'ipmi_verify_ca'])
    assert.not.ok(isSecretKey(k, 'driver_info'), k);
  assert.ok(isSecretKey('image_url', 'instance_info'));
  assert.ok(isSecretKey('configdrive', 'instance_info'));
  assert.ok(isSecretKey('rescue_password', 'instance_info'));
  assert.not.ok(isSecretKey('image_url', 'driver_info'));
  assert.ok(isSecretKey('agent_secret_token', 'driver_internal_info'));
  assert.not.ok(isSecretKey('agent_secret_token_pregenerated', 'driver_internal_info'));
  assert.not.ok(isSecretKey('agent_url', 'driver_internal_info'));
});

test('seal, then open, round-trips; every seal uses a fresh IV', () => {
  const a = box.seal('hunter2');
  const b = box.seal('hunter2');
  assert.ok(isSealed(a));
  assert.ok(a.$secret.startsWith('v1:'));
  assert.is.not(a.$secret, b.$secret);
  assert.is(box.open(a), 'hunter2');
  assert.is(box.open(box.seal('')), '');
  assert.is(box.open(box.seal('ünïcødé ☃')), 'ünïcødé ☃');
});

test('a wrong key or a tampered envelope cannot be opened', () => {
  const other = createSecretBox(randomBytes(32));
  const s = box.seal('pw');
  assert.throws(() => other.open(s), (e: unknown) => e instanceof SecretOpenError);
  const raw = Buffer.from(s.$secret.slice(3), 'base64');
  raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
  assert.throws(() => box.open({ $secret: `v1:${raw.toString('base64')}` }), (e: unknown) => e instanceof SecretOpenError);
  assert.throws(() => createSecretBox(randomBytes(16)));
});

test('sealSecrets seals secret keys only, recursively, and leaves sealed values alone', () => {
  const info = { ipmi_address: '10.0.0.1', ipmi_username: 'admin', ipmi_password: 'pw', nested: { secret: 's' }, port: 623, empty: null };
  const sealed = sealSecrets(info, box, 'driver_info');
  assert.is(sealed.ipmi_address, '10.0.0.1');
  assert.is(sealed.port, 623);
  assert.is(sealed.empty, null);
  assert.ok(isSealed(sealed.ipmi_password));
  assert.ok(isSealed((sealed.nested as Record<string, unknown>).secret));
  assert.equal(findClearSecrets(sealed, 'driver_info'), []);
  assert.equal(sealSecrets(sealed, box, 'driver_info'), sealed);
  assert.equal(openSecrets(sealed, box), info);
  assert.equal(findClearSecrets(info, 'driver_info'), ['ipmi_password', 'nested.secret']);
});

test('maskSecrets prints ****** for sealed values and clear secret keys', () => {
  const sealed = sealSecrets({ ipmi_password: 'pw', ipmi_username: 'u' }, box, 'driver_info');
  assert.equal(maskSecrets(sealed, 'driver_info'), { ipmi_password: SECRET_MASK, ipmi_username: 'u' });
  assert.equal(maskSecrets({ image_url: 'http://x/temp?sig=1', image_source: 'glance' }, 'instance_info'), {
    image_url: SECRET_MASK,
    image_source: 'glance',
  });
  assert.equal(maskSecrets({ agent_url: 'http://a:9999', agent_secret_token: box.seal('t') }, 'driver_internal_info'), {
    agent_url: 'http://a:9999',
    agent_secret_token: SECRET_MASK,
  });
});

test('codecs refuse clear secrets: an event can only carry sealed ones', () => {
  assert.ok(E.isLeft(SealedDriverInfoC.decode({ ipmi_password: 'clear' })));
  assert.ok(E.isRight(SealedDriverInfoC.decode({ ipmi_password: box.seal('x') })));
  assert.ok(E.isLeft(SealedSecretC.decode('clear')));
  assert.ok(E.isLeft(SealedSecretC.decode({ $secret: 'clear' })));
  const ev = {
    type: 'NodeUpdated',
    data: { uuid: 'u', at: '2024-01-01T00:00:00Z', changes: { driver_info: { redfish_password: 'clear' } } },
  };
  assert.ok(E.isLeft(NodeUpdated.decode(ev)));
  const ok = { ...ev, data: { ...ev.data, changes: { driver_info: sealSecrets({ redfish_password: 'p' }, box) } } };
  assert.ok(E.isRight(NodeUpdated.decode(JSON.parse(JSON.stringify(ok)))));
});

test('loadSecretKey: from IRONLOG_SECRET_KEY', () => {
  const key = randomBytes(32);
  const loaded = loadSecretKey({ env: { IRONLOG_SECRET_KEY: key.toString('base64') } });
  assert.is(loaded.source, 'env');
  assert.ok(loaded.key.equals(key));
  assert.throws(() => loadSecretKey({ env: { IRONLOG_SECRET_KEY: randomBytes(16).toString('base64') } }), (e: unknown) => e instanceof SecretKeyError && /32 bytes/.test(e.message));
  assert.throws(() => loadSecretKey({ env: { IRONLOG_SECRET_KEY: 'not base64!!' } }), (e: unknown) => e instanceof SecretKeyError);
});

test('loadSecretKey: missing key is a clear error, dev mode generates one into the data dir', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ironlog-key-'));
  try {
    assert.throws(
      () => loadSecretKey({ env: {}, dataDir: dir }),
      (e: unknown) => e instanceof SecretKeyError && /IRONLOG_SECRET_KEY is not set/.test(e.message),
    );
    const said: string[] = [];
    const first = loadSecretKey({ env: {}, dataDir: join(dir, 'sub'), dev: true, log: (m) => said.push(m) });
    assert.is(first.source, 'generated');
    assert.is(first.key.length, 32);
    assert.is(said.length, 1);
    assert.ok(said[0]!.includes(join(dir, 'sub', 'secret.key')));
    assert.is(statSync(first.path!).mode & 0o777, 0o600);
    assert.ok(Buffer.from(readFileSync(first.path!, 'utf8').trim(), 'base64').equals(first.key));
    const second = loadSecretKey({ env: {}, dataDir: join(dir, 'sub'), dev: true, log: (m) => said.push(m) });
    assert.is(second.source, 'file');
    assert.ok(second.key.equals(first.key));
    assert.is(said.length, 1);
    // the env var wins over the file
    const k = randomBytes(32);
    assert.ok(loadSecretKey({ env: { IRONLOG_SECRET_KEY: k.toString('base64') }, dataDir: join(dir, 'sub'), dev: true }).key.equals(k));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('password-like keys: any of oslo\'s keys inside the lower-cased key, as a substring search finds them', () => {
  for (const k of ['ipmi_password', 'IPMI_Password', 'redfish_PASSWORD', 'x_auth_token_y', 'configdrive', 'encryption_key_id']) assert.ok(isPasswordLikeKey(k), k);
  for (const k of ['ipmi_address', 'passwd', 'user', '', 'pass_word']) assert.not.ok(isPasswordLikeKey(k), k);
  const keyish = fc.oneof(fc.string(), fc.constantFrom(...SANITIZE_KEYS).chain((k) => fc.tuple(fc.string(), fc.string()).map(([a, b]) => `${a}${k.toUpperCase()}${b}`)));
  fc.assert(
    fc.property(keyish, (k) => {
      const lower = k.toLowerCase();
      const expected = SANITIZE_KEYS.some((s) => lower.includes(s));
      return isPasswordLikeKey(k) === expected && hasSanitizeKey(lower) === expected;
    }),
    { numRuns: 3000 },
  );
});

test.run();
