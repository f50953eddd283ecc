// Full-node lists read rows without documents (projections/nodes.ts listNodeRows) and take the
// renders from the render cache, reading a document only for a render it lacks. The rows must be
// exactly listNodes' page (filters, every sort, marker, limit), with each row's read-model
// revision, and the detail list must be what rendering every node afresh gives.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { listNodeRows, listNodes, nodeDocAt, type NodeListQuery } from '../../projections/nodes.ts';
import type { FastifyRequest } from 'fastify';
import { withRevision, type NodeView } from '../../api/deps.ts';
import { NodeRenderCache } from '../../api/resources/node-json.ts';
import { testApp, type TestApp } from './support/app.ts';

let t: TestApp;
const headers = { host: 'h', 'x-openstack-ironic-api-version': 'latest' };

test.before(async () => {
  t = await testApp();
  const states = ['enroll', 'manageable', 'available', 'active'] as const;
  for (let i = 0; i < 24; i++) {
    await t.seedNode({
      name: `row-${String(i).padStart(2, '0')}`,
      provision_state: states[i % 4],
      maintenance: i % 5 === 0,
      resource_class: i % 3 === 0 ? 'gold' : i % 3 === 1 ? 'silver' : null,
      conductor_group: i % 2 ? '' : 'rack-a',
    });
  }
});
test.after(async () => {
  await t?.close();
});

test('listNodeRows is listNodes\' page, row for row, with the stored revisions', () => {
  const db = t.runtime.db.db;
  const all = listNodes(db, {});
  assert.ok(E.isRight(all));
  const uuids = E.isRight(all) ? all.right.nodes.map((n) => n.uuid as string) : [];
  const queries: NodeListQuery[] = [
    {},
    { limit: 5 },
    { limit: 7, marker: uuids[3] },
    { sort_key: 'name', sort_dir: 'desc' },
    { sort_key: 'resource_class', sort_dir: 'asc', limit: 9 },
    { sort_key: 'resource_class', sort_dir: 'desc', limit: 6, marker: uuids[10] },
    { provision_state: 'available' },
    { maintenance: true },
    { resource_class: 'gold', sort_key: 'provision_state' },
    { conductor_group: 'RACK-A', limit: 4, marker: uuids[4] },
  ];
  for (const q of queries) {
    const nodes = listNodes(db, q);
    const rows = listNodeRows(db, q);
    assert.ok(E.isRight(nodes) && E.isRight(rows), JSON.stringify(q));
    if (!E.isRight(nodes) || !E.isRight(rows)) continue;
    assert.equal(rows.right.map((r) => r.uuid), nodes.right.nodes.map((n) => n.uuid), JSON.stringify(q));
    for (const r of rows.right) {
      const now = nodeDocAt(db, r.uuid)!;
      assert.is(r.revision, now.revision);
    }
  }
  assert.ok(E.isLeft(listNodeRows(db, { marker: '00000000-0000-4000-8000-000000000000' })), 'an unknown marker is refused alike');
  assert.ok(E.isLeft(listNodeRows(db, { provision_state: 'nonsense' })), 'a bad filter is refused alike');
});

test('detail lists (cold and from the cache) equal fresh renders, and follow changes', async () => {
  const list = async (url: string) => {
    const r = await t.app.inject({ method: 'GET', url, headers });
    assert.is(r.statusCode, 200, r.body);
    return r.body;
  };
  const url = '/v1/nodes/detail?sort_key=name&limit=10&maintenance=false';
  const cold = await list(url);
  const warm = await list(url);
  assert.is(warm, cold, 'the cached list is byte for byte the cold one');
  const parsed = JSON.parse(cold) as { nodes: Array<{ uuid: string; name: string }>; next: string };
  assert.is(parsed.nodes.length, 10);
  assert.equal(parsed.nodes.map((n) => n.name), [...parsed.nodes.map((n) => n.name)].sort());
  assert.ok(parsed.next.endsWith(`sort_key=name&sort_dir=asc&limit=10&marker=${parsed.nodes[9]!.uuid}`), parsed.next);
  for (const n of parsed.nodes) {
    const one = await t.app.inject({ method: 'GET', url: `/v1/nodes/${n.uuid}`, headers });
    assert.equal(n, JSON.parse(one.body), 'each item is the node as shown alone');
  }
  const first = parsed.nodes[0]!;
  await t.appendNodeEvents(first.uuid, [{ type: 'NodeReserved', data: { uuid: first.uuid, at: new Date().toISOString().replace('Z', '+00:00'), host: 'someone', ring_epoch: 0 } }]);
  const after = JSON.parse(await list(url)) as { nodes: Array<{ uuid: string; reservation: string | null }> };
  assert.is(after.nodes[0]!.reservation, 'someone', 'a new revision renders anew');
  assert.is(after.nodes[1]!.reservation, null);
});

test('a cached render is reused only while the ring gives the node the conductor it was rendered with', async () => {
  const db = t.runtime.db.db;
  const rows = listNodeRows(db, { limit: 1 });
  assert.ok(E.isRight(rows));
  if (!E.isRight(rows)) return;
  const uuid = rows.right[0]!.uuid;
  const stored = nodeDocAt(db, uuid)!;
  const node = withRevision(stored.node as unknown as NodeView, stored.revision);
  const req = { baseUrl: 'http://h', apiVersion: { major: 1, minor: 82 } } as unknown as FastifyRequest;
  let owner: string | null = 'conductor-a';
  const asked: Array<Pick<NodeView, 'uuid' | 'conductor_group' | 'driver'>> = [];
  const ctx = { conductorFor: (n: Pick<NodeView, 'uuid' | 'conductor_group' | 'driver'>) => (asked.push(n), owner) };
  const cache = new NodeRenderCache();
  const first = cache.full(req, node, ctx);
  assert.is((JSON.parse(first.toString()) as { conductor: string }).conductor, 'conductor-a');
  const row = { uuid, revision: stored.revision, node: () => assert.unreachable('a cached row needs no document') as never };
  assert.is(cache.fullRow(req, row, ctx), first, 'a row of the same revision: the same bytes, no document read');
  assert.equal(asked.at(-1), { uuid, conductor_group: node.conductor_group, driver: node.driver }, 'checked with the node\'s own placement');
  owner = 'conductor-b';
  const moved = cache.fullRow(req, { uuid, revision: stored.revision, node: () => node }, ctx)!;
  assert.is((JSON.parse(moved.toString()) as { conductor: string }).conductor, 'conductor-b', 'the ring moved the node: rendered anew');
  assert.is(cache.full(req, node, ctx), moved, 'and cached for the new conductor');
  assert.is(cache.size, 1);
  const list = cache.list('nodes', [moved, first], undefined);
  assert.is(cache.list('nodes', [moved, first], undefined), list, 'the same renders: the same body');
  assert.is.not(cache.list('nodes', [first, moved], undefined), list, 'other renders: a new body');
  assert.equal(JSON.parse(cache.list('nodes', [first], 'http://h/next').toString()), { nodes: [JSON.parse(first.toString())], next: 'http://h/next' });
});

test.run();
