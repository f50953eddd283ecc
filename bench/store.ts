// `npm run bench -- store`: the event store and projection figures of issue 2.
//   single_appends_per_s, batched_append_events_per_s   from bench/store-append.ts (measureAppends)
//   rebuild_events_per_s    rebuilding every read model from 1,000,000 realistic node events
//   rebuild_peak_rss_mib    peak RSS of that rebuild, measured in a child process of its own
// The log is seeded with the domain's real event shapes (10,000 nodes living through verify,
// cleaning, deploy/undeploy cycles, interleaved in the global order) by batched appends.
// Figures on stdout, progress on stderr, and there the rebuild's CPU time per thread (the machine
// is shared: the busiest thread's CPU time says what the rebuild costs, the wall clock also says
// how loaded the machine was). Env: BENCH_EVENTS, BENCH_NODES to change the size;
// IRONLOG_REBUILD_WORKERS as for `ironlog projections rebuild`. For profiling by hand:
// `--seed-only DIR` seeds a data dir, `--rebuild-only DIR` measures the rebuild of one.

import { spawn } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openEventStore } from '../eventstore/open.ts';
import type { EventData } from '../eventstore/port.ts';
import { nodeLife, toEventData, uuidFor, type Emitted } from '../tests/projections/node-events.ts';

const here = dirname(fileURLToPath(import.meta.url));
const totalEvents = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const nodeCount = Number(process.env.BENCH_NODES ?? 10_000);
/** events of one node per append: a command's worth, interleaved across nodes */
const perAppend = 10;

const progress = (label: string, done: number, total: number, started: number) => {
  const width = 40;
  const filled = Math.round((done / total) * width);
  const rate = done / Math.max(0.001, (performance.now() - started) / 1000);
  process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${Math.round(rate)}/s `);
  if (done >= total) process.stderr.write('\n');
};

const seed = async (dataDir: string): Promise<void> => {
  const store = await openEventStore({ dataDir });
  const per = Math.ceil(totalEvents / nodeCount);
  const lives: Iterator<Emitted>[] = [];
  const revisions: (bigint | 'no_stream')[] = [];
  let planned = 0;
  for (let i = 0; i < nodeCount; i++) {
    const n = Math.min(per, totalEvents - planned);
    planned += n;
    lives.push(nodeLife({ uuid: uuidFor(0xbe7c, i), name: `node-${i}`, start: Date.UTC(2024, 0, 1) + i * 1000, conductor: `c${i % 3}`, owner: `p${i % 7}`, shard: i % 2 ? `s${i % 5}` : null }, n));
    revisions.push('no_stream');
  }
  const started = performance.now();
  let done = 0;
  let round = 0;
  let lastShown = 0;
  while (done < totalEvents) {
    let progressed = false;
    for (let i = 0; i < nodeCount; i++) {
      const batch: EventData[] = [];
      for (let k = 0; k < perAppend; k++) {
        const next = lives[i].next();
        if (next.done) break;
        batch.push(toEventData(next.value, uuidFor(0xc0, round * nodeCount + i)));
      }
      if (batch.length === 0) continue;
      progressed = true;
      const r = await store.append(`node-${uuidFor(0xbe7c, i)}`, batch, revisions[i]);
      revisions[i] = r.nextExpectedRevision;
      done += batch.length;
      if (done - lastShown >= 20_000 || done >= totalEvents) {
        lastShown = done;
        progress('seeding', done, totalEvents, started);
      }
    }
    round++;
    if (!progressed) break;
  }
  await store.close();
};

interface ChildResult {
  events: number;
  ms: number;
  peakRssBytes: number;
  /** CPU ms of this process's threads during the rebuild, busiest first (Linux; else empty) */
  threadCpuMs: number[];
  /** CPU ms of the main thread (the rebuild's log reader) during the rebuild (Linux; else absent) */
  mainCpuMs?: number;
  cpuMs: number;
}

/**
 * CPU ms used so far by each thread of this process (/proc/self/task; threads that ended are
 * gone, so the rebuild child samples it while the rebuild runs). The machine is shared: the
 * busiest thread's CPU time is a figure that load does not inflate much, wall-clock time is not.
 */
const threadCpu = (into: Map<string, number>): void => {
  if (!existsSync('/proc/self/task')) return;
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime, in clock ticks (USER_HZ: 100 on Linux)
      into.set(t, (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // the thread ended between the listing and the read
    }
  }
};

/** The rebuild, alone in this process: prints one JSON line. */
const rebuildChild = async (dataDir: string): Promise<void> => {
  const { rebuild } = await import('../projections/rebuild.ts');
  const { readModels } = await import('../projections/index.ts');
  const { productionDomain } = await import('../projections/domain.ts');
  const { loadConfig } = await import('../config/index.ts');
  const workers = loadConfig().projections.rebuildWorkers;
  const store = await openEventStore({ dataDir });
  let peak = process.memoryUsage.rss();
  const threads = new Map<string, number>();
  const before = new Map<string, number>();
  threadCpu(before);
  const cpu0 = process.cpuUsage();
  // sparse samples: the kernel's high-water mark below catches the peaks in between (sampling
  // every 10 ms cost the rebuild's feeding thread ~5% of its time)
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
    threadCpu(threads);
  }, 100);
  // exactly what `ironlog projections rebuild` does
  const r = await rebuild({ store, domain: productionDomain, models: readModels(), file: join(dataDir, 'readmodels.bench.sqlite'), workers, location: { dataDir } });
  process.stderr.write(`(${workers} worker thread${workers === 1 ? '' : 's'})\n`);
  clearInterval(sampler);
  threadCpu(threads);
  const cpu = process.cpuUsage(cpu0);
  peak = Math.max(peak, process.memoryUsage.rss());
  // the kernel's high-water mark catches peaks between samples
  const hwm = /VmHWM:\s+(\d+) kB/.exec(existsSync('/proc/self/status') ? readFileSync('/proc/self/status', 'utf8') : '');
  if (hwm) peak = Math.max(peak, Number(hwm[1]) * 1024);
  await store.close();
  const threadCpuMs = [...threads].map(([t, ms]) => ms - (before.get(t) ?? 0)).sort((a, b) => b - a);
  // the main thread's task id is the process id
  const main = threads.get(String(process.pid));
  const mainCpuMs = main === undefined ? undefined : main - (before.get(String(process.pid)) ?? 0);
  const out: ChildResult = { events: r.events, ms: r.ms, peakRssBytes: peak, threadCpuMs, mainCpuMs, cpuMs: (cpu.user + cpu.system) / 1000 };
  process.stdout.write(`${JSON.stringify(out)}\n`);
};

const runRebuildChild = (dataDir: string): Promise<ChildResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--rebuild-child', dataDir], {
      cwd: join(here, '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`rebuild child exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult);
      } catch (e) {
        reject(e as Error);
      }
    });
  });

/** CPU time of the rebuild on stderr: on a shared machine it says more than the wall clock */
const reportCpu = (r: ChildResult): void => {
  const [busiest, next] = r.threadCpuMs;
  const perCpuS = (ms: number | undefined) => (ms ? Math.round(r.events / (ms / 1000)) : 0);
  process.stderr.write(
    `rebuild cpu: ${(r.cpuMs / 1000).toFixed(2)} s in all threads; busiest threads ${r.threadCpuMs.slice(0, 4).map((ms) => (ms / 1000).toFixed(2)).join(', ')} s ` +
      `(${perCpuS(busiest)} events per CPU-second of the busiest, ${perCpuS(r.cpuMs)} of all; second ${next === undefined ? '-' : (next / 1000).toFixed(2)} s` +
      `${r.mainCpuMs === undefined ? '' : `; main thread ${(r.mainCpuMs / 1000).toFixed(2)} s`})\n`,
  );
};

type AppendFigures = Record<string, number>;

const appendFigures = async (dataDir: string): Promise<AppendFigures | undefined> => {
  const file = join(here, 'store-append.ts');
  if (!existsSync(file)) {
    process.stderr.write('bench/store-append.ts is missing: no append figures\n');
    return undefined;
  }
  const mod = (await import(pathToFileURL(file).href)) as { measureAppends?: (dir: string) => Promise<AppendFigures> };
  if (typeof mod.measureAppends !== 'function') throw new Error('bench/store-append.ts does not export measureAppends(dataDir)');
  return mod.measureAppends(dataDir);
};

const main = async (): Promise<void> => {
  const root = mkdtempSync(join(tmpdir(), 'ironlog-bench-store-'));
  try {
    const appends = await appendFigures(root);
    if (appends) {
      for (const name of ['single_appends_per_s', 'batched_append_events_per_s']) {
        const v = appends[name];
        if (typeof v !== 'number') throw new Error(`measureAppends did not return ${name}`);
        process.stdout.write(`${name}: ${Math.round(v)}\n`);
      }
    }
    const dataDir = join(root, 'rebuild');
    await seed(dataDir);
    // the log at rest, as an operator's rebuild finds it: on disk, not ~650 MB of dirty pages the
    // kernel may still be writing back while the rebuild is timed
    process.stderr.write('writing the seeded log to disk (fsync)...\n');
    for (const f of readdirSync(dataDir)) {
      const fd = openSync(join(dataDir, f), 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    process.stderr.write(`rebuilding the read models from ${totalEvents} events (child process)...\n`);
    const r = await runRebuildChild(dataDir);
    process.stderr.write(`rebuilt ${r.events} events in ${(r.ms / 1000).toFixed(2)} s\n`);
    reportCpu(r);
    process.stdout.write(`rebuild_events_per_s: ${Math.round(r.events / (r.ms / 1000))}\n`);
    process.stdout.write(`rebuild_peak_rss_mib: ${Math.round(r.peakRssBytes / (1024 * 1024))}\n`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
};

const args = process.argv.slice(2);
if (args[0] === '--rebuild-child') await rebuildChild(args[1]!);
else if (args[0] === '--seed-only') await seed(args[1]!);
else if (args[0] === '--rebuild-only') {
  const r = await runRebuildChild(args[1]!);
  reportCpu(r);
  process.stdout.write(`rebuild_events_per_s: ${Math.round(r.events / (r.ms / 1000))}\nrebuild_peak_rss_mib: ${Math.round(r.peakRssBytes / (1024 * 1024))}\n`);
} else await main();
