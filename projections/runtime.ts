// How the rest of ironlog uses the read models: one process runs the projector over
// `<dataDir>/readmodels.sqlite` (startReadModels); any process may read the file and wait for
// its checkpoint to cover a write (waitForCheckpoint).

import type { IronlogConfig } from '../config/index.ts';
import type { EventStore } from '../eventstore/port.ts';
import { productionDomain } from './domain.ts';
import type { ProjectionDomain } from './domain-port.ts';
import { readModels } from './index.ts';
import { Projector } from './projector.ts';
import { sourcePrefix, type SourceKind } from './sources.ts';
import { ReadModelDb } from './store.ts';

export interface ReadModels {
  db: ReadModelDb;
  projector: Projector;
  /** resolves once every read model reflects the log up to `position` */
  waitForPosition(position: bigint, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export const openReadModelDb = (config: IronlogConfig): ReadModelDb => ReadModelDb.open(config.projections.readModelsPath, readModels(config.projections));

/** Opens the read-model file and starts projecting the log into it (this process becomes its writer). */
export const startReadModels = (
  store: EventStore,
  config: IronlogConfig,
  options: { domain?: ProjectionDomain; onError?: (err: Error) => void } = {},
): ReadModels => {
  const db = openReadModelDb(config);
  const projector = new Projector({ store, db, domain: options.domain ?? productionDomain, onError: options.onError });
  try {
    projector.start();
  } catch (err) {
    db.close();
    throw err;
  }
  return {
    db,
    projector,
    waitForPosition: (p, t) => projector.waitForPosition(p, t),
    stop: async () => {
      await projector.stop();
      db.close();
    },
  };
};

const followedPrefixes = (): string[] => {
  const kinds = new Set<SourceKind>(readModels().flatMap((m) => m.kinds));
  kinds.delete('conductor');
  return [...kinds].map(sourcePrefix);
};

/**
 * For a process that reads a file another process projects into: resolves once the stored
 * checkpoint covers `position` (or nothing the read models follow lies between them).
 * `position` 'head' = the end of the log now.
 */
export const waitForCheckpoint = async (db: ReadModelDb, store: EventStore, position: bigint | 'head', timeoutMs = 5000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  const target = position === 'head' ? await store.headPosition() : position;
  if (target === 'start') return;
  const prefixes = followedPrefixes();
  for (;;) {
    const cp = db.checkpoint();
    if (cp !== 'start' && cp >= target) return;
    const next = await store.readAll({ after: cp, maxCount: 1, streamPrefixes: prefixes });
    if (next.length === 0 || next[0].position > target) return;
    if (Date.now() > deadline) throw new Error(`read models did not reach position ${target} within ${timeoutMs} ms (at ${String(cp)})`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
