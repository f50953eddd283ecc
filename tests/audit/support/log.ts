// A real event log for the audit tests: the SQLite store in a temp dir, written through the
// domain's commands (command-handling/execute.ts), so every event is one the system would write.

import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { execute } from '../../../command-handling/execute.ts';
import type { AggregateKind } from '../../../domain/streams.ts';
import { sealSecrets } from '../../../domain/secrets.ts';
import type { RecordedEvent } from '../../../eventstore/port.ts';
import { openSqliteEventStore, type SqliteEventStore } from '../../../eventstore/sqlite.ts';
import { createSecretBox } from '../../../secrets/secret-box.ts';

export const BMC_PASSWORD = 'Audit-BMC-Pa55word-41c9';

export interface TestLog {
  dir: string;
  store: SqliteEventStore;
  run(kind: AggregateKind, id: string, command: { type: string; data: Record<string, unknown> }, actor?: string): Promise<bigint>;
  /** creates a node (sealed BMC password, optional name); returns its uuid */
  createNode(name?: string): Promise<string>;
  /** one event: maintenance on, or off when it is on */
  toggleMaintenance(uuid: string): Promise<bigint>;
  /** every event of the public streams (no claim streams), in log order */
  publicEvents(): Promise<RecordedEvent[]>;
  dispose(): Promise<void>;
}

export const openTestLog = (): TestLog => {
  const dir = mkdtempSync(join(tmpdir(), 'ironlog-audit-'));
  const store = openSqliteEventStore({ path: join(dir, 'events.sqlite') });
  const box = createSecretBox(randomBytes(32));
  const maintenance = new Map<string, boolean>();
  const at = () => new Date().toISOString();
  const run: TestLog['run'] = async (kind, id, command, actor = 'admin') => {
    const r = await execute(store, kind, id, { commandId: randomUUID(), actor, correlationId: `req-${randomUUID()}`, command });
    if (E.isLeft(r)) throw new Error(`${command.type}: ${r.left.errorClass}: ${r.left.message}`);
    if (r.right.position === undefined) throw new Error(`${command.type} appended nothing`);
    return r.right.position;
  };
  return {
    dir,
    store,
    run,
    createNode: async (name) => {
      const uuid = randomUUID();
      const driverInfo = sealSecrets({ ipmi_address: '192.0.2.10', ipmi_username: 'admin', ipmi_password: BMC_PASSWORD }, box, 'driver_info');
      await run('node', uuid, { type: 'CreateNode', data: { uuid, at: at(), fields: { driver: 'fake-hardware', driver_info: driverInfo, ...(name ? { name } : {}) } } });
      return uuid;
    },
    toggleMaintenance: async (uuid) => {
      const on = maintenance.get(uuid) ?? false;
      maintenance.set(uuid, !on);
      return on
        ? run('node', uuid, { type: 'ClearMaintenance', data: { uuid, at: at() } })
        : run('node', uuid, { type: 'SetMaintenance', data: { uuid, at: at(), reason: 'audit test' } });
    },
    publicEvents: async () => (await store.readAll()).filter((e) => !e.streamId.startsWith('claim-')),
    dispose: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
