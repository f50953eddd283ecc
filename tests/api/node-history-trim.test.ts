// GET /v1/nodes/{node}/history shows a node's newest IRONLOG_NODE_HISTORY_MAX_ENTRIES records
// (Ironic's `[conductor] node_history_max_entries`), marker paging runs over them, a trimmed
// record is gone (404, as in Ironic once its periodic task has removed it), and /timeline still
// lists every event.

// the read models read it when the runtime makes them, as `ironlog start` does from its environment
process.env.IRONLOG_NODE_HISTORY_MAX_ENTRIES = '4';

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testApp } from './support/app.ts';

const t = await testApp();
type J = Record<string, unknown>;
const get = async (url: string) => {
  const r = await t.app.inject({ method: 'GET', url, headers: { host: 'h', 'x-openstack-ironic-api-version': 'latest' } });
  return { status: r.statusCode, body: JSON.parse(r.body) as J, raw: r.body };
};
const rec = (n: number) => `0a6e2a4b-1c3d-4e5f-8a9b-${n.toString(16).padStart(12, '0')}`;

test.after(() => t.close());

test('the history shows the newest 4 of 6 records; paging and the timeline', async () => {
  const node = await t.seedNode({ name: 'trimmed' });
  const n = node.uuid;
  for (let i = 1; i <= 6; i++) {
    const at = new Date(Date.UTC(2024, 0, 1, 0, i)).toISOString();
    await t.appendNodeEvents(n, [{ type: 'NodeHistoryRecorded', data: { uuid: n, at, entry: { uuid: rec(i), severity: 'ERROR', event: `failure ${i}`, event_type: 'deploying', conductor: 'test-conductor', user: null, created_at: at } } }]);
  }
  const all = await get(`/v1/nodes/${n}/history`);
  assert.is(all.status, 200, all.raw);
  assert.equal((all.body.history as J[]).map((h) => h.uuid), [3, 4, 5, 6].map(rec));
  assert.equal((all.body.history as J[]).map((h) => h.event), ['failure 3', 'failure 4', 'failure 5', 'failure 6']);

  const p1 = await get(`/v1/nodes/trimmed/history?limit=3`);
  assert.equal((p1.body.history as J[]).map((h) => h.uuid), [3, 4, 5].map(rec));
  assert.is(p1.body.next, `http://h/v1/nodes/${n}/history?limit=3&marker=${rec(5)}`);
  const p2 = await get(`/v1/nodes/${n}/history?limit=3&marker=${rec(5)}`);
  assert.equal((p2.body.history as J[]).map((h) => h.uuid), [rec(6)]);
  assert.is(p2.body.next, undefined);

  assert.is((await get(`/v1/nodes/${n}/history/${rec(2)}`)).status, 404, 'a trimmed record is gone');
  assert.is((await get(`/v1/nodes/${n}/history/${rec(3)}`)).status, 200);
  assert.is((await get(`/v1/nodes/${n}/history?marker=${rec(1)}`)).status, 404, 'a trimmed marker: NodeHistoryNotFound, as in Ironic');

  const tl = await get(`/v1/nodes/${n}/timeline`);
  const types = (tl.body.timeline as J[]).map((e) => e.type);
  assert.equal(types, ['NodeCreated', ...Array<string>(6).fill('NodeHistoryRecorded')], 'the timeline keeps every event');
});

test.run();
