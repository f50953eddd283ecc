// Vendor passthru on the real stack with the in-process conductor (fake-hardware's FakeVendorB
// methods on nodes, and its two driver-level methods): method lists, async 202 / sync 200, the
// method by `?method=` or by path segment (what python-ironicclient sends), and every refusal in
// Ironic's error format with nothing written. The NATS path is tests/api/passthru-nats.test.ts.

import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { innerError, testApp } from './support/app.ts';

const t = await testApp();
const { app } = t;
type J = Record<string, unknown>;
const call = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, version = 'latest') => {
  const r = await app.inject({
    method,
    url,
    headers: { host: 'h', 'x-openstack-ironic-api-version': version, 'x-openstack-request-id': 'req-8c0e6a52-8b33-4a36-9d5e-1d1f0f3f0a11' },
    ...(payload === undefined ? {} : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload), headers: { host: 'h', 'content-type': 'application/json', 'x-openstack-ironic-api-version': version } }),
  });
  const json = r.body !== '' && String(r.headers['content-type'] ?? '').startsWith('application/json');
  return { status: r.statusCode, raw: r.body, body: json ? (JSON.parse(r.body) as unknown) : undefined, headers: r.headers };
};
const fault = (raw: string) => String(innerError(raw).faultstring);

let node = '';
test.before(async () => {
  const r = await call('POST', '/v1/nodes', { driver: 'fake-hardware', name: 'vp-1' });
  assert.is(r.status, 201, r.raw);
  node = (r.body as J).uuid as string;
});
test.after(() => t.close());

/** Every refusal: the status, Ironic's body with the message, and no event appended. */
const refused = async (p: Promise<{ status: number; raw: string }>, status: number, message: RegExp | string) => {
  const before = await t.count();
  const r = await p;
  assert.is(r.status, status, r.raw);
  const f = fault(r.raw);
  if (typeof message === 'string') assert.is(f, message);
  else assert.match(f, message);
  await t.idle();
  assert.is(await t.count(), before, 'a refused passthru call writes nothing');
};

test('GET /vendor_passthru/methods: every FakeVendorB method with Ironic\'s metadata', async () => {
  const r = await call('GET', `/v1/nodes/${node}/vendor_passthru/methods`);
  assert.is(r.status, 200, r.raw);
  assert.equal(r.body, {
    first_method: { http_methods: ['POST'], async: true, description: 'Test if the value of bar is baz', attach: false, require_exclusive_lock: true },
    second_method: { http_methods: ['POST'], async: true, description: 'Test if the value of bar is kazoo', attach: false, require_exclusive_lock: true },
    third_method_sync: { http_methods: ['POST'], async: false, description: 'Test if the value of bar is meow', attach: false, require_exclusive_lock: true },
    fourth_method_shared_lock: { http_methods: ['POST'], async: true, description: 'Test if the value of bar is woof', attach: false, require_exclusive_lock: false },
  });
  assert.is((await call('GET', '/v1/nodes/vp-1/vendor_passthru/methods')).status, 200, 'by name too');
  await refused(call('GET', `/v1/nodes/${node}/vendor_passthru/methods?x=1`), 400, 'Unexpected arguments: x');
});

test('async methods: 202 with no body, by ?method= and by path segment', async () => {
  for (const url of [`/v1/nodes/${node}/vendor_passthru?method=first_method`, `/v1/nodes/vp-1/vendor_passthru/second_method`, `/v1/nodes/${node}/vendor_passthru/fourth_method_shared_lock`]) {
    const r = await call('POST', url, { bar: 'anything' });
    assert.is(r.status, 202, `${url}: ${r.raw}`);
    assert.is(r.raw, '');
    assert.is(r.headers['content-type'], undefined);
  }
  await t.idle();
});

test('a synchronous method: 200 with its return value as JSON', async () => {
  const yes = await call('POST', `/v1/nodes/${node}/vendor_passthru?method=third_method_sync`, { bar: 'meow' });
  assert.is(yes.status, 200, yes.raw);
  assert.match(String(yes.headers['content-type']), /^application\/json/);
  assert.is(yes.raw, 'true');
  const no = await call('POST', `/v1/nodes/${node}/vendor_passthru/third_method_sync`, { bar: 'woof' });
  assert.is(no.status, 200);
  assert.is(no.raw, 'false');
});

test('refusals: missing argument, unknown method, wrong HTTP method, no method, bad body, bad query', async () => {
  await refused(call('POST', `/v1/nodes/${node}/vendor_passthru?method=first_method`, {}), 400, "Parameter 'bar' not passed to method 'first_method'.");
  await refused(call('POST', `/v1/nodes/${node}/vendor_passthru?method=no_such_method`, { bar: 'x' }), 400, 'No handler for method no_such_method');
  await refused(call('GET', `/v1/nodes/${node}/vendor_passthru?method=third_method_sync`), 400, 'The method third_method_sync does not support HTTP GET');
  await refused(call('DELETE', `/v1/nodes/${node}/vendor_passthru/first_method`), 400, 'The method first_method does not support HTTP DELETE');
  await refused(call('POST', `/v1/nodes/${node}/vendor_passthru`, { bar: 'baz' }), 400, 'Missing argument: "method"');
  await refused(call('POST', `/v1/nodes/${node}/vendor_passthru?method=`, { bar: 'baz' }), 400, 'Method not specified');
  await refused(call('POST', `/v1/nodes/${node}/vendor_passthru?method=first_method&other=1`, { bar: 'baz' }), 400, 'Unexpected arguments: other');
  await refused(call('POST', `/v1/nodes/${node}/vendor_passthru/first_method?method=first_method`, { bar: 'baz' }), 400, 'Unexpected arguments: method');
  await refused(call('POST', `/v1/nodes/${node}/vendor_passthru?method=first_method`, [1, 2]), 400, /is not a JSON object/);
  await refused(call('POST', `/v1/nodes/${node}/vendor_passthru?method=first_method`, '{"bar": '), 400, /./);
});

test('the node: unknown → 404, a bad identifier → 400, no conductor for its group → 400 NoValidHost', async () => {
  await refused(call('POST', '/v1/nodes/no-such-node/vendor_passthru?method=first_method', { bar: 'baz' }), 404, 'Node no-such-node could not be found.');
  await refused(call('GET', '/v1/nodes/no-such-node/vendor_passthru/methods'), 404, 'Node no-such-node could not be found.');
  const orphan = await t.seedNode({ name: 'vp-orphan', conductor_group: 'elsewhere' });
  await refused(call('POST', `/v1/nodes/${orphan.uuid}/vendor_passthru?method=first_method`, { bar: 'baz' }), 400, /No valid host was found/);
  await refused(call('GET', `/v1/nodes/${orphan.uuid}/vendor_passthru/methods`), 400, /No valid host was found/);
});

test('driver passthru: the driver-level methods, sync (GET and POST) and async; refusals', async () => {
  const m = await call('GET', '/v1/drivers/fake-hardware/vendor_passthru/methods');
  assert.is(m.status, 200, m.raw);
  assert.equal(m.body, {
    first_driver_method: { http_methods: ['POST'], async: true, description: 'Test if the value of bar is baz', attach: false },
    second_driver_method_sync: { http_methods: ['GET', 'POST'], async: false, description: 'Return the HTTP method and the arguments it was called with', attach: false },
    third_driver_method_attach: { http_methods: ['GET'], async: false, description: 'Return a text file as an attachment', attach: true },
  });
  const attached = await call('GET', '/v1/drivers/fake-hardware/vendor_passthru/third_driver_method_attach');
  assert.is(attached.status, 200);
  assert.is(attached.headers['content-type'], 'application/octet-stream', 'an attach method\'s value is served raw');
  assert.is(attached.raw, 'fake-hardware vendor data\n');
  const get = await call('GET', '/v1/drivers/fake-hardware/vendor_passthru/second_driver_method_sync');
  assert.is(get.status, 200, get.raw);
  assert.equal(get.body, { http_method: 'GET', args: {} });
  const post = await call('POST', '/v1/drivers/fake-hardware/vendor_passthru?method=second_driver_method_sync', { x: 'y', n: 2 });
  assert.is(post.status, 200, post.raw);
  assert.equal(post.body, { http_method: 'POST', args: { x: 'y', n: 2 } });
  const async = await call('POST', '/v1/drivers/fake-hardware/vendor_passthru/first_driver_method', { bar: 'baz' });
  assert.is(async.status, 202, async.raw);
  assert.is(async.raw, '');
  await refused(call('PUT', '/v1/drivers/fake-hardware/vendor_passthru/second_driver_method_sync', {}), 400, 'The method second_driver_method_sync does not support HTTP PUT');
  await refused(call('POST', '/v1/drivers/fake-hardware/vendor_passthru/first_driver_method', {}), 400, "Parameter 'bar' not passed to method 'first_driver_method'.");
  await refused(call('POST', '/v1/drivers/fake-hardware/vendor_passthru?method=first_method', { bar: 'baz' }), 400, 'No handler for method first_method');
  await refused(call('POST', '/v1/drivers/fake-hardware/vendor_passthru', {}), 400, 'Missing argument: "method"');
  await refused(call('POST', '/v1/drivers/bogus/vendor_passthru?method=first_driver_method', { bar: 'baz' }), 404, "The driver 'bogus' is unknown.");
  await refused(call('GET', '/v1/drivers/bogus/vendor_passthru/methods'), 404, "The driver 'bogus' is unknown.");
});

test('property: any HTTP method, method name and JSON body never gives a 5xx, and refusals are Ironic\'s format', async () => {
  const names = fc.oneof(fc.constantFrom('first_method', 'third_method_sync', 'fourth_method_shared_lock', 'first_driver_method', 'second_driver_method_sync', 'methods', ''), fc.string({ maxLength: 12 }));
  const bodies = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.dictionary(fc.constantFrom('bar', 'http_method', 'method', 'x'), fc.jsonValue({ maxDepth: 1 })));
  const bases = [`/v1/nodes/${node}/vendor_passthru`, '/v1/drivers/fake-hardware/vendor_passthru'];
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE' as const), fc.constantFrom(...bases), names, fc.boolean(), bodies, async (method, base, name, inPath, body) => {
      const url = inPath && name !== '' ? `${base}/${encodeURIComponent(name)}` : `${base}?method=${encodeURIComponent(name)}`;
      const r = await call(method, url, body);
      if (r.status >= 500) throw new Error(`${method} ${url} ${JSON.stringify(body)} → ${r.status} ${r.raw}`);
      if (r.status >= 400) innerError(r.raw);
    }),
    { numRuns: 150, seed: 4243 },
  );
  await t.idle();
});

test('the OpenAPI document lists the passthru routes', async () => {
  const r = await app.inject({ method: 'GET', url: '/v1/openapi.json' });
  const paths = (JSON.parse(r.body) as { paths: Record<string, Record<string, unknown>> }).paths;
  for (const p of ['/v1/nodes/{node_ident}/vendor_passthru', '/v1/nodes/{node_ident}/vendor_passthru/{method}', '/v1/drivers/{driver_name}/vendor_passthru', '/v1/drivers/{driver_name}/vendor_passthru/{method}']) {
    assert.ok(paths[p], `${p} in the document`);
    assert.equal(Object.keys(paths[p]!).sort(), ['delete', 'get', 'patch', 'post', 'put'], p);
  }
  assert.ok(paths['/v1/nodes/{node_ident}/vendor_passthru/methods']?.get);
  assert.ok(paths['/v1/drivers/{driver_name}/vendor_passthru/methods']?.get);
});

test.run();
