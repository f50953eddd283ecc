// SIGSTOP a real conductor in the middle of an operation, past the loss timeout, then SIGCONT it:
// its appends for the node it lost are refused (NotOwner), nothing it writes lands after it was
// declared lost, nobody else is declared lost by its stale clock, and it rejoins as a new run.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from '../support/nats.ts';
import { spawnConductor, type ConductorProcess, type ClusterEnv } from './fixtures/harness.ts';
import { openEventStore } from '../../eventstore/open.ts';
import type { EventStore, RecordedEvent } from '../../eventstore/port.ts';
import { MembershipView } from '../../conductor/membership-view.ts';
import { NodeRouter } from '../../conductor/routing.ts';
import { connectNats } from '../../conductor/nats.ts';
import { liveMembers } from '../../domain/conductor/index.ts';
import { membershipStream } from '../../domain/streams.ts';

let nats: NatsServer;
let dataDir: string;
let store: EventStore;
let nc: NatsConnection;
let view: MembershipView;
let router: NodeRouter;
const procs: ConductorProcess[] = [];

const heartbeatMs = 250;
const misses = 3;

test.before(async () => {
  nats = await startNatsServer();
  dataDir = mkdtempSync(join(tmpdir(), 'ironlog-fencing-'));
  const env: ClusterEnv = { natsUrl: nats.url, dataDir, heartbeatMs, misses };
  store = await openEventStore({ dataDir });
  nc = await connectNats([nats.url], { name: 'fencing-test' });
  view = new MembershipView({ store, nc, pollIntervalMs: 100 });
  await view.start();
  router = new NodeRouter({ nc, view, rpcTimeoutMs: 2000, rpcDeadlineMs: 20_000 });
  for (const h of ['fence-a', 'fence-b', 'fence-c']) procs.push(spawnConductor(h, env));
  await Promise.all(procs.map((p) => p.waitFor((l) => l.ev === 'ready', 30_000, 'ready')));
  await view.waitFor((m) => liveMembers(m).length === 3, 5000);
});

test.after(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  view.stop();
  await nc.close();
  await store.close();
  await nats.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

const ownerMeta = (e: RecordedEvent) => e.metadata.owner as { hostname: string; incarnation: string; epoch: number } | undefined;

test('SIGSTOP past the loss timeout, SIGCONT: lost node appends refused, clean rejoin', async () => {
  const b = procs[1];
  const ready = await b.waitFor((l) => l.ev === 'ready');
  const oldRun = String(ready.incarnation);
  // a node fence-b owns, and a slow operation on it: a step every 1.2 s
  const node = Array.from({ length: 200 }, (_, i) => ({ uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, group: '', driver: 'fake-hardware' }))
    .find((n) => view.ownerOf(n) === 'fence-b')!;
  assert.ok(node, 'fence-b owns some node');
  const started = await router.request(node, 'slow', { steps: 3, delayMs: 1200 }, { actor: 'test' });
  assert.ok(E.isRight(started) && started.right.host === 'fence-b');
  const epochBefore = view.state.epoch;

  b.signal('SIGSTOP');
  const stoppedAt = Date.now();
  assert.ok(await view.waitFor((m) => m.members['fence-b'] === undefined, 10_000), 'fence-b declared lost');
  const lostEvent = (await store.readStream(membershipStream)).find((r) => r.type === 'ConductorLost' && (r.data as { hostname: string }).hostname === 'fence-b')!;
  assert.ok(lostEvent);
  // the new owner works on the node while fence-b sleeps
  const touched = await router.request(node, 'touch', {}, { actor: 'test' });
  assert.ok(E.isRight(touched) && touched.right.host !== 'fence-b');
  // stay stopped well past the first step's due time, so it fires late on wake-up
  const wait = 2500 - (Date.now() - stoppedAt);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));

  b.signal('SIGCONT');
  const refused = await b.waitFor((l) => l.ev === 'step' && l.ok === false, 10_000, 'a refused step');
  // refused as lost, or as replaced if the rejoin was quicker than the late step
  assert.match(String(refused.message), new RegExp(`fence-b \\(run ${oldRun}\\) (was declared lost at ring epoch|was replaced by a newer run)`));
  const joined = await b.waitFor((l) => l.ev === 'joined' && l.incarnation !== oldRun, 10_000, 'a rejoin');
  assert.ok(await view.waitFor((m) => m.members['fence-b']?.incarnation === joined.incarnation, 5000));

  // nothing of the old run after its loss, in any node stream
  const all = await store.readAll({ after: lostEvent.position, streamPrefixes: ['node-'] });
  assert.is(all.filter((e) => ownerMeta(e)?.incarnation === oldRun).length, 0, 'no event of the lost run after ConductorLost');
  // the node's own stream: the lost run wrote only before its loss
  const nodeEvents = await store.readStream(`node-${node.uuid}`);
  for (const e of nodeEvents) if (ownerMeta(e)?.incarnation === oldRun) assert.ok(e.position < lostEvent.position);
  assert.ok(nodeEvents.some((e) => e.type === 'TestTouched' && ownerMeta(e)?.hostname !== 'fence-b'));

  // the only membership changes: fence-b lost, fence-b back (its stale clock declared nobody lost)
  await new Promise((r) => setTimeout(r, heartbeatMs * (misses + 2)));
  await view.refresh();
  const changes = view.events.filter((e) => e.data.epoch > epochBefore).map((e) => `${e.type}:${e.data.hostname}`);
  assert.equal(changes, ['ConductorLost:fence-b', 'ConductorRegistered:fence-b']);
  assert.equal(liveMembers(view.state).map((m) => m.hostname), ['fence-a', 'fence-b', 'fence-c']);

  // the new run works normally on the nodes the ring gives it again
  const again = await router.request(node, 'touch', { after: 'rejoin' }, { actor: 'test' });
  assert.ok(E.isRight(again));
  if (E.isRight(again)) {
    assert.is(again.right.host, 'fence-b');
    const last = (await store.readStream(`node-${node.uuid}`)).at(-1)!;
    assert.is(ownerMeta(last)?.incarnation, joined.incarnation);
  }
});

test.run();
