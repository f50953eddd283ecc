// openstacksdk (Debian's python3-openstacksdk, run with /usr/bin/python3) against a running
// `ironlog start` with http_basic: create (the SDK's own manage → provide with waiting), list
// (plain, detailed, filters, fields), deploy, power, maintenance, undeploy and delete.
// support/sdk_scenario.py prints what it saw; every observation is asserted here.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanEnv, python } from './support/baremetal.ts';
import { startIronlog, type Ironlog } from './support/ironlog.ts';

const script = fileURLToPath(new URL('./support/sdk_scenario.py', import.meta.url));
let il: Ironlog;

test.before(async () => {
  il = await startIronlog();
});
test.after(async () => {
  await il?.stop();
});

test('openstacksdk creates, lists, deploys and deletes nodes', async () => {
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(python, [script], { env: { ...cleanEnv(), IRONLOG_URL: il.base, IRONLOG_USER: 'admin', IRONLOG_PASSWORD: il.password! }, timeout: 80_000, cwd: '/' }, (err, out, errOut) =>
      resolve({ code: err ? 1 : 0, stdout: out, stderr: errOut }),
    );
  });
  assert.is(code, 0, `sdk_scenario.py failed:\n${stderr}\n${stdout}\n--- ironlog:\n${il.output().slice(-3000)}`);
  const seen = JSON.parse(stdout);

  assert.is(seen.created_available.name, 'sdk-a');
  assert.is(seen.created_available.provision_state, 'available', 'created, managed and provided by the SDK');
  assert.equal(seen.created_available.driver_info, { ipmi_password: '******' });
  assert.is(seen.created_enroll.provision_state, 'enroll');
  assert.equal(seen.port, { id: seen.port.id, address: '52:54:00:5d:00:01', node_id: seen.created_available.id });

  assert.equal(seen.list_names, ['sdk-a', 'sdk-b']);
  assert.equal(seen.list_available, ['sdk-a']);
  assert.equal(seen.list_details, [['sdk-a', 'fake-hardware', null], ['sdk-b', 'fake-hardware', 'sdk-class']]);
  assert.equal(seen.list_fields, [['sdk-a', 'available'], ['sdk-b', 'enroll']]);
  assert.equal(seen.list_by_class, ['sdk-b']);
  assert.equal(seen.ports_of_a, ['52:54:00:5d:00:01']);

  assert.is(seen.deployed.provision_state, 'active');
  assert.is(seen.deployed.target_provision_state, null);
  assert.is(seen.deployed.last_error, null);
  assert.is(seen.powered.power_state, 'power on');
  assert.is(seen.maintenance.is_maintenance, true);
  assert.is(seen.provide_enroll.status, 400, JSON.stringify(seen.provide_enroll));
  assert.match(seen.provide_enroll.message, /can not be performed on node .* while it is in state "enroll"/);
  assert.is(seen.undeployed.provision_state, 'available');
  assert.is(seen.undeployed.instance_id, null);

  assert.equal(seen.after_delete, []);
  assert.equal(seen.get_deleted, { status: 404 });
});

test.run();
