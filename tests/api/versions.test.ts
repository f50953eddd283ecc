// Microversion negotiation, every case of reference §1.3.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseVersionHeader } from '../../api/plugins/versions.ts';
import { innerError, testApp } from './support/app.ts';

const t = await testApp();
const { app } = t;
const get = (url: string, version?: string) =>
  app.inject({ method: 'GET', url, headers: version === undefined ? {} : { 'x-openstack-ironic-api-version': version } });

const MIN = 'x-openstack-ironic-api-minimum-version';
const MAX = 'x-openstack-ironic-api-maximum-version';
const VER = 'x-openstack-ironic-api-version';

test('no header: the effective version is the minimum, 1.1, with all three headers', async () => {
  const r = await get('/v1/chassis');
  assert.is(r.statusCode, 200);
  assert.is(r.headers[MIN], '1.1');
  assert.is(r.headers[MAX], '1.82');
  assert.is(r.headers[VER], '1.1');
});

test('an explicit version is echoed; leading zeros are normalised as Python ints', async () => {
  assert.is((await get('/v1/chassis', '1.37')).headers[VER], '1.37');
  assert.is((await get('/v1/chassis', '1.05')).headers[VER], '1.5');
});

test('latest resolves to 1.82, case-insensitively', async () => {
  assert.is((await get('/v1/chassis', 'latest')).headers[VER], '1.82');
  assert.is((await get('/v1/chassis', 'LaTeSt')).headers[VER], '1.82');
});

test('OpenStack-API-Version is ignored', async () => {
  const r = await app.inject({ method: 'GET', url: '/v1/chassis', headers: { 'openstack-api-version': 'baremetal 1.50' } });
  assert.is(r.headers[VER], '1.1');
});

test('minor out of range (1.99, 1.0): 406 with min/max headers', async () => {
  for (const bad of ['1.99', '1.0', '1.83']) {
    const r = await get('/v1/chassis', bad);
    assert.is(r.statusCode, 406, bad);
    assert.is(r.headers[MIN], '1.1');
    assert.is(r.headers[MAX], '1.82');
    assert.is(r.headers[VER], undefined);
    const inner = innerError(r.body);
    assert.is(inner.code, 406);
    assert.is(inner.title, 'Not Acceptable');
    assert.is(
      inner.description,
      `Version ${bad} was requested but the minor version is not supported by this service. The supported version range is: [1.1, 1.82].`,
    );
  }
});

test('minor out of range on /v1 itself: controller style (faultcode/faultstring) as Ironic', async () => {
  const r = await get('/v1', '1.99');
  assert.is(r.statusCode, 406);
  assert.is(r.headers[MIN], '1.1');
  assert.equal(innerError(r.body), {
    faultcode: 'Client',
    faultstring: 'Version 1.99 was requested but the minor version is not supported by this service. The supported version range is: [1.1, 1.82].',
    debuginfo: null,
  });
  // the exact bytes: Python's json.dumps separators, double-encoded
  assert.is(
    r.body,
    '{"error_message": "{\\"faultcode\\": \\"Client\\", \\"faultstring\\": \\"Version 1.99 was requested but the minor version is not supported by this service. The supported version range is: [1.1, 1.82].\\", \\"debuginfo\\": null}"}',
  );
});

test('major != 1: 406 webob style, with min/max headers', async () => {
  const r = await get('/v1/nodes', '2.1');
  assert.is(r.statusCode, 406);
  assert.is(r.headers[MIN], '1.1');
  assert.is(r.headers[MAX], '1.82');
  assert.equal(innerError(r.body), {
    code: 406,
    title: 'Not Acceptable',
    description: 'Mutually exclusive versions requested. Version 2.1 requested but not supported by this service. The supported version range is: [1.1, 1.82].',
  });
});

test('unparseable header: 406 webob style, WITHOUT min/max headers', async () => {
  for (const bad of ['abc', '1.2.3', '1', '', '1.x', 'latest.1']) {
    const r = await get('/v1/chassis', bad);
    assert.is(r.statusCode, 406, `"${bad}"`);
    assert.is(r.headers[MIN], undefined);
    assert.is(r.headers[MAX], undefined);
    assert.equal(innerError(r.body), { code: 406, title: 'Not Acceptable', description: 'Invalid value for X-OpenStack-Ironic-API-Version header' });
  }
});

test('the version is checked before routing: an unknown resource with a bad version is a 406', async () => {
  assert.is((await get('/v1/bogus', '1.99')).statusCode, 406);
  assert.is((await get('/v1/bogus', '1.50')).statusCode, 404);
});

test('the root document carries no version headers, whatever is asked', async () => {
  const r = await get('/', '9.9');
  assert.is(r.statusCode, 200);
  assert.is(r.headers[MIN], undefined);
  assert.is(r.headers[VER], undefined);
});

test('paths without /v1 are negotiated like /v1 paths', async () => {
  const r = await get('/chassis', '1.40');
  assert.is(r.statusCode, 200);
  assert.is(r.headers[VER], '1.40');
});

test('parseVersionHeader follows Python int() parsing', () => {
  assert.equal(parseVersionHeader(undefined), { major: 1, minor: 1 });
  assert.equal(parseVersionHeader(' 1 . 5 '), { major: 1, minor: 5 });
  assert.equal(parseVersionHeader('1.-1'), { major: 1, minor: -1 });
  assert.is(parseVersionHeader('1.5.0'), undefined);
  assert.is(parseVersionHeader('v1.5'), undefined);
});

test.after(async () => {
  await t.close();
});
test.run();
