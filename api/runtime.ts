// The API's real dependencies, composed: the event store (given), the projector running in this
// process over the read-model file (projections/runtime.ts), the command handler, the secret box,
// the clock, and the conductors (the in-process one until NATS conductors serve node work).
// When another process already projects into the read-model file (a second API process, or an
// all-in-one process that runs the projector), this one only reads the file and waits for its
// checkpoint to cover each write.

import { dirname } from 'node:path';
import { loadConfig, type IronlogConfig } from '../config/index.ts';
import { liveMembers } from '../domain/conductor/index.ts';
import type { SecretBox } from '../domain/secrets.ts';
import type { EventStore } from '../eventstore/port.ts';
import { defaultReadModelSettings, readModels as allReadModels, type ReadModelSettings } from '../projections/index.ts';
import { ReadModelsBusy } from '../projections/lease.ts';
import type { Projector } from '../projections/projector.ts';
import { startReadModels, waitForCheckpoint } from '../projections/runtime.ts';
import { ReadModelDb } from '../projections/store.ts';
import { storeCommandBus } from './command-bus.ts';
import type { ApiDeps, Conductors, ReadModels } from './deps.ts';
import type { MembershipView } from '../conductor/membership-view.ts';
import type { NodeRouter } from '../conductor/routing.ts';
import { Allocator } from './allocator.ts';
import { LocalConductor } from './local-conductor.ts';
import { natsConductors } from './nats-conductors.ts';
import { sqliteReadModels } from './read-models.ts';

export interface ApiRuntimeOptions {
  store: EventStore;
  /** `<dataDir>/readmodels.sqlite`: this process projects into it */
  readModelsPath: string;
  /** the loaded configuration's read-model settings (default: the environment's) */
  readModelSettings?: ReadModelSettings;
  secrets: SecretBox;
  clock?: () => Date;
  /** the in-process conductor's hostname (default `localhost`) */
  conductorHost?: string;
  conductorGroup?: string;
  /** hardware types the in-process conductor serves (default fake-hardware) */
  hardwareTypes?: string[];
  /** finish fake-hardware work at once (default true) */
  fakeWork?: boolean;
  /** route node work to conductors over NATS instead of the in-process conductor */
  nats?: { view: MembershipView; router: NodeRouter };
  /** replaces the in-process conductor with any other, built from the read models */
  conductors?: (readModels: ReadModels) => Conductors;
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export interface ApiRuntime {
  deps: ApiDeps;
  /** the in-process conductor, when it is the one in use */
  local: LocalConductor | undefined;
  /** the projector this process runs, or undefined when another process projects the file */
  projector: Projector | undefined;
  db: ReadModelDb;
  /** resolves once the work started after answering (fake completions, allocations) is done */
  idle(): Promise<void>;
  /** stops the projector and closes the read-model file (the store is the caller's) */
  stop(): Promise<void>;
}

export const startApiRuntime = async (o: ApiRuntimeOptions): Promise<ApiRuntime> => {
  const clock = o.clock ?? (() => new Date());
  const defaults = loadConfig({ IRONLOG_DATA_DIR: dirname(o.readModelsPath) });
  const ironlogConfig: IronlogConfig = {
    ...defaults,
    projections: { ...defaults.projections, nodeHistoryMaxEntries: (o.readModelSettings ?? defaultReadModelSettings()).nodeHistoryMaxEntries, readModelsPath: o.readModelsPath },
  };
  let projector: Projector | undefined;
  let db: ReadModelDb;
  let waitForPosition: (position: bigint, timeoutMs: number) => Promise<void>;
  let stopReads: () => Promise<void>;
  try {
    const started = startReadModels(o.store, ironlogConfig, { onError: (err) => o.log?.error({ err }, 'projector stopped') });
    try {
      await started.projector.caughtUp;
    } catch (err) {
      await started.stop().catch(() => undefined);
      throw err;
    }
    projector = started.projector;
    db = started.db;
    waitForPosition = (p, t) => started.waitForPosition(p, t);
    stopReads = () => started.stop();
  } catch (err) {
    if (!(err instanceof ReadModelsBusy)) throw err;
    // another process writes the read models: read them, and wait for its checkpoint
    const reader = ReadModelDb.open(o.readModelsPath, allReadModels());
    db = reader;
    waitForPosition = (p, t) => waitForCheckpoint(reader, o.store, p, t);
    stopReads = async () => reader.close();
  }
  const readModels = sqliteReadModels({ db: db.db, waitForPosition, foreignWriter: projector === undefined });
  const pending = new Set<Promise<void>>();
  const background = (work: () => Promise<void>) => {
    const p = new Promise<void>((r) => setImmediate(r)).then(work).catch((err: unknown) => o.log?.warn({ err }, 'background work failed'));
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  const host = o.conductorHost ?? 'localhost';
  let local: LocalConductor | undefined;
  let conductors: Conductors;
  if (o.conductors) conductors = o.conductors(readModels);
  else if (o.nats) {
    const view = o.nats.view;
    const allocator = new Allocator({
      store: o.store,
      readModels,
      actor: `api:${host}`,
      clock,
      serves: (driver) => liveMembers(view.state).some((m) => m.hardwareTypes.includes(driver)),
      background,
      ...(o.log ? { log: o.log } : {}),
    });
    conductors = natsConductors({ view, router: o.nats.router, allocator });
  } else {
    local = new LocalConductor({
      store: o.store,
      readModels,
      host,
      group: o.conductorGroup ?? '',
      hardwareTypes: o.hardwareTypes ?? ['fake-hardware'],
      clock,
      fakeWork: o.fakeWork ?? true,
      ...(o.log ? { log: o.log } : {}),
    });
    conductors = local;
  }
  const deps: ApiDeps = { readModels, commands: storeCommandBus(o.store, clock), conductors, secrets: o.secrets, clock, store: o.store };
  return {
    deps,
    local,
    projector,
    db,
    idle: async () => {
      await local?.idle();
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    stop: async () => {
      await local?.idle();
      while (pending.size > 0) await Promise.allSettled([...pending]);
      await stopReads();
    },
  };
};
