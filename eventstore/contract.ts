// The one behavioural contract of the event store port. Every adapter runs it (tests/eventstore/
// <adapter>.contract.test.ts). It only relies on what port.ts promises, so it also holds against a
// shared EventStoreDB server: every test writes to streams with a fresh random prefix, reads $all
// after the head it saw before writing, and filters by its prefix (other writers may interleave,
// and positions need not be consecutive).

import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { DuplicateEventId, WrongExpectedRevision, isWrongExpectedRevision } from './errors.ts';
import type { EventData, EventStore, ExpectedRevision, RecordedEvent, SubscribeOptions, Subscription } from './port.ts';

export type StoreFactory = () => Promise<EventStore>;

interface Ctx {
  store: EventStore;
  /** a stream prefix no other test (or earlier run) uses */
  p: string;
}

export const testMetadata = (extra: Record<string, unknown> = {}) => ({
  correlationId: randomUUID(),
  causationId: randomUUID(),
  actor: 'contract-test',
  timestamp: new Date().toISOString(),
  ...extra,
});

export const ev = (type: string, data: unknown = {}, id: string = randomUUID()): EventData => ({
  id,
  type,
  data,
  metadata: testMetadata(),
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const rejects = async (p: Promise<unknown>): Promise<unknown> => {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.unreachable('expected the promise to reject');
  return undefined;
};

const expectConflict = async (
  store: EventStore,
  stream: string,
  expected: ExpectedRevision,
  actual: bigint | 'no_stream',
): Promise<void> => {
  const before = await store.readStream(stream);
  const err = await rejects(store.append(stream, [ev('Conflicting')], expected));
  assert.ok(err instanceof WrongExpectedRevision, `expected WrongExpectedRevision, got ${String(err)}`);
  assert.ok(isWrongExpectedRevision(err));
  assert.is(err.streamId, stream);
  assert.is(err.expected, expected);
  assert.is(err.actual, actual);
  const after = await store.readStream(stream);
  assert.equal(after.map((e) => e.id), before.map((e) => e.id), 'a conflicting append writes nothing');
};

/** A subscription that collects what it is handed, with a way to wait for a count. */
export const collect = (store: EventStore, options: SubscribeOptions) => {
  const events: RecordedEvent[] = [];
  const batches: number[] = [];
  let caughtUpCalls = 0;
  const errors: Error[] = [];
  const sub: Subscription = store.subscribeToAll(
    {
      ...options,
      onCaughtUp: () => {
        caughtUpCalls++;
        options.onCaughtUp?.();
      },
      onError: (e) => {
        errors.push(e);
        options.onError?.(e);
      },
    },
    (batch) => {
      batches.push(batch.length);
      events.push(...batch);
    },
  );
  const waitFor = async (n: number, timeoutMs = 5_000): Promise<RecordedEvent[]> => {
    const deadline = Date.now() + timeoutMs;
    while (events.length < n) {
      if (errors.length > 0) throw errors[0]!;
      if (Date.now() > deadline) throw new Error(`subscription delivered ${events.length} of ${n} events within ${timeoutMs} ms`);
      await sleep(5);
    }
    return events;
  };
  return { events, batches, errors, sub, waitFor, caughtUpCalls: () => caughtUpCalls };
};

const positionsIncrease = (events: RecordedEvent[]): void => {
  for (let i = 1; i < events.length; i++) {
    assert.ok(events[i]!.position > events[i - 1]!.position, `position ${events[i]!.position} follows ${events[i - 1]!.position}`);
  }
};

const headOrStart = async (store: EventStore): Promise<bigint | 'start'> => store.headPosition();

export function eventStoreContract(name: string, factory: StoreFactory): Test<Ctx> {
  const test = suite<Ctx>(`${name} event store contract`, {} as Ctx);

  test.before.each(async (ctx) => {
    ctx.store = await factory();
    ctx.p = `ct${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  });
  test.after.each(async (ctx) => {
    await ctx.store.close();
  });

  // ---- append and expected revision -----------------------------------------------------------

  test('no_stream: creates a stream once, then conflicts', async ({ store, p }) => {
    const s = `${p}-a`;
    const r = await store.append(s, [ev('Created')], 'no_stream');
    assert.is(r.nextExpectedRevision, 0n);
    assert.ok(typeof r.position === 'bigint');
    await expectConflict(store, s, 'no_stream', 0n);
  });

  test('exact revision: must match the last revision', async ({ store, p }) => {
    const s = `${p}-a`;
    await expectConflict(store, s, 0n, 'no_stream');
    await store.append(s, [ev('One')], 'no_stream');
    const r = await store.append(s, [ev('Two'), ev('Three')], 0n);
    assert.is(r.nextExpectedRevision, 2n);
    await expectConflict(store, s, 0n, 2n);
    await expectConflict(store, s, 1n, 2n);
    await expectConflict(store, s, 3n, 2n);
    const r2 = await store.append(s, [ev('Four')], 2n);
    assert.is(r2.nextExpectedRevision, 3n);
    assert.ok(r2.position > r.position);
  });

  test('stream_exists: fails on a missing stream, passes on an existing one', async ({ store, p }) => {
    const s = `${p}-a`;
    await expectConflict(store, s, 'stream_exists', 'no_stream');
    await store.append(s, [ev('One')], 'any');
    const r = await store.append(s, [ev('Two')], 'stream_exists');
    assert.is(r.nextExpectedRevision, 1n);
  });

  test('any: appends whatever the stream holds', async ({ store, p }) => {
    const s = `${p}-a`;
    assert.is((await store.append(s, [ev('One')], 'any')).nextExpectedRevision, 0n);
    assert.is((await store.append(s, [ev('Two'), ev('Three')], 'any')).nextExpectedRevision, 2n);
  });

  test('a multi-event append is one unit: consecutive revisions, increasing positions', async ({ store, p }) => {
    const s = `${p}-a`;
    const batch = [ev('A', { n: 1 }), ev('B', { n: 2 }), ev('C', { n: 3, nested: { list: [1, 'x', null], flag: true } })];
    const r = await store.append(s, batch, 'no_stream');
    assert.is(r.nextExpectedRevision, 2n);
    const read = await store.readStream(s);
    assert.equal(read.map((e) => e.revision), [0n, 1n, 2n]);
    assert.equal(read.map((e) => e.id), batch.map((e) => e.id));
    assert.equal(read.map((e) => e.type), ['A', 'B', 'C']);
    assert.equal(read[2]!.data, { n: 3, nested: { list: [1, 'x', null], flag: true } });
    assert.equal(read[0]!.metadata, batch[0]!.metadata);
    assert.ok(read.every((e) => e.streamId === s));
    assert.ok(read.every((e) => e.created instanceof Date && !Number.isNaN(e.created.getTime())));
    positionsIncrease(read);
    assert.is(read[2]!.position, r.position, 'the result carries the position of the last event');
  });

  test('a conflicting multi-event append writes none of its events', async ({ store, p }) => {
    const s = `${p}-a`;
    await store.append(s, [ev('One')], 'no_stream');
    const head = await headOrStart(store);
    const batch = [ev('X'), ev('Y'), ev('Z')];
    const err = await rejects(store.append(s, batch, 5n));
    assert.ok(err instanceof WrongExpectedRevision);
    assert.is((await store.readStream(s)).length, 1);
    const after = await store.readAll({ after: head, streamPrefixes: [p] });
    assert.is(after.length, 0);
  });

  // ---- idempotent retries ---------------------------------------------------------------------

  test('retrying an append with the same event ids returns the original result and writes nothing', async ({ store, p }) => {
    const s = `${p}-a`;
    const batch = [ev('A'), ev('B')];
    const first = await store.append(s, batch, 'no_stream');
    const again = await store.append(s, batch, 'no_stream');
    assert.equal(again, first);
    assert.is((await store.readStream(s)).length, 2);

    const next = [ev('C')];
    const r = await store.append(s, next, 1n);
    await store.append(s, [ev('D')], 2n); // the stream moves on before the retry arrives
    assert.equal(await store.append(s, next, 1n), r);
    assert.equal((await store.readStream(s)).map((e) => e.type), ['A', 'B', 'C', 'D']);
  });

  test('a retry that only partly matches the stored events is rejected and writes nothing', async ({ store, p }) => {
    const s = `${p}-a`;
    const a = ev('A');
    await store.append(s, [a, ev('B')], 'no_stream');
    const err = await rejects(store.append(s, [a, ev('C')], 'no_stream'));
    assert.ok(err instanceof DuplicateEventId || err instanceof WrongExpectedRevision, `got ${String(err)}`);
    assert.equal((await store.readStream(s)).map((e) => e.type), ['A', 'B']);
  });

  // ---- readStream -----------------------------------------------------------------------------

  const fiveEvents = async (store: EventStore, s: string) => {
    await store.append(s, [0, 1, 2, 3, 4].map((n) => ev(`E${n}`, { n })), 'no_stream');
  };

  test('readStream forwards, backwards, from a revision, with maxCount', async ({ store, p }) => {
    const s = `${p}-a`;
    await fiveEvents(store, s);
    await store.append(`${p}-other`, [ev('Noise')], 'any');
    const types = (es: RecordedEvent[]) => es.map((e) => e.type);
    assert.equal(types(await store.readStream(s)), ['E0', 'E1', 'E2', 'E3', 'E4']);
    assert.equal(types(await store.readStream(s, { direction: 'backwards' })), ['E4', 'E3', 'E2', 'E1', 'E0']);
    assert.equal(types(await store.readStream(s, { fromRevision: 2n })), ['E2', 'E3', 'E4']);
    assert.equal(types(await store.readStream(s, { fromRevision: 2n, maxCount: 2 })), ['E2', 'E3']);
    assert.equal(types(await store.readStream(s, { direction: 'backwards', fromRevision: 2n })), ['E2', 'E1', 'E0']);
    assert.equal(types(await store.readStream(s, { direction: 'backwards', maxCount: 1 })), ['E4']);
    assert.equal(types(await store.readStream(s, { direction: 'backwards', fromRevision: 'end', maxCount: 2 })), ['E4', 'E3']);
    assert.equal(types(await store.readStream(s, { fromRevision: 'start', maxCount: 1 })), ['E0']);
    assert.equal(types(await store.readStream(s, { fromRevision: 9n })), []);
    assert.equal(types(await store.readStream(s, { maxCount: 0 })), []);
  });

  test('readStream of a missing stream is empty', async ({ store, p }) => {
    assert.equal(await store.readStream(`${p}-missing`), []);
    assert.equal(await store.readStream(`${p}-missing`, { direction: 'backwards' }), []);
  });

  // ---- readAll --------------------------------------------------------------------------------

  test('readAll after a position is exclusive, ordered, and honours maxCount', async ({ store, p }) => {
    const head = await headOrStart(store);
    await store.append(`${p}-a`, [ev('A0'), ev('A1')], 'no_stream');
    await store.append(`${p}-b`, [ev('B0')], 'no_stream');
    await store.append(`${p}-a`, [ev('A2')], 1n);
    const all = await store.readAll({ after: head, streamPrefixes: [p] });
    assert.equal(all.map((e) => e.type), ['A0', 'A1', 'B0', 'A2']);
    assert.equal(all.map((e) => e.streamId), [`${p}-a`, `${p}-a`, `${p}-b`, `${p}-a`]);
    positionsIncrease(all);
    const rest = await store.readAll({ after: all[1]!.position, streamPrefixes: [p] });
    assert.equal(rest.map((e) => e.type), ['B0', 'A2'], 'after is exclusive');
    const two = await store.readAll({ after: head, streamPrefixes: [p], maxCount: 2 });
    assert.equal(two.map((e) => e.type), ['A0', 'A1']);
    assert.equal(await store.readAll({ after: all[3]!.position, streamPrefixes: [p] }), []);
    if (head === 'start') {
      const unfiltered = await store.readAll({ after: 'start' });
      assert.ok(unfiltered.length >= 4);
      positionsIncrease(unfiltered);
    }
  });

  test('readAll filters by stream prefixes', async ({ store, p }) => {
    const head = await headOrStart(store);
    await store.append(`${p}node-1`, [ev('N1')], 'no_stream');
    await store.append(`${p}port-1`, [ev('P1')], 'no_stream');
    await store.append(`${p}chassis-1`, [ev('C1')], 'no_stream');
    await store.append(`${p}node-2`, [ev('N2')], 'no_stream');
    await store.append(`x${p}node-3`, [ev('Xn')], 'no_stream'); // contains the prefix, does not start with it
    const nodes = await store.readAll({ after: head, streamPrefixes: [`${p}node-`] });
    assert.equal(nodes.map((e) => e.type), ['N1', 'N2']);
    const two = await store.readAll({ after: head, streamPrefixes: [`${p}node-`, `${p}chassis-`] });
    assert.equal(two.map((e) => e.type), ['N1', 'C1', 'N2']);
    const none = await store.readAll({ after: head, streamPrefixes: [`${p}nothing-`] });
    assert.equal(none, []);
  });

  test('headPosition reaches the last appended event', async ({ store, p }) => {
    const r = await store.append(`${p}-a`, [ev('A')], 'no_stream');
    const head = await store.headPosition();
    assert.ok(head !== 'start' && head >= r.position);
    const r2 = await store.append(`${p}-a`, [ev('B')], 0n);
    const head2 = await store.headPosition();
    assert.ok(head2 !== 'start' && head2 >= r2.position && head2 > head);
  });

  // ---- subscriptions --------------------------------------------------------------------------

  test('subscribeToAll catches up, reports it once, then delivers live events in order', async ({ store, p }) => {
    const head = await headOrStart(store);
    await store.append(`${p}-a`, [ev('Old1'), ev('Old2')], 'no_stream');
    await store.append(`${p}-b`, [ev('Old3')], 'no_stream');
    const c = collect(store, { after: head, streamPrefixes: [p] });
    await c.sub.caughtUp;
    await c.waitFor(3);
    assert.equal(c.events.map((e) => e.type), ['Old1', 'Old2', 'Old3']);
    assert.is(c.caughtUpCalls(), 1);
    await store.append(`${p}-a`, [ev('Live1')], 1n);
    await store.append(`${p}-c`, [ev('Live2'), ev('Live3')], 'no_stream');
    await c.waitFor(6);
    await sleep(50);
    assert.equal(c.events.map((e) => e.type), ['Old1', 'Old2', 'Old3', 'Live1', 'Live2', 'Live3']);
    positionsIncrease(c.events);
    assert.is(c.caughtUpCalls(), 1);
    assert.is(c.sub.lastPosition(), c.events[5]!.position);
    await c.sub.stop();
    assert.equal(c.errors, []);
  });

  test('subscribeToAll from start replays the log', async ({ store, p }) => {
    await store.append(`${p}-a`, [ev('A'), ev('B')], 'no_stream');
    // filtered by this test's prefix: on a shared server the rest of the log is not ours
    const c = collect(store, { after: 'start', streamPrefixes: [p] });
    await c.sub.caughtUp;
    assert.equal(c.events.map((e) => e.type), ['A', 'B']);
    assert.is(c.sub.lastPosition(), c.events[1]!.position);
    await c.sub.stop();
  });

  test('subscribeToAll from end delivers only new events', async ({ store, p }) => {
    await store.append(`${p}-a`, [ev('Before')], 'no_stream');
    const c = collect(store, { after: 'end', streamPrefixes: [p] });
    await c.sub.caughtUp;
    await store.append(`${p}-a`, [ev('After')], 0n);
    await c.waitFor(1);
    await sleep(50);
    assert.equal(c.events.map((e) => e.type), ['After']);
    await c.sub.stop();
  });

  test('a filtered subscription sees only its prefixes, catching up and live', async ({ store, p }) => {
    const head = await headOrStart(store);
    await store.append(`${p}node-1`, [ev('N1')], 'no_stream');
    await store.append(`${p}port-1`, [ev('P1')], 'no_stream');
    const c = collect(store, { after: head, streamPrefixes: [`${p}node-`, `${p}chassis-`] });
    await c.sub.caughtUp;
    for (let i = 0; i < 20; i++) await store.append(`${p}port-${i + 2}`, [ev('Pn')], 'no_stream');
    await store.append(`${p}chassis-1`, [ev('C1')], 'no_stream');
    await store.append(`${p}node-1`, [ev('N2')], 0n);
    await c.waitFor(3);
    await sleep(50);
    assert.equal(c.events.map((e) => e.type), ['N1', 'C1', 'N2']);
    await c.sub.stop();
  });

  test('resuming after the last delivered position sees each event exactly once', async ({ store, p }) => {
    const head = await headOrStart(store);
    const all: string[] = [];
    const append = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const e = ev('E', { i: all.length });
        all.push(e.id);
        await store.append(`${p}-${all.length % 3}`, [e], 'any');
      }
    };
    await append(5);
    const first = collect(store, { after: head, streamPrefixes: [p] });
    await first.sub.caughtUp;
    await append(3);
    await first.waitFor(8);
    await first.sub.stop();
    const checkpoint = first.sub.lastPosition();
    assert.is(checkpoint, first.events[7]!.position);
    await append(4); // written while nobody listens
    const second = collect(store, { after: checkpoint, streamPrefixes: [p] });
    await second.sub.caughtUp;
    await append(2);
    await second.waitFor(6);
    await sleep(50);
    const seen = [...first.events, ...second.events].map((e) => e.id);
    assert.equal(seen, all, 'every event once, in order');
    await second.sub.stop();
  });

  test('the next batch waits for the handler, and a throwing handler stops the subscription', async ({ store, p }) => {
    const head = await headOrStart(store);
    await store.append(`${p}-a`, [ev('A')], 'no_stream');
    let active = 0;
    let overlapped = false;
    const seen: string[] = [];
    let failure: Error | undefined;
    const sub = store.subscribeToAll(
      { after: head, streamPrefixes: [p], onError: (e) => (failure = e) },
      async (batch) => {
        if (active++ > 0) overlapped = true;
        await sleep(20);
        active--;
        for (const e of batch) {
          seen.push(e.type);
          if (e.type === 'Boom') throw new Error('handler failed');
        }
      },
    );
    await sub.caughtUp;
    await store.append(`${p}-a`, [ev('B')], 0n);
    await sleep(5);
    await store.append(`${p}-a`, [ev('Boom')], 1n);
    const deadline = Date.now() + 5_000;
    while (!failure && Date.now() < deadline) await sleep(5);
    assert.ok(failure, 'onError was called');
    assert.match(failure.message, 'handler failed');
    await store.append(`${p}-a`, [ev('After')], 2n);
    await sleep(100);
    assert.not.ok(seen.includes('After'), 'nothing is delivered after the handler failed');
    assert.not.ok(overlapped, 'batches never overlap');
    await sub.stop();
  });

  test('stop ends delivery', async ({ store, p }) => {
    const c = collect(store, { after: 'end', streamPrefixes: [p] });
    await c.sub.caughtUp;
    await store.append(`${p}-a`, [ev('A')], 'no_stream');
    await c.waitFor(1);
    await c.sub.stop();
    await store.append(`${p}-a`, [ev('B')], 0n);
    await sleep(100);
    assert.equal(c.events.map((e) => e.type), ['A']);
  });

  // ---- stream metadata ------------------------------------------------------------------------

  test('stream metadata: unset, set, replaced', async ({ store, p }) => {
    const s = `${p}-a`;
    assert.is(await store.getStreamMetadata(s), undefined);
    await store.append(s, [ev('A')], 'no_stream');
    await store.setStreamMetadata(s, { custom: { owner: 'conductor-1', n: 2 } });
    assert.equal(await store.getStreamMetadata(s), { custom: { owner: 'conductor-1', n: 2 } });
    await store.setStreamMetadata(s, { maxAge: 3600, custom: { owner: 'conductor-2' } });
    assert.equal(await store.getStreamMetadata(s), { maxAge: 3600, custom: { owner: 'conductor-2' } });
    assert.is((await store.readStream(s)).length, 1, 'metadata is not an event of the stream');
  });

  return test;
}
