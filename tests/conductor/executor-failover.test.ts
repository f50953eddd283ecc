// The real executor under failure: three `ironlog conductor` processes (bin/ironlog.js) with the
// fake hardware type's steps slowed down (IRONLOG_FAKE_STEP_DELAY_MS) so a SIGKILL lands in the
// middle of operations. 30 deploys: all reach active on the survivors, each resumed after its
// last completed step, nothing from the killed conductor accepted after it was declared lost.
// Then automated cleaning is resumed the same way, an operation recorded but never started is
// picked up by the node's owner, and a 4th conductor joining mid-clean resumes the cleanings the
// ring moves to it while their old owners stop.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from '../support/nats.ts';
import { spawnIronlogConductor, type ClusterEnv, type ConductorProcess } from './fixtures/harness.ts';
import { ExecutorClient, ok, placement } from './fixtures/executor-client.ts';
import { handleCommand } from '../../command-handling/handle.ts';
import { openEventStore } from '../../eventstore/open.ts';
import type { EventStore, RecordedEvent } from '../../eventstore/port.ts';
import { MembershipView } from '../../conductor/membership-view.ts';
import { NodeRouter } from '../../conductor/routing.ts';
import { connectNats } from '../../conductor/nats.ts';
import { nodeBinding } from '../../conductor/node-binding.ts';
import { liveMembers } from '../../domain/conductor/index.ts';
import { membershipStream, streamId } from '../../domain/streams.ts';

let nats: NatsServer;
let dataDir: string;
let store: EventStore;
let nc: NatsConnection;
let view: MembershipView;
let client: ExecutorClient;
let env: ClusterEnv;
const procs = new Map<string, ConductorProcess>();
const stepDelayMs = 400;
const heartbeatMs = Number(process.env.IRONLOG_TEST_HEARTBEAT_MS ?? 250);

const start = (host: string) => {
  const p = spawnIronlogConductor(host, env);
  procs.set(host, p);
  return p;
};

test.before(async () => {
  nats = await startNatsServer();
  dataDir = mkdtempSync(join(tmpdir(), 'ironlog-exec-failover-'));
  env = { natsUrl: nats.url, dataDir, heartbeatMs, misses: 3, extra: { IRONLOG_FAKE_STEP_DELAY_MS: String(stepDelayMs), IRONLOG_CHECK_PROVISION_STATE_INTERVAL_S: '1', IRONLOG_LOG_LEVEL: 'warn' } };
  store = await openEventStore({ dataDir });
  nc = await connectNats([nats.url], { name: 'exec-failover-test' });
  view = new MembershipView({ store, nc, pollIntervalMs: 100 });
  await view.start();
  client = new ExecutorClient(store, new NodeRouter({ nc, view, rpcTimeoutMs: 3000, rpcDeadlineMs: 20_000 }));
  for (const h of ['fo-1', 'fo-2', 'fo-3']) start(h);
  assert.ok(await view.waitFor((m) => liveMembers(m).length === 3, 30_000), 'three conductors registered');
});

test.after(async () => {
  await Promise.all([...procs.values()].map((p) => p.stop()));
  view.stop();
  await nc.close();
  await store.close();
  await nats.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

const busiest = (uuids: string[]): string => {
  const counts = new Map<string, number>();
  for (const u of uuids) counts.set(view.ownerOf(placement(u))!, (counts.get(view.ownerOf(placement(u))!) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
};

const kill = async (host: string): Promise<number> => {
  const p = procs.get(host)!;
  const at = Date.now();
  p.signal('SIGKILL');
  await p.exited;
  procs.delete(host);
  return at;
};

const allIn = async (uuids: string[], state: string, ms: number): Promise<string[]> => {
  const deadline = Date.now() + ms;
  let states: string[] = [];
  while (Date.now() < deadline) {
    states = await Promise.all(uuids.map(async (u) => {
      const n = await client.node(u);
      return n.reservation === null ? n.provision_state : `${n.provision_state} (reserved)`;
    }));
    if (states.every((s) => s === state)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return states;
};

const takeoversOf = (events: RecordedEvent[]) =>
  events.filter((e) => e.type === 'NodeHistoryRecorded' && (e.data as { entry: { event_type: string } }).entry.event_type === 'takeover').map((e) => (e.data as { entry: { event: string } }).entry.event);

/** Nothing written by `victim` after the membership log declared it lost. */
const nothingLate = async (victim: string): Promise<RecordedEvent> => {
  const lost = (await store.readStream(membershipStream)).filter((r) => r.type === 'ConductorLost' && (r.data as { hostname: string }).hostname === victim).at(-1);
  assert.ok(lost, `${victim} was declared lost`);
  const after = await store.readAll({ after: lost!.position, streamPrefixes: ['node-', 'allocation-'] });
  assert.is(after.filter((e) => e.metadata.actor === `conductor:${victim}`).length, 0, 'no event from the dead conductor after its loss');
  return lost!;
};

test('SIGKILL during 30 deploys: all active on the survivors, each resumed after its last completed step', async () => {
  const uuids = await Promise.all(Array.from({ length: 30 }, () => client.create('available')));
  const victim = busiest(uuids);
  const victimNodes = uuids.filter((u) => view.ownerOf(placement(u)) === victim);
  const replies = await Promise.all(uuids.map((u) => client.provision(u, 'active')));
  for (const r of replies) ok(r);
  // every deploy is running: reserved by its owner, steps planned
  for (const u of uuids) assert.is((await client.node(u)).reservation, view.ownerOf(placement(u)));

  await new Promise((r) => setTimeout(r, stepDelayMs * 1.5));
  const killedAt = await kill(victim);
  for (const u of victimNodes) assert.is((await client.node(u)).provision_state, 'deploying', 'the victim died mid-deploy');

  const states = await allIn(uuids, 'active', 30_000);
  assert.equal(states.filter((s) => s !== 'active'), [], 'every node active and unreserved');
  process.stderr.write(`  ${victimNodes.length} deploys of ${victim} active ${Date.now() - killedAt} ms after SIGKILL\n`);
  const lost = await nothingLate(victim);
  process.stderr.write(`  declared lost ${lost.created.getTime() - killedAt} ms after SIGKILL\n`);

  for (const u of victimNodes) {
    const events = await client.events(u);
    const takeovers = takeoversOf(events);
    assert.is(takeovers.length, 1, `one takeover of ${u}`);
    const completedByVictim = events.filter((e) => e.type === 'StepCompleted' && e.metadata.actor === `conductor:${victim}`).length;
    assert.ok(completedByVictim >= 1 && completedByVictim < 3, `the victim completed ${completedByVictim} steps`);
    assert.match(takeovers[0], new RegExp(`from ${victim} at ring epoch \\d+: resuming deploy from step ${completedByVictim}\\.$`), takeovers[0]);
    // the new owner started where the victim stopped: no completed step ran again
    const steps = events.filter((e) => e.type === 'StepCompleted').map((e) => (e.data as { step: { step: string } }).step.step);
    assert.equal(steps, ['deploy', 'write_image', 'prepare_instance_boot']);
    const n = await client.node(u);
    assert.is(n.conductor_affinity, view.ownerOf(placement(u)));
    assert.ok(n.conductor_affinity !== victim);
    assert.is(n.last_error, null);
  }
  // the other nodes were never taken over
  for (const u of uuids.filter((x) => !victimNodes.includes(x))) assert.is(takeoversOf(await client.events(u)).length, 0);
  // bring the victim back for the next tests
  start(victim);
  assert.ok(await view.waitFor((m) => m.members[victim] !== undefined, 30_000));
});

test('SIGKILL during automated cleaning: the new owner resumes the clean steps, the nodes become available', async () => {
  const uuids = await Promise.all(Array.from({ length: 12 }, () => client.create('enroll')));
  for (const r of await Promise.all(uuids.map((u) => client.provision(u, 'manage')))) ok(r);
  assert.equal((await allIn(uuids, 'manageable', 20_000)).filter((s) => s !== 'manageable'), []);
  const victim = busiest(uuids);
  const victimNodes = uuids.filter((u) => view.ownerOf(placement(u)) === victim);
  for (const r of await Promise.all(uuids.map((u) => client.provision(u, 'provide')))) ok(r);
  await new Promise((r) => setTimeout(r, stepDelayMs * 1.5));
  await kill(victim);
  assert.equal((await allIn(uuids, 'available', 30_000)).filter((s) => s !== 'available'), []);
  await nothingLate(victim);
  for (const u of victimNodes) {
    const events = await client.events(u);
    const takeovers = takeoversOf(events);
    assert.is(takeovers.length, 1);
    assert.match(takeovers[0], /: resuming clean from step 1\.$/);
    const n = await client.node(u);
    assert.is(n.maintenance, false);
    assert.is(n.last_error, null);
  }
  start(victim);
  assert.ok(await view.waitFor((m) => m.members[victim] !== undefined, 30_000));
});

test('a deploy recorded but never started (another writer recorded the transition) is picked up by the owner', async () => {
  const uuid = await client.create('available');
  // what a writer other than the owner's executor leaves (an API on its own command bus): deploying, unreserved
  const r = await handleCommand(nodeBinding, streamId('node', uuid), { commandId: randomUUID(), actor: 'admin', command: { type: 'RequestProvisionAction', data: { uuid, at: new Date().toISOString(), verb: 'active' } } }, { store });
  assert.ok(E.isRight(r));
  const n = await client.settled(uuid, 'active', 20_000);
  assert.is(n.conductor_affinity, view.ownerOf(placement(uuid)));
  const history = (await client.events(uuid)).filter((e) => e.type === 'NodeHistoryRecorded').map((e) => (e.data as { entry: { event: string } }).entry.event);
  assert.equal(history, [`Conductor ${n.conductor_affinity} started the deploy of node ${uuid}, which was requested but never started.`]);
});

test('a 4th conductor joins mid-clean: it resumes the cleanings the ring moves to it, the old owners stop theirs', async () => {
  const uuids = await Promise.all(Array.from({ length: 24 }, () => client.create('enroll')));
  for (const r of await Promise.all(uuids.map((u) => client.provision(u, 'manage')))) ok(r);
  assert.equal((await allIn(uuids, 'manageable', 20_000)).filter((s) => s !== 'manageable'), []);
  const before = new Map(uuids.map((u) => [u, view.ownerOf(placement(u))]));
  // a manual clean of 10 steps: 4 s of work, long enough for the join to land in it
  const steps = Array.from({ length: 10 }, (_, i) => ({ interface: 'raid', step: i % 2 ? 'create_configuration' : 'delete_configuration', args: {} }));
  for (const r of await Promise.all(uuids.map((u) => client.provision(u, 'clean', { clean_steps: steps })))) ok(r);
  start('fo-4');
  assert.ok(await view.waitFor((m) => m.members['fo-4'] !== undefined, 30_000), 'fo-4 joined');
  const joinedAt = view.state.members['fo-4']!.joinedAt;
  const moved = uuids.filter((u) => view.ownerOf(placement(u)) === 'fo-4');
  assert.ok(moved.length > 0, 'the ring moved some nodes to fo-4');
  for (const u of uuids) if (!moved.includes(u)) assert.is(view.ownerOf(placement(u)), before.get(u), 'only nodes moving to fo-4 changed owner');

  assert.equal((await allIn(uuids, 'manageable', 30_000)).filter((s) => s !== 'manageable'), []);
  const join = (await store.readStream(membershipStream)).find((e) => e.type === 'ConductorRegistered' && (e.data as { hostname: string; epoch: number }).epoch === joinedAt)!;
  for (const u of moved) {
    const events = await client.events(u);
    const takeovers = takeoversOf(events);
    const done = events.filter((e) => e.type === 'StepCompleted').length;
    assert.is(done >= 10, true, `${done} steps completed`);
    const last = events.filter((e) => e.type === 'ProvisionStateChanged').at(-1)!;
    assert.is(last.metadata.actor, 'conductor:fo-4', 'the new owner finished it');
    assert.is(takeovers.length, 1, 'taken over once, in the middle of its cleaning');
    assert.match(takeovers[0], /^Conductor fo-4 took over node .* from fo-[123] at ring epoch \d+: resuming clean from step \d+\.$/);
    // the old owner wrote nothing to it once the join was in the log
    const late = events.filter((e) => e.position > join.position && e.metadata.actor === `conductor:${before.get(u)}`);
    assert.is(late.length, 0, `${before.get(u)} stopped writing ${u}`);
  }
  for (const u of uuids.filter((x) => !moved.includes(x))) assert.is(takeoversOf(await client.events(u)).length, 0, 'nodes that stayed were not taken over');
  process.stderr.write(`  ${moved.length} of ${uuids.length} cleanings moved to fo-4 and resumed there\n`);
});

test.run();
