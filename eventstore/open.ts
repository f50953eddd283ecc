// Picks the event store adapter from configuration: EventStoreDB when a URL is given, otherwise
// the embedded SQLite file in the data directory.

import { join } from 'node:path';
import type { EventStore } from './port.ts';
import { SqliteEventStore } from './sqlite.ts';
import type { SqliteEventStoreOptions } from './sqlite.ts';

export interface OpenEventStoreOptions {
  /** IRONLOG_DATA_DIR: the embedded store lives in `<dataDir>/events.sqlite` */
  dataDir: string;
  /** EVENTSTORE_URL (`esdb://…`, `esdb+discover://…`): selects the EventStoreDB adapter */
  eventstoreUrl?: string;
  /** tuning of the embedded store (defaults come from IRONLOG_SQLITE_* variables) */
  sqlite?: Omit<SqliteEventStoreOptions, 'path'>;
}

export const sqlitePath = (dataDir: string): string => join(dataDir, 'events.sqlite');

export async function openEventStore(options: OpenEventStoreOptions): Promise<EventStore> {
  const url = options.eventstoreUrl?.trim();
  if (url) {
    if (!/^esdb(\+discover)?:\/\//i.test(url)) {
      throw new Error(`EVENTSTORE_URL must start with esdb:// or esdb+discover://, not "${url}"`);
    }
    // Loaded only when used: the gRPC client is heavy and most installations never need it.
    const { openEventStoreDb } = await import('./eventstoredb.ts');
    return openEventStoreDb(url);
  }
  return new SqliteEventStore({ ...options.sqlite, path: sqlitePath(options.dataDir) });
}
