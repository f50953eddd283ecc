import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, StringCodec, Events } from 'nats';
import { existsSync } from 'node:fs';
import { startNatsServer, type NatsServer } from '../support/nats.ts';

const sc = StringCodec();
let server: NatsServer;

test.before(async () => {
  server = await startNatsServer();
});
test.after(async () => {
  await server.dispose();
});

test('starts a nats-server with JetStream on a free port', async () => {
  assert.ok(server.port > 0 && server.port !== 4222);
  const nc = await connect({ servers: server.url });
  const jsm = await nc.jetstreamManager();
  const info = await jsm.getAccountInfo();
  assert.ok(info.limits !== undefined, 'JetStream answers');
  const sub = nc.subscribe('t.echo', { max: 1 });
  nc.publish('t.echo', sc.encode('hello'));
  for await (const m of sub) assert.is(sc.decode(m.data), 'hello');
  await nc.close();
});

test('restart on the same port: a client reconnects and keeps working', async () => {
  const nc = await connect({ servers: server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  let reconnected = false;
  void (async () => {
    for await (const s of nc.status()) if (s.type === Events.Reconnect) reconnected = true;
  })();
  const oldPid = server.pid();
  await server.restart();
  assert.is.not(server.pid(), oldPid);
  const deadline = Date.now() + 10_000;
  while (!reconnected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(reconnected, 'client reconnected');
  const sub = nc.subscribe('t.after', { max: 1 });
  nc.publish('t.after', sc.encode('again'));
  for await (const m of sub) assert.is(sc.decode(m.data), 'again');
  await nc.close();
});

test('dispose stops the server and removes its store', async () => {
  const other = await startNatsServer({ jetstream: true });
  const dir = other.storeDir;
  await other.dispose();
  assert.not.ok(existsSync(dir));
  const connected = await connect({ servers: other.url, timeout: 500 }).then(
    (nc) => nc.close().then(() => true),
    () => false,
  );
  assert.not.ok(connected, 'nothing listens on the port any more');
});

test.run();
