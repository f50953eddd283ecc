// The audit routes as the real API app (api/app.ts buildApp) registers them from its deps:
// they appear in the OpenAPI document, the app's hooks (request id, auth, versions) apply to
// them, and the event stream works through the whole stack over a real connection.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import bcrypt from 'bcryptjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.ts';
import { loadApiConfig } from '../../api/config.ts';
import type { ApiDeps } from '../../api/deps.ts';
import { openTestLog, type TestLog } from './support/log.ts';
import { SseConnection } from './support/sse-client.ts';

let log: TestLog;
const dirs: string[] = [];
let hasOwnTimeline = false;

// The audit routes read the log, not the read models: the app's other dependencies are never
// called by these requests (a stand-in that any resource may hold on to, and that fails if used).
const unused: object = new Proxy(function unusedDependency() {}, {
  get: (_t, key) => (key === 'then' ? undefined : unused),
  apply: () => {
    throw new Error('the audit tests do not use the API read models or commands');
  },
});
const unusedDeps = unused as ApiDeps;

const appWith = async (env: Record<string, string>): Promise<{ app: FastifyInstance; url: string }> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ironlog-audit-app-'));
  dirs.push(dataDir);
  const config = loadApiConfig({ IRONLOG_DATA_DIR: dataDir, IRONLOG_AUTH_STRATEGY: 'noauth', ...env });
  // buildApp registers the audit routes itself when its deps carry the log
  const deps = new Proxy(unusedDeps, { get: (_t, key) => (key === 'store' ? log.store : key === 'then' ? undefined : unused) });
  const app = buildApp(deps, config, { logger: false });
  await app.after();
  // the app serves /timeline from the read model (node-history.ts); ours stays out then
  hasOwnTimeline = app.hasRoute({ method: 'GET', url: '/v1/nodes/:node_ident/timeline' });
  assert.ok(app.hasRoute({ method: 'GET', url: '/v1/events/stream' }), 'buildApp registered the event stream');
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
};

test.before(() => {
  log = openTestLog();
});

test.after(async () => {
  await log.dispose();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('the OpenAPI document lists the three audit paths with their parameters', async () => {
  const { app } = await appWith({});
  const res = await app.inject({ url: '/v1/openapi.json' });
  assert.is(res.statusCode, 200, res.body);
  const doc = res.json() as { paths: Record<string, Record<string, { tags?: string[]; parameters?: { name: string; in: string }[]; responses: Record<string, unknown> }>> };
  const stream = doc.paths['/v1/events/stream']?.get;
  const timeline = doc.paths['/v1/nodes/{node_ident}/timeline']?.get;
  const asOf = doc.paths['/v1/nodes/{node_ident}/as_of']?.get;
  assert.ok(stream && timeline && asOf, `paths: ${Object.keys(doc.paths).join(' ')}`);
  assert.equal(stream.tags, ['audit']);
  const names = (op: typeof stream) => (op.parameters ?? []).map((p) => `${p.in}:${p.name}`).sort();
  assert.equal(names(stream), ['header:last-event-id', 'query:after', 'query:node', 'query:type']);
  if (!hasOwnTimeline) assert.equal(names(timeline), ['path:node_ident', 'query:include_data', 'query:limit', 'query:marker']);
  assert.equal(names(asOf), ['path:node_ident', 'query:position', 'query:time']);
  assert.ok(JSON.stringify(stream.responses).includes('text/event-stream'));
  await app.close();
});

test('through the whole app: the stream carries the request id header, the timeline answers, auth applies', async () => {
  const uuid = await log.createNode();
  await log.toggleMaintenance(uuid);
  const { app, url } = await appWith({});
  const conn = await SseConnection.open(`${url}/v1/events/stream?node=${uuid}`, { headers: { 'x-openstack-ironic-api-version': 'latest' } });
  await conn.waitFor((c) => c.comments.includes('caught up'), 5000, 'catch-up');
  assert.equal(conn.messages.map((m) => m.event), ['NodeCreated', 'MaintenanceSet']);
  assert.match(String(conn.res.headers['openstack-request-id']), /^req-/);
  const p = await log.toggleMaintenance(uuid);
  await conn.waitFor((c) => c.messages.length === 3, 5000, 'the live event');
  assert.is(conn.lastEventId, p.toString());
  conn.destroy();

  if (!hasOwnTimeline) {
    const tl = await fetch(`${url}/v1/nodes/${uuid}/timeline`);
    assert.is(tl.status, 200);
    assert.is(((await tl.json()) as { timeline: unknown[] }).timeline.length, 3);
  }
  const asOf = await fetch(`${url}/v1/nodes/${uuid}/as_of?position=${p}`, { headers: { 'x-openstack-ironic-api-version': 'latest' } });
  assert.is(asOf.status, 200);
  assert.is(((await asOf.json()) as { node: { maintenance: boolean } }).node.maintenance, false);
  await app.close();

  // http_basic: no credentials, no events
  const htpasswd = join(dirs[0]!, 'htpasswd');
  writeFileSync(htpasswd, `auditor:${bcrypt.hashSync('s3cret', 4)}\n`);
  const secured = await appWith({ IRONLOG_AUTH_STRATEGY: 'http_basic', IRONLOG_HTPASSWD_FILE: htpasswd });
  const refused = await fetch(`${secured.url}/v1/events/stream`);
  assert.is(refused.status, 401);
  const ok = await SseConnection.open(`${secured.url}/v1/events/stream?node=${uuid}`, {
    headers: { authorization: `Basic ${Buffer.from('auditor:s3cret').toString('base64')}` },
  });
  await ok.waitFor((c) => c.messages.length === 3, 5000, 'the events');
  ok.destroy();
  await secured.app.close();
});

test.run();
