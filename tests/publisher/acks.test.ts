// publisher/acks.ts against a private nats-server with JetStream: what each answer of JetStream's
// publish protocol becomes (an ack, a duplicate, a refused expected sequence, no stream at all,
// no answer in time), as nats.js's js.publish reads them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, headers, type NatsConnection } from 'nats';
import { AckedPublisher, PublishRefused, type OutgoingMessage } from '../../publisher/acks.ts';
import { startNatsServer, type NatsServer } from '../support/nats.ts';

let nats: NatsServer;
let nc: NatsConnection;
const STREAM = 'ACKS_TEST';

const message = (subject: string, id: string, expectedLastSeq?: number): OutgoingMessage => {
  const h = headers();
  h.set('Nats-Msg-Id', id);
  if (expectedLastSeq !== undefined) h.set('Nats-Expected-Last-Sequence', String(expectedLastSeq));
  return { subject, payload: JSON.stringify({ id }), headers: h };
};

test.before(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: STREAM, subjects: ['acks.>'], duplicate_window: 60_000_000_000 });
});

test.after(async () => {
  await nc?.close();
  await nats?.dispose();
});

test('acks in order, a repeated id is a duplicate, a wrong expected sequence is refused', async () => {
  const p = new AckedPublisher(nc, 2000);
  try {
    const first = await p.publishAll([message('acks.a', 'e1', 0), message('acks.b', 'e2', 1), message('acks.a', 'e3', 2)]);
    assert.equal(first.map((r) => (r.status === 'fulfilled' ? [r.value.stream, r.value.seq, r.value.duplicate] : r.reason)), [
      [STREAM, 1, false],
      [STREAM, 2, false],
      [STREAM, 3, false],
    ]);
    const again = await p.publishAll([message('acks.a', 'e3')]);
    assert.is(again[0]!.status, 'fulfilled');
    if (again[0]!.status === 'fulfilled') assert.is(again[0]!.value.duplicate, true);
    const wrong = await p.publishAll([message('acks.a', 'e4', 1)]);
    assert.is(wrong[0]!.status, 'rejected');
    if (wrong[0]!.status === 'rejected') {
      assert.instance(wrong[0]!.reason, PublishRefused);
      assert.match(String((wrong[0]!.reason as Error).message), /wrong last sequence/i);
    }
    const info = await (await nc.jetstreamManager()).streams.info(STREAM);
    assert.is(info.state.messages, 3, 'neither the duplicate nor the refused message was stored');
  } finally {
    p.close();
  }
});

test('no stream on the subject: refused at once (503), not after the timeout', async () => {
  const p = new AckedPublisher(nc, 5000);
  try {
    const t0 = Date.now();
    const r = await p.publishAll([message('nostream.x', 'n1')]);
    assert.is(r[0]!.status, 'rejected');
    if (r[0]!.status === 'rejected') assert.match(String((r[0]!.reason as Error).message), /no responders/);
    assert.ok(Date.now() - t0 < 2000, `answered in ${Date.now() - t0} ms`);
  } finally {
    p.close();
  }
});

test('no answer within the timeout: each message of the chunk fails; close() fails what still waits', async () => {
  // a plain subscriber that never answers stands in for a JetStream that does not ack
  const silent = nc.subscribe('mute.>');
  const p = new AckedPublisher(nc, 150);
  try {
    const r = await p.publishAll([message('mute.a', 'm1'), message('mute.b', 'm2')]);
    assert.equal(r.map((x) => x.status), ['rejected', 'rejected']);
    if (r[0]!.status === 'rejected') assert.match(String((r[0]!.reason as Error).message), /no JetStream ack within 150 ms/);
    const p2 = new AckedPublisher(nc, 60_000);
    const pending = p2.publishAll([message('mute.c', 'm3')]);
    p2.close();
    const closed = await pending;
    assert.is(closed[0]!.status, 'rejected');
  } finally {
    silent.unsubscribe();
    p.close();
  }
});

test.run();
