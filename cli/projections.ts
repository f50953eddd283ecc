// `ironlog projections rebuild [--verify]`
//   rebuild            rebuilds every read model from the log into a fresh file and swaps it in
//                      (refused while a running ironlog holds the read models)
//   rebuild --verify   rebuilds into a scratch file up to the live read models' checkpoint and
//                      compares; exits 1 listing every difference, 0 when they agree

import * as fs from 'node:fs';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import Database from 'better-sqlite3';
import { loadConfig } from '../config/index.ts';
import { openEventStore } from '../eventstore/open.ts';
import { productionDomain } from '../projections/domain.ts';
import { readModels } from '../projections/index.ts';
import { ReadModelsBusy } from '../projections/lease.ts';
import { compareReadModels, rebuild, swapIn } from '../projections/rebuild.ts';
import { removeDbFiles } from '../projections/store.ts';

const usage = 'usage: ironlog projections rebuild [--verify]\n';

const checkpointOf = (db: Database.Database): bigint | 'start' => {
  const rows = db.prepare<[], { position: bigint }>('SELECT position FROM checkpoints').safeIntegers(true).all();
  if (rows.length === 0) return 'start';
  return rows.reduce((m, r) => (r.position < m ? r.position : m), rows[0].position);
};

export const run = async (args: string[]): Promise<number> => {
  const [sub, ...flags] = args;
  const unknown = flags.filter((f) => f !== '--verify');
  if (sub !== 'rebuild' || unknown.length > 0) {
    process.stderr.write(usage);
    return 2;
  }
  const verify = flags.includes('--verify');
  // bin/ironlog.js's node options are `ironlog start`'s, for a small idle footprint; a rebuild is a
  // batch job that ends with the process: V8's own heap growing (measured: the rebuild's CPU
  // 16.3–17.6 s with the 10% growth step, 13.4 s without, 1M events)
  setFlagsFromString('--heap-growing-percent=0');
  const config = loadConfig();
  const liveFile = config.projections.readModelsPath;
  const scratch = path.join(path.dirname(liveFile), `readmodels.rebuild-${process.pid}.sqlite`);
  const settings = { nodeHistoryMaxEntries: config.projections.nodeHistoryMaxEntries };
  const models = readModels(settings);
  const parallel = { workers: config.projections.rebuildWorkers, location: { dataDir: config.store.dataDir, eventstoreUrl: config.store.eventstoreUrl }, settings };
  const store = await openEventStore({ dataDir: config.store.dataDir, eventstoreUrl: config.store.eventstoreUrl });
  try {
    if (!verify) {
      const r = await rebuild({ store, domain: productionDomain, models, file: scratch, ...parallel });
      swapIn(scratch, liveFile);
      process.stdout.write(`rebuilt ${models.length} read models from ${r.events} events (position ${String(r.position)}) in ${(r.ms / 1000).toFixed(1)} s\n`);
      return 0;
    }
    if (!fs.existsSync(liveFile)) {
      process.stderr.write(`no live read models at ${liveFile}\n`);
      return 1;
    }
    // one read transaction: the live file is compared exactly as it was at its checkpoint
    const live = new Database(liveFile, { readonly: true, fileMustExist: true, timeout: 5000 });
    try {
      live.exec('BEGIN');
      const livePosition = checkpointOf(live);
      const r = await rebuild({ store, domain: productionDomain, models, file: scratch, until: livePosition === 'start' ? 0n : livePosition, ...parallel });
      const rebuilt = new Database(scratch, { readonly: true });
      let diffs: string[];
      try {
        diffs = compareReadModels(live, rebuilt, models);
      } finally {
        rebuilt.close();
      }
      live.exec('COMMIT');
      const head = await store.headPosition();
      if (head !== 'start' && (livePosition === 'start' || livePosition < head)) {
        process.stderr.write(`note: the live read models are at position ${String(livePosition)}; the log ends at ${String(head)}\n`);
      }
      if (diffs.length > 0) {
        for (const d of diffs) process.stdout.write(`${d}\n`);
        process.stdout.write(`${diffs.length} difference${diffs.length === 1 ? '' : 's'} between the live read models and a rebuild from the log (position ${String(livePosition)})\n`);
        return 1;
      }
      process.stdout.write(`read models verified: ${models.length} models match a rebuild of ${r.events} events (position ${String(livePosition)})\n`);
      return 0;
    } finally {
      live.close();
      removeDbFiles(scratch);
    }
  } catch (err) {
    removeDbFiles(scratch);
    if (err instanceof ReadModelsBusy) {
      process.stderr.write(`ironlog projections rebuild: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await store.close();
  }
};
