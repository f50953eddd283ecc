// Builds an API app for a test on the REAL stack: the SQLite event store in a temp dir, the
// projector and read models, the command handler and the in-process conductor. No logging,
// noauth unless told otherwise. Helpers seed nodes in any state (as stored events), count the
// events in the log (to prove a refused request wrote nothing) and inject one failure.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../api/app.ts';
import { loadApiConfig, type ApiConfig } from '../../../api/config.ts';
import type { ApiDeps } from '../../../api/deps.ts';
import type { LocalConductor } from '../../../api/local-conductor.ts';
import { startApiRuntime, type ApiRuntime } from '../../../api/runtime.ts';
import type { DomainError } from '../../../domain/errors.ts';
import type { Node } from '../../../domain/node/node.ts';
import { SqliteEventStore } from '../../../eventstore/sqlite.ts';
import type { RecordedEvent } from '../../../eventstore/port.ts';
import { createSecretBox } from '../../../secrets/secret-box.ts';
import { nodeSeeder } from './seed.ts';

export interface TestApp {
  app: FastifyInstance;
  config: ApiConfig;
  store: SqliteEventStore;
  runtime: ApiRuntime;
  deps: ApiDeps;
  local: LocalConductor;
  /** every event in the log, oldest first */
  events(): Promise<RecordedEvent[]>;
  /** how many events the log holds */
  count(): Promise<number>;
  /** appends a NodeCreated holding this node (any state), and waits for the read models */
  seedNode(fields: Partial<Node>): Promise<Node>;
  /** appends raw node events (e.g. NodeReserved) and waits for the read models */
  appendNodeEvents(uuid: string, events: Array<{ type: string; data: unknown }>): Promise<void>;
  /** the next command (through the handler or a conductor) fails with this error */
  failNext(e: DomainError): void;
  /** waits for the in-process conductor's background work */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** finish fake-hardware work at once (default true) */
  fakeWork?: boolean;
}

export const testApp = async (env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ironlog-api-'));
  const config = loadApiConfig({ IRONLOG_DATA_DIR: dataDir, IRONLOG_AUTH_STRATEGY: 'noauth', ...env });
  const store = new SqliteEventStore({ path: join(dataDir, 'events.sqlite') });
  const runtime = await startApiRuntime({
    store,
    readModelsPath: join(dataDir, 'readmodels.sqlite'),
    secrets: createSecretBox(randomBytes(32)),
    conductorHost: 'test-conductor',
    fakeWork: options.fakeWork ?? true,
  });
  let failure: DomainError | undefined;
  const takeFailure = (): DomainError | undefined => {
    const f = failure;
    failure = undefined;
    return f;
  };
  const real = runtime.deps;
  const deps: ApiDeps = {
    ...real,
    commands: {
      execute: async (kind, id, command, meta) => {
        const f = takeFailure();
        return f ? E.left(f) : real.commands.execute(kind, id, command, meta);
      },
    },
    conductors: {
      ownerOf: (n) => real.conductors.ownerOf(n),
      hardwareTypes: () => real.conductors.hardwareTypes(),
      extraConductors: () => real.conductors.extraConductors(),
      allocate: (u, m) => real.conductors.allocate(u, m),
      call: (n, action, args, m) => real.conductors.call(n, action, args, m),
      callDriver: (d, action, args, m) => real.conductors.callDriver(d, action, args, m),
      request: async (node, command, meta) => {
        const f = takeFailure();
        return f ? E.left(f) : real.conductors.request(node, command, meta);
      },
    },
  };
  let app: FastifyInstance;
  try {
    app = buildApp(deps, config, { logger: false });
    await app.ready();
  } catch (err) {
    await runtime.stop();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }

  const { caughtUp: waitHead, appendNodeEvents, seedNode } = nodeSeeder(store, real.readModels);

  return {
    app,
    config,
    store,
    runtime,
    deps,
    local: runtime.local!,
    events: () => store.readAll(),
    count: async () => (await store.readAll()).length,
    seedNode,
    appendNodeEvents,
    failNext: (e) => {
      failure = e;
    },
    idle: async () => {
      await runtime.idle();
      await waitHead();
    },
    close: async () => {
      await app.close();
      await runtime.stop();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
};

export const writeHtpasswd = (lines: string[]): string => {
  const dir = mkdtempSync(join(tmpdir(), 'ironlog-htpasswd-'));
  const file = join(dir, 'htpasswd');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
};

/** Decodes Ironic's double-encoded error body. */
export const innerError = (body: string): Record<string, unknown> => {
  const outer = JSON.parse(body) as { error_message: string };
  if (typeof outer.error_message !== 'string') throw new Error(`not an Ironic error body: ${body}`);
  return JSON.parse(outer.error_message) as Record<string, unknown>;
};

export const latest = { 'x-openstack-ironic-api-version': 'latest' };
export const v = (version: string) => ({ 'x-openstack-ironic-api-version': version });
