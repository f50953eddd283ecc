// The event publisher against a private nats-server with JetStream and the real SQLite store
// written through the domain's commands. A subscriber reads the JetStream stream back and checks
// that it holds every public event exactly once, in log order, under the documented subjects:
// first time, after the publisher restarts (with its checkpoint, without it, with a stale one,
// and two publishers at once), and across a nats-server restart while events keep coming.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckPolicy, connect, type JetStreamManager, type NatsConnection } from 'nats';
import { EVENTS_STREAM, eventSubject, Headers, startPublisher, type Publisher, type PublisherOptions } from '../../publisher/index.ts';
import { checkpointPath, readCheckpoint } from '../../publisher/checkpoint.ts';
import { startNatsServer, type NatsServer } from '../support/nats.ts';
import { BMC_PASSWORD, openTestLog, type TestLog } from './support/log.ts';

interface StoredEvent {
  seq: number;
  subject: string;
  msgId: string | undefined;
  position: string | undefined;
  body: { id: string; stream: string; revision: number; position: string; type: string; data: Record<string, unknown>; metadata: Record<string, unknown> };
}

let nats: NatsServer;
let log: TestLog;
let nc: NatsConnection;
let jsm: JetStreamManager;
const dataDirs: string[] = [];

const newDataDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'ironlog-publisher-'));
  dataDirs.push(d);
  return d;
};

// IRONLOG_TEST_VERBOSE=1 shows what the publishers log
const line = (level: string) => (obj: object, msg: string) => process.stderr.write(`  [${level}] ${msg} ${JSON.stringify(obj)}\n`);
const testLog = process.env.IRONLOG_TEST_VERBOSE ? { debug: () => undefined, info: line('info'), warn: line('warn'), error: line('error') } : undefined;

const publisher = (dataDir: string, extra: Partial<PublisherOptions> = {}): Publisher =>
  startPublisher({ store: log.store, natsUrl: nats.url, dataDir, ackTimeoutMs: 1500, retryMaxMs: 500, ...(testLog ? { log: testLog } : {}), ...extra });

const streamCount = async (): Promise<number> => {
  try {
    return (await jsm.streams.info(EVENTS_STREAM)).state.messages;
  } catch {
    return -1;
  }
};

const waitForCount = async (n: number, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  let c = -1;
  while (Date.now() < deadline) {
    c = await streamCount();
    if (c >= n) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the stream holds ${c} messages, expected ${n}`);
};

/** Everything the stream holds, read back one sequence at a time. */
const readStream = async (): Promise<StoredEvent[]> => {
  const info = await jsm.streams.info(EVENTS_STREAM);
  const out: StoredEvent[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(EVENTS_STREAM, { seq });
    out.push({
      seq: m.seq,
      subject: m.subject,
      msgId: m.header.get('Nats-Msg-Id') || undefined,
      position: m.header.get(Headers.position) || undefined,
      body: m.json(),
    });
  }
  return out;
};

/** The stream holds exactly the public log, in order, once each. */
const assertExactlyTheLog = async (): Promise<StoredEvent[]> => {
  const all = await log.publicEvents();
  await waitForCount(all.length, 15_000);
  await new Promise((r) => setTimeout(r, 200)); // anything extra would arrive now
  const stored = await readStream();
  const ids = stored.map((s) => s.msgId);
  assert.is(new Set(ids).size, ids.length, 'no event twice');
  assert.is(stored.length, all.length, 'as many messages as events');
  assert.equal(ids, all.map((e) => e.id), 'every event, in log order');
  assert.equal(stored.map((s) => s.position), all.map((e) => e.position.toString()), 'the position header');
  stored.forEach((s, i) => {
    if (i > 0) assert.is(s.seq, stored[i - 1]!.seq + 1, 'gap-free sequences');
  });
  return stored;
};

const stopAll = (ps: Publisher[]) => Promise.all(ps.map((p) => p.stop()));

test.before(async () => {
  nats = await startNatsServer();
  log = openTestLog();
  nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  jsm = await nc.jetstreamManager();
});

test.after(async () => {
  await nc.close();
  await nats.dispose();
  await log.dispose();
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
});

test('publishes every committed event once, under ironlog.events.<category>.<id>.<EventType>, secrets masked', async () => {
  const a = await log.createNode('published-node'); // a name: its claim stream must not be published
  const b = await log.createNode();
  for (let i = 0; i < 20; i++) await log.toggleMaintenance(i % 2 ? a : b);
  const dir = newDataDir();
  const p = publisher(dir);
  const stored = await assertExactlyTheLog();
  await p.stop();

  const all = await log.publicEvents();
  stored.forEach((s, i) => {
    const e = all[i]!;
    assert.is(s.subject, eventSubject(e.streamId, e.type));
    assert.is(s.body.id, e.id);
    assert.is(s.body.stream, e.streamId);
    assert.is(s.body.revision, Number(e.revision));
    assert.is(s.body.type, e.type);
  });
  assert.is(stored[0]!.subject, `ironlog.events.node.${a}.NodeCreated`);
  const created = stored.find((s) => s.body.type === 'NodeCreated')!;
  assert.is((created.body.data.node as { driver_info: Record<string, unknown> }).driver_info.ipmi_password, '******');
  assert.not.ok(JSON.stringify(stored).includes(BMC_PASSWORD), 'no clear secret');
  assert.not.ok(JSON.stringify(stored).includes('$secret'), 'no sealed secret either');
  assert.ok(stored.every((s) => !s.body.stream.startsWith('claim-')));

  // NATS wildcards filter by node and by type
  const count = async (filter: string) => {
    const consumer = await jsm.consumers.add(EVENTS_STREAM, { filter_subject: filter, ack_policy: AckPolicy.None });
    const n = consumer.num_pending;
    await jsm.consumers.delete(EVENTS_STREAM, consumer.name);
    return n;
  };
  assert.is(await count(`ironlog.events.node.${a}.>`), all.filter((e) => e.streamId === `node-${a}`).length);
  assert.is(await count('ironlog.events.*.*.MaintenanceSet'), all.filter((e) => e.type === 'MaintenanceSet').length);
  assert.is(await count(`ironlog.events.node.${b}.MaintenanceCleared`), 5);

  const cp = readCheckpoint(checkpointPath(dir));
  assert.is(cp?.position, all.at(-1)!.position, 'the checkpoint is the last published position');
});

test('a restarted publisher resumes without loss or duplicates: with its checkpoint, without it, with a stale one, and two at once', async () => {
  const dir = newDataDir();
  const nodes = [await log.createNode(), await log.createNode()];
  const more = async (n: number) => {
    for (let i = 0; i < n; i++) await log.toggleMaintenance(nodes[i % 2]!);
  };

  // 1. its own checkpoint file
  let p = publisher(dir);
  await assertExactlyTheLog();
  await p.stop();
  await more(15);
  p = publisher(dir);
  await assertExactlyTheLog();
  await p.stop();

  // 2. no checkpoint (a fresh data dir): it resumes from the last message in the stream
  await more(10);
  p = publisher(newDataDir());
  await assertExactlyTheLog();
  await p.stop();

  // 3. a stale checkpoint (crash between ack and checkpoint write): the stream wins
  await more(10);
  writeFileSync(checkpointPath(dir), JSON.stringify({ position: '3', stream: EVENTS_STREAM }));
  p = publisher(dir);
  await assertExactlyTheLog();
  await p.stop();

  // 4. killed mid-backlog, restarted at once
  await more(120);
  p = publisher(dir, { maxInFlight: 8 });
  await waitForCount((await streamCount()) + 20, 10_000);
  await p.stop();
  p = publisher(dir);
  await assertExactlyTheLog();
  await p.stop();

  // 5. two publishers at once (two processes configured alike): they cannot interleave or repeat
  await more(60);
  const twins = [publisher(newDataDir(), { maxInFlight: 4 }), publisher(newDataDir(), { maxInFlight: 4 })];
  await more(30);
  await assertExactlyTheLog();
  await stopAll(twins);
});

test('the checkpoint file is written at most once per interval while live, and always on stop', async () => {
  const dir = newDataDir();
  const node = await log.createNode();
  let p = publisher(dir, { checkpointIntervalMs: 60_000 });
  await assertExactlyTheLog();
  await p.stop();
  const first = readCheckpoint(checkpointPath(dir))?.position;
  assert.is(first, (await log.publicEvents()).at(-1)!.position, 'written on stop');

  p = publisher(dir, { checkpointIntervalMs: 60_000 });
  const one = await log.toggleMaintenance(node);
  await assertExactlyTheLog();
  assert.is(readCheckpoint(checkpointPath(dir))?.position, one, 'the first acknowledged batch is written at once');
  for (let i = 0; i < 10; i++) await log.toggleMaintenance(node);
  await assertExactlyTheLog();
  assert.is(readCheckpoint(checkpointPath(dir))?.position, one, 'later batches within the interval are not written yet');
  await p.stop();
  assert.is(readCheckpoint(checkpointPath(dir))?.position, (await log.publicEvents()).at(-1)!.position, 'stopping writes the last acknowledged position');

  // interval 0: after every acknowledged chunk, as before
  p = publisher(dir, { checkpointIntervalMs: 0 });
  for (let i = 0; i < 3; i++) await log.toggleMaintenance(node);
  await assertExactlyTheLog();
  assert.is(readCheckpoint(checkpointPath(dir))?.position, (await log.publicEvents()).at(-1)!.position);
  await p.stop();
});

test('survives a nats-server restart while events keep coming: nothing lost, nothing twice', async () => {
  const dir = newDataDir();
  const nodes = [await log.createNode(), await log.createNode(), await log.createNode()];
  const p = publisher(dir);
  await assertExactlyTheLog();

  let writing = true;
  const writer = (async () => {
    for (let i = 0; i < 150; i++) {
      await log.toggleMaintenance(nodes[i % 3]!);
      await new Promise((r) => setTimeout(r, 10));
    }
    writing = false;
  })();
  await new Promise((r) => setTimeout(r, 300));
  await nats.stop();
  await new Promise((r) => setTimeout(r, 700));
  assert.ok(writing, 'events were appended while NATS was down');
  await nats.restart();
  await writer;
  await assertExactlyTheLog();
  const status = p.status();
  assert.ok(status.failures >= 1, `the outage was noticed (${status.failures} failed cycles: ${status.lastError})`);
  await p.stop();
});

test('starts before NATS is reachable and catches up once it is', async () => {
  await nats.stop();
  const p = publisher(newDataDir());
  await log.toggleMaintenance(await log.createNode());
  await new Promise((r) => setTimeout(r, 600));
  assert.is(p.status().connected, false);
  await nats.restart();
  await assertExactlyTheLog();
  await p.stop();
});

test.run();
