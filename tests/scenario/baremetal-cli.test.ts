// The operator's scenario with the real `baremetal` CLI (Debian's python3-ironicclient) against a
// running `ironlog start` (a child process with its own data dir, free API port, private
// nats-server and the generated admin login over http_basic). Every step parses the CLI's
// `-f json` output and asserts what it shows. The steps share one ironlog and run in order.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Baremetal } from './support/baremetal.ts';
import { startIronlog, type Ironlog } from './support/ironlog.ts';

let il: Ironlog;
let bm: Baremetal;
const n1 = { name: 'scn-1', uuid: '' };
const n2 = { name: 'scn-2', uuid: '' };
const macs = ['52:54:00:aa:00:01', '52:54:00:aa:00:02'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const show = (node: string, ...fields: string[]) => bm.json<Record<string, any>>('node', 'show', node, ...fields.flatMap((f) => ['-c', f]));
/** polls `node show` until pred holds (power changes finish after the 202) */
const until = async (node: string, fields: string[], pred: (n: Record<string, any>) => boolean, ms = 15_000) => {
  const deadline = Date.now() + ms;
  for (;;) {
    const n = await show(node, ...fields);
    if (pred(n)) return n;
    if (Date.now() > deadline) throw new Error(`node ${node} never satisfied the condition; last: ${JSON.stringify(n)}`);
    await sleep(200);
  }
};

test.before(async () => {
  il = await startIronlog();
  bm = new Baremetal(il.base, 'admin', il.password!);
});

test.after(async () => {
  await bm?.close();
  await il?.stop();
});

test('the installed /usr/bin/baremetal logs in with http_basic; a wrong password is refused', async () => {
  const bad = new Baremetal(il.base, 'admin', 'not-the-password');
  const refused = await bad.run(['node', 'list', '-f', 'json']);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /HTTP 401/);
  const r = await bm.run(['node', 'create', '--driver', 'fake-hardware', '--name', n1.name, '--driver-info', 'ipmi_password=s3cret-bmc', '--property', 'cpus=8', '-f', 'json']);
  assert.is(r.code, 0, r.stderr);
  const node = JSON.parse(r.stdout);
  assert.is(node.name, n1.name);
  assert.is(node.driver, 'fake-hardware');
  assert.is(node.provision_state, 'enroll', 'the CLI negotiates a version ≥1.11: new nodes are enroll');
  assert.equal(node.driver_info, { ipmi_password: '******' });
  assert.equal(node.properties, { cpus: 8 });
  assert.is(node.power_interface, 'fake', 'interfaces resolved to the hardware type defaults');
  assert.is(node.conductor, 'scenario-conductor');
  assert.ok(/^[0-9a-f-]{36}$/.test(node.uuid));
  n1.uuid = node.uuid;
  assert.not.ok(r.stdout.includes('s3cret-bmc'));
});

test('create a second node and ports; list ports by node', async () => {
  const node = await bm.json('node', 'create', '--driver', 'fake-hardware', '--name', n2.name, '--resource-class', 'bronze');
  n2.uuid = node.uuid;
  assert.is(node.resource_class, 'bronze');
  const p1 = await bm.json('port', 'create', macs[0]!, '--node', n1.uuid);
  assert.is(p1.address, macs[0]);
  assert.is(p1.node_uuid, n1.uuid);
  assert.is(p1.pxe_enabled, true);
  const p2 = await bm.json('port', 'create', macs[1]!, '--node', n2.uuid, '--pxe-enabled', 'false');
  assert.is(p2.pxe_enabled, false);
  const dup = await bm.cli('port', 'create', macs[0]!, '--node', n2.uuid);
  assert.is(dup.code, 1);
  assert.match(dup.stderr, /already exists.*HTTP 409/s);
  const ports = await bm.json<any[]>('port', 'list', '--node', n1.name);
  assert.equal(ports.map((p) => [p.UUID, p.Address]), [[p1.uuid, macs[0]]]);
  const byAddress = await bm.json<any[]>('port', 'list', '--address', macs[1]!, '--fields', 'uuid', 'address', 'node_uuid');
  assert.equal(byAddress, [{ UUID: p2.uuid, Address: macs[1], 'Node UUID': n2.uuid }]);
});

test('node list with filters and fields', async () => {
  const all = await bm.json<any[]>('node', 'list');
  assert.equal(all.map((n) => n.Name).sort(), [n1.name, n2.name]);
  assert.equal(Object.keys(all[0]!), ['UUID', 'Name', 'Instance UUID', 'Power State', 'Provisioning State', 'Maintenance']);
  const fields = await bm.json<any[]>('node', 'list', '--fields', 'uuid', 'name', 'resource_class', 'provision_state');
  assert.equal(
    fields.sort((a, b) => a.Name.localeCompare(b.Name)),
    [
      { UUID: n1.uuid, Name: n1.name, 'Resource Class': null, 'Provisioning State': 'enroll' },
      { UUID: n2.uuid, Name: n2.name, 'Resource Class': 'bronze', 'Provisioning State': 'enroll' },
    ],
  );
  const bronze = await bm.json<any[]>('node', 'list', '--resource-class', 'bronze', '--provision-state', 'enroll', '--driver', 'fake-hardware');
  assert.equal(bronze.map((n) => n.UUID), [n2.uuid]);
  assert.equal(await bm.json('node', 'list', '--provision-state', 'active'), []);
  const long = await bm.json<any[]>('node', 'list', '--long', '--sort', 'name:desc');
  assert.equal(long.map((n) => n.Name), [n2.name, n1.name]);
  assert.is(long[1]['Driver Info'].ipmi_password, '******');
});

test('node set and unset (JSON patch)', async () => {
  await bm.ok('node', 'set', n1.name, '--property', 'memory_mb=4096', '--extra', 'rack=r12', '--description', 'scenario node', '--resource-class', 'gold');
  let n = await show(n1.name, 'properties', 'extra', 'description', 'resource_class');
  assert.equal(n, { description: 'scenario node', extra: { rack: 'r12' }, properties: { cpus: 8, memory_mb: 4096 }, resource_class: 'gold' });
  await bm.ok('node', 'unset', n1.name, '--property', 'memory_mb', '--extra', 'rack', '--description');
  n = await show(n1.name, 'properties', 'extra', 'description', 'resource_class');
  assert.equal(n, { description: null, extra: {}, properties: { cpus: 8 }, resource_class: 'gold' });
  const badPath = await bm.cli('node', 'set', n1.name, '--property', 'cpus=8', '--driver', 'no-such-driver');
  assert.is(badPath.code, 1);
  assert.match(badPath.stderr, /HTTP 400/);
  assert.is((await show(n1.name, 'driver')).driver, 'fake-hardware', 'a refused patch changes nothing');
});

test('manage → provide → deploy → undeploy with --wait (fake-hardware)', async () => {
  await bm.ok('node', 'manage', n1.name, '--wait', '60');
  assert.equal(await show(n1.name, 'provision_state', 'target_provision_state'), { provision_state: 'manageable', target_provision_state: null });
  await bm.ok('node', 'provide', n1.name, '--wait', '60');
  assert.equal(await show(n1.name, 'provision_state', 'target_provision_state'), { provision_state: 'available', target_provision_state: null });
  await bm.ok('node', 'deploy', n1.name, '--wait', '60');
  const active = await show(n1.name, 'provision_state', 'target_provision_state', 'last_error', 'reservation', 'provision_updated_at');
  assert.is(active.provision_state, 'active');
  assert.is(active.target_provision_state, null);
  assert.is(active.last_error, null);
  assert.is(active.reservation, null);
  assert.ok(active.provision_updated_at);
  const wrong = await bm.cli('node', 'provide', n1.name);
  assert.is(wrong.code, 1);
  assert.match(wrong.stderr, /The requested action "provide" can not be performed on node "[0-9a-f-]+" while it is in state "active"\. \(HTTP 400\)/);
  await bm.ok('node', 'undeploy', n1.name, '--wait', '60');
  assert.equal(await show(n1.name, 'provision_state', 'target_provision_state', 'instance_uuid'), { instance_uuid: null, provision_state: 'available', target_provision_state: null });
});

test('power on and off', async () => {
  await bm.ok('node', 'power', 'on', n1.name);
  assert.equal(await until(n1.name, ['power_state', 'target_power_state'], (n) => n.power_state === 'power on'), { power_state: 'power on', target_power_state: null });
  await bm.ok('node', 'power', 'off', n1.name, '--power-timeout', '30');
  assert.equal(await until(n1.name, ['power_state', 'target_power_state'], (n) => n.power_state === 'power off'), { power_state: 'power off', target_power_state: null });
  await bm.ok('node', 'reboot', n1.name);
  assert.is((await until(n1.name, ['power_state', 'target_power_state'], (n) => n.target_power_state === null && n.power_state === 'power on')).power_state, 'power on');
});

test('maintenance set and unset', async () => {
  await bm.ok('node', 'maintenance', 'set', n1.name, '--reason', 'fan swap');
  assert.equal(await show(n1.name, 'maintenance', 'maintenance_reason'), { maintenance: true, maintenance_reason: 'fan swap' });
  const listed = await bm.json<any[]>('node', 'list', '--maintenance');
  assert.equal(listed.map((n) => n.UUID), [n1.uuid]);
  const deploy = await bm.cli('node', 'deploy', n1.name);
  assert.is(deploy.code, 1);
  assert.match(deploy.stderr, /in maintenance mode.*HTTP 400/s);
  await bm.ok('node', 'maintenance', 'unset', n1.name);
  assert.equal(await show(n1.name, 'maintenance', 'maintenance_reason'), { maintenance: false, maintenance_reason: null });
});

test('boot device set and show', async () => {
  await bm.ok('node', 'boot', 'device', 'set', n1.name, 'pxe', '--persistent');
  // FakeManagement answers {pxe, false} whatever was set (reference §5.2)
  assert.equal(await bm.json('node', 'boot', 'device', 'show', n1.name), { boot_device: 'pxe', persistent: false });
  assert.equal(await bm.json('node', 'boot', 'device', 'show', n1.name, '--supported'), { supported_boot_devices: 'pxe' });
  const bad = await bm.cli('node', 'boot', 'device', 'set', n1.name, 'disk');
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /Invalid boot device disk specified\. \(HTTP 400\)/);
});

test('validate', async () => {
  const rows = await bm.json<Array<{ Interface: string; Result: boolean; Reason: string }>>('node', 'validate', n1.name);
  assert.equal(rows.map((r) => r.Interface), ['bios', 'boot', 'console', 'deploy', 'inspect', 'management', 'network', 'power', 'raid', 'rescue', 'storage']);
  assert.ok(rows.every((r) => r.Result === true && r.Reason === ''), JSON.stringify(rows));
});

test('a failed manual clean is in last_error and in the node history', async () => {
  await bm.ok('node', 'manage', n2.name, '--wait', '60');
  const failed = await bm.cli('node', 'clean', n2.name, '--clean-steps', '[{"interface": "deploy", "step": "no_such_step"}]', '--wait', '60');
  assert.is(failed.code, 1, 'the wait ends in a failure state');
  assert.match(failed.stderr, /clean failed/);
  const n = await show(n2.name, 'provision_state', 'last_error');
  assert.is(n.provision_state, 'clean failed');
  assert.match(n.last_error, /no_such_step/);
  // Ironic records a history entry whenever last_error is set (severity ERROR, event_type cleaning)
  const history = await bm.json<Array<Record<string, any>>>('node', 'history', 'list', n2.name, '--long');
  const errors = history.filter((h) => h.Severity === 'ERROR');
  assert.ok(errors.length >= 1, `node history of a failed clean: ${JSON.stringify(history)}`);
  const entry = errors[0]!;
  assert.ok(/no_such_step/.test(String(entry['Description of the event'])), `the entry names the failure: ${JSON.stringify(errors)}`);
  assert.is(entry['Event Origin Type'], 'cleaning');
  assert.is(entry.Conductor, 'scenario-conductor');
  assert.match(entry['Created At'], /\+00:00$/, "Ironic's timestamp form");
  const one = await bm.json('node', 'history', 'get', n2.name, entry.UUID);
  assert.is(one.severity, 'ERROR');
  assert.is(one.event_type, 'cleaning');
  assert.match(one.event, /no_such_step/);
});

test('conductor list and show', async () => {
  assert.equal(await bm.json('conductor', 'list'), [{ Hostname: 'scenario-conductor', 'Conductor Group': '', Alive: true }]);
  const c = await bm.json('conductor', 'show', 'scenario-conductor');
  assert.is(c.alive, true);
  assert.equal(c.drivers, ['fake-hardware']);
  assert.is(c.conductor_group, '');
  assert.match(c.created_at, /^\d{4}-\d\d-\d\dT[\d:.]+\+00:00$/, "Ironic's timestamp form");
  const missing = await bm.cli('conductor', 'show', 'nobody');
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /HTTP 404/);
});

test('driver list, show and property list', async () => {
  assert.equal(await bm.json('driver', 'list'), [{ 'Supported driver(s)': 'fake-hardware', 'Active host(s)': 'scenario-conductor' }]);
  const d = await bm.json('driver', 'show', 'fake-hardware');
  assert.is(d.name, 'fake-hardware');
  assert.is(d.hosts, 'scenario-conductor', 'the CLI joins the hosts into one string');
  assert.is(d.default_power_interface, 'fake');
  const props = await bm.json<Array<{ Property: string; Description: string }>>('driver', 'property', 'list', 'fake-hardware');
  assert.ok(props.length > 0);
  assert.ok(props.every((p) => typeof p.Property === 'string' && typeof p.Description === 'string'));
  assert.ok(props.some((p) => p.Property === 'B1'), JSON.stringify(props));
});

test('allocation create (resource class + trait) binds the matching node', async () => {
  await bm.ok('node', 'add', 'trait', n1.name, 'CUSTOM_GPU');
  const a = await bm.json('allocation', 'create', '--resource-class', 'gold', '--trait', 'CUSTOM_GPU', '--name', 'alloc-1', '--wait', '30');
  assert.is(a.state, 'active');
  assert.is(a.node_uuid, n1.uuid);
  assert.equal(a.traits, ['CUSTOM_GPU']);
  const n = await show(n1.name, 'allocation_uuid', 'instance_uuid');
  assert.is(n.allocation_uuid, a.uuid);
  assert.is(n.instance_uuid, a.uuid);
  const none = await bm.cli('allocation', 'create', '--resource-class', 'platinum', '--name', 'alloc-2', '--wait', '30');
  assert.is(none.code, 1, 'no node of that class: the allocation fails');
  const failed = await bm.json('allocation', 'show', 'alloc-2');
  assert.is(failed.state, 'error');
  assert.match(failed.last_error, /platinum/);
  const listed = await bm.json<any[]>('allocation', 'list');
  assert.equal(listed.map((x) => [x.Name, x.State]).sort(), [['alloc-1', 'active'], ['alloc-2', 'error']]);
  await bm.ok('allocation', 'delete', 'alloc-1', 'alloc-2');
  assert.equal(await show(n1.name, 'allocation_uuid', 'instance_uuid'), { allocation_uuid: null, instance_uuid: null });
});

test('deploy template create and list', async () => {
  const steps = '[{"interface": "bios", "step": "apply_configuration", "args": {"settings": [{"name": "LogicalProc", "value": "Enabled"}]}, "priority": 150}]';
  const t = await bm.json('deploy', 'template', 'create', 'CUSTOM_HYPERTHREADING_ON', '--steps', steps, '--extra', 'team=infra');
  assert.is(t.name, 'CUSTOM_HYPERTHREADING_ON');
  assert.equal(t.steps, JSON.parse(steps));
  assert.equal(t.extra, { team: 'infra' });
  const dup = await bm.cli('deploy', 'template', 'create', 'CUSTOM_HYPERTHREADING_ON', '--steps', steps);
  assert.is(dup.code, 1);
  assert.match(dup.stderr, /HTTP 409/);
  const bad = await bm.cli('deploy', 'template', 'create', 'not-a-trait', '--steps', steps);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /HTTP 400/);
  assert.equal(await bm.json('deploy', 'template', 'list'), [{ UUID: t.uuid, Name: 'CUSTOM_HYPERTHREADING_ON' }]);
  const long = await bm.json<any[]>('deploy', 'template', 'list', '--long');
  assert.equal(long[0].Steps, JSON.parse(steps));
});

test('node delete (with its ports); deleted nodes are gone', async () => {
  const refused = await bm.cli('node', 'delete', n2.name);
  assert.is(refused.code, 1, 'a node in clean failed cannot be deleted');
  assert.match(refused.stderr, /clean failed/);
  await bm.ok('node', 'manage', n2.name, '--wait', '60');
  await bm.ok('node', 'delete', n1.name, n2.name);
  assert.equal(await bm.json('node', 'list'), []);
  assert.equal(await bm.json('port', 'list'), []);
  const gone = await bm.cli('node', 'show', n1.uuid);
  assert.is(gone.code, 1);
  assert.match(gone.stderr, new RegExp(`Node ${n1.uuid} could not be found\\. \\(HTTP 404\\)`));
});

test.run();
