// The agent endpoints (reference §7.1–7.2) on the real stack: lookup by MAC or UUID, its version
// gate, restrict_lookup, the agent token issued once (≥1.62) and sealed in the log; heartbeat
// with its token and callback_url rules, recorded by the node's conductor. No login is needed
// for either, even under http_basic. The last test runs them against conductors over NATS.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { htpasswdLine } from '../../api/plugins/auth.ts';
import { innerError, testApp, writeHtpasswd, type TestApp } from './support/app.ts';
import { subjects } from '../../conductor/subjects.ts';
import { natsApp } from './support/nats-app.ts';

let t: TestApp;
let basic: TestApp;
const auth = { authorization: `Basic ${Buffer.from('admin:agent-pw').toString('base64')}` };
const MAC = '52:54:00:ab:cd:01';
const MAC2 = '52:54:00:ab:cd:02';

const call = async (a: TestApp, method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, version = '1.82', headers: Record<string, string> = {}) => {
  const r = await a.app.inject({
    method,
    url,
    headers: { host: 'h', 'x-openstack-ironic-api-version': version, ...headers, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });
  return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined, raw: r.body, headers: r.headers };
};
const faultOf = (raw: string) => String(innerError(raw).faultstring ?? innerError(raw).description);

/** a node in `wait call-back` (where the agent looks up and heartbeats) with one port */
const waitingNode = async (a: TestApp, mac: string, fields: Record<string, unknown> = {}) => {
  const node = await a.seedNode({ provision_state: 'wait call-back', target_provision_state: 'active', power_state: 'power on', ...fields });
  const port = await call(a, 'POST', '/v1/ports', { address: mac, node_uuid: node.uuid }, '1.82', auth);
  assert.is(port.status, 201, port.raw);
  return node;
};

test.before(async () => {
  t = await testApp();
  basic = await testApp({ IRONLOG_AUTH_STRATEGY: 'http_basic', IRONLOG_HTPASSWD_FILE: writeHtpasswd([htpasswdLine('admin', 'agent-pw', 4)]) });
});
test.after(async () => {
  await t?.close();
  await basic?.close();
});

test('lookup: version gate, IncompleteLookup, invalid MACs ignored, unknown → 404', async () => {
  const n = await waitingNode(t, MAC);
  assert.is((await call(t, 'GET', `/v1/lookup?addresses=${MAC}`, undefined, '1.21')).status, 404, 'below 1.22 the endpoint does not exist');
  const none = await call(t, 'GET', '/v1/lookup');
  assert.is(none.status, 400);
  assert.is(faultOf(none.raw), "At least one of 'addresses' and 'node_uuid' parameters is required");
  assert.is((await call(t, 'GET', '/v1/lookup?addresses=not-a-mac')).status, 400, 'only invalid MACs = incomplete');
  assert.is((await call(t, 'GET', '/v1/lookup?node_uuid=nope')).status, 400);
  assert.is((await call(t, 'GET', '/v1/lookup?addresses=52:54:00:00:00:99')).status, 404);
  const unknown = await call(t, 'GET', '/v1/lookup?node_uuid=1be26c0b-03f2-4d2e-ae87-c02d7f33c123');
  assert.is(unknown.status, 404);
  assert.is(faultOf(unknown.raw), 'Resource could not be found.');
  const found = await call(t, 'GET', `/v1/lookup?addresses=not-a-mac,${MAC.toUpperCase()}`, undefined, '1.61');
  assert.is(found.status, 200, found.raw);
  assert.is(found.body.node.uuid, n.uuid);
  assert.equal(Object.keys(found.body.node).sort(), ['driver_internal_info', 'instance_info', 'links', 'properties', 'uuid']);
  assert.is(found.body.config.heartbeat_timeout, 300);
  assert.is(found.body.config.agent_token_required, true);
  assert.is(found.body.config.agent_token, null, 'below 1.62 no token is issued');
  assert.is((await call(t, 'GET', '/v1/lookup?bogus=1&node_uuid=' + n.uuid)).status, 400, 'unexpected arguments');
});

test('lookup: restrict_lookup hides nodes outside LOOKUP_ALLOWED states', async () => {
  const stable = await t.seedNode({ provision_state: 'active' });
  assert.is((await call(t, 'GET', `/v1/lookup?node_uuid=${stable.uuid}`)).status, 404);
  for (const state of ['deploying', 'cleaning', 'clean wait', 'inspecting', 'inspect wait', 'rescuing', 'rescue wait'] as const) {
    const n = await t.seedNode({ provision_state: state });
    const r = await call(t, 'GET', `/v1/lookup?node_uuid=${n.uuid}`, undefined, '1.61');
    assert.is(r.status, 200, `${state}: ${r.raw}`);
  }
  const open = await testApp({ IRONLOG_API_RESTRICT_LOOKUP: 'false' });
  try {
    const n = await open.seedNode({ provision_state: 'available' });
    assert.is((await call(open, 'GET', `/v1/lookup?node_uuid=${n.uuid}`, undefined, '1.61')).status, 200, 'restrict_lookup off');
  } finally {
    await open.close();
  }
});

test('lookup ≥1.62 issues the agent token once; it is sealed in the log and masked everywhere else', async () => {
  const n = await waitingNode(t, MAC2);
  const first = await call(t, 'GET', `/v1/lookup?addresses=${MAC2}`);
  assert.is(first.status, 200, first.raw);
  const token = first.body.config.agent_token as string;
  assert.match(token, /^[A-Za-z0-9_-]{43}$/);
  assert.is(first.body.node.driver_internal_info.agent_secret_token, '******');
  const again = await call(t, 'GET', `/v1/lookup?node_uuid=${n.uuid}`);
  assert.is(again.body.config.agent_token, '******', 'later lookups never see it');
  const shown = await call(t, 'GET', `/v1/nodes/${n.uuid}`);
  assert.is(shown.body.driver_internal_info.agent_secret_token, '******');
  const events = (await t.events()).filter((e) => e.streamId === `node-${n.uuid}`);
  const issued = events.filter((e) => e.type === 'AgentTokenIssued');
  assert.is(issued.length, 1);
  assert.match(JSON.stringify(issued[0]!.data), /"token":\{"\$secret":"v1:/);
  assert.is(issued[0]!.metadata.actor, 'agent');
  assert.not.ok(JSON.stringify(await t.events(), (_k, v) => (typeof v === 'bigint' ? String(v) : v)).includes(token), 'no event holds the clear token');
  const file = readFileSync(join(t.config.dataDir, 'events.sqlite'));
  assert.is(file.indexOf(token), -1, 'nor does the event store file');
});

test('lookup and heartbeat need no login under http_basic; the rest does', async () => {
  const n = await waitingNode(basic, '52:54:00:ab:cd:03');
  assert.is((await call(basic, 'GET', '/v1/nodes')).status, 401);
  const lk = await call(basic, 'GET', `/v1/lookup?node_uuid=${n.uuid}`);
  assert.is(lk.status, 200, lk.raw);
  const hb = await call(basic, 'POST', `/v1/heartbeat/${n.uuid}`, { callback_url: 'http://10.0.0.5:9999', agent_token: lk.body.config.agent_token, agent_version: '9.4.0' });
  assert.is(hb.status, 202, hb.raw);
  const shown = await call(basic, 'GET', `/v1/nodes/${n.uuid}`, undefined, '1.82', auth);
  assert.is(shown.body.driver_internal_info.agent_url, 'http://10.0.0.5:9999');
});

test('heartbeat: token required and checked, callback_url rules, version gates, 202 recorded', async () => {
  const n = await waitingNode(t, '52:54:00:ab:cd:04');
  const token = (await call(t, 'GET', `/v1/lookup?node_uuid=${n.uuid}`)).body.config.agent_token as string;
  const url = `/v1/heartbeat/${n.uuid}`;
  const cb = 'https://10.0.0.7:9999';
  const before = await t.count();
  const refused = async (body: unknown, version: string, status: number, message: string | RegExp) => {
    const r = await call(t, 'POST', url, body, version);
    assert.is(r.status, status, `${JSON.stringify(body)} @${version}: ${r.raw}`);
    if (typeof message === 'string') assert.is(faultOf(r.raw), message);
    else assert.match(faultOf(r.raw), message);
  };
  assert.is((await call(t, 'POST', url, { callback_url: cb, agent_token: token }, '1.21')).status, 404);
  await refused({ agent_token: token }, '1.82', 400, 'Missing argument: "callback_url"');
  await refused({ callback_url: cb }, '1.82', 400, 'Agent token is required for heartbeat processing.');
  await refused({ callback_url: cb, agent_token: 'x'.repeat(43) }, '1.82', 400, 'Invalid or missing agent token received.');
  await refused({ callback_url: cb, agent_token: token.slice(1) }, '1.82', 400, 'Invalid or missing agent token received.');
  await refused({ callback_url: 'ftp://10.0.0.7', agent_token: token }, '1.82', 400, 'An issue with the supplied "callback_url" has been detected.');
  await refused({ callback_url: cb, agent_token: token, agent_version: '9.0' }, '1.35', 400, 'Field "agent_version" not recognised');
  await refused({ callback_url: cb, agent_token: token, agent_status: 'start' }, '1.71', 400, 'Fields "agent_status" and "agent_status_message" not recognised.');
  await refused({ callback_url: cb, agent_token: token, agent_status: 'busy' }, '1.82', 400, 'Agent status is invalid. Valid states are start,end,error.');
  await refused({ callback_url: cb, agent_token: token, agent_verify_ca: 'PEM' }, '1.67', 400, 'Field "agent_verify_ca" not recognised in this version');
  await refused({ callback_url: cb, agent_token: token, bogus: 1 }, '1.82', 400, 'Unexpected arguments: bogus');
  await refused({ callback_url: 5, agent_token: token }, '1.82', 400, /Expected string for callback_url/);
  assert.is((await call(t, 'POST', '/v1/heartbeat/no-such-node', { callback_url: cb, agent_token: token })).status, 404);
  assert.is(await t.count(), before, 'refused heartbeats write nothing');

  const ok = await call(t, 'POST', url, { callback_url: cb, agent_token: token });
  assert.is(ok.status, 202, ok.raw);
  assert.is(ok.raw, '', '202 with no body');
  const dii = (await call(t, 'GET', `/v1/nodes/${n.uuid}`)).body.driver_internal_info;
  assert.is(dii.agent_url, cb);
  assert.is(dii.agent_version, '3.0.0', 'an agent that does not say its version is taken for 3.0.0');
  assert.ok(dii.agent_last_heartbeat);
  const recorded = (await t.events()).filter((e) => e.type === 'AgentHeartbeatRecorded' && e.streamId === `node-${n.uuid}`);
  assert.is(recorded.length, 1);
  await refused({ callback_url: 'https://10.0.0.8:9999', agent_token: token }, '1.82', 400, 'Detected change in ramdisk provided "callback_url"');
  const v = await call(t, 'POST', url, { callback_url: cb, agent_token: token, agent_version: '9.4.1', agent_verify_ca: 'PEM-DATA', agent_status: 'start' });
  assert.is(v.status, 202, v.raw);
  const dii2 = (await call(t, 'GET', `/v1/nodes/${n.uuid}`)).body.driver_internal_info;
  assert.is(dii2.agent_version, '9.4.1');
  assert.is(dii2.agent_verify_ca, 'PEM-DATA');
});

test('heartbeat: ignored (202, nothing written) outside wait states and while the node is locked', async () => {
  const n = await waitingNode(t, '52:54:00:ab:cd:05');
  const token = (await call(t, 'GET', `/v1/lookup?node_uuid=${n.uuid}`)).body.config.agent_token as string;
  await t.appendNodeEvents(n.uuid, [{ type: 'NodeReserved', data: { uuid: n.uuid, at: new Date().toISOString().replace('Z', '+00:00'), host: 'test-conductor', ring_epoch: 0 } }]);
  let before = await t.count();
  const locked = await call(t, 'POST', `/v1/heartbeat/${n.uuid}`, { callback_url: 'http://a:1', agent_token: token });
  assert.is(locked.status, 202, locked.raw);
  assert.is(await t.count(), before, 'a locked node skips the heartbeat');
  const active = await t.seedNode({ provision_state: 'deploying' });
  const tk = (await call(t, 'GET', `/v1/lookup?node_uuid=${active.uuid}`)).body.config.agent_token as string;
  await t.appendNodeEvents(active.uuid, [{ type: 'ProvisionStateChanged', data: { uuid: active.uuid, at: new Date().toISOString().replace('Z', '+00:00'), from: 'deploying', event: 'done', to: 'active', target: null } }]);
  before = await t.count();
  const r = await call(t, 'POST', `/v1/heartbeat/${active.uuid}`, { callback_url: 'http://a:1', agent_token: tk });
  assert.is(r.status, 202, r.raw);
  assert.is(await t.count(), before, 'active takes no heartbeat');
  const noConductor = await t.seedNode({ provision_state: 'wait call-back', driver: 'ipmi' });
  const nv = await call(t, 'POST', `/v1/heartbeat/${noConductor.uuid}`, { callback_url: 'http://a:1', agent_token: tk });
  assert.is(nv.status, 400);
  assert.match(faultOf(nv.raw), /No valid host was found/);
  assert.is((await call(t, 'GET', `/v1/lookup?node_uuid=${noConductor.uuid}`)).status, 400, 'lookup ≥1.62 needs a conductor too');
});

test('over NATS: the owning conductor issues the token and records the heartbeat (fake deploy: nothing to continue)', async () => {
  const na = await natsApp();
  try {
    await na.startConductor('agent-c1');
    await na.startConductor('agent-c2');
    const node = await na.seedNode({ provision_state: 'wait call-back', target_provision_state: 'active' });
    const owner = na.view.ownerOf({ uuid: node.uuid, group: '', driver: 'fake-hardware' })!;
    // a spy on the node's work subjects: every request the API sends for this node
    const sent: Array<{ subject: string; type: string }> = [];
    const spy = na.nc.subscribe(`ironlog.node.*.${node.uuid}`, {
      callback: (_err, m) => {
        const req = JSON.parse(new TextDecoder().decode(m.data)) as { action: string; args: { command?: { type: string } } };
        sent.push({ subject: m.subject, type: req.args.command ? `${req.action}:${req.args.command.type}` : req.action });
      },
    });
    await na.nc.flush();
    const lk = await na.call('GET', `/v1/lookup?node_uuid=${node.uuid}`);
    assert.is(lk.status, 200, lk.raw);
    const token = lk.body.config.agent_token as string;
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    const hb = await na.call('POST', `/v1/heartbeat/${node.uuid}`, { callback_url: 'http://10.1.0.9:9999', agent_token: token, agent_version: '9.4.0' });
    assert.is(hb.status, 202, hb.raw);
    spy.unsubscribe();
    const subject = subjects.nodeWork(owner, node.uuid);
    // (a resend after a slow reply repeats a request to the same owner with the same command id)
    assert.ok(sent.every((s) => s.subject === subject), JSON.stringify(sent));
    // the heartbeat goes to the owner as its own action (Ironic's heartbeat RPC), which records it
    assert.equal([...new Set(sent.map((s) => s.type))], ['node-command:IssueAgentToken', 'heartbeat']);
    const types = (await na.store.readStream(`node-${node.uuid}`)).map((e) => e.type);
    assert.equal(types, ['NodeCreated', 'AgentTokenIssued', 'AgentHeartbeatRecorded']);
    const dii = (await na.call('GET', `/v1/nodes/${node.uuid}`)).body.driver_internal_info;
    assert.is(dii.agent_url, 'http://10.1.0.9:9999');
    assert.is(dii.agent_secret_token, '******');
  } finally {
    await na.close();
  }
});

test.run();
