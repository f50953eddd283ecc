// The publisher's linger (publisher/publisher.ts `lingerMs`): once caught up, events committed
// one by one go out together when they come within the linger, in fewer batches, each event
// still exactly once and in order; stop() does not wait for a linger to end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import type { EventStore, RecordedEvent } from '../../eventstore/port.ts';
import { EVENTS_STREAM, startPublisher, type Publisher } from '../../publisher/index.ts';
import { startNatsServer, type NatsServer } from '../support/nats.ts';
import { openTestLog, type TestLog } from '../audit/support/log.ts';

let nats: NatsServer;
let nc: NatsConnection;
const dirs: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The log's store, counting the batches handed to the publisher once it has caught up. */
const countingStore = (log: TestLog) => {
  const live = { batches: 0, events: 0, caughtUp: false };
  const store: Pick<EventStore, 'subscribeToAll'> = {
    subscribeToAll: (options, handler) =>
      log.store.subscribeToAll(
        {
          ...options,
          onCaughtUp: () => {
            live.caughtUp = true;
            options.onCaughtUp?.();
          },
        },
        async (events: RecordedEvent[]) => {
          if (live.caughtUp) {
            live.batches++;
            live.events += events.length;
          }
          await handler(events);
        },
      ),
  };
  return { store, live };
};

const streamMessages = async (): Promise<number> => {
  try {
    return (await (await nc.jetstreamManager()).streams.info(EVENTS_STREAM)).state.messages;
  } catch {
    return -1;
  }
};

const waitFor = async (n: number, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await streamMessages()) >= n) return;
    await sleep(20);
  }
  throw new Error(`the stream holds ${await streamMessages()} messages, expected ${n}`);
};

/** A fresh log and stream, a publisher with the given linger, and 12 events committed 5 ms apart once it is live. */
const trickle = async (lingerMs: number): Promise<{ batches: number; events: number; messages: number }> => {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(EVENTS_STREAM).catch(() => undefined);
  const log = openTestLog();
  const dataDir = mkdtempSync(join(tmpdir(), 'ironlog-linger-'));
  dirs.push(dataDir);
  const { store, live } = countingStore(log);
  let publisher: Publisher | undefined;
  try {
    const uuid = await log.createNode('linger-1');
    publisher = startPublisher({ store, natsUrl: nats.url, dataDir, lingerMs });
    await waitFor(1);
    while (!live.caughtUp) await sleep(10);
    for (let i = 0; i < 12; i++) {
      await log.toggleMaintenance(uuid);
      await sleep(5);
    }
    await waitFor(13);
    await sleep(lingerMs + 50);
    return { batches: live.batches, events: live.events, messages: await streamMessages() };
  } finally {
    await publisher?.stop();
    await log.dispose();
  }
};

test.before(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
});

test.after(async () => {
  await nc?.close();
  await nats?.dispose();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('events 5 ms apart: with a 100 ms linger they go out in a few batches, without it one by one', async () => {
  const without = await trickle(0);
  const withLinger = await trickle(100);
  assert.is(without.messages, 13, 'every event once');
  assert.is(withLinger.messages, 13, 'every event once with the linger too');
  assert.is(without.events, 12);
  assert.is(withLinger.events, 12);
  assert.ok(without.batches >= 8, `without a linger nearly one batch per event (${without.batches})`);
  assert.ok(withLinger.batches <= 4, `with a 100 ms linger the 12 events (~70 ms) come in a few batches (${withLinger.batches})`);
});

test('stop() ends a linger at once', async () => {
  const log = openTestLog();
  const dataDir = mkdtempSync(join(tmpdir(), 'ironlog-linger-'));
  dirs.push(dataDir);
  const { store, live } = countingStore(log);
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(EVENTS_STREAM).catch(() => undefined);
  const publisher = startPublisher({ store, natsUrl: nats.url, dataDir, lingerMs: 30_000 });
  try {
    while (!live.caughtUp) await sleep(10);
    await log.createNode('linger-stop');
    await waitFor(1);
    await sleep(50);
    // the publisher now lingers for 30 s after that live batch
    const t0 = Date.now();
    await publisher.stop();
    assert.ok(Date.now() - t0 < 2_000, `stopped in ${Date.now() - t0} ms`);
  } finally {
    await publisher.stop();
    await log.dispose();
  }
});

test.run();
