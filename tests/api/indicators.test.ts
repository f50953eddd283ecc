// Node indicators (≥1.63) on the real stack with the in-process conductor: fake-hardware's
// `led-0@chassis` (read-only) and `led@system`; the list with links, a state, setting one (kept
// in the log as DriverInternalInfoUpdated, read back through the driver), the version gate, and
// every refusal in Ironic's error format with nothing written. Over NATS: passthru-nats.test.ts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { innerError, testApp } from './support/app.ts';

const t = await testApp();
const { app } = t;
type J = Record<string, unknown>;
const requestId = 'req-2f6bb7f4-6f0e-4c8a-8f3e-5b1f2f1c9a77';
const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown, version = 'latest') => {
  const r = await app.inject({
    method,
    url,
    headers: { host: 'h', 'x-openstack-ironic-api-version': version, 'x-openstack-request-id': requestId, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });
  return { status: r.statusCode, raw: r.body, body: r.body ? (JSON.parse(r.body) as J) : {} };
};
const fault = (raw: string) => String(innerError(raw).faultstring);
const refused = async (p: Promise<{ status: number; raw: string }>, status: number, message: string) => {
  const before = await t.count();
  const r = await p;
  assert.is(r.status, status, r.raw);
  assert.is(fault(r.raw), message);
  assert.is(await t.count(), before, 'a refused indicator request writes nothing');
};

let node = '';
test.before(async () => {
  const r = await call('POST', '/v1/nodes', { driver: 'fake-hardware', name: 'ind-1' });
  assert.is(r.status, 201, r.raw);
  node = r.body.uuid as string;
});
test.after(() => t.close());

test('GET /management/indicators: fake-hardware\'s indicators, linked under the node as named', async () => {
  const r = await call('GET', '/v1/nodes/ind-1/management/indicators');
  assert.is(r.status, 200, r.raw);
  assert.equal(r.body, {
    indicators: [
      {
        name: 'led-0@chassis',
        component: 'chassis',
        readonly: true,
        states: ['OFF', 'ON'],
        links: [
          { href: 'http://h/v1/nodes/ind-1/management/indicators/led-0@chassis', rel: 'self' },
          { href: 'http://h/nodes/ind-1/management/indicators/led-0@chassis', rel: 'bookmark' },
        ],
      },
      {
        name: 'led@system',
        component: 'system',
        readonly: false,
        states: ['BLINKING', 'OFF', 'ON'],
        links: [
          { href: 'http://h/v1/nodes/ind-1/management/indicators/led@system', rel: 'self' },
          { href: 'http://h/nodes/ind-1/management/indicators/led@system', rel: 'bookmark' },
        ],
      },
    ],
  });
});

test('an indicator never set reads ON (Ironic\'s fake); PUT sets it: 204, then GET shows it', async () => {
  assert.equal((await call('GET', `/v1/nodes/${node}/management/indicators/led@system`)).body, { state: 'ON' });
  assert.equal((await call('GET', `/v1/nodes/${node}/management/indicators/led-0@chassis`)).body, { state: 'ON' });
  const before = await t.count();
  const put = await call('PUT', `/v1/nodes/${node}/management/indicators/led@system`, { state: 'BLINKING' });
  assert.is(put.status, 204, put.raw);
  assert.is(put.raw, '');
  assert.equal((await call('GET', `/v1/nodes/ind-1/management/indicators/led@system`)).body, { state: 'BLINKING' });
  const events = (await t.events()).slice(before);
  assert.equal(events.map((e) => e.type), ['DriverInternalInfoUpdated'], 'one event: the fake BMC state is node state in the log');
  assert.is(events[0]!.streamId, `node-${node}`);
  assert.is(events[0]!.metadata.actor, 'conductor:test-conductor');
  assert.is(events[0]!.metadata.correlationId, requestId);
  const shown = await call('GET', `/v1/nodes/${node}?fields=driver_internal_info`);
  assert.equal(shown.body.driver_internal_info, { fake_indicators: { system: { led: 'BLINKING' } } });
  // case-insensitive, sent upper-cased
  assert.is((await call('PUT', `/v1/nodes/${node}/management/indicators/led@system`, { state: 'off' })).status, 204);
  assert.equal((await call('GET', `/v1/nodes/${node}/management/indicators/led@system`)).body, { state: 'OFF' });
  // setting the state it already has writes nothing
  const again = await t.count();
  assert.is((await call('PUT', `/v1/nodes/${node}/management/indicators/led@system`, { state: 'OFF' })).status, 204);
  assert.is(await t.count(), again);
});

test('below 1.63 the indicators do not exist: 404 for every method', async () => {
  await refused(call('GET', `/v1/nodes/${node}/management/indicators`, undefined, '1.62'), 404, 'Resource could not be found.');
  await refused(call('GET', `/v1/nodes/${node}/management/indicators/led@system`, undefined, '1.62'), 404, 'Resource could not be found.');
  await refused(call('PUT', `/v1/nodes/${node}/management/indicators/led@system`, { state: 'ON' }, '1.62'), 404, 'Resource could not be found.');
  assert.is((await call('GET', `/v1/nodes/${node}/management/indicators`, undefined, '1.63')).status, 200);
});

test('refusals: malformed name, unknown component/indicator, read-only, bad state, bad body, unknown node', async () => {
  const url = (i: string) => `/v1/nodes/${node}/management/indicators/${i}`;
  await refused(call('GET', url('led')), 400, 'Malformed indicator name "led"');
  await refused(call('PUT', url('ledsystem'), { state: 'ON' }), 400, 'Malformed indicator name "ledsystem"');
  await refused(call('GET', url('led@disk')), 400, 'Invalid component disk specified.');
  await refused(call('GET', url('led-9@system')), 400, 'Invalid indicator led-9 specified.');
  await refused(call('PUT', url('led-0@chassis'), { state: 'OFF' }), 400, 'Indicator led-0 of component chassis is read-only.');
  await refused(call('PUT', url('led@system'), { state: 'PURPLE' }), 400, 'Invalid indicator state PURPLE specified; valid states are ON, OFF, BLINKING, UNKNOWN.');
  await refused(call('PUT', url('led@system'), { state: 'UNKNOWN' }), 400, 'Invalid state UNKNOWN for indicator led of component system; it supports BLINKING, OFF, ON.');
  await refused(call('PUT', url('led@system'), {}), 400, 'Missing argument: "state"');
  await refused(call('PUT', url('led@system'), { state: 1 }), 400, 'Expected string for state: 1');
  await refused(call('PUT', url('led@system'), { state: 'ON', color: 'red' }), 400, 'Unexpected arguments: color');
  await refused(call('GET', `/v1/nodes/${node}/management/indicators?component=system`), 400, 'Unexpected arguments: component');
  const before = await t.count();
  const malformed = await app.inject({ method: 'PUT', url: url('led@system'), headers: { host: 'h', 'x-openstack-ironic-api-version': 'latest', 'content-type': 'application/json' }, payload: '{"state": ' });
  assert.is(malformed.statusCode, 400, malformed.body);
  innerError(malformed.body);
  const huge = await app.inject({ method: 'PUT', url: url('led@system'), headers: { host: 'h', 'x-openstack-ironic-api-version': 'latest', 'content-type': 'application/json' }, payload: JSON.stringify({ state: 'ON', pad: 'x'.repeat(t.config.bodyLimit) }) });
  assert.is(huge.statusCode, 413, 'oversized body');
  innerError(huge.body);
  assert.is(await t.count(), before);
  await refused(call('GET', '/v1/nodes/no-such/management/indicators'), 404, 'Node no-such could not be found.');
  await refused(call('PUT', '/v1/nodes/no-such/management/indicators/led@system', { state: 'ON' }), 404, 'Node no-such could not be found.');
  assert.equal((await call('GET', url('led@system'))).body, { state: 'OFF' }, 'unchanged by the refusals');
});

test('a reserved node: reading is allowed (shared lock), setting is 409 NodeLocked and writes nothing', async () => {
  const busy = await t.seedNode({ name: 'ind-busy', reservation: 'other-conductor' });
  assert.equal((await call('GET', `/v1/nodes/${busy.uuid}/management/indicators/led@system`)).body, { state: 'ON' });
  await refused(
    call('PUT', `/v1/nodes/${busy.uuid}/management/indicators/led@system`, { state: 'BLINKING' }),
    409,
    `Node ${busy.uuid} is locked by host other-conductor, please retry after the current operation is completed.`,
  );
});

test('a node no conductor serves: 400 NoValidHost', async () => {
  const orphan = await t.seedNode({ name: 'ind-orphan', conductor_group: 'nowhere' });
  const r = await call('GET', `/v1/nodes/${orphan.uuid}/management/indicators`);
  assert.is(r.status, 400, r.raw);
  assert.match(fault(r.raw), /No valid host was found/);
});

test('the OpenAPI document lists the indicator routes', async () => {
  const r = await app.inject({ method: 'GET', url: '/v1/openapi.json' });
  const paths = (JSON.parse(r.body) as { paths: Record<string, Record<string, unknown>> }).paths;
  assert.ok(paths['/v1/nodes/{node_ident}/management/indicators']?.get);
  assert.ok(paths['/v1/nodes/{node_ident}/management/indicators/{indicator}']?.get);
  assert.ok(paths['/v1/nodes/{node_ident}/management/indicators/{indicator}']?.put);
});

test.run();
