// The periodic power-state sync (conductor/executor/power-sync.ts): the pure decision, and one
// in-process conductor over a private nats-server whose hardware type reads a power state that
// drifts from the recorded one (recorded as observed) or fails to read it (maintenance with
// fault "power failure" after IRONLOG_POWER_STATE_SYNC_MAX_RETRIES failures in a row).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from '../support/nats.ts';
import { handleCommand, loadAggregate } from '../../command-handling/handle.ts';
import { loadConductorConfig } from '../../conductor/config.ts';
import { startConductor, type Conductor } from '../../conductor/conductor.ts';
import { conductorExecutor, type ConductorExecutor } from '../../conductor/executor/index.ts';
import { decidePowerSync, type PowerSync } from '../../conductor/executor/power-sync.ts';
import { connectNats } from '../../conductor/nats.ts';
import { nodeBinding } from '../../conductor/node-binding.ts';
import { startTakeover, type Takeover } from '../../conductor/takeover.ts';
import { silentLog } from '../../conductor/log.ts';
import type { Node } from '../../domain/node/index.ts';
import type { PowerState } from '../../domain/power/states.ts';
import { streamId } from '../../domain/streams.ts';
import { driverFailure, type PowerInterface } from '../../drivers/base.ts';
import { fakeHardware } from '../../drivers/fake/index.ts';
import type { HardwareType } from '../../drivers/hardware-type.ts';
import { openEventStore } from '../../eventstore/open.ts';
import type { EventStore } from '../../eventstore/port.ts';

const node = (power: PowerState | null): Node => ({ uuid: 'n-1', power_state: power } as Node);

test('decidePowerSync: a change is observed, failures count up to maintenance, a success resets them', () => {
  assert.equal(decidePowerSync(node('power off'), { ok: true, state: 'power off' }, 0, 3), { kind: 'none', failures: 0 });
  assert.equal(decidePowerSync(node(null), { ok: true, state: 'power on' }, 0, 3), { kind: 'observe', failures: 0, powerState: 'power on' });
  assert.equal(decidePowerSync(node('power on'), { ok: false, error: 'BMC down' }, 0, 3), { kind: 'none', failures: 1 });
  assert.equal(decidePowerSync(node('power on'), { ok: false, error: 'BMC down' }, 1, 3), { kind: 'none', failures: 2 });
  const third = decidePowerSync(node('power on'), { ok: false, error: 'BMC down' }, 2, 3);
  assert.is(third.kind, 'maintenance');
  if (third.kind === 'maintenance') assert.match(third.reason, /^During sync_power_state, max retries exceeded for node n-1, .*Switching node to maintenance mode\. Error: BMC down$/);
  assert.equal(decidePowerSync(node('power on'), { ok: true, state: 'power on' }, 2, 3), { kind: 'none', failures: 0 });
});

// a hardware type whose BMC reports what `bmc` says, or fails for the nodes in `broken`
const bmc = new Map<string, PowerState>();
const broken = new Set<string>();
const flaky = (): HardwareType => {
  const fake = fakeHardware({ stepDelayMs: 0 });
  const base = fake.implementations.power[0][1];
  const power: PowerInterface = {
    ...base,
    getPowerState: async (task) => {
      if (broken.has(task.node.uuid)) throw driverFailure('InvalidParameterValue', 'IPMI call failed: timeout');
      return bmc.get(task.node.uuid) ?? task.node.power_state;
    },
  };
  return { name: 'flaky-hardware', implementations: { ...fake.implementations, power: [['flaky', power]] } };
};

let nats: NatsServer;
let dataDir: string;
let store: EventStore;
let nc: NatsConnection;
let conductor: Conductor;
let takeover: Takeover;
let exec: ConductorExecutor;
let sync: PowerSync;
let stopBackground: () => void;

test.before(async () => {
  nats = await startNatsServer();
  dataDir = mkdtempSync(join(tmpdir(), 'ironlog-power-sync-'));
  store = await openEventStore({ dataDir });
  nc = await connectNats([nats.url], { name: 'power-sync-test' });
  const config = loadConductorConfig({
    IRONLOG_CONDUCTOR_HOST: 'ps-1',
    NATS_URL: nats.url,
    IRONLOG_ENABLED_HARDWARE_TYPES: 'flaky-hardware',
    IRONLOG_HEARTBEAT_INTERVAL_MS: '200',
    IRONLOG_SYNC_POWER_STATE_INTERVAL_S: '0',
  });
  exec = conductorExecutor(
    { store, config, log: silentLog, conductor: () => conductor, takeover: () => takeover },
    { hardwareTypes: new Map([['flaky-hardware', flaky()]]) },
  );
  conductor = await startConductor(config, { store, nc, handlers: exec.handlers, interfaces: exec.interfaces });
  takeover = await startTakeover({ conductor, store });
  const started = exec.start();
  sync = started.powerSync;
  stopBackground = started.stop;
});

test.after(async () => {
  stopBackground();
  await takeover.stop();
  await conductor.stop({ leave: true });
  await nc.drain();
  await store.close();
  await nats.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

const create = async (power: PowerState): Promise<string> => {
  const uuid = randomUUID();
  const at = new Date().toISOString();
  for (const command of [
    { type: 'CreateNode' as const, data: { uuid, at, fields: { driver: 'flaky-hardware' }, initial_provision_state: 'available' as const } },
    { type: 'RequestPowerState' as const, data: { uuid, at, target: power } },
    { type: 'ReserveNode' as const, data: { uuid, at, host: 'setup', ring_epoch: 0 } },
    { type: 'RecordPowerState' as const, data: { uuid, at, power_state: power, holder: { host: 'setup', ring_epoch: 0 } } },
    { type: 'ReleaseNode' as const, data: { uuid, at, host: 'setup' } },
  ]) {
    const r = await handleCommand(nodeBinding, streamId('node', uuid), { commandId: randomUUID(), actor: 'admin', command }, { store });
    assert.ok(E.isRight(r), E.isLeft(r) ? r.left.message : '');
  }
  // the conductor's index sees it
  const deadline = Date.now() + 5000;
  while (takeover.index.get(uuid)?.power_state !== power && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return uuid;
};

const current = async (uuid: string): Promise<Node> => {
  const s = (await loadAggregate(store, nodeBinding, streamId('node', uuid))).state;
  if (s.status !== 'present') throw new Error('gone');
  return s.node;
};

const settle = async (uuid: string, pred: (n: Node) => boolean) => {
  const deadline = Date.now() + 5000;
  while (!pred(takeover.index.get(uuid)!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
};

test('a power state that drifted is recorded as observed, by the owner', async () => {
  const uuid = await create('power on');
  bmc.set(uuid, 'power off');
  await sync.tick();
  const n = await current(uuid);
  assert.is(n.power_state, 'power off');
  const last = (await store.readStream(streamId('node', uuid))).at(-1)!;
  assert.is(last.type, 'PowerStateObserved');
  assert.is(last.metadata.actor, 'conductor:ps-1');
  await settle(uuid, (x) => x.power_state === 'power off');
  await sync.tick();
  assert.is((await store.readStream(streamId('node', uuid))).at(-1)!.type, 'PowerStateObserved', 'no change, nothing written');
});

test('three failed reads in a row: maintenance with fault "power failure"', async () => {
  const uuid = await create('power on');
  broken.add(uuid);
  await sync.tick();
  await sync.tick();
  assert.is((await current(uuid)).maintenance, false, 'two failures are only logged');
  await sync.tick();
  const n = await current(uuid);
  assert.is(n.maintenance, true);
  assert.is(n.fault, 'power failure');
  assert.match(n.maintenance_reason ?? '', /max retries exceeded .* Error: IPMI call failed: timeout$/);
  await settle(uuid, (x) => x.maintenance);
  const count = (await store.readStream(streamId('node', uuid))).length;
  await sync.tick();
  assert.is((await store.readStream(streamId('node', uuid))).length, count, 'nodes in maintenance are not synced');
});

test.run();
