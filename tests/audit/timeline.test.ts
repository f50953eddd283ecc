// GET /v1/nodes/{node}/timeline and /as_of over real HTTP, against a node whose history was
// written through the domain's commands into the real SQLite store.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { innerError, startAuditApp, type AuditApp } from './support/app.ts';
import { BMC_PASSWORD, openTestLog, type TestLog } from './support/log.ts';

let log: TestLog;
let audit: AuditApp;
let uuid: string;
let events: RecordedEvent[];
const names = new Map<string, string>();

const at = () => new Date().toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const get = async (path: string): Promise<{ status: number; body: Record<string, unknown>; text: string }> => {
  const res = await fetch(`${audit.url}${path}`);
  const text = await res.text();
  return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as Record<string, unknown>) : {}, text };
};

test.before(async () => {
  log = openTestLog();
  audit = await startAuditApp({ store: log.store, resolveNode: async (n) => names.get(n), maxLimit: 50 });
  uuid = await log.createNode('timeline-node');
  names.set('timeline-node', uuid);
  const other = await log.createNode(); // interleaved events of another node must not show up
  await sleep(5);
  await log.run('node', uuid, { type: 'SetMaintenance', data: { uuid, at: at(), reason: 'disk swap' } }, 'alice');
  await log.toggleMaintenance(other);
  await sleep(5);
  await log.run('node', uuid, { type: 'ClearMaintenance', data: { uuid, at: at() } }, 'bob');
  await sleep(5);
  await log.run('node', uuid, { type: 'RequestProvisionAction', data: { uuid, at: at(), verb: 'manage' } }, 'alice');
  await log.run('node', uuid, { type: 'ApplyProvisionEvent', data: { uuid, at: at(), event: 'done' } }, 'conductor:c1');
  await sleep(5);
  await log.run('node', uuid, { type: 'AddTrait', data: { uuid, at: at(), trait: 'CUSTOM_GPU' } }, 'alice');
  events = await log.store.readStream(`node-${uuid}`);
});

test.after(async () => {
  await audit.app.close();
  await log.dispose();
});

test('timeline: every event of the node, in order, with type, revision, position, actor, correlation and causation ids, time', async () => {
  const r = await get(`/v1/nodes/${uuid}/timeline`);
  assert.is(r.status, 200, r.text);
  assert.is(r.body.node_uuid, uuid);
  const tl = r.body.timeline as Record<string, unknown>[];
  assert.is(tl.length, events.length);
  assert.ok(events.length >= 6);
  tl.forEach((entry, i) => {
    const e = events[i]!;
    assert.is(entry.id, e.id);
    assert.is(entry.type, e.type);
    assert.is(entry.revision, i);
    assert.is(entry.position, e.position.toString());
    assert.is(entry.actor, e.metadata.actor);
    assert.is(entry.correlation_id, e.metadata.correlationId);
    assert.is(entry.causation_id, e.metadata.causationId);
    assert.is(entry.command_id, e.metadata.commandId);
    assert.is(entry.time, e.metadata.timestamp);
    assert.is(entry.recorded_at, e.created.toISOString());
    assert.not.ok('data' in entry, 'no data unless asked');
  });
  assert.equal(tl.map((e) => e.type), [
    'NodeCreated',
    'MaintenanceSet',
    'MaintenanceCleared',
    'ProvisionActionRequested',
    'ProvisionStateChanged',
    'ProvisionStateChanged',
    'TraitAdded',
  ]);
  assert.equal(tl.map((e) => e.actor), ['admin', 'alice', 'bob', 'alice', 'alice', 'conductor:c1', 'alice']);
  assert.match(String(tl[1]!.correlation_id), /^req-/);
  assert.ok(tl.every((e) => typeof e.causation_id === 'string' && e.causation_id !== ''));
  assert.is(r.body.next, undefined, 'one page');

  const byName = await get('/v1/nodes/timeline-node/timeline');
  assert.equal(byName.body, r.body, 'a name resolves to the same node');
});

test('timeline: include_data shows event data with secrets masked; limit/marker page it with a next link', async () => {
  const r = await get(`/v1/nodes/${uuid}/timeline?include_data=true`);
  const tl = r.body.timeline as { type: string; data: Record<string, unknown> }[];
  const node = tl[0]!.data.node as { driver_info: Record<string, unknown> };
  assert.is(node.driver_info.ipmi_password, '******');
  assert.is(tl[1]!.data.reason, 'disk swap');
  assert.not.ok(r.text.includes(BMC_PASSWORD));
  assert.not.ok(r.text.includes('$secret'));

  const seen: unknown[] = [];
  let path: string | undefined = `/v1/nodes/${uuid}/timeline?limit=4`;
  let pages = 0;
  while (path) {
    const page = await get(path);
    assert.is(page.status, 200, page.text);
    seen.push(...(page.body.timeline as { id: string }[]).map((e) => e.id));
    path = page.body.next as string | undefined;
    pages++;
  }
  assert.is(pages, 2); // 7 events, 4 a page
  assert.equal(seen, events.map((e) => e.id));

  // limit is capped at max_limit (50 here)
  const capped = await get(`/v1/nodes/${uuid}/timeline?limit=100000`);
  assert.is(capped.status, 200);
});

test('as_of a position: the node folded from its events up to and including it', async () => {
  const [created, mSet, mCleared, , verifying, provisioned, trait] = events;
  const asOf = async (position: bigint | string) => {
    const r = await get(`/v1/nodes/${uuid}/as_of?position=${position}`);
    assert.is(r.status, 200, r.text);
    return r.body as { status: string; revision: number | null; position: string | null; node: Record<string, unknown> | null; as_of: Record<string, unknown> };
  };
  const s0 = await asOf(created!.position);
  assert.is(s0.status, 'present');
  assert.is(s0.revision, 0);
  assert.is(s0.position, created!.position.toString());
  assert.equal(s0.as_of, { position: created!.position.toString() });
  assert.is(s0.node!.maintenance, false);
  assert.is(s0.node!.provision_state, 'enroll');
  assert.is((s0.node!.driver_info as Record<string, unknown>).ipmi_password, '******');

  const s1 = await asOf(mSet!.position);
  assert.is(s1.node!.maintenance, true);
  assert.is(s1.node!.maintenance_reason, 'disk swap');
  // a position between two of the node's events (another node's event) gives the earlier state
  const s1b = await asOf(mCleared!.position - 1n);
  assert.is(s1b.revision, 1);
  assert.is(s1b.node!.maintenance, true);
  const s2 = await asOf(mCleared!.position);
  assert.is(s2.node!.maintenance, false);
  const s3 = await asOf(verifying!.position);
  assert.is(s3.node!.provision_state, 'verifying');
  assert.is(s3.node!.target_provision_state, 'manageable');
  const s4 = await asOf(provisioned!.position);
  assert.is(s4.node!.provision_state, 'manageable');
  assert.equal(s4.node!.traits, []);
  const s5 = await asOf(trait!.position);
  assert.equal(s5.node!.traits, ['CUSTOM_GPU']);
  const beyond = await asOf('99999999');
  assert.equal(beyond.node, s5.node);

  const before = await asOf(created!.position - 1n);
  assert.is(before.status, 'absent');
  assert.is(before.node, null);
  assert.is(before.revision, null);
});

test('as_of a time: the events recorded at or before it', async () => {
  const [created, mSet, mCleared] = events;
  const r = await get(`/v1/nodes/${uuid}/as_of?time=${encodeURIComponent(mSet!.created.toISOString())}`);
  assert.is(r.status, 200, r.text);
  assert.is(r.body.revision, 1);
  assert.is((r.body.node as Record<string, unknown>).maintenance, true);
  const between = new Date((mSet!.created.getTime() + mCleared!.created.getTime()) / 2);
  if (between.getTime() > mSet!.created.getTime()) {
    const r2 = await get(`/v1/nodes/${uuid}/as_of?time=${encodeURIComponent(between.toISOString())}`);
    assert.is(r2.body.revision, 1);
  }
  const early = await get(`/v1/nodes/${uuid}/as_of?time=${encodeURIComponent(new Date(created!.created.getTime() - 1000).toISOString())}`);
  assert.is(early.body.status, 'absent');
});

test('as_of after a delete says deleted', async () => {
  const gone = await log.createNode();
  const p = await log.run('node', gone, { type: 'DeleteNode', data: { uuid: gone, at: at() } });
  const r = await get(`/v1/nodes/${gone}/as_of?position=${p}`);
  assert.is(r.body.status, 'deleted');
  assert.is(r.body.node, null);
  const r2 = await get(`/v1/nodes/${gone}/as_of?position=${p - 1n}`);
  assert.is(r2.body.status, 'present');
});

test('errors: unknown node 404, bad arguments 400, in Ironic format', async () => {
  const cases: [string, number, RegExp][] = [
    [`/v1/nodes/${randomUUID()}/timeline`, 404, /could not be found/],
    [`/v1/nodes/${randomUUID()}/as_of?position=5`, 404, /could not be found/],
    ['/v1/nodes/no-such-name/timeline', 404, /Node no-such-name could not be found/],
    [`/v1/nodes/${uuid}/as_of`, 400, /exactly one of position and time/],
    [`/v1/nodes/${uuid}/as_of?position=1&time=2024-01-01T00:00:00Z`, 400, /exactly one/],
    [`/v1/nodes/${uuid}/as_of?position=abc`, 400, /Invalid position "abc"/],
    [`/v1/nodes/${uuid}/as_of?time=yesterday`, 400, /Invalid time "yesterday"/],
    [`/v1/nodes/${uuid}/timeline?limit=0`, 400, /Invalid value for limit/],
    [`/v1/nodes/${uuid}/timeline?marker=x`, 400, /Invalid value for marker/],
    [`/v1/nodes/${uuid}/timeline?include_data=maybe`, 400, /include_data/],
    [`/v1/nodes/${uuid}/timeline?foo=1`, 400, /Unexpected arguments: foo/],
  ];
  for (const [path, status, message] of cases) {
    const r = await get(path);
    assert.is(r.status, status, `${path}: ${r.text}`);
    assert.match(String(innerError(r.text).faultstring), message, path);
  }
});

test.run();
