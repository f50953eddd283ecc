// `npm run bench -- api`: the Ironic-compatible API of a real `ironlog start` (a child process with
// its own data dir, its own nats-server, noauth, one conductor, fake-hardware with no step delay),
// driven over HTTP as Ironic's clients drive it. Figures (stdout):
//   create_nodes_per_s       500 POST /v1/nodes from 8 concurrent clients
//   list_500_detail_ms_p50   GET /v1/nodes/detail of those 500 nodes
//   show_ms_p50              GET /v1/nodes/{uuid}
//   lifecycle_100_s          100 nodes manage → provide → active (each verb sent as soon as the
//                            node reached the previous state; 16 requests in flight at most)
//   power_on_100_s           power on of those 100 nodes until all report `power on`
//   idle_rss_mib             VmRSS summed over the start process and all its children, idle
// Env: BENCH_NODES (500), BENCH_LIFECYCLE_NODES (100), BENCH_CLIENTS (8), BENCH_VERBOSE=1 (ironlog's
// own log on stderr), BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" for the start process).

import { rssKiB, startIronlog, type Ironlog } from '../tests/scenario/support/ironlog.ts';

const nodesN = Number(process.env.BENCH_NODES ?? 500);
const lifecycleN = Number(process.env.BENCH_LIFECYCLE_NODES ?? 100);
const clients = Number(process.env.BENCH_CLIENTS ?? 8);
const say = (m: string) => process.stderr.write(`${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const figure = (name: string, value: number, digits = 1) => process.stdout.write(`${name}: ${value.toFixed(digits)}\n`);

const p50 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** runs `work(i)` for i in [0, n) with `width` in flight */
const pool = async (n: number, width: number, work: (i: number) => Promise<void>) => {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await work(next++);
  }));
};

const expect = async <R extends { status: number; raw: string }>(r: Promise<R>, status: number, what: string): Promise<R> => {
  const got = await r;
  if (got.status !== status) throw new Error(`${what}: HTTP ${got.status} ${got.raw.slice(0, 300)}`);
  return got;
};

interface Row { uuid: string; provision_state: string; power_state: string | null; target_power_state: string | null; reservation: string | null }
const states = async (il: Ironlog): Promise<Map<string, Row>> => {
  const r = await expect(il.call('GET', '/v1/nodes?fields=uuid,provision_state,power_state,target_power_state,reservation&limit=1000'), 200, 'list states');
  return new Map((r.body as { nodes: Row[] }).nodes.map((n) => [n.uuid, n]));
};

const main = async () => {
  say(`api bench: starting ironlog (own data dir, own nats-server, noauth)`);
  const il = await startIronlog({
    auth: 'noauth',
    env: { IRONLOG_FAKE_STEP_DELAY_MS: '0', IRONLOG_LOG_LEVEL: process.env.BENCH_VERBOSE ? 'info' : 'warn' },
    nodeArgs: (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
  });
  if (process.env.BENCH_VERBOSE) il.child.stderr!.pipe(process.stderr);
  try {
    // ---- create ----------------------------------------------------------------------------------
    const uuids: string[] = [];
    let t0 = performance.now();
    await pool(nodesN, clients, async (i) => {
      const r = await expect(
        il.call('POST', '/v1/nodes', { driver: 'fake-hardware', name: `bench-${i}`, driver_info: { ipmi_address: `10.0.${i >> 8}.${i & 255}`, ipmi_password: 'bench' }, properties: { cpus: 8, memory_mb: 16384 } }),
        201,
        'create',
      );
      uuids.push((r.body as { uuid: string }).uuid);
    });
    const createS = (performance.now() - t0) / 1000;
    say(`  created ${nodesN} nodes in ${createS.toFixed(2)} s`);
    figure('create_nodes_per_s', nodesN / createS, 0);

    // ---- list and show ---------------------------------------------------------------------------
    const listMs: number[] = [];
    for (let i = 0; i < 40; i++) {
      t0 = performance.now();
      const r = await expect(il.call('GET', '/v1/nodes/detail?limit=1000'), 200, 'list detail');
      listMs.push(performance.now() - t0);
      if (i === 0) say(`  detail list: ${(r.body as { nodes: unknown[] }).nodes.length} nodes, ${(r.raw.length / 1e6).toFixed(2)} MB`);
    }
    figure('list_500_detail_ms_p50', p50(listMs));
    const showMs: number[] = [];
    for (let i = 0; i < 1000; i++) {
      t0 = performance.now();
      await expect(il.call('GET', `/v1/nodes/${uuids[i % uuids.length]}`), 200, 'show');
      showMs.push(performance.now() - t0);
    }
    figure('show_ms_p50', p50(showMs), 2);

    // ---- lifecycle -------------------------------------------------------------------------------
    const chosen = uuids.slice(0, lifecycleN);
    const next: Record<string, { verb: string; until: string }> = {
      enroll: { verb: 'manage', until: 'manageable' },
      manageable: { verb: 'provide', until: 'available' },
      available: { verb: 'active', until: 'active' },
    };
    const sentFor = new Map<string, string>();
    let inFlight = 0;
    let failures = 0;
    t0 = performance.now();
    for (;;) {
      const now = await states(il);
      const rows = chosen.map((u) => now.get(u)!);
      if (rows.every((r) => r.provision_state === 'active' && r.reservation === null)) break;
      const bad = rows.filter((r) => /failed|error/.test(r.provision_state));
      if (bad.length) throw new Error(`${bad.length} nodes failed, e.g. ${JSON.stringify(bad[0])}`);
      if (performance.now() - t0 > 300_000) throw new Error('lifecycle did not finish in 300 s');
      for (const r of rows) {
        const step = next[r.provision_state];
        if (!step || r.reservation !== null || sentFor.get(r.uuid) === r.provision_state || inFlight >= 16) continue;
        sentFor.set(r.uuid, r.provision_state);
        inFlight++;
        void il.call('PUT', `/v1/nodes/${r.uuid}/states/provision`, { target: step.verb }).then((res) => {
          inFlight--;
          if (res.status !== 202) {
            failures++;
            sentFor.delete(r.uuid); // try again (e.g. 409 while a previous operation releases the node)
            if (failures <= 3) say(`  ${step.verb} ${r.uuid}: HTTP ${res.status} ${res.raw.slice(0, 200)}`);
          }
        });
      }
      await sleep(10);
    }
    const lifecycleS = (performance.now() - t0) / 1000;
    say(`  lifecycle: ${lifecycleN} nodes active in ${lifecycleS.toFixed(2)} s (${failures} refused requests retried)`);
    figure('lifecycle_100_s', lifecycleS, 2);

    // ---- power on --------------------------------------------------------------------------------
    t0 = performance.now();
    await pool(chosen.length, 16, async (i) => {
      await expect(il.call('PUT', `/v1/nodes/${chosen[i]}/states/power`, { target: 'power on' }), 202, 'power on');
    });
    for (;;) {
      const now = await states(il);
      if (chosen.every((u) => now.get(u)!.power_state === 'power on' && now.get(u)!.target_power_state === null)) break;
      if (performance.now() - t0 > 120_000) throw new Error('power on did not finish in 120 s');
      await sleep(10);
    }
    const powerS = (performance.now() - t0) / 1000;
    say(`  power on: ${chosen.length} nodes on in ${powerS.toFixed(2)} s`);
    figure('power_on_100_s', powerS, 2);

    // ---- idle footprint --------------------------------------------------------------------------
    await sleep(3000);
    const pids = il.pids();
    const kib = pids.reduce((sum, pid) => sum + rssKiB(pid), 0);
    say(`  idle: ${pids.length} ironlog process(es) ${pids.join(', ')}`);
    figure('idle_rss_mib', kib / 1024);
  } finally {
    await il.stop();
  }
};

await main();
