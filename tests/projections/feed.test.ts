// The fed rebuild's protocol (projections/feed.ts) in one thread over a MessageChannel: the reading
// side reads the metadata columns and posts batches, the projecting side reads the data itself;
// every event the projecting side gets equals what the store's own readAll decodes (id and
// metadata, which the batches do not carry, read back from the store when asked), in order, none
// missing, none from streams outside the prefixes; the node timeline chunks built on the reading
// side hold exactly one entry per node event.

import { MessageChannel } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openEventStore } from '../../eventstore/open.ts';
import type { EventStore, RawRecordedEvent, RecordedEvent } from '../../eventstore/port.ts';
import { SqliteEventStore } from '../../eventstore/sqlite.ts';
import { batchArrays, feedPartitions, FeedSink, fedStore, isFeedAck, newFeedCounter, type DataReader, type FeedMessage } from '../../projections/feed.ts';
import type { FedTimeline } from '../../projections/timeline-bytes.ts';
import { prebuiltOutput } from '../../projections/model.ts';
import { nodeLife, toEventData, uuidFor } from './node-events.ts';
import { DomainWriter, removeTempDirs, tempDir } from './support.ts';

const dir = tempDir();
let store: EventStore;
const prefixes = ['node-', 'port-', 'membership-ring'];

test.before(async () => {
  store = await openEventStore({ dataDir: dir });
  const w = new DomainWriter(store);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 8; i++) {
      const uuid = uuidFor(0xfeed, i);
      const life = [...nodeLife({ uuid, name: `f${i}`, start: Date.UTC(2024, 0, 1) + i * 1000, conductor: 'c1' }, 45)].slice(round * 15, round * 15 + 15);
      await store.append(`node-${uuid}`, life.map((e) => toEventData(e, `corr-${round}-${i}`)), round === 0 ? 'no_stream' : BigInt(round * 15 - 1));
    }
    // a stream no model follows, between the followed ones
    await store.append(`claim-name-x${round}`, [{ id: `claim-${round}`, type: 'Claimed', data: { by: 'x' }, metadata: { correlationId: 'c', causationId: 'c', actor: 'a', timestamp: 't' } }], 'any');
    await w.command('port', uuidFor(0x90, round), { type: 'CreatePort', data: { fields: { node_uuid: uuidFor(0xfeed, round), address: `52:54:00:00:0f:0${round}` } } });
  }
  await w.command('conductor', 'ring', { type: 'RegisterConductor', data: { hostname: 'c1', incarnation: 'i1', group: '', hardwareTypes: ['fake-hardware'], interfaces: {} } });
});

test.after(async () => {
  await store.close();
  removeTempDirs();
});

test('fed events are the events the store decodes, and the timeline covers every node event', async () => {
  assert.instance(store, SqliteEventStore);
  const sqlite = store as SqliteEventStore;
  const { port1, port2 } = new MessageChannel();
  const counter = newFeedCounter();
  // a small window and odd batch sizes: the reader waits for the worker now and then
  const sink = new FeedSink((m: FeedMessage) => port1.postMessage(m, m.feed === 'rows' ? batchArrays(m.batch) : []), counter, 2);
  port1.on('message', (m: unknown) => {
    if (isFeedAck(m)) sink.acked();
  });
  const readData: DataReader = (after, until, streamPrefixes) => sqlite.readAllColumns(['data'], { after, until, streamPrefixes: streamPrefixes && [...streamPrefixes] });
  const lookup = (p: bigint): RawRecordedEvent | undefined => sqlite.readRows(Number(p) - 1, Number(p), undefined, 1)[0];
  const fed = fedStore(store, port2, counter, readData, lookup);
  const got: RecordedEvent[] = [];
  const timeline: FedTimeline['rows'] = [];
  const sub = fed.subscribeToAll({ after: 'start', streamPrefixes: prefixes }, async (events) => {
    const pre = (events as { [prebuiltOutput]?: Record<string, unknown> })[prebuiltOutput];
    if (pre) timeline.push(...(pre.history as FedTimeline).rows);
    got.push(...events);
  });
  try {
    const head = (await store.headPosition()) as bigint;
    await feedPartitions({ store: sqlite, prefixes: [prefixes], sinks: [sink], until: head, batchSize: 7 });
    await sub.caughtUp;
  } finally {
    await sub.stop();
    port1.close();
    port2.close();
  }
  const expected = await store.readAll({ streamPrefixes: prefixes });
  assert.is(got.length, expected.length);
  assert.ok(expected.length > 8 * 45, 'nodes, ports and the ring');
  assert.not.ok(
    got.some((e) => e.streamId.startsWith('claim-')),
    'no event of a stream outside the prefixes',
  );
  for (const [i, e] of expected.entries()) {
    const g = got[i];
    const where = `${e.streamId}@${e.revision}`;
    assert.is(g.position, e.position, where);
    assert.is(g.streamId, e.streamId, where);
    assert.is(g.revision, e.revision, where);
    assert.is(g.type, e.type, where);
    assert.equal(g.data, e.data, where);
    assert.is(g.created.getTime(), e.created.getTime(), where);
    // not in the batches: read back from the store
    assert.is(g.id, e.id, where);
    assert.equal(g.metadata, e.metadata, where);
  }
  const nodeEvents = expected.filter((e) => e.streamId.startsWith('node-')).length;
  assert.is(
    timeline.reduce((n, r) => n + r[4], 0),
    nodeEvents,
    'one timeline entry per node event',
  );
  assert.is(new Set(timeline.map((r) => r[0])).size, 8, 'every node has its chunks');
});

test.run();
