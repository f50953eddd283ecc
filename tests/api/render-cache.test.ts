// The node render cache (api/resources/node-json.ts NodeRenderCache): full node renders are reused
// only while the node's read-model revision, the request's microversion, base URL and the node's
// conductor stay the same. Every change shows at once, including changes that leave updated_at
// as it was (a reservation), and cached bodies are the same JSON as fresh ones.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testApp, type TestApp } from './support/app.ts';

let t: TestApp;
const at = () => new Date().toISOString().replace('Z', '+00:00');
const get = async (url: string, version = 'latest', host = 'h') => {
  const r = await t.app.inject({ method: 'GET', url, headers: { host, 'x-openstack-ironic-api-version': version } });
  assert.is(r.statusCode, 200, r.body);
  return { body: JSON.parse(r.body) as any, raw: r.body, type: r.headers['content-type'] };
};

test.before(async () => {
  t = await testApp();
});
test.after(async () => {
  await t?.close();
});

test('a cached show and detail list follow every change of the node', async () => {
  const n = await t.seedNode({ name: 'rc-1', provision_state: 'available' });
  const first = await get(`/v1/nodes/${n.uuid}`);
  assert.is(first.type, 'application/json; charset=utf-8');
  assert.is((await get(`/v1/nodes/${n.uuid}`)).raw, first.raw, 'the same node renders the same bytes');
  assert.is(first.body.reservation, null);
  await get('/v1/nodes/detail');
  // a reservation changes no timestamp: the revision still moves
  await t.appendNodeEvents(n.uuid, [{ type: 'NodeReserved', data: { uuid: n.uuid, at: at(), host: 'elsewhere', ring_epoch: 0 } }]);
  assert.is((await get(`/v1/nodes/${n.uuid}`)).body.reservation, 'elsewhere');
  assert.is((await get('/v1/nodes/detail')).body.nodes.find((x: any) => x.uuid === n.uuid).reservation, 'elsewhere');
  assert.is((await get('/v1/nodes/rc-1')).body.reservation, 'elsewhere', 'by name too');
  const patched = await t.app.inject({ method: 'PATCH', url: `/v1/nodes/${n.uuid}`, headers: { host: 'h', 'x-openstack-ironic-api-version': 'latest', 'content-type': 'application/json' }, payload: JSON.stringify([{ op: 'add', path: '/extra/k', value: 'v' }]) });
  assert.is(patched.statusCode, 409, 'reserved nodes refuse updates');
  await t.appendNodeEvents(n.uuid, [{ type: 'NodeReleased', data: { uuid: n.uuid, at: at(), host: 'elsewhere' } }]);
  const ok = await t.app.inject({ method: 'PATCH', url: `/v1/nodes/${n.uuid}`, headers: { host: 'h', 'x-openstack-ironic-api-version': 'latest', 'content-type': 'application/json' }, payload: JSON.stringify([{ op: 'add', path: '/extra/k', value: 'v' }]) });
  assert.is(ok.statusCode, 200, ok.body);
  assert.equal((await get(`/v1/nodes/${n.uuid}`)).body.extra, { k: 'v' });
  assert.equal((await get('/v1/nodes/detail')).body.nodes.find((x: any) => x.uuid === n.uuid).extra, { k: 'v' });
});

test('renders differ by microversion and base URL; list bodies equal fresh renders', async () => {
  const n = await t.seedNode({ name: 'rc-2' });
  const latest = await get(`/v1/nodes/${n.uuid}`);
  const old = await get(`/v1/nodes/${n.uuid}`, '1.1');
  assert.is(latest.body.name, 'rc-2');
  assert.not.ok('name' in old.body, 'no name at 1.1');
  assert.ok((await get(`/v1/nodes/${n.uuid}`)).body.name === 'rc-2', 'the 1.1 render did not replace the latest one');
  const other = await get(`/v1/nodes/${n.uuid}`, 'latest', 'other.example:6385');
  assert.is(other.body.links[0].href, `http://other.example:6385/v1/nodes/${n.uuid}`);
  assert.is(latest.body.links[0].href, `http://h/v1/nodes/${n.uuid}`);

  const list = await get('/v1/nodes/detail?limit=2');
  assert.is(list.body.nodes.length, 2);
  assert.match(list.body.next, /^http:\/\/h\/v1\/nodes\/detail\?sort_key=id&sort_dir=asc&limit=2&marker=/);
  for (const item of list.body.nodes) assert.equal(item, (await get(`/v1/nodes/${item.uuid}`)).body);
  assert.equal(JSON.parse(list.raw), { nodes: list.body.nodes, next: list.body.next }, 'one JSON document, nodes then next');
  const viaDetailFlag = await get('/v1/nodes?detail=true&limit=2');
  assert.equal(viaDetailFlag.body.nodes, list.body.nodes);
  assert.match(viaDetailFlag.body.next, /detail=True/);
  const fields = await get(`/v1/nodes/${n.uuid}?fields=uuid,name`);
  assert.equal(Object.keys(fields.body), ['uuid', 'name', 'links']);
});

test.run();
