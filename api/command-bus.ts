// Commands the API runs itself (CRUD of nodes, ports, chassis...): the command handler
// (command-handling/execute.ts) decodes them with the kind's codec, decides, and appends.

import * as E from 'fp-ts/lib/Either.js';
import { execute } from '../command-handling/execute.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { CommandBus, Written } from './deps.ts';

export const storeCommandBus = (store: EventStore, clock: () => Date): CommandBus => ({
  async execute(kind, id, command, meta) {
    const r = await execute(
      store,
      kind,
      id,
      { commandId: meta.commandId, actor: meta.actor, correlationId: meta.correlationId, command },
      // every Create* command makes a new aggregate under an id that is new but for a client's
      // mistake (a uuid given twice): the store's no_stream check catches that, then it is read
      { now: clock, assumeNew: (command as { type: string }).type.startsWith('Create') },
    );
    return E.map((h: { position: bigint | undefined }): Written => ({ position: h.position }))(r);
  },
});

/** Ironic's timestamps: ISO 8601 with `+00:00`. */
export const isoTime = (d: Date): string => d.toISOString().replace('Z', '+00:00');
