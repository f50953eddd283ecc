import { SqliteEventStore } from '../eventstore/sqlite.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
const ac = process.argv[2];
const md = () => ({ correlationId: randomUUID(), causationId: randomUUID(), actor: 'a', timestamp: new Date().toISOString(), commandId: randomUUID() });
const s = new SqliteEventStore({ path: join(mkdtempSync(join(tmpdir(), 'es-')), 'events.sqlite') });
if (ac) (s as any).db.pragma(`wal_autocheckpoint = ${ac}`);
const N = 30000; const revs = new Map<string, bigint>();
const cpu0 = process.cpuUsage(); const t = performance.now();
for (let i = 0; i < N; i++) { const st = `node-${i % 1000}`; const r = await s.append(st, [{ id: randomUUID(), type: 'T', data: { nodeUuid: randomUUID(), i, powerState: 'power on' }, metadata: md() }], revs.get(st) ?? 'no_stream'); revs.set(st, r.nextExpectedRevision); }
const dt = performance.now() - t; const cpu = process.cpuUsage(cpu0);
console.log(`ac=${ac}`, 'single/s', Math.round(N / dt * 1000), 'cpu-bound/s', Math.round(N / ((cpu.user + cpu.system) / 1e6)), 'user', (cpu.user/1e6).toFixed(2), 'sys', (cpu.system/1e6).toFixed(2));
await s.close();
