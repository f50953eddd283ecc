// `ironlog history <node uuid or name>`: the node's whole event timeline (every event of its
// stream: time, revision, global position, type, actor, correlation and causation ids), then its
// Ironic node-history records. The read models are brought up to the end of the log first: by
// this process when no one else projects them, otherwise by waiting for the process that does.

import { loadConfig } from '../config/index.ts';
import { openEventStore } from '../eventstore/open.ts';
import { productionDomain } from '../projections/domain.ts';
import { nodeHistory, nodeName, resolveHistoryNode, timeline } from '../projections/history.ts';
import { readModels } from '../projections/index.ts';
import { leaseHolder } from '../projections/lease.ts';
import { Projector } from '../projections/projector.ts';
import { waitForCheckpoint } from '../projections/runtime.ts';
import { ReadModelDb } from '../projections/store.ts';

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

export const run = async (args: string[]): Promise<number> => {
  const json = args.includes('--json');
  const idents = args.filter((a) => a !== '--json');
  if (idents.length !== 1) {
    process.stderr.write('usage: ironlog history <node uuid or name> [--json]\n');
    return 2;
  }
  const ident = idents[0];
  const config = loadConfig();
  const store = await openEventStore({ dataDir: config.store.dataDir, eventstoreUrl: config.store.eventstoreUrl });
  const db = ReadModelDb.open(config.projections.readModelsPath, readModels(config.projections));
  try {
    if (leaseHolder(db.file) === undefined) {
      const projector = new Projector({ store, db, domain: productionDomain });
      projector.start();
      try {
        await projector.caughtUp;
      } finally {
        await projector.stop();
      }
    } else {
      await waitForCheckpoint(db, store, 'head', 10_000);
    }
    const uuid = resolveHistoryNode(db.db, ident);
    if (!uuid) {
      process.stderr.write(`Node ${ident} could not be found.\n`);
      return 1;
    }
    const entries = timeline(db.db, uuid);
    const page = nodeHistory(db.db, uuid);
    const records = 'records' in page ? page.records : [];
    if (json) {
      const out = {
        node: { uuid, name: nodeName(db.db, uuid) },
        timeline: entries.map((e) => ({ ...e, revision: Number(e.revision), position: e.position.toString() })),
        history: records,
      };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      return 0;
    }
    const name = nodeName(db.db, uuid);
    process.stdout.write(`node ${uuid}${name ? ` (${name})` : ''}: ${entries.length} events\n`);
    process.stdout.write(`${pad('TIME', 25)} ${pad('REV', 5)} ${pad('POSITION', 10)} ${pad('TYPE', 28)} ${pad('ACTOR', 24)} ${pad('CORRELATION', 38)} CAUSATION\n`);
    for (const e of entries) {
      process.stdout.write(
        `${pad(e.time, 25)} ${pad(String(e.revision), 5)} ${pad(String(e.position), 10)} ${pad(e.type, 28)} ${pad(e.actor, 24)} ${pad(e.correlationId, 38)} ${e.causationId}\n`,
      );
    }
    if (records.length > 0) {
      process.stdout.write(`\nnode history (${records.length}):\n`);
      for (const r of records) {
        process.stdout.write(`${pad(r.created_at, 25)} ${pad(r.severity, 6)} ${pad(r.event_type, 14)} ${r.event}${r.conductor ? ` [conductor ${r.conductor}]` : ''}${r.user ? ` [user ${r.user}]` : ''}\n`);
      }
    }
    return 0;
  } finally {
    db.close();
    await store.close();
  }
};
