// The real `baremetal` CLI (Debian's python3-ironicclient) against a running `ironlog start`
// (child process, private nats-server, http_basic) for the vendor passthru and RAID property
// commands: `node passthru list/call`, `driver passthru list/call`, `driver raid property list`.
// Modelled on baremetal-cli.test.ts (support/baremetal.ts runs the commands through
// ironicclient.shell.main in one interpreter). ironicclient sends the method as a path segment
// (`/v1/nodes/<n>/vendor_passthru/<method>`).
//
// python-ironicclient 5.0.1 cannot print a synchronous method's return value: `node passthru
// call` builds a Resource from it (`'bool' object has no attribute 'items'` for FakeVendorB's
// third_method_sync, as against a real Ironic), and `driver passthru call` hands a Resource to
// cliff's dict2columns, which needs a dict. Those answers are checked over HTTP here instead.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Baremetal } from './support/baremetal.ts';
import { startIronlog, type Ironlog } from './support/ironlog.ts';

let il: Ironlog;
let bm: Baremetal;
const node = 'pt-cli-1';

test.before(async () => {
  il = await startIronlog();
  bm = new Baremetal(il.base, 'admin', il.password!);
  const created = await bm.json('node', 'create', '--driver', 'fake-hardware', '--name', node);
  assert.is(created.name, node);
});

test.after(async () => {
  await bm?.close();
  await il?.stop();
});

const failsWith = async (args: string[], message: string) => {
  const r = await bm.cli(...args);
  assert.is(r.code, 1, `baremetal ${args.join(' ')} should fail: ${r.stdout}`);
  assert.is(r.stderr.trim(), message);
};

test('node passthru list: FakeVendorB\'s methods', async () => {
  const methods = await bm.json<Array<Record<string, unknown>>>('node', 'passthru', 'list', node);
  assert.equal(methods, [
    { Name: 'first_method', 'Supported HTTP methods': 'POST', Async: true, Description: 'Test if the value of bar is baz', 'Response is attachment': false },
    { Name: 'second_method', 'Supported HTTP methods': 'POST', Async: true, Description: 'Test if the value of bar is kazoo', 'Response is attachment': false },
    { Name: 'third_method_sync', 'Supported HTTP methods': 'POST', Async: false, Description: 'Test if the value of bar is meow', 'Response is attachment': false },
    { Name: 'fourth_method_shared_lock', 'Supported HTTP methods': 'POST', Async: true, Description: 'Test if the value of bar is woof', 'Response is attachment': false },
  ]);
});

test('node passthru call: an async method is accepted; the conductor\'s refusals come back as HTTP 400', async () => {
  const r = await bm.cli('node', 'passthru', 'call', node, 'first_method', '--arg', 'bar=baz');
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, '', 'a 202 has no body to print');
  await failsWith(['node', 'passthru', 'call', node, 'second_method'], "Parameter 'bar' not passed to method 'second_method'. (HTTP 400)");
  await failsWith(['node', 'passthru', 'call', node, 'no_such_method', '--arg', 'bar=1'], 'No handler for method no_such_method (HTTP 400)');
  await failsWith(['node', 'passthru', 'call', node, 'third_method_sync', '--arg', 'bar=meow', '--http-method', 'GET'], 'The method third_method_sync does not support HTTP GET (HTTP 400)');
  await failsWith(['node', 'passthru', 'call', 'no-such-node', 'first_method', '--arg', 'bar=baz'], 'Node no-such-node could not be found. (HTTP 404)');
  // the synchronous answer the client cannot print (see the header), over HTTP
  const sync = await il.call('POST', `/v1/nodes/${node}/vendor_passthru/third_method_sync`, { bar: 'meow' }, 'latest');
  assert.is(sync.status, 200, sync.raw);
  assert.is(sync.raw, 'true');
});

test('driver passthru list and call', async () => {
  const methods = await bm.json<Array<Record<string, unknown>>>('driver', 'passthru', 'list', 'fake-hardware');
  assert.equal(methods.map((m) => [m.Name, m['Supported HTTP methods'], m.Async]), [
    ['first_driver_method', 'POST', true],
    ['second_driver_method_sync', 'GET, POST', false],
    ['third_driver_method_attach', 'GET', false],
  ]);
  assert.is(methods[2]!['Response is attachment'], true);
  const called = await bm.json('driver', 'passthru', 'call', 'fake-hardware', 'first_driver_method', '--arg', 'bar=baz');
  assert.equal(called, {}, 'a 202 has no body: nothing to show');
  await failsWith(['driver', 'passthru', 'call', 'fake-hardware', 'first_driver_method'], "Parameter 'bar' not passed to method 'first_driver_method'. (HTTP 400)");
  await failsWith(['driver', 'passthru', 'call', 'fake-hardware', 'second_driver_method_sync', '--http-method', 'DELETE'], 'The method second_driver_method_sync does not support HTTP DELETE (HTTP 400)');
  await failsWith(['driver', 'passthru', 'list', 'bogus'], "The driver 'bogus' is unknown. (HTTP 404)");
  const sync = await il.call('GET', '/v1/drivers/fake-hardware/vendor_passthru/second_driver_method_sync', undefined, 'latest');
  assert.is(sync.status, 200, sync.raw);
  assert.equal(sync.body, { http_method: 'GET', args: {} });
});

test('driver raid property list: the logical disk properties, sorted by the client', async () => {
  const props = await bm.json<Array<{ Property: string; Description: string }>>('driver', 'raid', 'property', 'list', 'fake-hardware');
  assert.equal(props.map((p) => p.Property), [
    'controller', 'disk_type', 'interface_type', 'is_root_volume', 'number_of_physical_disks', 'physical_disks', 'raid_level', 'share_physical_disks', 'size_gb', 'volume_name',
  ]);
  assert.ok(props.every((p) => /(Required|Optional)\.$/.test(p.Description)), JSON.stringify(props));
  await failsWith(['driver', 'raid', 'property', 'list', 'bogus'], "The driver 'bogus' is unknown. (HTTP 404)");
});

test.run();
