// Authentication: http_basic with a bcrypt htpasswd file (Ironic's ironic_lib.auth_basic), the
// public routes, the credential cache, noauth.

import { appendFileSync, writeFileSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { htpasswdLine, isPublicPath, parseBasicAuth, parseHtpasswd } from '../../api/plugins/auth.ts';
import { innerError, testApp, writeHtpasswd } from './support/app.ts';

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

// cost 4 keeps the test fast; $2y$ is what Apache's htpasswd -B writes, $2b$ what Python's bcrypt writes
const file = writeHtpasswd([
  `admin:${bcrypt.hashSync('secret', 4).replace('$2b$', '$2y$')}`,
  `ops:${bcrypt.hashSync('pa:ss word', 4)}`,
  '',
]);
const t = await testApp({ IRONLOG_AUTH_STRATEGY: 'http_basic', IRONLOG_HTPASSWD_FILE: file });
const { app } = t;

test('no credentials → 401 with WWW-Authenticate, in Ironic format', async () => {
  const r = await app.inject({ method: 'GET', url: '/v1/chassis' });
  assert.is(r.statusCode, 401);
  assert.is(r.headers['www-authenticate'], 'Basic realm="Baremetal API"');
  assert.equal(innerError(r.body), { faultcode: 'Client', faultstring: 'Authorization required', debuginfo: null });
  // ironic_lib's own shape is there too, for clients written against it
  assert.equal((JSON.parse(r.body) as { error: unknown }).error, { message: 'Authorization required', code: 401 });
  // auth comes before version negotiation, as Ironic's middleware order
  assert.is(r.headers['x-openstack-ironic-api-version'], undefined);
});

test('a bcrypt ($2y$ and $2b$) htpasswd user gets in', async () => {
  const r = await app.inject({ method: 'GET', url: '/v1/chassis', headers: basic('admin', 'secret') });
  assert.is(r.statusCode, 200);
  const r2 = await app.inject({ method: 'GET', url: '/v1/chassis', headers: basic('ops', 'pa:ss word') });
  assert.is(r2.statusCode, 200);
});

test('wrong password or unknown user → 401 "Incorrect username or password"', async () => {
  for (const h of [basic('admin', 'wrong'), basic('nobody', 'secret'), basic('admin', '')]) {
    const r = await app.inject({ method: 'GET', url: '/v1/chassis', headers: h });
    assert.is(r.statusCode, 401);
    assert.is(innerError(r.body).faultstring, 'Incorrect username or password');
  }
});

test('malformed Authorization headers → 400 as ironic_lib', async () => {
  const cases: Array<[string, string]> = [
    ['Basic', 'Could not parse Authorization header'],
    ['Bearer abc', 'Unsupported authorization type "Bearer"'],
    ['Basic !!!!', 'Could not decode authorization token'],
    [`Basic ${Buffer.from('nocolon').toString('base64')}`, 'Could not decode authorization token'],
  ];
  for (const [h, msg] of cases) {
    const r = await app.inject({ method: 'GET', url: '/v1/chassis', headers: { authorization: h } });
    assert.is(r.statusCode, 400, h);
    assert.is(innerError(r.body).faultstring, msg);
  }
});

test('/, /v1 and the agent endpoints need no login; /metrics and the rest do', async () => {
  assert.is((await app.inject({ method: 'GET', url: '/' })).statusCode, 200);
  assert.is((await app.inject({ method: 'GET', url: '/v1' })).statusCode, 200);
  assert.is((await app.inject({ method: 'GET', url: '/v1/' })).statusCode, 200);
  // not found (no such route yet / no node), but not refused for lack of login
  assert.is.not((await app.inject({ method: 'GET', url: '/v1/lookup' })).statusCode, 401);
  assert.is.not((await app.inject({ method: 'POST', url: '/v1/heartbeat/1be26c0b-03f2-4d2e-ae87-c02d7f33c123' })).statusCode, 401);
  assert.is((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
  assert.is((await app.inject({ method: 'GET', url: '/v1/nodes' })).statusCode, 401);
  assert.is((await app.inject({ method: 'GET', url: '/nodes' })).statusCode, 401);
});

test('isPublicPath mirrors acl_public_routes', () => {
  for (const p of ['/', '/v1', '/v1/', '/v1.json', '/v1/lookup', '/v1/lookup?addresses=x', '/v1/heartbeat/abc-123', '/v1/heartbeat/abc.json']) assert.ok(isPublicPath(p), p);
  for (const p of ['/v1/nodes', '/v1/heartbeat/ABC', '/v1/heartbeat/a/b', '/lookup', '/metrics', '/v1/lookupx']) assert.not.ok(isPublicPath(p), p);
});

test('a changed htpasswd file is picked up; the cache never outlives the entry it verified', async () => {
  writeFileSync(file, htpasswdLine('admin', 'rotated', 4) + '\n');
  await new Promise((r) => setTimeout(r, 1100));
  const old = await app.inject({ method: 'GET', url: '/v1/chassis', headers: basic('admin', 'secret') });
  assert.is(old.statusCode, 401);
  const fresh = await app.inject({ method: 'GET', url: '/v1/chassis', headers: basic('admin', 'rotated') });
  assert.is(fresh.statusCode, 200);
  appendFileSync(file, htpasswdLine('late', 'comer', 4) + '\n');
});

test('the htpasswd file is validated at start-up: missing or non-bcrypt entries refuse to start', async () => {
  let failed = false;
  try {
    await testApp({ IRONLOG_AUTH_STRATEGY: 'http_basic', IRONLOG_HTPASSWD_FILE: '/nonexistent/htpasswd' });
  } catch (e) {
    failed = true;
    assert.match(String((e as Error).message), /Problem reading auth user file/);
  }
  assert.ok(failed);
  assert.throws(() => parseHtpasswd('bob:{SHA}abcdef\n'), /Only bcrypt digested passwords are supported for bob/);
  const md5 = writeHtpasswd(['bob:$apr1$xyz$abc']);
  failed = false;
  try {
    await testApp({ IRONLOG_AUTH_STRATEGY: 'http_basic', IRONLOG_HTPASSWD_FILE: md5 });
  } catch {
    failed = true;
  }
  assert.ok(failed);
});

test('parseBasicAuth splits at the first colon and keeps the rest of the password', () => {
  assert.equal(parseBasicAuth(basic('a', 'b:c').authorization), { user: 'a', password: 'b:c' });
});

test('noauth lets everything through', async () => {
  const openT = await testApp({ IRONLOG_AUTH_STRATEGY: 'noauth' });
  const open = openT.app;
  assert.is((await open.inject({ method: 'GET', url: '/v1/chassis' })).statusCode, 200);
  assert.is((await open.inject({ method: 'GET', url: '/metrics' })).statusCode, 200);
  await openT.close();
});

test.after(async () => {
  await t.close();
});
test.run();
