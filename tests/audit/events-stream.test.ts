// GET /v1/events/stream over a real HTTP connection, against the real SQLite store written
// through the domain's commands: catch-up then live in log order, secrets masked, filters,
// Ironic-format 400s, and, the point of it all, a subscriber that is cut off again and again
// (mid catch-up, mid message, while events keep coming) and resumes with Last-Event-ID sees
// every event exactly once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EventStore, Subscription } from '../../eventstore/port.ts';
import type { AuditStore } from '../../api/audit/index.ts';
import { innerError, startAuditApp, type AuditApp } from './support/app.ts';
import { BMC_PASSWORD, openTestLog, type TestLog } from './support/log.ts';
import { SseConnection, type SseMessage } from './support/sse-client.ts';

interface Wire {
  id: string;
  stream: string;
  revision: number;
  position: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

const parse = (m: SseMessage): Wire => JSON.parse(m.data) as Wire;

/** The store as the routes see it, counting live subscriptions (to prove disconnects clean up). */
const counting = (store: EventStore): AuditStore & { active: () => number } => {
  let active = 0;
  return {
    readStream: (s, o) => store.readStream(s, o),
    subscribeToAll: (o, h) => {
      const sub = store.subscribeToAll(o, h);
      active++;
      let stopped = false;
      const wrapped: Subscription = {
        caughtUp: sub.caughtUp,
        lastPosition: sub.lastPosition,
        stop: async () => {
          if (!stopped) {
            stopped = true;
            active--;
          }
          await sub.stop();
        },
      };
      return wrapped;
    },
    active: () => active,
  };
};

let log: TestLog;
let audit: AuditApp;
let store: ReturnType<typeof counting>;
const names = new Map<string, string>();

test.before(async () => {
  log = openTestLog();
  store = counting(log.store);
  audit = await startAuditApp({ store, resolveNode: async (name) => names.get(name), heartbeatMs: 150 });
});

test.after(async () => {
  await audit.app.close();
  await log.dispose();
});

const waitUntil = async (pred: () => boolean, timeoutMs: number, what: string): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('catch-up then live: every public event once, in log order, with its position as id and secrets masked', async () => {
  const a = await log.createNode('stream-node-a');
  const b = await log.createNode();
  for (let i = 0; i < 5; i++) await log.toggleMaintenance(i % 2 ? a : b);
  const conn = await SseConnection.open(`${audit.url}/v1/events/stream`);
  await conn.waitFor((c) => c.comments.includes('caught up'), 5000, 'the catch-up');
  const before = (await log.publicEvents()).length;
  assert.is(conn.messages.length, before, 'the catch-up delivers the whole (public) log');
  for (let i = 0; i < 6; i++) await log.toggleMaintenance(i % 2 ? a : b);
  await log.createNode();
  const all = await log.publicEvents();
  await conn.waitFor((c) => c.messages.length >= all.length, 5000, 'the live events');
  conn.destroy();

  assert.equal(conn.messages.map((m) => m.lastEventId), all.map((e) => e.position.toString()), 'ids are the log positions, in order');
  assert.equal(conn.messages.map((m) => m.event), all.map((e) => e.type), 'event: is the event type');
  const wire = conn.messages.map(parse);
  assert.ok(wire.every((w, i) => w.id === all[i]!.id && w.stream === all[i]!.streamId && w.revision === Number(all[i]!.revision) && w.position === all[i]!.position.toString()));
  assert.ok(wire.every((w) => !w.stream.startsWith('claim-')), 'uniqueness claims are not published');
  const created = wire.find((w) => w.type === 'NodeCreated')!;
  const node = created.data.node as { driver_info: Record<string, unknown> };
  assert.is(node.driver_info.ipmi_password, '******');
  assert.is(node.driver_info.ipmi_username, 'admin');
  assert.is(typeof created.metadata.correlationId, 'string');
  const raw = conn.messages.map((m) => m.data).join('\n');
  assert.not.ok(raw.includes(BMC_PASSWORD), 'no clear secret');
  assert.not.ok(raw.includes('$secret'), 'no sealed secret either');
  await waitUntil(() => store.active() === 0, 2000, 'the subscription to stop after the disconnect');
});

test('a subscriber cut off again and again (mid catch-up, mid message, while events keep coming) resumes with Last-Event-ID and sees every event exactly once', async () => {
  const nodes = [await log.createNode('resume-node'), await log.createNode(), await log.createNode()];
  // a backlog big enough that the first cut lands in the middle of the catch-up
  for (let i = 0; i < 300; i++) await log.toggleMaintenance(nodes[i % 3]!);

  let writing = true;
  let cutWhileLive = 0;
  const writer = (async () => {
    // at least 300 events, and on until the reader has been cut a few times in the live phase
    for (let i = 0; i < 300 || (cutWhileLive < 3 && i < 3000); i++) {
      await log.toggleMaintenance(nodes[i % 3]!);
      if (i % 25 === 0) await log.createNode(i % 50 === 0 ? `resume-extra-${i}` : undefined);
      if (i % 3 === 0) await new Promise((r) => setTimeout(r, 8));
    }
    writing = false;
  })();

  const received: SseMessage[] = [];
  let lastEventId = '';
  let connections = 0;
  let cutMidMessage = 0;
  for (;;) {
    connections++;
    const take = 10 + ((connections * 37) % 50);
    // cut the connection `take` messages in, a few bytes into whatever follows
    const conn = await SseConnection.open(`${audit.url}/v1/events/stream`, { lastEventId, cutAfter: { messages: take, extraChars: (connections * 53) % 200 } });
    try {
      await conn.waitFor((c) => c.ended, 3000, `${take} messages`);
    } catch {
      // fewer left than `take`: fine once the writer is done and everything is in
    }
    conn.destroy();
    // what the client had dispatched when the socket went: everything after it must come again
    received.push(...conn.messages);
    lastEventId = conn.lastEventId;
    if (conn.hasPartialMessage()) cutMidMessage++;
    if (conn.comments.includes('caught up') && conn.messages.length > 0) cutWhileLive++;
    if (!writing) {
      const total = (await log.publicEvents()).length;
      if (received.length >= total) break;
    }
    if (connections > 400) throw new Error('too many reconnections');
  }
  await writer;

  const all = await log.publicEvents();
  const positions = received.map((m) => m.lastEventId);
  assert.is(new Set(positions).size, positions.length, 'no event twice');
  assert.equal(positions, all.map((e) => e.position.toString()), 'every event, in log order');
  assert.equal(received.map((m) => parse(m).id), all.map((e) => e.id));
  console.log(`  ${received.length} events over ${connections} connections, ${cutMidMessage} cut with a message half received, ${cutWhileLive} cut while live`);
  assert.ok(connections >= 8, `it reconnected many times (${connections})`);
  assert.ok(cutWhileLive >= 2, `some cuts came in the live phase (${cutWhileLive})`);
  await waitUntil(() => store.active() === 0, 2000, 'every subscription to stop');
});

test('?node= (UUID or a resolved name) and ?type= filter; resuming a filtered stream works the same', async () => {
  const a = await log.createNode();
  const b = await log.createNode();
  names.set('filter-node-b', b);
  for (let i = 0; i < 8; i++) await log.toggleMaintenance(i % 2 ? a : b);
  const all = await log.publicEvents();

  const byNode = await SseConnection.open(`${audit.url}/v1/events/stream?node=${a}`);
  await byNode.waitFor((c) => c.comments.includes('caught up'), 5000, 'catch-up');
  byNode.destroy();
  const expectA = all.filter((e) => e.streamId === `node-${a}`).map((e) => e.position.toString());
  assert.equal(byNode.messages.map((m) => m.lastEventId), expectA);

  const byName = await SseConnection.open(`${audit.url}/v1/events/stream?node=filter-node-b&type=MaintenanceSet`);
  await byName.waitFor((c) => c.comments.includes('caught up'), 5000, 'catch-up');
  byName.destroy();
  const expectB = all.filter((e) => e.streamId === `node-${b}` && e.type === 'MaintenanceSet').map((e) => e.position.toString());
  assert.is(expectB.length, 2);
  assert.equal(byName.messages.map((m) => m.lastEventId), expectB);

  const byType = await SseConnection.open(`${audit.url}/v1/events/stream?type=NodeCreated,MaintenanceCleared`);
  await byType.waitFor((c) => c.comments.includes('caught up'), 5000, 'catch-up');
  byType.destroy();
  const expectT = all.filter((e) => e.type === 'NodeCreated' || e.type === 'MaintenanceCleared').map((e) => e.position.toString());
  assert.equal(byType.messages.map((m) => m.lastEventId), expectT);

  // resume a filtered stream from its second event: the rest, once
  const resumed = await SseConnection.open(`${audit.url}/v1/events/stream?node=${a}`, { lastEventId: expectA[1] });
  await resumed.waitFor((c) => c.comments.includes('caught up'), 5000, 'catch-up');
  resumed.destroy();
  assert.equal(resumed.messages.map((m) => m.lastEventId), expectA.slice(2));

  // ?after= does the same; Last-Event-ID wins over it (EventSource resends the original URL)
  const after = await SseConnection.open(`${audit.url}/v1/events/stream?node=${a}&after=${expectA[0]}`, { lastEventId: expectA[2] });
  await after.waitFor((c) => c.comments.includes('caught up'), 5000, 'catch-up');
  after.destroy();
  assert.equal(after.messages.map((m) => m.lastEventId), expectA.slice(3));

  // after=end: only what comes next
  const live = await SseConnection.open(`${audit.url}/v1/events/stream?node=${a}&after=end`);
  await live.waitFor((c) => c.comments.includes('caught up'), 5000, 'catch-up');
  assert.is(live.messages.length, 0);
  const p = await log.toggleMaintenance(a);
  await live.waitFor((c) => c.messages.length === 1, 5000, 'the live event');
  live.destroy();
  assert.is(live.messages[0]!.lastEventId, p.toString());
});

test('heartbeat comments keep an idle stream talking', async () => {
  const conn = await SseConnection.open(`${audit.url}/v1/events/stream?after=end`);
  await conn.waitFor((c) => c.comments.filter((x) => x === 'heartbeat').length >= 2, 3000, 'two heartbeats');
  conn.destroy();
});

test('bad input is a 400 (or 404) in Ironic format, before any stream starts', async () => {
  const cases: [string, Record<string, string>, number, RegExp][] = [
    ['?after=abc', {}, 400, /Invalid after "abc"/],
    ['?after=-1', {}, 400, /Invalid after/],
    ['', { 'last-event-id': 'x12' }, 400, /Invalid Last-Event-ID "x12"/],
    ['?type=NoSuchEvent', {}, 400, /Unknown event type\(s\): NoSuchEvent/],
    ['?node=no-such-name', {}, 404, /Node no-such-name could not be found/],
    ['?since=3', {}, 400, /Unexpected arguments: since/],
    ['?after=1&after=2', {}, 400, /only once/],
  ];
  for (const [query, headers, status, message] of cases) {
    const res = await fetch(`${audit.url}/v1/events/stream${query}`, { headers });
    const body = await res.text();
    assert.is(res.status, status, `${query} ${JSON.stringify(headers)}: ${body}`);
    assert.match(String(innerError(body).faultstring), message);
  }
  assert.is(store.active(), 0, 'no subscription was opened');
});

test('closing the server ends open streams (it does not hang on them)', async () => {
  const other = await startAuditApp({ store: log.store, heartbeatMs: 60_000 });
  const conn = await SseConnection.open(`${other.url}/v1/events/stream?after=end`);
  const started = Date.now();
  await other.app.close();
  await conn.waitFor((c) => c.ended, 2000, 'the stream to end');
  assert.ok(Date.now() - started < 2000, 'close() returned promptly');
});

test.run();
