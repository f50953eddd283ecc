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

const shared = new Map<string, { store: Promise<EventStore>; refs: number }>();

/**
 * The process's one store for a location: `ironlog start` runs the API, its conductors and the
 * publisher in one process, and they share one SQLite connection instead of one each. With a
 * connection each, every commit of one made the others drop their page caches and re-read
 * (measured ~2% of the API's CPU per create in SQLite's cache truncation alone), and each held
 * its own page cache. Each caller gets a handle whose `close()` releases its share; the last one
 * closes the store. The first caller's options open it.
 */
export async function openSharedEventStore(options: OpenEventStoreOptions): Promise<EventStore> {
  const key = options.eventstoreUrl?.trim() || sqlitePath(options.dataDir);
  let entry = shared.get(key);
  if (!entry) {
    entry = { store: openEventStore(options), refs: 0 };
    shared.set(key, entry);
    const opening = entry;
    opening.store.catch(() => {
      if (shared.get(key) === opening) shared.delete(key);
    });
  }
  entry.refs++;
  const held = entry;
  const store = await held.store;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    if (--held.refs > 0) return;
    if (shared.get(key) === held) shared.delete(key);
    await store.close();
  };
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'close') return close;
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      let f = bound.get(prop);
      if (f === undefined) bound.set(prop, (f = (v as (...a: unknown[]) => unknown).bind(target)));
      return f;
    },
  });
}
