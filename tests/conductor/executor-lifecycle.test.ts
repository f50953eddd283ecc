// The provisioning executor in real `ironlog conductor` processes (bin/ironlog.js), three of them on
// a private nats-server over one SQLite log, driven as the API drives them: node commands routed
// to each node's owner (`node-command`). A node goes through manage → provide → deploy →
// undeploy with power on/off on the way, and the log shows each operation's steps, the
// reservation held while the task ran, and who did it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from '../support/nats.ts';
import { spawnIronlogConductor, type ConductorProcess } from './fixtures/harness.ts';
import { ExecutorClient, ok, placement } from './fixtures/executor-client.ts';
import { openEventStore } from '../../eventstore/open.ts';
import type { EventStore } from '../../eventstore/port.ts';
import { MembershipView } from '../../conductor/membership-view.ts';
import { NodeRouter } from '../../conductor/routing.ts';
import { connectNats } from '../../conductor/nats.ts';
import { liveMembers } from '../../domain/conductor/index.ts';

let nats: NatsServer;
let dataDir: string;
let store: EventStore;
let nc: NatsConnection;
let view: MembershipView;
let client: ExecutorClient;
const procs: ConductorProcess[] = [];
const stepDelayMs = 60;
const sealed = { $secret: 'v1:c2VjcmV0' };

test.before(async () => {
  nats = await startNatsServer();
  dataDir = mkdtempSync(join(tmpdir(), 'ironlog-executor-'));
  store = await openEventStore({ dataDir });
  nc = await connectNats([nats.url], { name: 'executor-test' });
  view = new MembershipView({ store, nc, pollIntervalMs: 100 });
  await view.start();
  client = new ExecutorClient(store, new NodeRouter({ nc, view, rpcTimeoutMs: 3000, rpcDeadlineMs: 20_000 }));
  const env = { natsUrl: nats.url, dataDir, heartbeatMs: 250, misses: 3, extra: { IRONLOG_FAKE_STEP_DELAY_MS: String(stepDelayMs), IRONLOG_LOG_LEVEL: 'warn' } };
  for (const h of ['exec-1', 'exec-2', 'exec-3']) procs.push(spawnIronlogConductor(h, env));
  assert.ok(await view.waitFor((m) => liveMembers(m).length === 3, 30_000), 'three conductors registered');
});

test.after(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  view.stop();
  await nc.close();
  await store.close();
  await nats.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

const types = async (uuid: string, after = -1) => (await client.events(uuid)).filter((e) => Number(e.revision) > after).map((e) => e.type);

test('manage → provide → power on → deploy → power off → undeploy, each run by the owner under its reservation', async () => {
  const uuid = await client.create('enroll');
  const owner = view.ownerOf(placement(uuid))!;

  // manage: verifying (power validation) → manageable
  const managed = ok(await client.provision(uuid, 'manage'));
  assert.is(managed.host, owner, 'the owner answered');
  let n = await client.settled(uuid, 'manageable');
  assert.is(n.last_error, null);

  // provide: automated cleaning with its steps → available; the reply comes once the node is
  // in cleaning, reserved by its owner, its steps planned (Ironic's 202)
  let mark = Number((await client.events(uuid)).at(-1)!.revision);
  ok(await client.provision(uuid, 'provide'));
  n = await client.node(uuid);
  assert.is(n.provision_state, 'cleaning');
  assert.is(n.reservation, owner, 'reserved while the task runs');
  assert.is(n.target_provision_state, 'available');
  n = await client.settled(uuid, 'available');
  assert.equal(await types(uuid, mark), [
    'ProvisionActionRequested', 'ProvisionStateChanged', 'NodeReserved', 'StepsPlanned',
    'StepStarted', 'StepCompleted', 'StepStarted', 'StepCompleted', 'DriverInternalInfoUpdated', 'ProvisionStateChanged', 'NodeReleased',
  ]);
  const cleanSteps = (await client.events(uuid)).filter((e) => e.type === 'StepStarted').map((e) => (e.data as { step: { step: string } }).step.step);
  assert.equal(cleanSteps, ['erase_devices_metadata', 'erase_devices'], 'automated clean steps by priority');
  assert.not.ok('clean_steps' in n.driver_internal_info, 'the plan ends with the cleaning');

  // power on: target set, then power_state recorded and the target cleared
  ok(await client.power(uuid, 'power on'));
  n = await client.node(uuid);
  assert.is(n.target_power_state, 'power on');
  assert.is(n.reservation, owner);
  n = await client.waitFor(uuid, (x) => x.power_state === 'power on' && x.target_power_state === null && x.reservation === null);

  // deploy: three deploy steps, done, conductor_affinity = the owner
  mark = Number((await client.events(uuid)).at(-1)!.revision);
  ok(await client.provision(uuid, 'active', { configdrive: sealed }));
  n = await client.node(uuid);
  assert.is(n.provision_state, 'deploying');
  assert.is(n.reservation, owner);
  n = await client.settled(uuid, 'active');
  assert.is(n.conductor_affinity, owner);
  assert.equal(n.instance_info.configdrive, sealed, 'the configdrive is kept sealed in instance_info');
  const deploy = (await client.events(uuid)).filter((e) => Number(e.revision) > mark);
  assert.equal(deploy.filter((e) => e.type === 'StepCompleted').map((e) => (e.data as { step: { step: string } }).step.step), ['deploy', 'write_image', 'prepare_instance_boot']);
  assert.ok(deploy.filter((e) => e.type !== 'ProvisionActionRequested' && e.type !== 'ProvisionStateChanged').every((e) => e.metadata.actor === `conductor:${owner}`));
  assert.ok(deploy.filter((e) => e.metadata.actor === `conductor:${owner}`).every((e) => (e.metadata.owner as { hostname: string }).hostname === owner), 'ownership record stamped');

  // a second request while a task runs is refused with NodeLocked, as Ironic's lock refuses it
  ok(await client.power(uuid, 'power off'));
  const locked = await client.power(uuid, 'power on');
  assert.ok(E.isLeft(locked) && (locked.left.errorClass === 'NodeLocked' || locked.left.errorClass === 'Conflict'), 'locked while the power task runs');
  n = await client.waitFor(uuid, (x) => x.power_state === 'power off' && x.reservation === null);

  // undeploy: tear down, instance gone, automated clean, available
  ok(await client.provision(uuid, 'undeploy'));
  n = await client.node(uuid);
  assert.is(n.provision_state, 'deleting');
  n = await client.settled(uuid, 'available');
  assert.equal(n.instance_info, {});
  const states = (await client.events(uuid)).filter((e) => e.type === 'ProvisionStateChanged').map((e) => (e.data as { to: string }).to);
  assert.equal(states.slice(-3), ['deleting', 'cleaning', 'available']);
});

test('inspect, manual clean (and a step the node lacks), adopt, rescue, unrescue, rebuild', async () => {
  const uuid = await client.create('enroll');
  ok(await client.provision(uuid, 'manage'));
  await client.settled(uuid, 'manageable');
  ok(await client.provision(uuid, 'inspect'));
  let n = await client.settled(uuid, 'manageable');
  assert.ok(n.inspection_finished_at !== null);

  ok(await client.provision(uuid, 'clean', { clean_steps: [{ interface: 'raid', step: 'delete_configuration', args: {} }] }));
  n = await client.settled(uuid, 'manageable');
  const manual = (await client.events(uuid)).filter((e) => e.type === 'StepCompleted').at(-1)!;
  assert.equal((manual.data as { step: { step: string } }).step.step, 'delete_configuration');

  ok(await client.provision(uuid, 'clean', { clean_steps: [{ interface: 'deploy', step: 'no_such_step' }] }));
  n = await client.waitFor(uuid, (x) => x.provision_state === 'clean failed' && x.reservation === null);
  assert.match(n.last_error ?? '', /does not support this clean step/);
  ok(await client.provision(uuid, 'manage'));
  await client.settled(uuid, 'manageable');

  ok(await client.provision(uuid, 'adopt'));
  n = await client.settled(uuid, 'active');
  assert.is(n.conductor_affinity, view.ownerOf(placement(uuid)));

  ok(await client.provision(uuid, 'rescue', { rescue_password: sealed }));
  n = await client.settled(uuid, 'rescue');
  assert.equal(n.instance_info.rescue_password, sealed);
  ok(await client.provision(uuid, 'unrescue'));
  n = await client.settled(uuid, 'active');
  assert.not.ok('rescue_password' in n.instance_info);

  ok(await client.provision(uuid, 'rebuild'));
  n = await client.settled(uuid, 'active');
  const deploySteps = (await client.events(uuid)).filter((e) => e.type === 'StepCompleted' && (e.data as { kind: string }).kind === 'deploy');
  assert.is(deploySteps.length, 3, 'the rebuild ran the deploy steps');
});

test('validate, boot device, NMI, console, vendor passthru, boot mode', async () => {
  const uuid = await client.create('available');
  const v = ok(await client.action(uuid, 'validate')).result as Record<string, { result: boolean }>;
  assert.equal(Object.keys(v), ['boot', 'deploy', 'management', 'network', 'power', 'bios', 'console', 'inspect', 'raid', 'rescue', 'storage']);
  assert.ok(Object.values(v).every((x) => x.result === true));

  assert.equal(ok(await client.action(uuid, 'get_boot_device')).result, { boot_device: 'pxe', persistent: false });
  assert.equal(ok(await client.action(uuid, 'get_supported_boot_devices')).result, { supported_boot_devices: ['pxe'] });
  assert.is(ok(await client.action(uuid, 'set_boot_device', { boot_device: 'pxe', persistent: true })).result, null);
  const bad = await client.action(uuid, 'set_boot_device', { boot_device: 'cdrom' });
  assert.ok(E.isLeft(bad) && bad.left.message === 'Invalid boot device cdrom specified.');
  assert.is(ok(await client.action(uuid, 'inject_nmi')).result, null);
  assert.is((await client.node(uuid)).reservation, null, 'the synchronous calls released the node');

  const noConsole = await client.action(uuid, 'get_console');
  assert.ok(E.isLeft(noConsole) && noConsole.left.errorClass === 'NodeConsoleNotEnabled');
  ok(await client.send(uuid, 'SetConsoleMode', { enabled: true }));
  await client.waitFor(uuid, (n) => n.console_enabled && n.reservation === null);
  assert.equal(ok(await client.action(uuid, 'get_console')).result, { console_enabled: true, console_info: {} });

  const methods = ok(await client.action(uuid, 'vendor_passthru_methods')).result as Record<string, { async: boolean }>;
  assert.equal(Object.keys(methods).sort(), ['first_method', 'fourth_method_shared_lock', 'second_method', 'third_method_sync']);
  assert.equal(ok(await client.action(uuid, 'vendor_passthru', { method: 'third_method_sync', http_method: 'POST', info: { bar: 'meow' } })).result, { return: true, async: false, attach: false });
  assert.equal(ok(await client.action(uuid, 'vendor_passthru', { method: 'first_method', info: { bar: 'baz' } })).result, { return: null, async: true, attach: false });
  const missing = await client.action(uuid, 'vendor_passthru', { method: 'second_method', info: {} });
  assert.ok(E.isLeft(missing) && missing.left.message === "Parameter 'bar' not passed to method 'second_method'.");
  const unknown = await client.action(uuid, 'vendor_passthru', { method: 'nope' });
  assert.ok(E.isLeft(unknown) && unknown.left.message === 'No handler for method nope');
  await client.waitFor(uuid, (n) => n.reservation === null);

  ok(await client.send(uuid, 'RequestBootMode', { boot_mode: 'uefi' }));
  const n = await client.waitFor(uuid, (x) => x.boot_mode === 'uefi' && x.reservation === null);
  assert.is(n.last_error, null);

  const props = await client.router.requestAny('', 'driver_properties', { driver: 'fake-hardware' }, { actor: 'admin' });
  assert.ok(E.isRight(props));
  if (E.isRight(props)) assert.equal(props.right.result, { B1: 'B1 description. Required.', B2: 'B2 description. Required.' });
});

test('commands that start no work are recorded by the owner; a retry is a duplicate', async () => {
  const uuid = await client.create('available');
  const first = ok(await client.send(uuid, 'SetMaintenance', { reason: 'disk' }, 'retry-me-' + uuid));
  const again = ok(await client.send(uuid, 'SetMaintenance', { reason: 'disk' }, 'retry-me-' + uuid));
  // the owner remembers the reply by command id: the retry gets it, nothing is recorded twice
  assert.equal(again.result, first.result);
  assert.is((await client.events(uuid)).filter((e) => e.type === 'MaintenanceSet').length, 1);
  const n = await client.node(uuid);
  assert.is(n.maintenance, true);
  assert.is(n.maintenance_reason, 'disk');
  const refused = await client.provision(uuid, 'active');
  assert.ok(E.isLeft(refused) && refused.left.errorClass === 'NodeInMaintenance');
});

test.run();
