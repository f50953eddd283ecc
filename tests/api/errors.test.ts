// Ironic's error format (reference §2.1): every 4xx/5xx double-encoded; webob shapes for routing
// errors; DomainErrors mapped by status; fastify's own errors (malformed JSON, oversized bodies,
// bad content types, malformed URLs) are 4xx in the same format, never 5xx; 204 has no body.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Fastify from 'fastify';
import { domainError } from '../../domain/errors.ts';
import { errorBody, ApiError } from '../../api/http-errors.ts';
import { errorsPlugin, toApiError } from '../../api/plugins/errors.ts';
import { innerError, latest, testApp } from './support/app.ts';

const t = await testApp({ IRONLOG_API_MAX_BODY_SIZE: '4096' });
const { app } = t;

const json = { 'content-type': 'application/json' };

test('controller errors: {"error_message": "<JSON string>"} with faultcode/faultstring/debuginfo', async () => {
  const r = await app.inject({ method: 'GET', url: '/v1/chassis/1be26c0b-03f2-4d2e-ae87-c02d7f33c123' });
  assert.is(r.statusCode, 404);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  const outer = JSON.parse(r.body) as Record<string, unknown>;
  assert.equal(Object.keys(outer), ['error_message']);
  assert.type(outer.error_message, 'string');
  assert.equal(innerError(r.body), {
    faultcode: 'Client',
    faultstring: 'Chassis 1be26c0b-03f2-4d2e-ae87-c02d7f33c123 could not be found.',
    debuginfo: null,
  });
});

test('unknown top-level resource: webob 404 {code, title, description}', async () => {
  const r = await app.inject({ method: 'GET', url: '/v1/bogus' });
  assert.is(r.statusCode, 404);
  assert.equal(innerError(r.body), { code: 404, title: 'Not Found', description: 'The resource could not be found.' });
});

test('wrong method on a known path: webob 405 with an Allow header', async () => {
  const r = await app.inject({ method: 'DELETE', url: '/v1/chassis' });
  assert.is(r.statusCode, 405);
  assert.is(r.headers.allow, 'GET, POST');
  const inner = innerError(r.body);
  assert.is(inner.code, 405);
  assert.is(inner.title, 'Method Not Allowed');
  const r2 = await app.inject({ method: 'PUT', url: '/v1/chassis/1be26c0b-03f2-4d2e-ae87-c02d7f33c123' });
  assert.is(r2.statusCode, 405);
  assert.is(r2.headers.allow, 'DELETE, GET, PATCH');
  assert.is((await app.inject({ method: 'POST', url: '/v1' })).statusCode, 405);
});

test('malformed JSON → 400 in Ironic format, and nothing is written', async () => {
  const before = await t.count();
  for (const payload of ['{bad', '{"description": "x",}', '[1, 2', 'nul']) {
    const r = await app.inject({ method: 'POST', url: '/v1/chassis', headers: json, payload });
    assert.is(r.statusCode, 400, payload);
    const inner = innerError(r.body);
    assert.is(inner.faultcode, 'Client');
    assert.match(String(inner.faultstring), /^Invalid JSON in request body/);
  }
  assert.is(await t.count(), before);
});

test('a body over the limit → 413 in Ironic format', async () => {
  const r = await app.inject({ method: 'POST', url: '/v1/chassis', headers: json, payload: JSON.stringify({ description: 'x'.repeat(10_000) }) });
  assert.is(r.statusCode, 413);
  assert.equal(innerError(r.body), { faultcode: 'Client', faultstring: 'Request body is too large.', debuginfo: null });
});

test('any content type is read as JSON (as webob does); non-JSON content → 400, an unparseable Content-Type → 415', async () => {
  const ok = await app.inject({ method: 'POST', url: '/v1/chassis', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '{"description": "form"}' });
  assert.is(ok.statusCode, 201);
  const xml = await app.inject({ method: 'POST', url: '/v1/chassis', headers: { 'content-type': 'application/xml' }, payload: '<chassis/>' });
  assert.is(xml.statusCode, 400);
  assert.is(innerError(xml.body).faultcode, 'Client');
  const bad = await app.inject({ method: 'POST', url: '/v1/chassis', headers: { 'content-type': '/////' }, payload: '{}' });
  assert.is(bad.statusCode, 415);
  assert.is(innerError(bad.body).faultcode, 'Client');
});

test('no body on a POST is an empty object, as Ironic', async () => {
  const r = await app.inject({ method: 'POST', url: '/v1/chassis' });
  assert.is(r.statusCode, 201);
});

test('wrong types and unknown fields → 400 schema errors, nothing written', async () => {
  const before = await t.count();
  const r1 = await app.inject({ method: 'POST', url: '/v1/chassis', payload: { bogus: 1 } });
  assert.is(r1.statusCode, 400);
  assert.is(innerError(r1.body).faultstring, "Schema error for chassis: Additional properties are not allowed ('bogus' was unexpected)");
  const r2 = await app.inject({ method: 'POST', url: '/v1/chassis', payload: { description: 5 } });
  assert.is(r2.statusCode, 400);
  assert.match(String(innerError(r2.body).faultstring), /^Schema error for chassis: /);
  const r3 = await app.inject({ method: 'POST', url: '/v1/chassis', payload: [] });
  assert.is(r3.statusCode, 400);
  const r4 = await app.inject({ method: 'POST', url: '/v1/chassis', payload: { uuid: 'not-a-uuid' } });
  assert.is(r4.statusCode, 400);
  assert.is(innerError(r4.body).faultstring, 'Expected UUID for uuid: not-a-uuid');
  assert.is(await t.count(), before);
});

test('a malformed URL (bad percent-encoding) → 400 in Ironic format', async () => {
  const r = await app.inject({ method: 'GET', url: '/v1/chassis/%E0%A4%A' });
  assert.ok(r.statusCode >= 400 && r.statusCode < 500, String(r.statusCode));
  innerError(r.body);
});

test('DomainError values map to their status and Ironic class message', async () => {
  t.failNext(domainError('NodeLocked', 'Node X is locked by host h1, please retry after the current operation is completed.'));
  const r = await app.inject({ method: 'POST', url: '/v1/chassis', payload: {} });
  assert.is(r.statusCode, 409);
  assert.equal(innerError(r.body), {
    faultcode: 'Client',
    faultstring: 'Node X is locked by host h1, please retry after the current operation is completed.',
    debuginfo: null,
  });
  t.failNext(domainError('TemporaryFailure', 'No free conductor workers available'));
  const r2 = await app.inject({ method: 'POST', url: '/v1/chassis', payload: {} });
  assert.is(r2.statusCode, 503);
  assert.is(innerError(r2.body).faultcode, 'Server');
});

test('204: no body and no content type', async () => {
  const c = await app.inject({ method: 'POST', url: '/v1/chassis', headers: latest, payload: {} });
  const uuid = (JSON.parse(c.body) as { uuid: string }).uuid;
  const r = await app.inject({ method: 'DELETE', url: `/v1/chassis/${uuid}` });
  assert.is(r.statusCode, 204);
  assert.is(r.body, '');
  assert.is(r.headers['content-type'], undefined);
});

test('unexpected exceptions → 500 faultcode Server, still double-encoded', async () => {
  const bare = Fastify({ logger: false });
  await bare.register(errorsPlugin);
  bare.get('/boom', async () => {
    throw new Error('kaboom');
  });
  bare.get('/domain', async () => {
    throw domainError('InvalidStateRequested', 'nope');
  });
  const r = await bare.inject({ method: 'GET', url: '/boom' });
  assert.is(r.statusCode, 500);
  assert.equal(innerError(r.body), { faultcode: 'Server', faultstring: 'kaboom', debuginfo: null });
  const d = await bare.inject({ method: 'GET', url: '/domain' });
  assert.is(d.statusCode, 400);
  await bare.close();
});

test('toApiError keeps client statuses from frameworks and errorBody escapes like Python', () => {
  const e = toApiError(Object.assign(new Error('x'), { statusCode: 418 }));
  assert.is(e.status, 418);
  assert.is(e.style, 'controller');
  assert.is(errorBody(400, 'é', 'controller'), '{"error_message": "{\\"faultcode\\": \\"Client\\", \\"faultstring\\": \\"\\\\u00e9\\", \\"debuginfo\\": null}"}');
  assert.ok(toApiError(new ApiError(404, 'x', 'webob')).style === 'webob');
});

test.after(async () => {
  await t.close();
});
test.run();
