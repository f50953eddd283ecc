// SIGKILL one of 3 conductors (real `ironlog conductor` processes, cli/conductor.ts) while 30
// nodes are mid-deploy: every node reaches `active` on the survivors, each takeover is in the
// log, and nothing from the killed conductor is accepted after it was declared lost.

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
import { handleCommand, loadAggregate } from '../../command-handling/handle.ts';
import { MembershipView } from '../../conductor/membership-view.ts';
import { NodeRouter } from '../../conductor/routing.ts';
import { connectNats } from '../../conductor/nats.ts';
import { nodeBinding } from '../../conductor/node-binding.ts';
import { liveMembers } from '../../domain/conductor/index.ts';
import type { NodeCommand } from '../../domain/node/index.ts';
import { membershipStream, streamId } from '../../domain/streams.ts';

let nats: NatsServer;
let dataDir: string;
let store: EventStore;
let nc: NatsConnection;
let view: MembershipView;
let router: NodeRouter;
const procs = new Map<string, ConductorProcess>();
const stepDelayMs = 400;

const apiCommand = async (uuid: string, command: NodeCommand) => {
  const r = await handleCommand(nodeBinding, streamId('node', uuid), { commandId: randomUUID(), command, actor: 'admin' }, { store });
  if (E.isLeft(r)) throw new Error(r.left.message);
};
const provisionState = async (uuid: string) => {
  const s = (await loadAggregate(store, nodeBinding, streamId('node', uuid))).state;
  return s.status === 'present' ? s.node.provision_state : undefined;
};

test.before(async () => {
  nats = await startNatsServer();
  dataDir = mkdtempSync(join(tmpdir(), 'ironlog-takeover-'));
  const env: ClusterEnv = { natsUrl: nats.url, dataDir, heartbeatMs: 250, misses: 3, extra: { IRONLOG_FAKE_STEP_DELAY_MS: String(stepDelayMs) } };
  store = await openEventStore({ dataDir });
  nc = await connectNats([nats.url], { name: 'takeover-test' });
  view = new MembershipView({ store, nc, pollIntervalMs: 100 });
  await view.start();
  router = new NodeRouter({ nc, view, rpcTimeoutMs: 3000, rpcDeadlineMs: 20_000 });
  for (const h of ['take-1', 'take-2', 'take-3']) procs.set(h, spawnConductor(h, env, 'deploy-conductor.ts'));
  await Promise.all([...procs.values()].map((p) => p.waitFor((l) => l.ev === 'ready', 30_000, 'ready')));
  await view.waitFor((m) => liveMembers(m).length === 3, 5000);
});

test.after(async () => {
  await Promise.all([...procs.values()].map((p) => p.stop()));
  view.stop();
  await nc.close();
  await store.close();
  await nats.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

test('SIGKILL during 30 deploys: all reach active on the survivors, takeovers logged, nothing late from the dead', async () => {
  const uuids = Array.from({ length: 30 }, () => randomUUID());
  const at = () => new Date().toISOString();
  // what the API does: enroll the node and request the deploy (the transition is in the log)
  for (const uuid of uuids) {
    await apiCommand(uuid, { type: 'CreateNode', data: { uuid, at: at(), fields: { driver: 'fake-hardware' }, initial_provision_state: 'available' } });
    await apiCommand(uuid, { type: 'RequestProvisionAction', data: { uuid, at: at(), verb: 'active' } });
  }
  const placement = (uuid: string) => ({ uuid, group: '', driver: 'fake-hardware' });
  const counts = new Map<string, number>();
  for (const u of uuids) counts.set(view.ownerOf(placement(u))!, (counts.get(view.ownerOf(placement(u))!) ?? 0) + 1);
  const victim = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
  const victimNodes = uuids.filter((u) => view.ownerOf(placement(u)) === victim);
  const started = await Promise.all(uuids.map((u) => router.request(placement(u), 'deploy', {}, { actor: 'admin' })));
  for (const r of started) assert.ok(E.isRight(r), E.isLeft(r) ? r.left.message : '');

  // kill it in the middle of its deploys' second step
  await new Promise((r) => setTimeout(r, stepDelayMs * 1.5));
  const killedAt = Date.now();
  const dead = procs.get(victim)!;
  dead.signal('SIGKILL');
  await dead.exited;
  procs.delete(victim);
  for (const u of victimNodes) assert.is(await provisionState(u), 'deploying', 'the victim died mid-deploy');

  const deadline = Date.now() + 30_000;
  let states: (string | undefined)[] = [];
  while (Date.now() < deadline) {
    states = await Promise.all(uuids.map(provisionState));
    if (states.every((s) => s === 'active')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(states.filter((s) => s !== 'active'), [], 'every node active');
  process.stderr.write(`  ${victimNodes.length} nodes of ${victim} active ${Date.now() - killedAt} ms after SIGKILL\n`);

  const lost = (await store.readStream(membershipStream)).find((r) => r.type === 'ConductorLost' && (r.data as { hostname: string }).hostname === victim);
  assert.ok(lost, 'the victim was declared lost');
  const after = await store.readAll({ after: lost!.position, streamPrefixes: ['node-'] });
  assert.is(after.filter((e) => e.metadata.actor === `conductor:${victim}`).length, 0, 'no event from the dead conductor after its loss');

  for (const u of victimNodes) {
    const events = await store.readStream(streamId('node', u));
    const takeovers = events.filter((e) => e.type === 'NodeHistoryRecorded' && (e.data as { entry: { event_type: string } }).entry.event_type === 'takeover');
    assert.is(takeovers.length, 1, `one takeover of ${u}`);
    const text = (takeovers[0].data as { entry: { event: string } }).entry.event;
    assert.match(text, new RegExp(`from ${victim} .*resuming deploy from step [12]`));
    // the step the victim had started ran again on the new owner; none was skipped
    const completed = events.filter((e) => e.type === 'StepCompleted').length;
    assert.ok(completed >= 3, `${completed} steps completed`);
    const final = await loadAggregate(store, nodeBinding, streamId('node', u));
    assert.ok(final.state.status === 'present' && final.state.node.reservation === null && final.state.node.conductor_affinity !== victim);
  }
});

test.run();
