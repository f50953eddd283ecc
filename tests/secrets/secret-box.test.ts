// The secret box's IVs come from a pool of random bytes (secrets/secret-box.ts): every seal must
// still get an IV of its own, across pool refills, and every envelope must open to its value.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { createSecretBox } from '../../secrets/secret-box.ts';

const ivOf = (envelope: string): string => Buffer.from(envelope.slice(3), 'base64').subarray(0, 12).toString('hex');

test('3,000 seals (several pool refills): 3,000 distinct IVs, each envelope opens to its value', () => {
  const box = createSecretBox(randomBytes(32));
  const ivs = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    const sealed = box.seal(`secret-${i}`);
    ivs.add(ivOf(sealed.$secret));
    assert.is(box.open(sealed), `secret-${i}`);
  }
  assert.is(ivs.size, 3000);
});

test('two boxes never share an IV sequence, and the same value seals differently each time', () => {
  const a = createSecretBox(randomBytes(32));
  const b = createSecretBox(randomBytes(32));
  const x = a.seal('same');
  const y = a.seal('same');
  const z = b.seal('same');
  assert.is.not(x.$secret, y.$secret);
  assert.is.not(ivOf(x.$secret), ivOf(z.$secret));
  assert.is.not(ivOf(y.$secret), ivOf(z.$secret));
});

test.run();
