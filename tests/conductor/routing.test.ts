// Request/reply of node work between real processes: a retried command id runs once (on the same
// conductor and after a re-route to a new owner), requests to a stopped or killed owner are
// re-routed, and a nats-server restart in the middle of a run loses no command and runs none twice.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from '../support/nats.ts';
import { spawnConductor, type ConductorProcess, type ClusterEnv } from './fixtures/harness.ts';
import { openEventStore } from '../../eventstore/open.ts';
import type { EventStore } from '../../eventstore/port.ts';
import { MembershipView } from '../../conductor/membership-view.ts';
import { NodeRouter } from '../../conductor/routing.ts';
import { connectNats } from '../../conductor/nats.ts';
import { liveMembers, type NodePlacement } from '../../domain/conductor/index.ts';

let nats: NatsServer;
let dataDir: string;
let env: ClusterEnv;
let store: EventStore;
let nc: NatsConnection;
let view: MembershipView;
let router: NodeRouter;
const procs = new Map<string, ConductorProcess>();

const nodes: NodePlacement[] = Array.from({ length: 120 }, (_, i) => ({
  uuid: `11111111-0000-4000-8000-${String(i).padStart(12, '0')}`,
  group: '',
  driver: 'fake-hardware',
}));
const ownedBy = (host: string) => nodes.filter((n) => view.ownerOf(n) === host);
const eventsOfCommand = async (node: NodePlacement, commandId: string) =>
  (await store.readStream(`node-${node.uuid}`)).filter((e) => e.metadata.commandId === commandId);

const start = async (host: string) => {
  const p = spawnConductor(host, env);
  procs.set(host, p);
  await p.waitFor((l) => l.ev === 'ready', 30_000, 'ready');
  await view.waitFor((m) => m.members[host] !== undefined, 5000);
  return p;
};

test.before(async () => {
  nats = await startNatsServer();
  dataDir = mkdtempSync(join(tmpdir(), 'ironlog-routing-'));
  env = { natsUrl: nats.url, dataDir, heartbeatMs: 250, misses: 3 };
  store = await openEventStore({ dataDir });
  nc = await connectNats([nats.url], { name: 'routing-test' });
  view = new MembershipView({ store, nc, pollIntervalMs: 100 });
  await view.start();
  router = new NodeRouter({ nc, view, rpcTimeoutMs: 1500, rpcDeadlineMs: 20_000 });
  await Promise.all(['route-1', 'route-2', 'route-3'].map(start));
});

test.after(async () => {
  await Promise.all([...procs.values()].map((p) => p.stop()));
  view.stop();
  await nc.close();
  await store.close();
  await nats.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

test('a command id retried on the same conductor runs once, even when the retries overlap', async () => {
  const node = nodes[0];
  const commandId = randomUUID();
  const first = await router.request(node, 'touch', {}, { actor: 'test', commandId });
  assert.ok(E.isRight(first) && !first.right.duplicate);
  const replies = await Promise.all(Array.from({ length: 5 }, () => router.request(node, 'touch', {}, { actor: 'test', commandId })));
  for (const r of replies) assert.ok(E.isRight(r) && r.right.host === (E.isRight(first) ? first.right.host : ''));
  assert.is((await eventsOfCommand(node, commandId)).length, 1);

  const burstId = randomUUID();
  const burst = await Promise.all(Array.from({ length: 8 }, () => router.request(nodes[1], 'touch', {}, { actor: 'test', commandId: burstId })));
  assert.ok(burst.every(E.isRight));
  assert.is((await eventsOfCommand(nodes[1], burstId)).length, 1);
});

test('work not about a node goes to any conductor of the group (queue group)', async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 30; i++) {
    const r = await router.requestAny('', 'whoami', {}, { actor: 'test' });
    assert.ok(E.isRight(r));
    if (E.isRight(r)) seen.add((r.right.result as { host: string }).host);
  }
  assert.ok(seen.size >= 2, `answered by ${[...seen].join(', ')}`);
  const bad = await router.requestAny('', 'nope', {}, { actor: 'test' });
  assert.ok(E.isLeft(bad) && bad.left.errorClass === 'InvalidParameterValue');
});

test('requests to a SIGSTOPped owner are re-routed to the new owner once it is declared lost', async () => {
  const victim = procs.get('route-2')!;
  const mine = ownedBy('route-2').slice(0, 10);
  assert.ok(mine.length === 10);
  victim.signal('SIGSTOP');
  const t0 = Date.now();
  const ids = mine.map(() => randomUUID());
  const replies = await Promise.all(mine.map((n, i) => router.request(n, 'touch', { via: 'stopped' }, { actor: 'test', commandId: ids[i] })));
  const took = Date.now() - t0;
  for (const r of replies) assert.ok(E.isRight(r) && r.right.host !== 'route-2', E.isLeft(r) ? r.left.message : '');
  // re-routed on the ring change, not after the 1.5 s reply timeout of each attempt
  assert.ok(took < 4000, `re-routed after ${took} ms`);
  victim.signal('SIGCONT');
  // the stopped process wakes with the requests in its socket; it must not run them again
  await victim.waitFor((l) => l.ev === 'joined' && l.t > t0, 10_000, 'rejoin');
  await new Promise((r) => setTimeout(r, 500));
  for (let i = 0; i < mine.length; i++) assert.is((await eventsOfCommand(mine[i], ids[i])).length, 1);
});

test('a command done by an owner that then dies is not redone by the new owner', async () => {
  await view.waitFor((m) => liveMembers(m).length === 3, 5000);
  const node = ownedBy('route-3')[0];
  const commandId = randomUUID();
  const first = await router.request(node, 'touch', {}, { actor: 'test', commandId });
  assert.ok(E.isRight(first) && first.right.host === 'route-3');
  const victim = procs.get('route-3')!;
  victim.signal('SIGKILL');
  await victim.exited;
  procs.delete('route-3');
  // a client that never saw the reply retries with the same command id
  const retry = await router.request(node, 'touch', {}, { actor: 'test', commandId });
  assert.ok(E.isRight(retry), E.isLeft(retry) ? retry.left.message : '');
  if (E.isRight(retry)) {
    assert.ok(retry.right.host !== 'route-3');
    assert.ok(retry.right.duplicate, 'the new owner found it in the node stream');
  }
  assert.is((await eventsOfCommand(node, commandId)).length, 1);
});

test('SIGKILL with requests in flight: they complete on the survivors', async () => {
  await start('route-4');
  const victim = procs.get('route-4')!;
  const mine = ownedBy('route-4').slice(0, 15);
  const ids = mine.map(() => randomUUID());
  const pending = Promise.all(mine.map((n, i) => router.request(n, 'slow', { steps: 1, delayMs: 10 }, { actor: 'test', commandId: ids[i] })));
  victim.signal('SIGKILL');
  const replies = await pending;
  for (const r of replies) assert.ok(E.isRight(r), E.isLeft(r) ? r.left.message : '');
  for (let i = 0; i < mine.length; i++) assert.is((await eventsOfCommand(mine[i], ids[i])).length, 1);
  procs.delete('route-4');
});

test('nats-server restarts mid-run: conductors reconnect, no command lost or run twice, nobody declared lost', async () => {
  await view.waitFor((m) => liveMembers(m).length === 2, 5000);
  const epochBefore = view.state.epoch;
  const total = 240;
  const ids = Array.from({ length: total }, () => randomUUID());
  let next = 0;
  let done = 0;
  const failures: string[] = [];
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const r = await router.request(nodes[i % nodes.length], 'touch', { i }, { actor: 'test', commandId: ids[i] });
      if (E.isLeft(r)) failures.push(r.left.message);
      done++;
    }
  };
  const workers = Promise.all(Array.from({ length: 8 }, worker));
  while (done < total / 3) await new Promise((r) => setTimeout(r, 5));
  await nats.restart();
  await workers;
  assert.equal(failures, []);
  const all = await store.readAll({ streamPrefixes: ['node-'] });
  const counts = new Map<string, number>();
  for (const e of all) if (e.metadata.commandId) counts.set(e.metadata.commandId, (counts.get(e.metadata.commandId) ?? 0) + 1);
  for (const id of ids) assert.is(counts.get(id), 1, `command ${id}`);
  for (const p of procs.values()) await p.waitFor((l) => l.ev === 'log' && l.msg === 'reconnected to NATS', 10_000, 'reconnect');
  await new Promise((r) => setTimeout(r, 1500));
  await view.refresh();
  assert.is(view.state.epoch, epochBefore, 'no membership change across the restart');
});

test.run();
