// `npm run bench -- dispatch`: provisioning commands through NATS to 3 conductors (real `ironlog
// conductor` processes, the fake hardware type with no step delay), as the API sends them
// (`node-command` to each node's owner). N nodes go through manage, provide and deploy; each
// phase sends one command per node with C in flight and counts the replies (Ironic's 202: the
// transition is recorded, the node reserved, its steps planned). The work each command starts
// runs in the background meanwhile; a phase ends when every node reached its state.
//   dispatch_commands_per_s     commands answered per second, over the three phases
//   dispatch_reply_p50_ms, dispatch_reply_p99_ms
//   dispatch_completed_ops_per_s  operations finished (node in its target state, unreserved) per second
// Env: BENCH_NODES (default 1000), BENCH_INFLIGHT (default 64), BENCH_CONDUCTORS (default 3).

import * as E from 'fp-ts/lib/Either.js';
import type { NodeCommand } from '../domain/node/index.ts';
import { BenchCluster, say, sleep } from './support/cluster.ts';

const nodes = Number(process.env.BENCH_NODES ?? 1000);
const inflight = Number(process.env.BENCH_INFLIGHT ?? 64);
const conductors = Number(process.env.BENCH_CONDUCTORS ?? 3);

const phases: Array<{ verb: 'manage' | 'provide' | 'active'; to: string }> = [
  { verb: 'manage', to: 'manageable' },
  { verb: 'provide', to: 'available' },
  { verb: 'active', to: 'active' },
];

const main = async () => {
  say(`dispatch: starting nats-server and ${conductors} conductors; ${nodes} nodes, ${inflight} in flight`);
  const hosts = Array.from({ length: conductors }, (_, i) => `bench-c${i + 1}`);
  const cluster = await BenchCluster.start({ hosts, env: { IRONLOG_FAKE_STEP_DELAY_MS: '0' } });
  try {
    const uuids = await cluster.createNodes(nodes, 'enroll');
    const latencies: number[] = [];
    let sent = 0;
    let dispatchMs = 0;
    let completeMs = 0;
    for (const phase of phases) {
      const started = performance.now();
      let next = 0;
      let failed = 0;
      const worker = async () => {
        while (next < uuids.length) {
          const uuid = uuids[next++];
          const command: NodeCommand = { type: 'RequestProvisionAction', data: { uuid, at: new Date().toISOString(), verb: phase.verb } };
          const t0 = performance.now();
          const r = await cluster.command(uuid, command);
          latencies.push(performance.now() - t0);
          if (E.isLeft(r)) {
            failed++;
            if (failed <= 3) say(`  ${phase.verb} ${uuid}: ${r.left.errorClass}: ${r.left.message}`);
          }
        }
      };
      await Promise.all(Array.from({ length: inflight }, worker));
      const answered = performance.now() - started;
      sent += uuids.length;
      dispatchMs += answered;
      say(`  ${phase.verb}: ${uuids.length} commands answered in ${Math.round(answered)} ms (${Math.round((uuids.length / answered) * 1000)}/s), ${failed} refused`);
      // wait for the background work: every node in its state, unreserved
      for (;;) {
        const states = await Promise.all(uuids.map((u) => cluster.node(u)));
        const pending = states.filter((n) => n.provision_state !== phase.to || n.reservation !== null).length;
        if (pending === 0) break;
        if (performance.now() - started > 300_000) throw new Error(`${pending} nodes did not reach ${phase.to}`);
        await sleep(100);
      }
      const done = performance.now() - started;
      completeMs += done;
      say(`  ${phase.verb}: all ${uuids.length} nodes ${phase.to} after ${Math.round(done)} ms`);
    }
    const membership = await cluster.store.readStream('membership-ring');
    say(`  membership events during the run: ${membership.map((e) => `${e.type}(${(e.data as { hostname: string }).hostname})`).join(', ')}`);
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
    process.stdout.write(`dispatch_commands_per_s: ${Math.round((sent / dispatchMs) * 1000)}\n`);
    process.stdout.write(`dispatch_reply_p50_ms: ${pct(50).toFixed(1)}\n`);
    process.stdout.write(`dispatch_reply_p99_ms: ${pct(99).toFixed(1)}\n`);
    process.stdout.write(`dispatch_completed_ops_per_s: ${Math.round((sent / completeMs) * 1000)}\n`);
  } finally {
    await cluster.dispose();
  }
};

await main();
