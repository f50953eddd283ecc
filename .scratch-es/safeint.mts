import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const db = new Database(join(mkdtempSync(join(tmpdir(), 'si-')), 'e.sqlite'));
db.exec(`CREATE TABLE events (position INTEGER PRIMARY KEY, stream_id TEXT, revision INTEGER, event_id TEXT, type TEXT, data TEXT, metadata TEXT, created INTEGER)`);
db.prepare(`WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM s WHERE x < 200000) INSERT INTO events SELECT x, 'node-'||(x%1000), x/1000, 'id-'||x, 'T', '{"a":1}', '{"b":2}', 0 FROM s`).run();
const plain = db.prepare('SELECT * FROM events WHERE position > ? LIMIT 5000').raw();
const safe = db.prepare('SELECT * FROM events WHERE position > ? LIMIT 5000').raw().safeIntegers(true);
for (const [name, st, conv] of [['numbers+BigInt()', plain, true], ['safeIntegers', safe, false], ['numbers+BigInt()', plain, true], ['safeIntegers', safe, false]] as const) {
  const t = performance.now(); let acc = 0n;
  for (let p = 0; p < 200000; p += 5000) for (const r of st.all(p) as any[]) { acc += conv ? BigInt(r[0]) + BigInt(r[2]) : (r[0] as bigint) + (r[2] as bigint); }
  console.log(name, Math.round(200000 / (performance.now() - t) * 1000), 'rows/s');
}
