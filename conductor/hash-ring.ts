// Consistent hash ring with tooz.hashring.HashRing's semantics, as Ironic uses it (reference §6.3):
// each host owns 2^exponent partitions; partition i of a host sits at md5(host repeated i+1 times)
// read as a 128-bit integer; a key lands on the first partition strictly after md5(key), wrapping
// to the first one. One replica. Same membership => same ring in every process (hosts are sorted,
// so even an md5 collision between two hosts resolves the same way everywhere).
//
// Pure apart from node:crypto's md5, which is deterministic.

import { createHash, hash } from 'node:crypto';

export const defaultPartitionExponent = 5;

// node's one-shot hash: a Hash object per key cost more than the digest (a string is hashed as UTF-8)
const md5Int = (data: string): bigint => BigInt('0x' + hash('md5', data));

// A key's position depends on the key alone, and every request, fence and index update looks the
// same node uuids up again (md5 + BigInt were ~10% of a conductor's CPU under dispatch load).
// Bounded: cleared when full.
const KEY_CACHE_SIZE = 100_000;
const keyPositions = new Map<string, bigint>();
const keyPosition = (key: string): bigint => {
  let h = keyPositions.get(key);
  if (h === undefined) {
    h = md5Int(key);
    if (keyPositions.size >= KEY_CACHE_SIZE) keyPositions.clear();
    keyPositions.set(key, h);
  }
  return h;
};

export class HashRing {
  readonly hosts: readonly string[];
  readonly partitionsPerHost: number;
  private readonly points: bigint[];
  private readonly owners: string[];

  constructor(hosts: Iterable<string>, partitionExponent: number = defaultPartitionExponent) {
    this.hosts = [...new Set(hosts)].sort();
    this.partitionsPerHost = 2 ** partitionExponent;
    const ring = new Map<bigint, string>();
    for (const host of this.hosts) {
      const key = Buffer.from(host, 'utf8');
      // tooz keeps one running md5 object and feeds it the key again for every partition
      const running = createHash('md5');
      for (let r = 0; r < this.partitionsPerHost; r++) {
        running.update(key);
        ring.set(BigInt('0x' + running.copy().digest('hex')), host);
      }
    }
    this.points = [...ring.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    this.owners = this.points.map((p) => ring.get(p) as string);
  }

  get size(): number {
    return this.points.length;
  }

  /** The host that owns `key` (a node uuid), or undefined when the ring is empty. */
  ownerOf(key: string): string | undefined {
    if (this.points.length === 0) return undefined;
    const h = keyPosition(key);
    // bisect_right: first point strictly greater than h
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid] <= h) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo < this.points.length ? lo : 0];
  }
}

/** Ironic's ring key: one ring per conductor group and hardware type. Groups are case-insensitive. */
export const ringKey = (group: string, hardwareType: string): string => `${group.toLowerCase()}:${hardwareType}`;

/** A member as the ring builder needs it. */
export interface RingMember {
  hostname: string;
  group: string;
  hardwareTypes: readonly string[];
}

export type Rings = ReadonlyMap<string, HashRing>;

/** Every ring for a membership: one per (group, hardware type) that has at least one live host. */
export const buildRings = (members: Iterable<RingMember>, partitionExponent = defaultPartitionExponent): Rings => {
  const hostsByKey = new Map<string, string[]>();
  for (const m of members) {
    for (const hw of m.hardwareTypes) {
      const key = ringKey(m.group, hw);
      const list = hostsByKey.get(key) ?? [];
      list.push(m.hostname);
      hostsByKey.set(key, list);
    }
  }
  const rings = new Map<string, HashRing>();
  for (const [key, hosts] of hostsByKey) rings.set(key, new HashRing(hosts, partitionExponent));
  return rings;
};

/** The owner of a node under these rings, or undefined (Ironic's NoValidHost). */
export const ownerOfNode = (rings: Rings, node: { uuid: string; group: string; driver: string }): string | undefined =>
  rings.get(ringKey(node.group, node.driver))?.ownerOf(node.uuid);
