// The API's real dependencies, composed: the event store (given), the projector running in this
// process over the read-model file (projections/runtime.ts), the command handler, the secret box,
// the clock, and the conductors (the in-process one until NATS conductors serve node work).

import { dirname } from 'node:path';
import type { SecretBox } from '../domain/secrets.ts';
import type { EventStore } from '../eventstore/port.ts';
import { startReadModels, type ReadModels as StartedReadModels } from '../projections/runtime.ts';
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
  readModels: StartedReadModels;
  /** stops the projector and closes the read-model file (the store is the caller's) */
  stop(): Promise<void>;
}

export const startApiRuntime = async (o: ApiRuntimeOptions): Promise<ApiRuntime> => {
  const clock = o.clock ?? (() => new Date());
  const started = startReadModels(
    o.store,
    { store: { dataDir: dirname(o.readModelsPath), eventstoreUrl: undefined }, projections: { readModelsPath: o.readModelsPath } },
    { onError: (err) => o.log?.error({ err }, 'projector stopped') },
  );
  try {
    await started.projector.caughtUp;
  } catch (err) {
    await started.stop().catch(() => undefined);
    throw err;
  }
  const readModels = sqliteReadModels({ db: started.db.db, waitForPosition: (p, t) => started.waitForPosition(p, t) });
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
    readModels: started,
    stop: async () => {
      await local?.idle();
      await started.stop();
    },
  };
};
