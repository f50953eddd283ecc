// The API's real dependencies, composed: the event store (given), the projector running in this
// process over the read-model file (projections/runtime.ts), the command handler, the secret box,
// the clock, and the conductors (the in-process one until NATS conductors serve node work).
// When another process already projects into the read-model file (a second API process, or an
// all-in-one process that runs the projector), this one only reads the file and waits for its
// checkpoint to cover each write.

import { dirname } from 'node:path';
import type { SecretBox } from '../domain/secrets.ts';
import type { EventStore } from '../eventstore/port.ts';
import { readModels as allReadModels } from '../projections/index.ts';
import { ReadModelsBusy } from '../projections/lease.ts';
import type { Projector } from '../projections/projector.ts';
import { startReadModels, waitForCheckpoint } from '../projections/runtime.ts';
import { ReadModelDb } from '../projections/store.ts';
import { storeCommandBus } from './command-bus.ts';
import type { ApiDeps, Conductors, ReadModels } from './deps.ts';
import { LocalConductor } from './local-conductor.ts';
import { sqliteReadModels } from './read-models.ts';

export interface ApiRuntimeOptions {
  store: EventStore;
  /** `<dataDir>/readmodels.sqlite`: this process projects into it */
  readModelsPath: string;
  secrets: SecretBox;
  clock?: () => Date;
  /** the in-process conductor's hostname (default `localhost`) */
  conductorHost?: string;
  conductorGroup?: string;
  /** hardware types the in-process conductor serves (default fake-hardware) */
  hardwareTypes?: string[];
  /** finish fake-hardware work at once (default true) */
  fakeWork?: boolean;
  /** replaces the in-process conductor (e.g. a NATS client), built from the read models */
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
  /** stops the projector and closes the read-model file (the store is the caller's) */
  stop(): Promise<void>;
}

export const startApiRuntime = async (o: ApiRuntimeOptions): Promise<ApiRuntime> => {
  const clock = o.clock ?? (() => new Date());
  const ironlogConfig = { store: { dataDir: dirname(o.readModelsPath), eventstoreUrl: undefined }, projections: { readModelsPath: o.readModelsPath } };
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
  const readModels = sqliteReadModels({ db: db.db, waitForPosition });
  const local = o.conductors
    ? undefined
    : new LocalConductor({
        store: o.store,
        readModels,
        host: o.conductorHost ?? 'localhost',
        group: o.conductorGroup ?? '',
        hardwareTypes: o.hardwareTypes ?? ['fake-hardware'],
        clock,
        fakeWork: o.fakeWork ?? true,
        ...(o.log ? { log: o.log } : {}),
      });
  const conductors = o.conductors ? o.conductors(readModels) : local!;
  const deps: ApiDeps = { readModels, commands: storeCommandBus(o.store, clock), conductors, secrets: o.secrets, clock };
  return {
    deps,
    local,
    projector,
    db,
    stop: async () => {
      await local?.idle();
      await stopReads();
    },
  };
};
