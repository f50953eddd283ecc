// /v1/chassis (reference §3.5) on the real stack: SQLite event store, command handler, projector.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { innerError, latest, testApp } from './support/app.ts';

const t = await testApp();
const { app } = t;
const H = { host: 'h', ...latest };
const req = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
  app.inject({ method, url, headers: H, ...(payload === undefined ? {} : { payload: payload as object }) });

let uuid = '';

test('create: 201, Location, the full chassis in Ironic\'s key order, visible at once (read-your-writes)', async () => {
  const r = await req('POST', '/v1/chassis', { description: 'rack 1', extra: { row: 'a' } });
  assert.is(r.statusCode, 201);
  const body = JSON.parse(r.body) as Record<string, unknown>;
  uuid = body.uuid as string;
  assert.is(r.headers.location, `http://h/v1/chassis/${uuid}`);
  assert.equal(Object.keys(body), ['uuid', 'created_at', 'updated_at', 'description', 'extra', 'links', 'nodes']);
  assert.equal(body.links, [
    { href: `http://h/v1/chassis/${uuid}`, rel: 'self' },
    { href: `http://h/chassis/${uuid}`, rel: 'bookmark' },
  ]);
  // Ironic's nested-list quirk, copied
  assert.equal(body.nodes, [[
    { href: `http://h/v1/chassis/${uuid}/nodes`, rel: 'self' },
    { href: `http://h/chassis/${uuid}/nodes`, rel: 'bookmark' },
  ]]);
  const last = (await t.events()).at(-1)!;
  assert.is(last.type, 'ChassisCreated');
  assert.is(last.streamId, `chassis-${uuid}`);
  assert.match(last.metadata.correlationId, /^req-/);
  assert.is(last.metadata.correlationId, r.headers['openstack-request-id']);
  const g = await req('GET', `/v1/chassis/${uuid}`);
  assert.is(g.statusCode, 200);
});

test('a client-chosen UUID is kept; a duplicate → 409', async () => {
  const id = '6f1b3a2c-7d4e-4f5a-9b8c-0d1e2f3a4b5c';
  assert.is((await req('POST', '/v1/chassis', { uuid: id })).statusCode, 201);
  const dup = await req('POST', '/v1/chassis', { uuid: id });
  assert.is(dup.statusCode, 409);
});

test('show: fields; invalid UUID → 400; unknown → 404', async () => {
  const r = await req('GET', `/v1/chassis/${uuid}?fields=description`);
  assert.equal(JSON.parse(r.body), { description: 'rack 1', links: [{ href: `http://h/v1/chassis/${uuid}`, rel: 'self' }, { href: `http://h/chassis/${uuid}`, rel: 'bookmark' }] });
  const bad = await req('GET', '/v1/chassis/not-a-uuid');
  assert.is(bad.statusCode, 400);
  assert.is(innerError(bad.body).faultstring, 'Expected UUID for chassis_uuid: not-a-uuid');
  assert.is((await req('GET', '/v1/chassis/1be26c0b-03f2-4d2e-ae87-c02d7f33c123')).statusCode, 404);
  assert.is((await req('GET', `/v1/chassis/${uuid}/detail`)).statusCode, 404);
});

test('patch: replace/add/remove with Ironic\'s rules', async () => {
  const r = await req('PATCH', `/v1/chassis/${uuid}`, [
    { op: 'replace', path: '/description', value: 'rack 2' },
    { op: 'add', path: '/extra/col', value: 7 },
    { op: 'remove', path: '/extra/row' },
  ]);
  assert.is(r.statusCode, 200);
  const body = JSON.parse(r.body) as { description: string; extra: unknown; updated_at: string | null };
  assert.is(body.description, 'rack 2');
  assert.equal(body.extra, { col: 7 });
  assert.ok(body.updated_at);
});

test('patch errors → 400, nothing written', async () => {
  const before = await t.count();
  const cases: Array<[unknown, RegExp]> = [
    [[{ op: 'replace', path: '/created_at', value: 'x' }], /^Cannot patch \/created_at\. Only the following can be updated: uuid, extra, description$/],
    [[{ op: 'remove', path: '/extra/nope' }], /^Couldn't apply patch '\{'op': 'remove', 'path': '\/extra\/nope'\}'\. Reason: can't remove a non-existent object 'nope'$/],
    [[{ op: 'add', path: '/bogus', value: 1 }], /^Cannot patch \/bogus/],
    [[{ op: 'move', path: '/extra', from: '/description' }], /^Schema error for patch: /],
    [[{ op: 'replace', path: 'description', value: 'x' }], /^Schema error for patch: 'description' does not match/],
    [[{ op: 'replace', path: '/description', value: 5 }], /^Schema error for chassis: /],
    [[{ op: 'replace', path: '/description', value: 'x'.repeat(256) }], /is too long$/],
    [{ op: 'replace' }, /^Schema error for patch: .* is not of type 'array'$/],
  ];
  for (const [payload, re] of cases) {
    const r = await req('PATCH', `/v1/chassis/${uuid}`, payload);
    assert.is(r.statusCode, 400, JSON.stringify(payload));
    assert.match(String(innerError(r.body).faultstring), re);
  }
  assert.is(await t.count(), before);
});

test('nodes sub-collection: lists the chassis\' nodes; writes there → 403', async () => {
  const n = await req('POST', '/v1/nodes', { driver: 'fake-hardware', chassis_uuid: uuid });
  assert.is(n.statusCode, 201);
  const other = await req('POST', '/v1/nodes', { driver: 'fake-hardware' });
  assert.is(other.statusCode, 201);
  const r = await req('GET', `/v1/chassis/${uuid}/nodes`);
  const nodes = (JSON.parse(r.body) as { nodes: Array<{ uuid: string }> }).nodes;
  assert.equal(nodes.map((x) => x.uuid), [(JSON.parse(n.body) as { uuid: string }).uuid]);
  assert.is((await req('POST', `/v1/chassis/${uuid}/nodes`, { driver: 'fake-hardware' })).statusCode, 403);
  const del = await req('DELETE', `/v1/chassis/${uuid}`);
  assert.is(del.statusCode, 400);
  assert.is(innerError(del.body).faultstring, `Cannot complete the requested action because chassis ${uuid} contains nodes.`);
  assert.is((await req('DELETE', `/v1/nodes/${(JSON.parse(n.body) as { uuid: string }).uuid}`)).statusCode, 204);
});

test('delete: 204 without body, then 404', async () => {
  const r = await req('DELETE', `/v1/chassis/${uuid}`);
  assert.is(r.statusCode, 204);
  assert.is(r.body, '');
  assert.is((await req('GET', `/v1/chassis/${uuid}`)).statusCode, 404);
});

test('a read model that does not catch up in time → 503', async () => {
  const slow = await testApp({ IRONLOG_API_READ_TIMEOUT_MS: '50' });
  // a projector that has stopped never reaches the write's position
  await slow.runtime.projector!.stop();
  const before = await slow.count();
  const r = await slow.app.inject({ method: 'POST', url: '/v1/chassis', payload: {} });
  assert.is(r.statusCode, 503);
  assert.is(innerError(r.body).faultcode, 'Server');
  // the write itself was accepted
  assert.is(await slow.count(), before + 1);
  await slow.close();
});

test.after(async () => {
  await t.close();
});
test.run();
