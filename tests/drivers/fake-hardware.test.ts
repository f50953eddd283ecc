// The driver model and the fake hardware type (drivers/): interface resolution, the steps it
// offers, what each interface answers, and the per-step delay.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { isDomainError } from '../../domain/errors.ts';
import type { Node } from '../../domain/node/index.ts';
import { fakeHardware } from '../../drivers/fake/index.ts';
import { driverFor, registeredInterfaces, stepsOf } from '../../drivers/hardware-type.ts';
import { planSteps } from '../../conductor/executor/steps.ts';

const node = (extra: Partial<Node> = {}): Node =>
  ({ uuid: 'n-1', driver: 'fake-hardware', power_state: 'power off', power_interface: null, deploy_interface: null, network_interface: null, ...extra }) as Node;
const task = (n: Node = node()) => ({ node: n, signal: new AbortController().signal });
const hw = fakeHardware({ stepDelayMs: 0 });

test('a hardware type registers its interfaces; a node resolves them, null meaning the default', () => {
  const reg = registeredInterfaces(hw);
  assert.equal(reg.power, { enabled: ['fake'], default: 'fake' });
  assert.equal(reg.network, { enabled: ['noop'], default: 'noop' });
  assert.is(Object.keys(reg).length, 12);
  const d = driverFor(hw, node());
  assert.is(d.names.deploy, 'fake');
  assert.is(d.names.network, 'noop');
  assert.throws(() => driverFor(hw, node({ deploy_interface: 'direct' })), (e: unknown) => isDomainError(e) && /deploy_interface "direct" is not supported/.test(e.message));
});

test('fake power reads the stored state and accepts the five targets', async () => {
  const d = driverFor(hw, node());
  assert.is(await d.power.getPowerState(task()), 'power off');
  assert.equal([...d.power.getSupportedPowerStates(task())], ['power on', 'power off', 'rebooting', 'soft rebooting', 'soft power off']);
  await d.power.setPowerState(task(), 'power on');
  await d.power.reboot(task());
});

test('fake management: pxe only; vendor methods check bar', async () => {
  const d = driverFor(hw, node());
  assert.equal(await d.management.getBootDevice(task()), { boot_device: 'pxe', persistent: false });
  await d.management.setBootDevice(task(), 'pxe', false);
  try {
    await d.management.setBootDevice(task(), 'disk', false);
    assert.unreachable();
  } catch (e) {
    assert.ok(isDomainError(e) && e.message === 'Invalid boot device disk specified.');
  }
  assert.is(await d.vendor.call(task(), 'second_method', 'POST', { bar: 'kazoo' }), true);
  assert.is(await d.vendor.call(task(), 'second_method', 'POST', { bar: 'baz' }), false);
  try {
    await d.vendor.validate(task(), 'first_method', {});
    assert.unreachable();
  } catch (e) {
    assert.ok(isDomainError(e) && e.errorClass === 'MissingParameterValue');
  }
  assert.is(d.vendor.routes().third_method_sync.async, false);
  assert.is(d.vendor.routes().fourth_method_shared_lock.require_exclusive_lock, false);
});

test('steps: automated ones by priority; user deploy steps override or disable; manual clean keeps its order', () => {
  const d = driverFor(hw, node());
  assert.equal(stepsOf(d, 'deploy').filter((s) => s.spec.priority > 0).map((s) => s.spec.step), ['deploy', 'write_image', 'prepare_instance_boot']);
  const auto = planSteps(d, 'clean', node(), undefined, false);
  assert.ok(E.isRight(auto));
  if (E.isRight(auto)) assert.equal(auto.right.map((s) => [s.step, s.priority]), [['erase_devices_metadata', 99], ['erase_devices', 10]]);
  const user = planSteps(d, 'deploy', node(), [
    { interface: 'deploy', step: 'write_image', priority: 0, args: {} },
    { interface: 'raid', step: 'apply_configuration', priority: 90, args: { raid_config: {} } },
  ], false);
  assert.ok(E.isRight(user));
  if (E.isRight(user)) assert.equal(user.right.map((s) => s.step), ['deploy', 'apply_configuration', 'prepare_instance_boot']);
  const manual = planSteps(d, 'clean', node(), [{ interface: 'raid', step: 'delete_configuration' }, { interface: 'bios', step: 'factory_reset' }], true);
  assert.ok(E.isRight(manual));
  if (E.isRight(manual)) assert.equal(manual.right.map((s) => s.step), ['delete_configuration', 'factory_reset']);
  const bad = planSteps(d, 'clean', node(), [{ interface: 'deploy', step: 'nope' }], true);
  assert.ok(E.isLeft(bad) && /does not support this clean step/.test(bad.left));
});

test('each step sleeps IRONLOG_FAKE_STEP_DELAY_MS, and stops early when the task is aborted', async () => {
  const slow = driverFor(fakeHardware({ stepDelayMs: 150 }), node());
  let t0 = Date.now();
  await slow.power.setPowerState(task(), 'power on');
  assert.ok(Date.now() - t0 >= 140, 'slept');
  t0 = Date.now();
  assert.is(await slow.power.getPowerState(task()), 'power off');
  assert.ok(Date.now() - t0 < 50, 'reads do not sleep');
  const c = new AbortController();
  t0 = Date.now();
  setTimeout(() => c.abort(), 20);
  await slow.deploy.tearDown({ node: node(), signal: c.signal });
  assert.ok(Date.now() - t0 < 120, 'aborted early');
});

test.run();
