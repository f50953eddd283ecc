// Append throughput of the embedded event store: single-event appends (each its own durable
// transaction, as a command handler does them) and batched appends. bench/store.ts calls
// measureAppends; running this file directly prints the figures too.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EventData } from '../eventstore/port.ts';
import { SqliteEventStore } from '../eventstore/sqlite.ts';

const SINGLE_SECONDS = 3;
const BATCH_SIZE = 500;
const BATCH_SECONDS = 3;
const STREAMS = 1_000;

const event = (i: number): EventData => ({
  id: randomUUID(),
  type: 'NodePowerStateChanged',
  data: { nodeUuid: randomUUID(), powerState: i % 2 === 0 ? 'power on' : 'power off', targetPowerState: null, step: i },
  metadata: {
    correlationId: randomUUID(),
    causationId: randomUUID(),
    actor: 'bench',
    timestamp: new Date().toISOString(),
    commandId: randomUUID(),
  },
});

const progress = (msg: string) => process.stderr.write(`store-append: ${msg}\n`);

/** On a shared machine wall-clock rates depend on the load; the CPU-time rate shows what the store costs. */
const cpuNote = (since: NodeJS.CpuUsage, count: number): string => {
  const used = process.cpuUsage(since);
  const seconds = (used.user + used.system) / 1e6;
  return `${Math.round(count / seconds)}/s of this process's CPU time, including building the events`;
};

export async function measureAppends(dataDir: string): Promise<{ single_appends_per_s: number; batched_append_events_per_s: number }> {
  const dir = mkdtempSync(join(dataDir, 'store-append-'));
  const store = new SqliteEventStore({ path: join(dir, 'events.sqlite') });
  try {
    // Single appends with exact expected revisions over many streams, as command handlers append.
    // Events are built outside the timed sections: the figures are the store's.
    const revisions = new Map<string, bigint>();
    progress(`single-event appends for ${SINGLE_SECONDS} s (synchronous=${process.env.IRONLOG_SQLITE_SYNCHRONOUS ?? 'NORMAL'})`);
    let single = 0;
    let spent = 0;
    let cpu = process.cpuUsage();
    while (spent < SINGLE_SECONDS * 1000) {
      const chunk = Array.from({ length: 200 }, (_, k) => event(single + k));
      const t0 = performance.now();
      for (const e of chunk) {
        const stream = `node-${single % STREAMS}`;
        const r = await store.append(stream, [e], revisions.get(stream) ?? 'no_stream');
        revisions.set(stream, r.nextExpectedRevision);
        single++;
      }
      spent += performance.now() - t0;
    }
    const single_appends_per_s = Math.round(single / (spent / 1000));
    progress(`${single} single appends: ${single_appends_per_s}/s (${cpuNote(cpu, single)})`);

    progress(`batched appends of ${BATCH_SIZE} events for ${BATCH_SECONDS} s`);
    let batched = 0;
    let batches = 0;
    spent = 0;
    cpu = process.cpuUsage();
    while (spent < BATCH_SECONDS * 1000) {
      const events = Array.from({ length: BATCH_SIZE }, (_, i) => event(batched + i));
      const t0 = performance.now();
      await store.append(`batch-${batches++}`, events, 'no_stream');
      spent += performance.now() - t0;
      batched += events.length;
    }
    const batched_append_events_per_s = Math.round(batched / (spent / 1000));
    progress(`${batched} events in ${batches} batches: ${batched_append_events_per_s} events/s (${cpuNote(cpu, batched)})`);
    return { single_appends_per_s, batched_append_events_per_s };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dataDir = mkdtempSync(join(tmpdir(), 'ironlog-bench-'));
  try {
    const r = await measureAppends(dataDir);
    console.log(`single_appends_per_s: ${r.single_appends_per_s}`);
    console.log(`batched_append_events_per_s: ${r.batched_append_events_per_s}`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
