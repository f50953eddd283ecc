import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
const md = () => JSON.stringify({ correlationId: randomUUID(), causationId: randomUUID(), actor: 'a', timestamp: new Date().toISOString(), commandId: randomUUID() });
for (const mode of ['4096', '1024', '2048', '4096', '1024', '2048']) {
  const db = new Database(join(mkdtempSync(join(tmpdir(), 'mr-')), 'e.sqlite'));
  db.pragma('page_size = ' + mode); db.pragma('journal_mode = WAL'); db.pragma('synchronous = NORMAL'); db.pragma('cache_size = -65536'); db.pragma('wal_autocheckpoint = 4000');
  db.exec(`CREATE TABLE events (position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, revision INTEGER NOT NULL, event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, created INTEGER NOT NULL, UNIQUE(stream_id, revision))`);
  const ins1 = db.prepare('INSERT INTO events (stream_id, revision, event_id, type, data, metadata, created) VALUES (?,?,?,?,?,?,?)');
  const ins50 = db.prepare('INSERT INTO events (stream_id, revision, event_id, type, data, metadata, created) VALUES ' + Array(50).fill('(?,?,?,?,?,?,?)').join(','));
  const rows = Array.from({ length: 100000 }, (_, i) => [`batch-${Math.floor(i / 500)}`, i % 500, randomUUID(), 'T', JSON.stringify({ nodeUuid: randomUUID(), i }), md(), Date.now()]);
  const cpu0 = process.cpuUsage(); const t = performance.now();
  for (let b = 0; b < 200; b++) {
    db.exec('BEGIN IMMEDIATE');
    if (true) for (let i = 0; i < 500; i++) ins1.run(...rows[b * 500 + i]);
    else for (let i = 0; i < 500; i += 50) ins50.run(...rows.slice(b * 500 + i, b * 500 + i + 50).flat());
    db.exec('COMMIT');
  }
  const cpu = process.cpuUsage(cpu0);
  console.log(mode, 'wall ev/s', Math.round(100000 / (performance.now() - t) * 1000), 'cpu ev/s', Math.round(100000 / ((cpu.user + cpu.system) / 1e6)), 'user', (cpu.user / 1e6).toFixed(2), 'sys', (cpu.system / 1e6).toFixed(2));
  db.close();
}
