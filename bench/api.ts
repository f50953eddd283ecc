// `npm run bench -- api`: the Ironic-compatible API of a real `ironlog start` (a child process with
// its own data dir, its own nats-server, noauth, one conductor, fake-hardware with no step delay),
// driven over HTTP as Ironic's clients drive it. Figures (stdout):
//   create_nodes_per_s       500 POST /v1/nodes from 8 concurrent clients
//   list_500_detail_ms_p50   GET /v1/nodes/detail of those 500 nodes
//   show_ms_p50              GET /v1/nodes/{uuid}
//   lifecycle_100_s          100 nodes manage → provide → active (each verb sent as soon as the
//                            node reached the previous state and was released; 16 requests in
//                            flight at most; states followed on GET /v1/events/stream)
//   power_on_100_s           power on of those 100 nodes until all report `power on`
//   idle_rss_mib             VmRSS summed over the start process and all its children, idle
// On stderr, per phase: the CPU the ironlog processes used per operation (main threads and all
// other threads: workers, V8's GC and compiler helpers), from /proc — on a shared machine the
// figures to compare code by, since wall-clock ones move with the load.
// Env: BENCH_NODES (500), BENCH_LIFECYCLE_NODES (100), BENCH_CLIENTS (8), BENCH_CLIENT_WARMUP (400:
// GET /v1 requests the client sends before the timed phases), BENCH_VERBOSE=1 (ironlog's own log
// on stderr), BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" for the start process),
// BENCH_CPU_THREADS=1 (the CPU of each thread per phase, ironlog's and this client's).

import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { Pool } from 'undici';
import { rssKiB, startIronlog } from '../tests/scenario/support/ironlog.ts';

const nodesN = Number(process.env.BENCH_NODES ?? 500);
const lifecycleN = Number(process.env.BENCH_LIFECYCLE_NODES ?? 100);
const clients = Number(process.env.BENCH_CLIENTS ?? 8);
const say = (m: string) => process.stderr.write(`${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const figure = (name: string, value: number, digits = 1) => process.stdout.write(`${name}: ${value.toFixed(digits)}\n`);

/**
 * CPU ms (user + system) of the ironlog processes: their main threads and all their other threads
 * (workers, libuv pool, GC helpers). The machine is shared, so wall-clock figures move with the
 * load; CPU per operation is what a change can be judged by (printed on stderr only).
 */
const cpuOf = (pids: number[]): { main: number; other: number; byName: Map<string, number> } => {
  const tick = 10; // ms per clock tick (USER_HZ 100 on Linux)
  let main = 0;
  let other = 0;
  const byName = new Map<string, number>();
  for (const pid of pids) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const ms = (Number(f[11]) + Number(f[12])) * tick;
        const name = Number(tid) === pid ? 'main' : `${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}#${tid}`;
        byName.set(name, (byName.get(name) ?? 0) + ms);
        if (Number(tid) === pid) main += ms;
        else other += ms;
      } catch {
        // thread gone meanwhile
      }
    }
  }
  return { main, other, byName };
};

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

/**
 * A keep-alive HTTP/1.1 client on undici's Pool: it costs the shared 2 cores about half of what
 * node:http's client did (measured 0.61–0.85 ms of CPU per create with node:http), so the figures
 * measure the API more than the client.
 */
const client = (base: string, sockets: number) => {
  const pool = new Pool(base, { connections: sockets, pipelining: 1 });
  const send = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body: unknown, keep: boolean): Promise<{ status: number; raw: string; body: any }> => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const res = await pool.request({
      method,
      path,
      headers: { 'x-openstack-ironic-api-version': 'latest', ...(data === undefined ? {} : { 'content-type': 'application/json' }) },
      body: data,
    });
    let raw = '';
    if (keep) raw = await res.body.text();
    else await res.body.dump({ limit: Number.MAX_SAFE_INTEGER });
    return {
      status: res.statusCode,
      raw,
      // parsed on demand: timing a read must not time the client's JSON.parse of 1.2 MB
      get body() {
        return raw ? JSON.parse(raw) : undefined;
      },
    };
  };
  const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown) => send(method, path, body, true);
  /** the response read to its end and dropped */
  call.drain = (path: string) => send('GET', path, undefined, false);
  call.close = () => pool.close();
  return call;
};

/** The create request of node `i`, as the bench sends it. */
const createBody = (i: number) => ({
  driver: 'fake-hardware',
  name: `bench-${i}`,
  driver_info: { ipmi_address: `10.0.${i >> 8}.${i & 255}`, ipmi_password: 'bench' },
  properties: { cpus: 8, memory_mb: 16384 },
});

/**
 * The client's POST path warmed on a server of this process that answers like a create (201, a
 * node-sized JSON body): ironlog is not involved.
 */
const warmUpOnStandIn = async (n: number): Promise<void> => {
  const answer = JSON.stringify({ uuid: '00000000-0000-4000-8000-000000000000', padding: 'x'.repeat(2400) });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(201, { 'content-type': 'application/json' }).end(answer));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address() as { port: number };
  const standIn = client(`http://127.0.0.1:${address.port}`, clients);
  try {
    await pool(n, clients, async (i) => {
      const r = await expect(standIn('POST', '/v1/nodes', createBody(i)), 201, 'stand-in POST');
      void (r.body as { uuid: string }).uuid;
    });
  } finally {
    await standIn.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
};

const expect = async <R extends { status: number; raw: string }>(r: Promise<R>, status: number, what: string): Promise<R> => {
  const got = await r;
  if (got.status !== status) throw new Error(`${what}: HTTP ${got.status} ${got.raw.slice(0, 300)}`);
  return got;
};

interface NodeState { uuid: string; provision_state: string; power_state: string | null; reservation: string | null }

/**
 * Follows nodes through the API's Server-Sent Events stream (ProvisionStateChanged, NodeReserved,
 * NodeReleased, PowerStateChanged), starting at the end of the log once the stream says it caught up.
 * The nodes start as created: enroll, unreserved, power unknown.
 */
const watchNodes = (base: string, uuids: string[]): Promise<{ nodes: Map<string, NodeState>; onChange: () => void; close: () => void }> =>
  new Promise((resolve, reject) => {
    const nodes = new Map(uuids.map((u) => [u, { uuid: u, provision_state: 'enroll', power_state: null, reservation: null } as NodeState]));
    const types = 'ProvisionStateChanged,NodeReserved,NodeReleased,PowerStateChanged';
    const w = { nodes, onChange: () => undefined as void, close: () => req.destroy() };
    let buffer = '';
    let data = '';
    const req = http.get(`${base}/v1/events/stream?after=end&type=${types}`, { headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`event stream: HTTP ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        let changed = false;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.startsWith('data: ')) data += line.slice(6);
          else if (line === ': caught up') resolve(w);
          else if (line === '' && data !== '') {
            const e = JSON.parse(data) as { stream: string; type: string; data: Record<string, unknown> };
            data = '';
            const n = nodes.get(e.stream.slice('node-'.length));
            if (!n) continue;
            changed = true;
            if (e.type === 'ProvisionStateChanged') n.provision_state = String(e.data.to);
            else if (e.type === 'NodeReserved') n.reservation = String(e.data.host);
            else if (e.type === 'NodeReleased') n.reservation = null;
            else if (e.type === 'PowerStateChanged') n.power_state = (e.data.power_state as string | null) ?? null;
          }
        }
        if (changed) w.onChange();
      });
    });
    req.on('error', (err) => reject(err));
  });

const main = async () => {
  say(`api bench: starting ironlog (own data dir, own nats-server, noauth)`);
  const il = await startIronlog({
    auth: 'noauth',
    env: { IRONLOG_FAKE_STEP_DELAY_MS: '0', IRONLOG_LOG_LEVEL: process.env.BENCH_VERBOSE ? 'info' : 'warn' },
    nodeArgs: (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
  });
  if (process.env.BENCH_VERBOSE) {
    il.child.stderr!.pipe(process.stderr);
    il.child.stdout!.pipe(process.stderr); // e.g. BENCH_NODE_ARGS=--trace-gc
  }
  const call = client(il.base, Math.max(clients, 16));
  const natsPid = il.nats.pid();
  const sideCpu = () => ({ nats: natsPid === undefined ? 0 : cpuOf([natsPid]).main + cpuOf([natsPid]).other, bench: (process.cpuUsage().user + process.cpuUsage().system) / 1000, threads: cpuOf([process.pid]).byName });
  let cpuMark = cpuOf(il.pids());
  let sideMark = sideCpu();
  /** CPU of the ironlog processes since the last mark, per operation, on stderr */
  const cpuPhase = (what: string, ops: number) => {
    const now = cpuOf(il.pids());
    const side = sideCpu();
    const main = now.main - cpuMark.main;
    const other = now.other - cpuMark.other;
    if (process.env.BENCH_CPU_THREADS) {
      const rows = [...now.byName].map(([n, v]) => [n, v - (cpuMark.byName.get(n) ?? 0)] as const).filter(([, v]) => v > 0);
      say(`    threads: ${rows.sort((a, b) => b[1] - a[1]).map(([n, v]) => `${n} ${v} ms`).join(', ')}`);
    }
    cpuMark = now;
    say(`  cpu ${what}: ${((main + other) / ops).toFixed(2)} ms/op (main threads ${(main / ops).toFixed(2)}, other threads ${(other / ops).toFixed(2)}; ${ops} ops)` +
      `; beside ironlog: nats-server ${((side.nats - sideMark.nats) / ops).toFixed(2)}, this client ${((side.bench - sideMark.bench) / ops).toFixed(2)} ms/op`);
    if (process.env.BENCH_CPU_THREADS) {
      const rows = [...side.threads].map(([n, v]) => [n, v - (sideMark.threads.get(n) ?? 0)] as const).filter(([, v]) => v > 0);
      say(`    client threads: ${rows.sort((a, b) => b[1] - a[1]).map(([n, v]) => `${n} ${v} ms`).join(', ')}`);
    }
    sideMark = side;
  };
  try {
    // ---- the client warms up ---------------------------------------------------------------------
    // This process is the load generator, on the same 2 cores: its first few hundred requests
    // cost it ~1.5 ms of CPU each (JIT), as much as a create costs ironlog. Before anything is
    // timed it sends the creates' requests to a stand-in server of its own (ironlog sees none of
    // them: its create path stays as cold as a fresh process's), then asks ironlog for the version
    // document (GET /v1: no state read or written).
    const warmups = Number(process.env.BENCH_CLIENT_WARMUP ?? 400);
    await warmUpOnStandIn(warmups);
    await pool(warmups, clients, async () => void (await expect(call('GET', '/v1'), 200, 'GET /v1')));
    say(`  client warmed up: ${warmups} POST to a stand-in server, ${warmups} GET /v1`);

    // ---- create ----------------------------------------------------------------------------------
    const uuids: string[] = [];
    cpuMark = cpuOf(il.pids());
    sideMark = sideCpu();
    let t0 = performance.now();
    const createMs: number[] = [];
    await pool(nodesN, clients, async (i) => {
      const sent = performance.now();
      const r = await expect(
        call('POST', '/v1/nodes', createBody(i)),
        201,
        'create',
      );
      createMs.push(performance.now() - sent);
      uuids.push((r.body as { uuid: string }).uuid);
    });
    const sorted = [...createMs].sort((a, b) => a - b);
    const pct = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
    say(`  create latency ms: p50 ${pct(0.5)}, p90 ${pct(0.9)}, p99 ${pct(0.99)}, max ${sorted[sorted.length - 1]!.toFixed(1)}`);
    const createS = (performance.now() - t0) / 1000;
    cpuPhase('create', nodesN);
    say(`  created ${nodesN} nodes in ${createS.toFixed(2)} s`);
    figure('create_nodes_per_s', nodesN / createS, 0);

    // ---- list and show ---------------------------------------------------------------------------
    // once the background work the creates caused (publishing 500 events to NATS, the conductor's
    // node index) is done: these are the reads' latencies, not the write backlog's
    await sleep(2000);
    cpuPhase('after create (2 s: publishing, node index)', nodesN);
    const listMs: number[] = [];
    const sample = await expect(call('GET', '/v1/nodes/detail?limit=1000'), 200, 'list detail');
    say(`  detail list: ${(sample.body as { nodes: unknown[] }).nodes.length} nodes, ${(sample.raw.length / 1e6).toFixed(2)} MB`);
    for (let i = 0; i < 40; i++) {
      t0 = performance.now();
      await expect(call.drain('/v1/nodes/detail?limit=1000'), 200, 'list detail');
      listMs.push(performance.now() - t0);
    }
    figure('list_500_detail_ms_p50', p50(listMs));
    const showMs: number[] = [];
    for (let i = 0; i < 1000; i++) {
      t0 = performance.now();
      await expect(call.drain(`/v1/nodes/${uuids[i % uuids.length]}`), 200, 'show');
      showMs.push(performance.now() - t0);
    }
    figure('show_ms_p50', p50(showMs), 2);

    // ---- lifecycle -------------------------------------------------------------------------------
    // the nodes' states come from our own event stream (GET /v1/events/stream), not from polling
    // the list of all 500 nodes, which would load the API more than the work being measured
    const chosen = uuids.slice(0, lifecycleN);
    const watch = await watchNodes(il.base, chosen);
    const next: Record<string, string> = { enroll: 'manage', manageable: 'provide', available: 'active' };
    const sentFor = new Map<string, string>();
    let inFlight = 0;
    let failures = 0;
    cpuMark = cpuOf(il.pids());
    t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('lifecycle did not finish in 300 s')), 300_000);
      const pump = () => {
        const rows = chosen.map((u) => watch.nodes.get(u)!);
        if (rows.every((r) => r.provision_state === 'active' && r.reservation === null)) {
          clearTimeout(timer);
          resolve();
          return;
        }
        const bad = rows.find((r) => /failed|error/.test(r.provision_state));
        if (bad) {
          clearTimeout(timer);
          reject(new Error(`a node failed: ${JSON.stringify(bad)}`));
          return;
        }
        for (const r of rows) {
          const verb = next[r.provision_state];
          if (!verb || r.reservation !== null || sentFor.get(r.uuid) === r.provision_state || inFlight >= 16) continue;
          sentFor.set(r.uuid, r.provision_state);
          inFlight++;
          void call('PUT', `/v1/nodes/${r.uuid}/states/provision`, { target: verb }).then((res) => {
            inFlight--;
            if (res.status !== 202) {
              failures++;
              sentFor.delete(r.uuid); // try again (e.g. 409 while a previous operation releases the node)
              if (failures <= 3) say(`  ${verb} ${r.uuid}: HTTP ${res.status} ${res.raw.slice(0, 200)}`);
            }
            pump();
          });
        }
      };
      watch.onChange = pump;
      pump();
    });
    const lifecycleS = (performance.now() - t0) / 1000;
    cpuPhase('lifecycle (per node)', lifecycleN);
    say(`  lifecycle: ${lifecycleN} nodes active in ${lifecycleS.toFixed(2)} s (${failures} refused requests retried)`);
    figure('lifecycle_100_s', lifecycleS, 2);

    // ---- power on --------------------------------------------------------------------------------
    cpuMark = cpuOf(il.pids());
    t0 = performance.now();
    const allOn = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('power on did not finish in 120 s')), 120_000);
      watch.onChange = () => {
        if (chosen.every((u) => watch.nodes.get(u)!.power_state === 'power on')) {
          clearTimeout(timer);
          resolve();
        }
      };
      watch.onChange();
    });
    await pool(chosen.length, 16, async (i) => {
      await expect(call('PUT', `/v1/nodes/${chosen[i]}/states/power`, { target: 'power on' }), 202, 'power on');
    });
    await allOn;
    const powerS = (performance.now() - t0) / 1000;
    cpuPhase('power on (per node)', chosen.length);
    say(`  power on: ${chosen.length} nodes on in ${powerS.toFixed(2)} s`);
    figure('power_on_100_s', powerS, 2);
    watch.close();

    // ---- idle footprint --------------------------------------------------------------------------
    await sleep(3000);
    const pids = il.pids();
    const kib = pids.reduce((sum, pid) => sum + rssKiB(pid), 0);
    say(`  idle: ${pids.length} ironlog process(es) ${pids.join(', ')}`);
    figure('idle_rss_mib', kib / 1024);
  } finally {
    await call.close();
    await il.stop();
  }
};

await main();
