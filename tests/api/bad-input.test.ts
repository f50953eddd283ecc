// Bad input on every write endpoint, on the real stack: malformed JSON, wrong types, unknown
// fields, invalid JSON-patch documents and paths, oversized bodies, invalid UUIDs, names and
// MACs. Each gets a 4xx in Ironic's format (double-encoded error_message), never a 5xx, and the
// event log does not grow. A property test throws arbitrary JSON at every endpoint: never a 5xx.

import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { innerError, testApp } from './support/app.ts';

const LIMIT = 8192;
const t = await testApp({ IRONLOG_API_MAX_BODY_SIZE: String(LIMIT) });
type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'GET';
type J = Record<string, unknown>;

const send = async (method: Method, url: string, payload?: string, contentType = 'application/json') =>
  t.app.inject({
    method,
    url,
    headers: { host: 'h', 'x-openstack-ironic-api-version': 'latest', ...(payload !== undefined ? { 'content-type': contentType } : {}) },
    ...(payload !== undefined ? { payload } : {}),
  });
const json = async (method: Method, url: string, body?: unknown) => {
  const r = await send(method, url, body === undefined ? undefined : JSON.stringify(body));
  return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as J) : {}, raw: r.body };
};

/** A refusal in Ironic's format: 4xx, JSON, `{"error_message": "<json>"}` with a Client fault or a webob body. */
const assertRefused = (r: { statusCode: number; body: string; headers: Record<string, unknown> }, what: string): void => {
  assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${what}: status ${r.statusCode} ${r.body.slice(0, 200)}`);
  assert.match(String(r.headers['content-type']), /^application\/json/, what);
  const inner = innerError(r.body);
  if ('faultcode' in inner) {
    assert.is(inner.faultcode, 'Client', what);
    assert.type(inner.faultstring, 'string');
  } else {
    assert.is(inner.code, r.statusCode, what);
  }
};

// ---- a small world to aim at ------------------------------------------------------------------

const node = (await json('POST', '/v1/nodes', { driver: 'fake-hardware', name: 'target-node' })).body.uuid as string;
const chassis = (await json('POST', '/v1/chassis', { description: 'c' })).body.uuid as string;
const port = (await json('POST', '/v1/ports', { address: '52:54:00:00:00:01', node_uuid: node })).body.uuid as string;
const portgroup = (await json('POST', '/v1/portgroups', { node_uuid: node, name: 'pg0' })).body.uuid as string;
const allocation = (await json('POST', '/v1/allocations', { resource_class: 'none', name: 'a0' })).body.uuid as string;
const template = (await json('POST', '/v1/deploy_templates', { name: 'CUSTOM_T0', steps: [{ interface: 'deploy', step: 's', args: {}, priority: 1 }] })).body.uuid as string;
const connector = (await json('POST', '/v1/volume/connectors', { node_uuid: node, type: 'iqn', connector_id: 'iqn.x' })).body.uuid as string;
const target = (await json('POST', '/v1/volume/targets', { node_uuid: node, volume_type: 'iscsi', boot_index: 0, volume_id: 'v0' })).body.uuid as string;
for (const id of [node, chassis, port, portgroup, allocation, template, connector, target]) assert.type(id, 'string');
await t.idle();

/** Every endpoint that takes a body, and whether it takes an object or a JSON-patch list. */
const endpoints: Array<{ method: Method; url: string; kind: 'object' | 'patch' }> = [
  { method: 'POST', url: '/v1/nodes', kind: 'object' },
  { method: 'PATCH', url: `/v1/nodes/${node}`, kind: 'patch' },
  { method: 'PUT', url: `/v1/nodes/${node}/states/provision`, kind: 'object' },
  { method: 'PUT', url: `/v1/nodes/${node}/states/power`, kind: 'object' },
  { method: 'PUT', url: `/v1/nodes/${node}/states/raid`, kind: 'object' },
  { method: 'PUT', url: `/v1/nodes/${node}/states/console`, kind: 'object' },
  { method: 'PUT', url: `/v1/nodes/${node}/states/boot_mode`, kind: 'object' },
  { method: 'PUT', url: `/v1/nodes/${node}/maintenance`, kind: 'object' },
  { method: 'PUT', url: `/v1/nodes/${node}/traits`, kind: 'object' },
  { method: 'POST', url: `/v1/nodes/${node}/vifs`, kind: 'object' },
  { method: 'PUT', url: `/v1/nodes/${node}/management/boot_device`, kind: 'object' },
  { method: 'POST', url: '/v1/chassis', kind: 'object' },
  { method: 'PATCH', url: `/v1/chassis/${chassis}`, kind: 'patch' },
  { method: 'POST', url: '/v1/ports', kind: 'object' },
  { method: 'PATCH', url: `/v1/ports/${port}`, kind: 'patch' },
  { method: 'POST', url: '/v1/portgroups', kind: 'object' },
  { method: 'PATCH', url: `/v1/portgroups/${portgroup}`, kind: 'patch' },
  { method: 'POST', url: '/v1/allocations', kind: 'object' },
  { method: 'PATCH', url: `/v1/allocations/${allocation}`, kind: 'patch' },
  { method: 'POST', url: '/v1/deploy_templates', kind: 'object' },
  { method: 'PATCH', url: `/v1/deploy_templates/${template}`, kind: 'patch' },
  { method: 'POST', url: '/v1/volume/connectors', kind: 'object' },
  { method: 'PATCH', url: `/v1/volume/connectors/${connector}`, kind: 'patch' },
  { method: 'POST', url: '/v1/volume/targets', kind: 'object' },
  { method: 'PATCH', url: `/v1/volume/targets/${target}`, kind: 'patch' },
  { method: 'POST', url: '/v1/events', kind: 'object' },
];

test('malformed JSON on every endpoint → 400, nothing written', async () => {
  const before = await t.count();
  for (const e of endpoints) {
    for (const payload of ['{bad', '{"a": 1,}', '[1, 2', 'nul', '"open', '{"a": NaN}', '\u0000', "{'single': 'quotes'}"]) {
      const r = await send(e.method, e.url, payload);
      assertRefused(r, `${e.method} ${e.url} ${JSON.stringify(payload)}`);
      assert.is(r.statusCode, 400);
    }
  }
  assert.is(await t.count(), before);
});

test('wrong body types (a list for an object, an object for a patch, scalars) → 400, nothing written', async () => {
  const before = await t.count();
  for (const e of endpoints) {
    const wrong = e.kind === 'object' ? [[], [{}], 'text', 42, true, null] : [{}, { op: 'replace', path: '/extra', value: {} }, 'text', 42, [1], [[]], [null]];
    for (const body of wrong) {
      const r = await send(e.method, e.url, JSON.stringify(body));
      assertRefused(r, `${e.method} ${e.url} ${JSON.stringify(body)}`);
    }
  }
  assert.is(await t.count(), before);
});

test('unknown fields and wrong field types → 400 with Ironic\'s schema messages, nothing written', async () => {
  const before = await t.count();
  const cases: Array<[Method, string, unknown, RegExp]> = [
    ['POST', '/v1/nodes', { driver: 'fake-hardware', color: 'red' }, /^Schema error for node: Additional properties are not allowed \('color' was unexpected\)$/],
    ['POST', '/v1/nodes', { driver: ['fake-hardware'] }, /^Schema error for node: /],
    ['POST', '/v1/nodes', { driver: 'fake-hardware', driver_info: 'x' }, /^Schema error for node: /],
    ['POST', '/v1/nodes', { driver: 'fake-hardware', extra: [] }, /^Schema error for node: /],
    ['POST', '/v1/nodes', { driver: 'fake-hardware', name: 7 }, /^Schema error for node: /],
    ['POST', '/v1/nodes', { driver: 'fake-hardware', resource_class: 'r'.repeat(81) }, /is too long$/],
    ['POST', '/v1/nodes', { driver: 'fake-hardware', conductor_group: 'has space' }, /^Invalid conductor group/],
    ['POST', '/v1/nodes', { driver: 'fake-hardware', deploy_interface: 'direct' }, /^deploy interface implementation 'direct' is not supported by hardware type fake-hardware\.$/],
    ['POST', '/v1/nodes', { driver: 'fake-hardware', automated_clean: 'sometimes' }, /^Invalid automated_clean: /],
    ['POST', '/v1/nodes', { driver: 'fake-hardware', provision_state: 'active' }, /Additional properties are not allowed/],
    ['PUT', `/v1/nodes/${node}/states/power`, { target: 'power on', force: true }, /^Unexpected arguments: force$/],
    ['PUT', `/v1/nodes/${node}/states/power`, { target: ['power on'] }, /^Expected string for target/],
    ['PUT', `/v1/nodes/${node}/states/provision`, { target: 'manage', when: 'now' }, /^Unexpected arguments: when$/],
    ['PUT', `/v1/nodes/${node}/states/provision`, { target: 'clean', clean_steps: 'all' }, /^Invalid clean_steps|"clean_steps"|can not be performed/],
    ['PUT', `/v1/nodes/${node}/traits`, { traits: [1, 2] }, /^Invalid trait/],
    ['POST', `/v1/nodes/${node}/vifs`, { id: 5 }, /^Schema error for vif/],
    ['POST', '/v1/chassis', { description: ['x'] }, /^Schema error for chassis/],
    ['POST', '/v1/ports', { address: '52:54:00:00:00:02', node_uuid: node, speed: 10 }, /Additional properties are not allowed \('speed' was unexpected\)/],
    ['POST', '/v1/ports', { address: '52:54:00:00:00:02', node_uuid: node, extra: 'x' }, /^Schema error for port/],
    ['POST', '/v1/portgroups', { node_uuid: node, standalone_ports_supported: 'sure' }, /^Invalid standalone_ports_supported/],
    ['POST', '/v1/allocations', { resource_class: 5 }, /^Schema error for allocation/],
    ['POST', '/v1/deploy_templates', { name: 'CUSTOM_X', steps: 'all' }, /^Schema error for deploy template/],
    ['POST', '/v1/volume/targets', { node_uuid: node, volume_type: 'iscsi', boot_index: 'first', volume_id: 'v' }, /^Invalid boot_index/],
    ['POST', '/v1/volume/connectors', { node_uuid: node, type: 'iqn', connector_id: 7 }, /^Schema error for volume connector/],
  ];
  for (const [method, url, body, message] of cases) {
    const r = await send(method, url, JSON.stringify(body));
    assertRefused(r, `${method} ${url} ${JSON.stringify(body)}`);
    assert.is(r.statusCode, 400, `${method} ${url} ${JSON.stringify(body)}`);
    assert.match(String(innerError(r.body).faultstring), message);
  }
  assert.is(await t.count(), before);
});

test('invalid JSON-patch documents and paths → 400 on every PATCH endpoint, nothing written', async () => {
  const before = await t.count();
  const badPatches: unknown[] = [
    [{ op: 'replace', path: '', value: 1 }],
    [{ op: 'replace', path: '/', value: 1 }],
    [{ op: 'replace', path: 'extra', value: 1 }],
    [{ op: 'replace', path: '/extra/', value: 1 }],
    [{ op: 'replace', path: '/extra//x', value: 1 }],
    [{ op: 'replace', path: '/extra/~1', value: 1 }],
    [{ op: 'replace', path: '/ext ra', value: 1 }],
    [{ op: 'replace', path: '/../extra', value: 1 }],
    [{ op: 'replace', path: 5, value: 1 }],
    [{ op: 'move', from: '/extra', path: '/extra/x' }],
    [{ op: 'copy', from: '/extra', path: '/extra/x' }],
    [{ op: 'test', path: '/extra', value: {} }],
    [{ op: 'REPLACE', path: '/extra', value: {} }],
    [{ path: '/extra', value: {} }],
    [{ op: 'replace', value: {} }],
    [{ op: 'replace', path: '/extra', value: {}, extra: 1 }],
    [{ op: 'add', path: '/brand_new_root', value: 1 }],
    [{ op: 'remove', path: '/extra/does_not_exist' }],
    [{ op: 'replace', path: '/extra/a/b/c', value: 1 }],
    [{ op: 'replace', path: '/uuid', value: '1be26c0b-03f2-4d2e-ae87-c02d7f33c123' }],
    [{ op: 'replace', path: '/created_at', value: 'x' }],
    [{ op: 'replace', path: '/extra', value: {} }, { op: 'remove', path: '/extra/gone' }],
  ];
  for (const e of endpoints.filter((x) => x.kind === 'patch')) {
    for (const patch of badPatches) {
      const r = await send(e.method, e.url, JSON.stringify(patch));
      assertRefused(r, `${e.url} ${JSON.stringify(patch)}`);
      assert.is(r.statusCode, 400, `${e.url} ${JSON.stringify(patch)}`);
    }
  }
  // paths into a patchable field that break its type
  const typed: Array<[string, unknown]> = [
    [`/v1/nodes/${node}`, [{ op: 'replace', path: '/extra', value: 'not a dict' }]],
    [`/v1/nodes/${node}`, [{ op: 'replace', path: '/driver_info', value: [1] }]],
    [`/v1/nodes/${node}`, [{ op: 'replace', path: '/maintenance', value: 'maybe' }]],
    [`/v1/nodes/${node}`, [{ op: 'replace', path: '/instance_uuid', value: 'not-a-uuid' }]],
    [`/v1/nodes/${node}`, [{ op: 'replace', path: '/name', value: 'has space' }]],
    [`/v1/nodes/${node}`, [{ op: 'replace', path: '/driver', value: 'no-such-driver' }]],
    [`/v1/ports/${port}`, [{ op: 'replace', path: '/address', value: '52:54:00:00:00:zz' }]],
    [`/v1/ports/${port}`, [{ op: 'replace', path: '/portgroup_uuid', value: 'nope' }]],
    [`/v1/portgroups/${portgroup}`, [{ op: 'replace', path: '/address', value: '52-54-00-00-00-01' }]],
    [`/v1/chassis/${chassis}`, [{ op: 'replace', path: '/description', value: { a: 1 } }]],
  ];
  for (const [url, patch] of typed) {
    const r = await send('PATCH', url, JSON.stringify(patch));
    assertRefused(r, `${url} ${JSON.stringify(patch)}`);
    assert.is(r.statusCode, 400, `${url} ${JSON.stringify(patch)}`);
  }
  assert.is(await t.count(), before);
});

test('oversized bodies → 413 on every endpoint, nothing written', async () => {
  const before = await t.count();
  const big = JSON.stringify({ description: 'x'.repeat(LIMIT * 2) });
  for (const e of endpoints) {
    const r = await send(e.method, e.url, big);
    assertRefused(r, `${e.method} ${e.url}`);
    assert.is(r.statusCode, 413);
  }
  assert.is(await t.count(), before);
});

test('invalid UUIDs, names and MACs in paths, queries and bodies → 400 (or 404 for a well-formed unknown), nothing written', async () => {
  const before = await t.count();
  const cases: Array<[Method, string, unknown | undefined, number]> = [
    ['GET', '/v1/ports/not-a-uuid', undefined, 400],
    ['PATCH', '/v1/ports/not-a-uuid', [], 400],
    ['DELETE', '/v1/ports/12345', undefined, 400],
    ['GET', '/v1/chassis/zzz', undefined, 400],
    ['DELETE', '/v1/chassis/zzz', undefined, 400],
    ['GET', '/v1/nodes/bad%20name', undefined, 400],
    ['PATCH', '/v1/nodes/bad%20name', [], 400],
    ['DELETE', '/v1/nodes/bad%20name', undefined, 400],
    ['PUT', '/v1/nodes/bad%20name/states/power', { target: 'power on' }, 400],
    ['DELETE', '/v1/nodes/1be26c0b-03f2-4d2e-ae87-c02d7f33c123', undefined, 404],
    ['PUT', '/v1/nodes/1be26c0b-03f2-4d2e-ae87-c02d7f33c123/states/provision', { target: 'manage' }, 404],
    ['GET', '/v1/nodes?chassis_uuid=nope', undefined, 400],
    ['GET', '/v1/nodes?instance_uuid=123', undefined, 400],
    ['GET', '/v1/nodes?marker=not-a-uuid', undefined, 400],
    ['GET', '/v1/nodes?marker=1be26c0b-03f2-4d2e-ae87-c02d7f33c123', undefined, 404],
    ['GET', '/v1/ports?node_uuid=1be26c0b-03f2-4d2e-ae87-c02d7f33c123', undefined, 404],
    ['GET', '/v1/volume/connectors/nope', undefined, 400],
    ['GET', '/v1/nodes/target-node/history/nope', undefined, 400],
    ['POST', '/v1/nodes', { driver: 'fake-hardware', uuid: 'abc' }, 400],
    ['POST', '/v1/nodes', { driver: 'fake-hardware', chassis_uuid: 'abc' }, 400],
    ['POST', '/v1/nodes', { driver: 'fake-hardware', name: '1be26c0b-03f2-4d2e-ae87-c02d7f33c123' }, 400],
    ['POST', '/v1/nodes', { driver: 'fake-hardware', name: 'bad/name' }, 400],
    ['POST', '/v1/ports', { address: '52:54:00:00:00:03', node_uuid: 'abc' }, 400],
    ['POST', '/v1/ports', { address: '52:54:00:00:00:03', node_uuid: node, portgroup_uuid: 'abc' }, 400],
    ['POST', '/v1/ports', { address: '52:54:00:00:00:03', node_uuid: node, uuid: 'abc' }, 400],
    ['POST', '/v1/ports', { address: '5254.0000.0003', node_uuid: node }, 400],
    ['POST', '/v1/ports', { address: '52:54:00:00:00:03:04', node_uuid: node }, 400],
    ['POST', '/v1/ports', { address: '', node_uuid: node }, 400],
    ['POST', '/v1/ports', { address: '52:54:00:00:00:01', node_uuid: node }, 409],
    ['POST', '/v1/portgroups', { node_uuid: node, address: 'gg:54:00:00:00:03' }, 400],
    ['POST', '/v1/volume/connectors', { node_uuid: 'abc', type: 'iqn', connector_id: 'x' }, 400],
    ['POST', `/v1/nodes/${node}/vifs`, { id: 'v', port_uuid: 'abc' }, 400],
    ['POST', '/v1/allocations', { resource_class: 'x', uuid: 'abc' }, 400],
  ];
  for (const [method, url, body, status] of cases) {
    const r = await send(method, url, body === undefined ? undefined : JSON.stringify(body));
    assertRefused(r, `${method} ${url} ${JSON.stringify(body)}`);
    assert.is(r.statusCode, status, `${method} ${url} ${JSON.stringify(body)}: ${r.body}`);
  }
  assert.is(await t.count(), before);
});

test('a "__proto__" key in a body is dropped, spelled out or escaped; nothing else is', async () => {
  for (const [label, extraText] of [
    ['plain', '{"__proto__": {"polluted": 1}, "keep": "\\u0041"}'],
    ['escaped', '{"\\u005f_proto__": {"polluted": 1}, "keep": "\\u0041"}'],
  ] as const) {
    const r = await send('POST', '/v1/nodes', `{"driver": "fake-hardware", "extra": ${extraText}}`);
    assert.is(r.statusCode, 201, `${label}: ${r.body.slice(0, 200)}`);
    const extra = (JSON.parse(r.body) as J).extra as J;
    assert.equal(Object.keys(extra), ['keep'], label);
    assert.is(extra.keep, 'A', label);
    assert.is(({} as J).polluted, undefined);
  }
  // a body with no such key and no escapes: parsed as it is
  const r = await json('POST', '/v1/nodes', { driver: 'fake-hardware', extra: { proto: '__', list: [1, { a: null }] } });
  assert.is(r.status, 201);
  assert.equal(r.body.extra, { proto: '__', list: [1, { a: null }] });
});

test('property: arbitrary JSON bodies on every endpoint never give a 5xx', async () => {
  const arbitraryBody = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.dictionary(fc.constantFrom('driver', 'name', 'uuid', 'address', 'node_uuid', 'extra', 'target', 'op', 'path', 'value', 'traits', 'steps', 'id', 'reason', 'timeout', 'clean_steps', 'configdrive'), fc.jsonValue({ maxDepth: 2 })),
    fc.array(fc.record({ op: fc.constantFrom('add', 'replace', 'remove', 'move'), path: fc.oneof(fc.constantFrom('/extra', '/extra/a', '/name', '/driver_info/x', '/address', '/uuid', '/'), fc.string()), value: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ['op'] }), { maxLength: 3 }),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...endpoints), arbitraryBody, async (e, body) => {
      const r = await send(e.method, e.url, JSON.stringify(body));
      if (r.statusCode >= 500) throw new Error(`${e.method} ${e.url} ${JSON.stringify(body)} → ${r.statusCode} ${r.body}`);
      if (r.statusCode >= 400) innerError(r.body);
    }),
    { numRuns: 400, seed: 4242 },
  );
  await t.idle();
});

test.after(async () => {
  await t.close();
});
test.run();
