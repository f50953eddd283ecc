// ironlog's configuration, read once from the environment (see ../shared/conventions.md).
// One typed object; each part of the system reads only its own section. Others extend this
// file with their sections; keep every default here so `loadConfig()` is the single source.

import * as path from 'node:path';
import { loadConductorConfig, type ConductorConfig } from '../conductor/config.ts';

export interface StoreConfig {
  /** absolute data directory: the embedded event store file, read models, generated keys */
  dataDir: string;
  /** `esdb://…` selects the EventStoreDB adapter; undefined = the embedded SQLite store */
  eventstoreUrl: string | undefined;
}

export interface ProjectionsConfig {
  /** the read-model database: `<dataDir>/readmodels.sqlite` */
  readModelsPath: string;
  /**
   * worker threads of `ironlog projections rebuild` (IRONLOG_REBUILD_WORKERS, default 1). More
   * than 1 partitions the streams across threads: faster on idle cores, but each partition scans
   * the whole log and keeps its own caches (more CPU and memory in total).
   */
  rebuildWorkers: number;
  /**
   * Ironic's `[conductor] node_history_max_entries` (IRONLOG_NODE_HISTORY_MAX_ENTRIES, default
   * 300): the history model keeps a node's newest N records. 0 keeps them all, as in Ironic, whose
   * trimming task is off when it is 0. Only the read model is trimmed, never the log.
   */
  nodeHistoryMaxEntries: number;
}

export interface IronlogConfig {
  store: StoreConfig;
  projections: ProjectionsConfig;
}

/** What loadConfig returns: every section, the conductor's included (read by conductor/config.ts;
 * its variables are listed in conductor/README.md). A separate type so that code building an
 * IronlogConfig by hand (tests, the API runtime) need not invent a conductor. */
export interface LoadedConfig extends IronlogConfig {
  conductor: ConductorConfig;
}

type Env = Readonly<Record<string, string | undefined>>;

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v.trim());

const positiveInt = (v: string | undefined, name: string): number | undefined => {
  const t = nonEmpty(v);
  if (t === undefined) return undefined;
  const n = Number(t);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, not "${t}"`);
  return n;
};

const nonNegativeInt = (v: string | undefined, name: string): number | undefined => {
  const t = nonEmpty(v);
  if (t === undefined) return undefined;
  const n = Number(t);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, not "${t}"`);
  return n;
};

/** Ironic's default for node_history_max_entries */
export const defaultNodeHistoryMaxEntries = 300;

/** IRONLOG_NODE_HISTORY_MAX_ENTRIES on its own (readModels()' default where no config is loaded). */
export const nodeHistoryMaxEntries = (env: Env = process.env): number =>
  nonNegativeInt(env.IRONLOG_NODE_HISTORY_MAX_ENTRIES, 'IRONLOG_NODE_HISTORY_MAX_ENTRIES') ?? defaultNodeHistoryMaxEntries;

export const readModelsFile = 'readmodels.sqlite';

export const loadConfig = (env: Env = process.env, cwd: string = process.cwd()): LoadedConfig => {
  const dataDir = path.resolve(cwd, nonEmpty(env.IRONLOG_DATA_DIR) ?? './data');
  return {
    store: { dataDir, eventstoreUrl: nonEmpty(env.EVENTSTORE_URL) },
    projections: {
      readModelsPath: path.join(dataDir, readModelsFile),
      rebuildWorkers: positiveInt(env.IRONLOG_REBUILD_WORKERS, 'IRONLOG_REBUILD_WORKERS') ?? 1,
      nodeHistoryMaxEntries: nodeHistoryMaxEntries(env),
    },
    conductor: loadConductorConfig(env),
  };
};
