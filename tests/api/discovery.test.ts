// Root and /v1 documents (reference §1.1, §1.2), path normalisation (trailing slash, `.json`,
// paths without /v1), request ids, /metrics and the OpenAPI document.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { normalisePath } from '../../api/url.ts';
import { latest, testApp, v } from './support/app.ts';

const t = await testApp();
const { app } = t;
const host = { host: 'ironic.example:6385' };

const versionDoc = {
  id: 'v1',
  links: [{ href: 'http://ironic.example:6385/v1/', rel: 'self' }],
  status: 'CURRENT',
  min_version: '1.1',
  version: '1.82',
};

test('GET / is the root document, exactly', async () => {
  const r = await app.inject({ method: 'GET', url: '/', headers: host });
  assert.is(r.statusCode, 200);
  const body = JSON.parse(r.body) as Record<string, unknown>;
  assert.equal(Object.keys(body), ['name', 'description', 'default_version', 'versions']);
  assert.equal(body, {
    name: 'OpenStack Ironic API',
    description: 'Ironic is an OpenStack project which enables the provision and management of baremetal machines.',
    default_version: versionDoc,
    versions: [versionDoc],
  });
});

const res = (name: string) => [
  { href: `http://ironic.example:6385/v1/${name}/`, rel: 'self' },
  { href: `http://ironic.example:6385/${name}/`, rel: 'bookmark' },
];

test('GET /v1 at 1.1: the always-present keys, in order', async () => {
  const r = await app.inject({ method: 'GET', url: '/v1', headers: host });
  const body = JSON.parse(r.body) as Record<string, unknown>;
  assert.equal(Object.keys(body), ['id', 'links', 'media_types', 'chassis', 'nodes', 'ports', 'drivers', 'version']);
  assert.equal(body.links, [
    { href: 'http://ironic.example:6385/v1/', rel: 'self' },
    { href: 'https://docs.openstack.org//ironic/latest/contributor//webapi.html', rel: 'describedby', type: 'text/html' },
  ]);
  assert.equal(body.media_types, { base: 'application/json', type: 'application/vnd.openstack.ironic.v1+json' });
  assert.equal(body.chassis, res('chassis'));
  assert.equal(body.nodes, res('nodes'));
  assert.equal(body.version, versionDoc);
});

test('GET /v1: version-gated keys appear from their version on', async () => {
  const keysAt = async (ver: string) => Object.keys(JSON.parse((await app.inject({ method: 'GET', url: '/v1', headers: { ...host, ...v(ver) } })).body) as object);
  assert.not.ok((await keysAt('1.21')).includes('lookup'));
  assert.ok((await keysAt('1.22')).includes('lookup'));
  assert.not.ok((await keysAt('1.22')).includes('portgroups'));
  assert.ok((await keysAt('1.23')).includes('portgroups'));
  assert.not.ok((await keysAt('1.48')).includes('conductors'));
  assert.ok((await keysAt('1.49')).includes('conductors'));
  assert.not.ok((await keysAt('1.81')).includes('shards'));
  assert.equal(await keysAt('1.82'), [
    'id', 'links', 'media_types', 'chassis', 'nodes', 'ports', 'drivers', 'version',
    'portgroups', 'volume', 'lookup', 'heartbeat', 'conductors', 'allocations', 'events', 'deploy_templates', 'shards',
  ]);
});

test('/v1/, /v1.json and /v1/ with a version all serve the v1 document; only GET', async () => {
  for (const url of ['/v1/', '/v1.json', '/v1//']) {
    const r = await app.inject({ method: 'GET', url, headers: latest });
    assert.is(r.statusCode, 200, url);
    assert.is((JSON.parse(r.body) as { id: string }).id, 'v1');
  }
  assert.is((await app.inject({ method: 'PUT', url: '/v1' })).statusCode, 405);
});

test('paths without /v1 are re-routed into v1; .json is stripped', async () => {
  const a = await app.inject({ method: 'GET', url: '/chassis' });
  const b = await app.inject({ method: 'GET', url: '/v1/chassis.json' });
  const c = await app.inject({ method: 'GET', url: '/chassis/' });
  assert.is(a.statusCode, 200);
  assert.is(b.statusCode, 200);
  assert.is(c.statusCode, 200);
  assert.equal(normalisePath('/nodes/foo.json'), { path: '/v1/nodes/foo', hadJsonSuffix: true });
  assert.equal(normalisePath('/'), { path: '/', hadJsonSuffix: false });
  assert.equal(normalisePath('/metrics'), { path: '/metrics', hadJsonSuffix: false });
});

test('IRONLOG_API_PUBLIC_ENDPOINT replaces the host in links', async () => {
  const pubT = await testApp({ IRONLOG_API_PUBLIC_ENDPOINT: 'https://bm.example.org/' });
  const pub = pubT.app;
  const body = JSON.parse((await pub.inject({ method: 'GET', url: '/', headers: host })).body) as { default_version: { links: Array<{ href: string }> } };
  assert.is(body.default_version.links[0]!.href, 'https://bm.example.org/v1/');
  await pubT.close();
});

test('Openstack-Request-Id on every response, successes and errors alike', async () => {
  for (const [method, url] of [['GET', '/'], ['GET', '/v1'], ['GET', '/v1/bogus'], ['DELETE', '/v1/chassis'], ['GET', '/metrics']] as const) {
    const r = await app.inject({ method, url });
    assert.match(String(r.headers['openstack-request-id']), /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, url);
  }
  const one = await app.inject({ method: 'GET', url: '/v1' });
  const two = await app.inject({ method: 'GET', url: '/v1' });
  assert.is.not(one.headers['openstack-request-id'], two.headers['openstack-request-id']);
});

test('a valid inbound X-Openstack-Request-Id is kept; an invalid one is not', async () => {
  const id = 'req-0123abcd-0123-4567-89ab-0123456789ab';
  const r = await app.inject({ method: 'GET', url: '/v1', headers: { 'x-openstack-request-id': id } });
  assert.is(r.headers['openstack-request-id'], id);
  const bad = await app.inject({ method: 'GET', url: '/v1', headers: { 'x-openstack-request-id': 'req-nope' } });
  assert.is.not(bad.headers['openstack-request-id'], 'req-nope');
});

test('request logs carry the request id', async () => {
  const lines: string[] = [];
  const { buildApp } = await import('../../api/app.ts');
  const { loadApiConfig } = await import('../../api/config.ts');
  const logged = buildApp(t.deps, loadApiConfig({ IRONLOG_AUTH_STRATEGY: 'noauth' }), {
    logger: { level: 'info', stream: { write: (l: string) => void lines.push(l) } },
  });
  const id = 'req-0123abcd-0123-4567-89ab-0123456789ab';
  await logged.inject({ method: 'GET', url: '/v1', headers: { 'x-openstack-request-id': id } });
  await logged.close();
  const mine = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.request_id === id);
  assert.ok(mine.some((l) => l.msg === 'incoming request'));
  assert.ok(mine.some((l) => l.msg === 'request completed'));
});

test('/metrics: Prometheus text with request counts and latency by route and status', async () => {
  await app.inject({ method: 'GET', url: '/v1/chassis' });
  await app.inject({ method: 'GET', url: '/v1/chassis/1be26c0b-03f2-4d2e-ae87-c02d7f33c123' });
  const r = await app.inject({ method: 'GET', url: '/metrics' });
  assert.is(r.statusCode, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  assert.match(r.body, /ironlog_api_requests_total\{method="GET",route="\/v1\/chassis",status="200"\} \d+/);
  assert.match(r.body, /ironlog_api_requests_total\{method="GET",route="\/v1\/chassis\/:chassis_uuid",status="404"\} 1/);
  assert.match(r.body, /ironlog_api_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/v1\/chassis",status="200"\}/);
  assert.match(r.body, /ironlog_process_resident_memory_bytes/);
});

test('/v1/openapi.json: an OpenAPI 3 document generated from the routes', async () => {
  const r = await app.inject({ method: 'GET', url: '/v1/openapi.json' });
  assert.is(r.statusCode, 200);
  const doc = JSON.parse(r.body) as { openapi: string; paths: Record<string, Record<string, unknown>> };
  assert.match(doc.openapi, /^3\./);
  assert.ok(doc.paths['/v1/chassis']?.get);
  assert.ok(doc.paths['/v1/chassis']?.post);
  assert.ok(doc.paths['/v1/chassis/{chassis_uuid}']?.patch);
  assert.ok(doc.paths['/v1/nodes']?.post);
  assert.not.ok(doc.paths['/metrics']);
  const post = doc.paths['/v1/chassis']!.post as { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } };
  assert.ok(post.requestBody.content['application/json']!.schema.properties.description);
});

test.after(async () => {
  await t.close();
});
test.run();
