// Vendor passthru, indicators and RAID properties through real conductors over NATS
// (tests/api/support/nats-app.ts: a private nats-server, two `ironlog conductor` runs with the
// provisioning executor): node work goes to the node's owner on its subject (a spy sees it),
// an exclusive-lock method reserves the node while it runs (a second call is 409 NodeLocked),
// setting an indicator is recorded by the owner under its fence; driver work goes to any
// conductor; with no conductor alive every one of them is 503.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { subjects } from '../../conductor/subjects.ts';
import { innerError } from './support/app.ts';
import { natsApp, type NatsApp } from './support/nats-app.ts';

let na: NatsApp;
let node = '';
let owner = '';
const fault = (raw: string) => String(innerError(raw).faultstring);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const streamTypes = async () => (await na.store.readStream(`node-${node}`)).map((e) => e.type);

test.before(async () => {
  na = await natsApp({ IRONLOG_FAKE_STEP_DELAY_MS: '800' });
  await na.startConductor('pt-c1');
  await na.startConductor('pt-c2');
  const created = await na.call('POST', '/v1/nodes', { driver: 'fake-hardware', name: 'pt-1' });
  assert.is(created.status, 201, created.raw);
  node = created.body.uuid as string;
  owner = created.body.conductor as string;
  assert.ok(['pt-c1', 'pt-c2'].includes(owner), owner);
});
test.after(async () => {
  await na?.close();
});

test('node passthru goes to the owner: methods, a sync call, an async call holding the lock', async () => {
  const sent: Array<{ subject: string; action: string }> = [];
  const spy = na.nc.subscribe(`ironlog.node.*.${node}`, {
    callback: (_err, m) => {
      sent.push({ subject: m.subject, action: (JSON.parse(new TextDecoder().decode(m.data)) as { action: string }).action });
    },
  });
  await na.nc.flush();
  const methods = await na.call('GET', `/v1/nodes/${node}/vendor_passthru/methods`);
  assert.is(methods.status, 200, methods.raw);
  assert.equal(Object.keys(methods.body), ['first_method', 'second_method', 'third_method_sync', 'fourth_method_shared_lock']);
  assert.is(methods.body.fourth_method_shared_lock.require_exclusive_lock, false);

  const sync = await na.call('POST', `/v1/nodes/pt-1/vendor_passthru/third_method_sync`, { bar: 'meow' });
  assert.is(sync.status, 200, sync.raw);
  assert.is(sync.raw, 'true');

  const before = (await streamTypes()).length;
  const started = await na.call('POST', `/v1/nodes/${node}/vendor_passthru?method=first_method`, { bar: 'baz' });
  assert.is(started.status, 202, started.raw);
  assert.is(started.raw, '');
  // the async method runs (800 ms fake delay) under the node's reservation
  const second = await na.call('POST', `/v1/nodes/${node}/vendor_passthru?method=second_method`, { bar: 'kazoo' });
  assert.is(second.status, 409, second.raw);
  assert.is(fault(second.raw), `Node ${node} is locked by host ${owner}, please retry after the current operation is completed.`);
  const led = await na.call('PUT', `/v1/nodes/${node}/management/indicators/led@system`, { state: 'OFF' });
  assert.is(led.status, 409, `setting an indicator needs the lock too: ${led.raw}`);
  for (let i = 0; i < 100 && (await streamTypes()).length < before + 2; i++) await sleep(50);
  await na.caughtUp();
  spy.unsubscribe();
  assert.equal((await streamTypes()).slice(before), ['NodeReserved', 'NodeReleased'], 'the exclusive lock, taken and given back');
  assert.is((await na.call('GET', `/v1/nodes/${node}`)).body.reservation, null);
  const subject = subjects.nodeWork(owner, node);
  assert.ok(sent.length >= 4 && sent.every((s) => s.subject === subject), JSON.stringify(sent));
  assert.equal([...new Set(sent.map((s) => s.action))], ['vendor_passthru_methods', 'vendor_passthru', 'set_indicator_state']);

  const missing = await na.call('POST', `/v1/nodes/${node}/vendor_passthru?method=first_method`, {});
  assert.is(missing.status, 400, missing.raw);
  assert.is(fault(missing.raw), "Parameter 'bar' not passed to method 'first_method'.");
  const unknown = await na.call('POST', `/v1/nodes/${node}/vendor_passthru?method=bogus`, {});
  assert.is(unknown.status, 400);
  assert.is(fault(unknown.raw), 'No handler for method bogus');
});

test('indicators on the owner: set is recorded under its reservation and fence, then read back', async () => {
  const list = await na.call('GET', `/v1/nodes/${node}/management/indicators`);
  assert.is(list.status, 200, list.raw);
  assert.equal(list.body.indicators.map((i: { name: string }) => i.name), ['led-0@chassis', 'led@system']);
  const before = (await na.store.readStream(`node-${node}`)).length;
  const put = await na.call('PUT', `/v1/nodes/${node}/management/indicators/led@system`, { state: 'BLINKING' });
  assert.is(put.status, 204, put.raw);
  const got = await na.call('GET', `/v1/nodes/${node}/management/indicators/led@system`);
  assert.equal(got.body, { state: 'BLINKING' });
  const events = (await na.store.readStream(`node-${node}`)).slice(before);
  assert.equal(events.map((e) => e.type), ['NodeReserved', 'DriverInternalInfoUpdated', 'NodeReleased']);
  for (const e of events) {
    assert.is(e.metadata.actor, `conductor:${owner}`);
    assert.ok((e.metadata as unknown as Record<string, unknown>).owner, 'fenced: stamped with the owning run');
  }
  assert.equal((events[1]!.data as { set: unknown }).set, { fake_indicators: { system: { led: 'BLINKING' } } });
  const ro = await na.call('PUT', `/v1/nodes/${node}/management/indicators/led-0@chassis`, { state: 'OFF' });
  assert.is(ro.status, 400);
  assert.is(fault(ro.raw), 'Indicator led-0 of component chassis is read-only.');
  assert.is((await na.call('GET', `/v1/nodes/${node}`)).body.reservation, null, 'a refused set gives the lock back');
  const old = await na.call('GET', `/v1/nodes/${node}/management/indicators`, undefined, '1.62');
  assert.is(old.status, 404);
});

test('driver work on any conductor: passthru methods and calls, RAID properties', async () => {
  const methods = await na.call('GET', '/v1/drivers/fake-hardware/vendor_passthru/methods');
  assert.is(methods.status, 200, methods.raw);
  assert.equal(Object.keys(methods.body), ['first_driver_method', 'second_driver_method_sync', 'third_driver_method_attach']);
  const post = await na.call('POST', '/v1/drivers/fake-hardware/vendor_passthru/second_driver_method_sync', { k: 'v' });
  assert.is(post.status, 200, post.raw);
  assert.equal(post.body, { http_method: 'POST', args: { k: 'v' } });
  const async = await na.call('POST', '/v1/drivers/fake-hardware/vendor_passthru?method=first_driver_method', { bar: 'baz' });
  assert.is(async.status, 202, async.raw);
  const missing = await na.call('POST', '/v1/drivers/fake-hardware/vendor_passthru?method=first_driver_method', {});
  assert.is(missing.status, 400);
  assert.is(fault(missing.raw), "Parameter 'bar' not passed to method 'first_driver_method'.");
  const raid = await na.call('GET', '/v1/drivers/fake-hardware/raid/logical_disk_properties');
  assert.is(raid.status, 200, raid.raw);
  assert.ok('raid_level' in raid.body && 'size_gb' in raid.body);
  const unknown = await na.call('GET', '/v1/drivers/ipmi/vendor_passthru/methods');
  assert.is(unknown.status, 404);
});

test('no conductor alive: 503 for node passthru, indicators and driver work', async () => {
  await na.stopConductor('pt-c1');
  await na.stopConductor('pt-c2');
  await na.waitLive([]);
  const temporary = 'Resource temporarily unavailable, please retry.';
  for (const [method, url, body] of [
    ['GET', `/v1/nodes/${node}/vendor_passthru/methods`, undefined],
    ['POST', `/v1/nodes/${node}/vendor_passthru?method=third_method_sync`, { bar: 'meow' }],
    ['GET', `/v1/nodes/${node}/management/indicators`, undefined],
    ['PUT', `/v1/nodes/${node}/management/indicators/led@system`, { state: 'ON' }],
    ['GET', '/v1/drivers/fake-hardware/vendor_passthru/methods', undefined],
    ['GET', '/v1/drivers/fake-hardware/raid/logical_disk_properties', undefined],
  ] as const) {
    // (the RAID properties answered above are cached, but only used while a conductor serves the driver)
    const r = await na.call(method, url, body);
    assert.is(r.status, 503, `${method} ${url}: ${r.raw}`);
    assert.is(fault(r.raw), temporary);
  }
});

test.run();
