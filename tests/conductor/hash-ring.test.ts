import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { HashRing, buildRings, ownerOfNode, ringKey } from '../../conductor/hash-ring.ts';

// deterministic uuid-shaped keys (no randomness: the test must give the same answer every run)
const uuidOf = (i: number): string => {
  const h = createHash('sha1').update(`node-${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};
const nodes = Array.from({ length: 300 }, (_, i) => uuidOf(i));

const countBy = (ring: HashRing, keys: string[]) => {
  const counts = new Map<string, number>();
  for (const k of keys) {
    const o = ring.ownerOf(k);
    assert.ok(o !== undefined);
    counts.set(o, (counts.get(o) ?? 0) + 1);
  }
  return counts;
};

test('tooz layout: 2^exponent partitions per host, md5 of the host repeated', () => {
  const ring = new HashRing(['a', 'b'], 5);
  assert.is(ring.size, 64);
  assert.is(new HashRing(['a'], 3).size, 8);
  // partition 0 of host "a" is md5("a"), partition 1 md5("aa"): a key just below md5("a") lands on "a"
  const only = new HashRing(['h1'], 0);
  assert.is(only.size, 1);
  assert.is(only.ownerOf('anything'), 'h1');
});

test('matches tooz placement: a key hashes to the first partition strictly after it, wrapping', () => {
  // brute-force reference computed independently of the class
  const hosts = ['conductor-1', 'conductor-2', 'conductor-3'];
  const points: Array<[bigint, string]> = [];
  for (const h of hosts) for (let r = 1; r <= 32; r++) points.push([BigInt('0x' + createHash('md5').update(h.repeat(r)).digest('hex')), h]);
  points.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const ring = new HashRing(hosts);
  for (const key of nodes.slice(0, 100)) {
    const kh = BigInt('0x' + createHash('md5').update(key).digest('hex'));
    const next = points.find(([p]) => p > kh) ?? points[0];
    assert.is(ring.ownerOf(key), next[1], key);
  }
});

test('deterministic: host order and duplicates do not matter', () => {
  const a = new HashRing(['c1', 'c2', 'c3']);
  const b = new HashRing(['c3', 'c1', 'c2', 'c1']);
  for (const k of nodes) assert.is(a.ownerOf(k), b.ownerOf(k));
});

// Ironic's default (32 partitions per host) leaves a ring's long-run shares uneven by chance of
// the hostnames; 300 uuids add sampling noise on top. So the share check runs at the default
// exponent with many keys, and the 300-node check at a finer ring (IRONLOG_HASH_PARTITION_EXPONENT).
test('default exponent 5, hosts conductor-1..3: long-run shares within ±25% of even', () => {
  const many = Array.from({ length: 30_000 }, (_, i) => uuidOf(1000 + i));
  const counts = countBy(new HashRing(['conductor-1', 'conductor-2', 'conductor-3']), many);
  assert.is(counts.size, 3);
  for (const [host, n] of counts) assert.ok(n >= 7_500 && n <= 12_500, `${host} owns ${n} of 30000`);
});

test('exponent 7, 3 hosts / 300 nodes: each within ±25% of even', () => {
  const counts = countBy(new HashRing(['conductor-1', 'conductor-2', 'conductor-3'], 7), nodes);
  assert.is(counts.size, 3);
  for (const [host, n] of counts) assert.ok(n >= 75 && n <= 125, `${host} owns ${n}`);
});

for (const exp of [5, 7]) test(`exponent ${exp}: adding a 4th host moves about a quarter of the nodes, all to the new host`, () => {
  const before = new HashRing(['conductor-1', 'conductor-2', 'conductor-3'], exp);
  const after = new HashRing(['conductor-1', 'conductor-2', 'conductor-3', 'conductor-4'], exp);
  let moved = 0;
  for (const k of nodes) {
    const o1 = before.ownerOf(k);
    const o2 = after.ownerOf(k);
    if (o1 !== o2) {
      moved++;
      assert.is(o2, 'conductor-4', `${k} moved from ${o1} to ${o2}`);
    }
  }
  assert.ok(moved >= 300 * 0.25 * 0.6 && moved <= 300 * 0.25 * 1.4, `moved ${moved}`);
});

test('removing a host moves only its nodes', () => {
  const before = new HashRing(['conductor-1', 'conductor-2', 'conductor-3']);
  const after = new HashRing(['conductor-1', 'conductor-3']);
  for (const k of nodes) {
    const o1 = before.ownerOf(k);
    if (o1 !== 'conductor-2') assert.is(after.ownerOf(k), o1);
    else assert.ok(after.ownerOf(k) !== 'conductor-2');
  }
});

test('one ring per group and hardware type; no ring => no owner (NoValidHost)', () => {
  const rings = buildRings([
    { hostname: 'a', group: '', hardwareTypes: ['fake-hardware', 'ipmi'] },
    { hostname: 'b', group: '', hardwareTypes: ['fake-hardware'] },
    { hostname: 'c', group: 'G1', hardwareTypes: ['ipmi'] },
  ]);
  assert.equal([...rings.keys()].sort(), [ringKey('', 'fake-hardware'), ringKey('', 'ipmi'), 'g1:ipmi'].sort());
  assert.equal(rings.get(':ipmi')?.hosts, ['a']);
  assert.is(ownerOfNode(rings, { uuid: nodes[0], group: 'G1', driver: 'ipmi' }), 'c');
  assert.is(ownerOfNode(rings, { uuid: nodes[0], group: 'g1', driver: 'ipmi' }), 'c');
  assert.is(ownerOfNode(rings, { uuid: nodes[0], group: 'G1', driver: 'fake-hardware' }), undefined);
  assert.is(ownerOfNode(rings, { uuid: nodes[0], group: 'G2', driver: 'ipmi' }), undefined);
  for (const k of nodes) assert.ok(['a', 'b'].includes(ownerOfNode(rings, { uuid: k, group: '', driver: 'fake-hardware' }) ?? ''));
});

test.run();
