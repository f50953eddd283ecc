// The port's contract against the embedded SQLite adapter: a fresh file per test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventStoreContract } from '../../eventstore/contract.ts';
import { SqliteEventStore } from '../../eventstore/sqlite.ts';

const root = mkdtempSync(join(tmpdir(), 'ironlog-es-contract-'));
let n = 0;

const test = eventStoreContract('sqlite', async () => new SqliteEventStore({ path: join(root, `t${n++}`, 'events.sqlite') }));
test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
