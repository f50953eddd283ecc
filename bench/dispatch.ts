// `npm run bench -- dispatch`: provisioning commands through NATS to 3 conductors (real `ironlog
// conductor` processes, the fake hardware type), as the API sends them: `node-command` to each
// node's owner, answered once the transition is recorded, the node reserved and the operation's
// steps planned (Ironic's 202). Two parts, each with its own nats-server, data dir and cluster:
//
// 1. dispatch_commands_per_s: manage, provide and deploy requests (a third each, shuffled, C in
//    flight) while each fake step takes 30 s, as a hardware step takes time: the operations the
//    commands start are in their first step while the commands are measured, so the figure is
//    the dispatch path itself (route, validate, record, reserve, plan, answer). 600 requests of
//    the same mix first warm the conductors up (not counted; BENCH_WARMUP per verb, default 200). The conductors are killed at the end
//    (their operations are abandoned).
// 2. dispatch_with_work_commands_per_s: the same verbs in three phases over the same nodes (manage,
//    then provide, then deploy) with no step delay, so every operation runs to its end while
//    the next commands arrive and competes with them for the CPU and the event store's one writer;
//    a phase ends when every node reached its state. dispatch_completed_ops_per_s counts the
//    operations finished per second of those phases.
// Also dispatch_reply_p50_ms / dispatch_reply_p99_ms (part 1).
// Also the CPU time per command of the conductors and of this process (part 1, on stderr): on a
// shared machine it is steadier than the rate.
// Env: BENCH_NODES (default 1500), BENCH_INFLIGHT (default 64), BENCH_CONDUCTORS (default 3), BENCH_PART (1 or 2: one part only),
// BENCH_WARMUP (warm-up requests per verb, default 200).

import { loadavg } from 'node:os';
import * as E from 'fp-ts/lib/Either.js';
import type { NodeCommand } from '../domain/node/index.ts';
import { BenchCluster, say, sleep } from './support/cluster.ts';

const nodes = Number(process.env.BENCH_NODES ?? 1500);
const inflight = Number(process.env.BENCH_INFLIGHT ?? 64);
const conductors = Number(process.env.BENCH_CONDUCTORS ?? 3);
const hosts = Array.from({ length: conductors }, (_, i) => `bench-c${i + 1}`);

type Verb = 'manage' | 'provide' | 'active';

/** Sends one command per (node, verb) with `inflight` outstanding; returns elapsed ms and latencies. */
const fire = async (cluster: BenchCluster, work: Array<[string, Verb]>): Promise<{ ms: number; latencies: number[]; refused: number }> => {
  const latencies: number[] = [];
  let next = 0;
  let refused = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < work.length) {
      const [uuid, verb] = work[next++];
      const command: NodeCommand = { type: 'RequestProvisionAction', data: { uuid, at: new Date().toISOString(), verb } };
      const t0 = performance.now();
      const r = await cluster.command(uuid, command);
      latencies.push(performance.now() - t0);
      if (E.isLeft(r)) {
        refused++;
        if (refused <= 3) say(`  ${verb} ${uuid}: ${r.left.errorClass}: ${r.left.message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  return { ms: performance.now() - started, latencies, refused };
};

const waitAll = async (cluster: BenchCluster, uuids: string[], state: string, ms = 300_000): Promise<void> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const states = await Promise.all(uuids.map((u) => cluster.node(u)));
    const pending = states.filter((n) => n.provision_state !== state || n.reservation !== null).length;
    if (pending === 0) return;
    if (Date.now() > deadline) throw new Error(`${pending} nodes did not reach ${state}`);
    await sleep(100);
  }
};

const shuffle = <T>(xs: T[]): T[] => {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
};

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const dispatchOnly = async (): Promise<{ perS: number; p50: number; p99: number }> => {
  say(`dispatch (part 1): ${conductors} conductors, ${nodes} manage/provide/deploy requests, ${inflight} in flight, 30 s fake steps`);
  const cluster = await BenchCluster.start({ hosts, env: { IRONLOG_FAKE_STEP_DELAY_MS: '30000', IRONLOG_GRACEFUL_SHUTDOWN_TIMEOUT_S: '0' } });
  try {
    const third = Math.ceil(nodes / 3);
    const enroll = await cluster.createNodes(third, 'enroll');
    const manageable = await cluster.createNodes(third, 'enroll');
    const available = await cluster.createNodes(nodes - 2 * third, 'available');
    // verification has no fake step: these reach manageable at once
    await fire(cluster, manageable.map((u) => [u, 'manage']));
    await waitAll(cluster, manageable, 'manageable');
    const work = shuffle<[string, Verb]>([
      ...enroll.map((u): [string, Verb] => [u, 'manage']),
      ...manageable.map((u): [string, Verb] => [u, 'provide']),
      ...available.map((u): [string, Verb] => [u, 'active']),
    ]);
    // warm-up (not counted): the conductors' code gets optimised as a long-running service's is.
    // Each verb runs its own code (verify, clean, deploy plans), so the warm-up sends the same mix
    // as the measured part: measured with deploy requests alone, ~20% of the conductors' CPU in the
    // measured part was still V8 compiling and parsing (perf, --perf-basic-prof).
    const warmEach = Number(process.env.BENCH_WARMUP ?? 200);
    const warmEnroll = await cluster.createNodes(warmEach, 'enroll');
    const warmManageable = await cluster.createNodes(warmEach, 'enroll');
    const warmAvailable = await cluster.createNodes(warmEach, 'available');
    await fire(cluster, warmManageable.map((u) => [u, 'manage']));
    await waitAll(cluster, warmManageable, 'manageable');
    const w = await fire(cluster, shuffle<[string, Verb]>([
      ...warmEnroll.map((u): [string, Verb] => [u, 'manage']),
      ...warmManageable.map((u): [string, Verb] => [u, 'provide']),
      ...warmAvailable.map((u): [string, Verb] => [u, 'active']),
    ]));
    say(`  warm-up: ${3 * warmEach} manage/provide/deploy requests in ${Math.round(w.ms)} ms`);
    const cpu0 = cluster.cpuMs();
    const mark0 = process.hrtime.bigint() / 1000n;
    const r = await fire(cluster, work);
    const mark1 = process.hrtime.bigint() / 1000n;
    const cpu1 = cluster.cpuMs();
    // the measured window on the monotonic clock (µs), which --cpu-prof's startTime/endTime also use
    if (process.env.BENCH_CONDUCTOR_NODE_ARGS) say(`  measured window (monotonic µs): ${mark0} ${mark1}`);
    say(`  ${work.length} commands answered in ${Math.round(r.ms)} ms, ${r.refused} refused; CPU per command: conductors ${((cpu1.conductors - cpu0.conductors) / work.length).toFixed(2)} ms, this process ${((cpu1.bench - cpu0.bench) / work.length).toFixed(2)} ms (load ${loadavg()[0]!.toFixed(1)})`);
    return { perS: (work.length / r.ms) * 1000, p50: pct(r.latencies, 50), p99: pct(r.latencies, 99) };
  } finally {
    // a profiled conductor writes its profile on a clean exit only
    await cluster.dispose(!process.env.BENCH_CONDUCTOR_NODE_ARGS);
  }
};

const withWork = async (): Promise<{ perS: number; completedPerS: number }> => {
  say(`dispatch (part 2): ${conductors} conductors, ${nodes} nodes through manage, provide, deploy; no step delay`);
  const cluster = await BenchCluster.start({ hosts, env: { IRONLOG_FAKE_STEP_DELAY_MS: '0' } });
  try {
    const uuids = await cluster.createNodes(nodes, 'enroll');
    let sent = 0;
    let dispatchMs = 0;
    let completeMs = 0;
    for (const [verb, to] of [['manage', 'manageable'], ['provide', 'available'], ['active', 'active']] as Array<[Verb, string]>) {
      const started = performance.now();
      const r = await fire(cluster, uuids.map((u) => [u, verb]));
      sent += uuids.length;
      dispatchMs += r.ms;
      await waitAll(cluster, uuids, to);
      const done = performance.now() - started;
      completeMs += done;
      say(`  ${verb}: ${uuids.length} answered in ${Math.round(r.ms)} ms (${Math.round((uuids.length / r.ms) * 1000)}/s, ${r.refused} refused); all ${to} after ${Math.round(done)} ms`);
    }
    return { perS: (sent / dispatchMs) * 1000, completedPerS: (sent / completeMs) * 1000 };
  } finally {
    await cluster.dispose();
  }
};

// BENCH_PART=1 or 2 runs one part only (profiling)
const only = process.env.BENCH_PART;
if (only !== '2') {
  const part1 = await dispatchOnly();
  process.stdout.write(`dispatch_commands_per_s: ${Math.round(part1.perS)}\n`);
  process.stdout.write(`dispatch_reply_p50_ms: ${part1.p50.toFixed(1)}\n`);
  process.stdout.write(`dispatch_reply_p99_ms: ${part1.p99.toFixed(1)}\n`);
}
if (only !== '1') {
  const part2 = await withWork();
  process.stdout.write(`dispatch_with_work_commands_per_s: ${Math.round(part2.perS)}\n`);
  process.stdout.write(`dispatch_completed_ops_per_s: ${Math.round(part2.completedPerS)}\n`);
}
