// `npm run bench -- failover`: SIGKILL one of 3 conductors (real `ironlog conductor` processes, the
// default heartbeat: 1 s, lost after 3 missed) while every node of the cluster is mid-deploy (fake
// hardware, IRONLOG_FAKE_STEP_DELAY_MS per step), three rounds; the killed conductor is started
// again between rounds.
//   failover_resume_s      median over the rounds of: SIGKILL → every node the victim was deploying
//                          is owned by a live conductor that has resumed its deploy (its first
//                          step written by the new owner), from the log's timestamps
//   failover_failed_nodes  nodes of all rounds that did not end `active`
//   failover_detect_s      median SIGKILL → ConductorLost in the membership log
// Env: BENCH_NODES per round (default 60), BENCH_STEP_DELAY_MS (default 1000), BENCH_ROUNDS (3).

import * as E from 'fp-ts/lib/Either.js';
import type { RecordedEvent } from '../eventstore/port.ts';
import { membershipStream, streamId } from '../domain/streams.ts';
import { BenchCluster, median, say, sleep } from './support/cluster.ts';

const nodesPerRound = Number(process.env.BENCH_NODES ?? 60);
const stepDelayMs = Number(process.env.BENCH_STEP_DELAY_MS ?? 1000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const hosts = ['fo-c1', 'fo-c2', 'fo-c3'];

const isTakeover = (e: RecordedEvent) => e.type === 'NodeHistoryRecorded' && (e.data as { entry: { event_type: string } }).entry.event_type === 'takeover';

const main = async () => {
  say(`failover: starting nats-server and 3 conductors; ${rounds} rounds of ${nodesPerRound} deploys, ${stepDelayMs} ms per step`);
  const cluster = await BenchCluster.start({ hosts, env: { IRONLOG_FAKE_STEP_DELAY_MS: String(stepDelayMs) } });
  const resumes: number[] = [];
  const detections: number[] = [];
  let failed = 0;
  try {
    for (let round = 1; round <= rounds; round++) {
      const uuids = await cluster.createNodes(nodesPerRound, 'available');
      const owner = (u: string) => cluster.view.ownerOf(cluster.placement(u));
      const victim = hosts[(round - 1) % hosts.length];
      const affected = uuids.filter((u) => owner(u) === victim);
      const replies = await Promise.all(
        uuids.map((uuid) => cluster.command(uuid, { type: 'RequestProvisionAction', data: { uuid, at: new Date().toISOString(), verb: 'active' } })),
      );
      const refused = replies.filter(E.isLeft).length;
      if (refused > 0) say(`  round ${round}: ${refused} deploy requests refused`);
      // into the second step of every deploy
      await sleep(stepDelayMs * 1.5);
      const killedAt = await cluster.kill(victim);
      say(`  round ${round}: SIGKILL ${victim}, which was deploying ${affected.length} of ${uuids.length} nodes`);

      // every affected node: a takeover by a live conductor, then a step written by it
      const resumedAt = new Map<string, number>();
      const deadline = Date.now() + 60_000;
      while (resumedAt.size < affected.length && Date.now() < deadline) {
        for (const u of affected) {
          if (resumedAt.has(u)) continue;
          const events = await cluster.store.readStream(streamId('node', u));
          const t = events.findIndex(isTakeover);
          if (t < 0) continue;
          const by = events[t].metadata.actor;
          const step = events.slice(t).find((e) => (e.type === 'StepStarted' || e.type === 'ProvisionStateChanged') && e.metadata.actor === by);
          if (step && by !== `conductor:${victim}`) resumedAt.set(u, step.created.getTime());
        }
        await sleep(50);
      }
      const lost = (await cluster.store.readStream(membershipStream)).filter((e) => e.type === 'ConductorLost' && (e.data as { hostname: string }).hostname === victim).at(-1);
      if (lost) detections.push((lost.created.getTime() - killedAt) / 1000);
      if (resumedAt.size < affected.length) say(`  round ${round}: only ${resumedAt.size} of ${affected.length} deploys resumed within 60 s`);
      const resume = (Math.max(...resumedAt.values()) - killedAt) / 1000;
      resumes.push(resumedAt.size < affected.length ? Number.POSITIVE_INFINITY : resume);
      say(`  round ${round}: declared lost after ${lost ? ((lost.created.getTime() - killedAt) / 1000).toFixed(2) : '?'} s, all ${affected.length} deploys resumed after ${resume.toFixed(2)} s`);

      // every node of the round must end active
      const end = Date.now() + 120_000;
      let states: string[] = [];
      while (Date.now() < end) {
        states = await Promise.all(uuids.map(async (u) => {
          const n = await cluster.node(u);
          return n.reservation === null ? n.provision_state : 'busy';
        }));
        if (states.every((s) => s === 'active' || s === 'deploy failed' || s === 'error')) break;
        await sleep(100);
      }
      const notActive = states.filter((s) => s !== 'active').length;
      failed += notActive;
      say(`  round ${round}: ${uuids.length - notActive} active, ${notActive} not`);

      cluster.spawn(victim);
      await cluster.waitMembers((live) => live.includes(victim));
    }
    process.stdout.write(`failover_resume_s: ${median(resumes).toFixed(2)}\n`);
    process.stdout.write(`failover_failed_nodes: ${failed}\n`);
    process.stdout.write(`failover_detect_s: ${median(detections).toFixed(2)}\n`);
  } finally {
    await cluster.dispose();
  }
};

await main();
