// Secrets never reach the store in clear text: a BMC password, an agent token and a rescue
// password go through the real command path, then the raw database files are searched byte
// by byte for them. The sealed values must still open with the key (nothing was dropped).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteEventStore } from '../../eventstore/sqlite.ts';
import { execute } from '../../command-handling/execute.ts';
import { createSecretBox } from '../../secrets/secret-box.ts';
import { sealSecrets, openSecrets, isSealed } from '../../domain/secrets.ts';

const PASSWORD = 'Known-BMC-Pa55word-7f3a';
const TOKEN = 'agent-token-9c41d2e7b0';
const RESCUE = 'rescue-pw-5512ab';

test('the raw store files hold no clear secret, and the sealed ones open with the key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ironlog-secrets-'));
  const file = join(dir, 'events.sqlite');
  const store = openSqliteEventStore({ path: file });
  const box = createSecretBox(randomBytes(32));
  const uuid = randomUUID();
  const at = () => new Date().toISOString();
  const run = async (command: unknown) => {
    const r = await execute(store, 'node', uuid, { commandId: randomUUID(), actor: 'admin', command });
    if (E.isLeft(r)) throw new Error(`${r.left.errorClass}: ${r.left.message}`);
  };
  const driverInfo = sealSecrets({ ipmi_address: '127.0.0.1', ipmi_username: 'admin', ipmi_password: PASSWORD }, box, 'driver_info');
  assert.ok(isSealed(driverInfo.ipmi_password), 'the API seals before the domain sees it');
  await run({ type: 'CreateNode', data: { uuid, at: at(), fields: { driver: 'fake-hardware', driver_info: driverInfo } } });
  await run({ type: 'IssueAgentToken', data: { uuid, at: at(), token: box.seal(TOKEN) } });
  await run({ type: 'UpdateNode', data: { uuid, at: at(), changes: { driver_info: sealSecrets({ ipmi_address: '127.0.0.2', ipmi_password: PASSWORD + '-2' }, box) } } });

  // walk the node to active, then rescue it with a password
  for (const step of [['manage'], ['done'], ['provide'], ['done'], ['active'], ['done']]) {
    const [x] = step;
    if (['done'].includes(x!)) await run({ type: 'ApplyProvisionEvent', data: { uuid, at: at(), event: x } });
    else await run({ type: 'RequestProvisionAction', data: { uuid, at: at(), verb: x } });
  }
  await run({ type: 'RequestProvisionAction', data: { uuid, at: at(), verb: 'rescue', rescue_password: box.seal(RESCUE) } });
  const rescued = (await store.readStream(`node-${uuid}`)).find((e) => e.type === 'ProvisionActionRequested' && (e.data as { verb: string }).verb === 'rescue')!;
  const sealedRescue = (rescued.data as { rescue_password: unknown }).rescue_password;
  assert.ok(isSealed(sealedRescue), 'the rescue request carries the sealed password');
  if (isSealed(sealedRescue)) assert.is(box.open(sealedRescue), RESCUE);

  // the domain refuses a clear secret outright: nothing is written
  const before = (await store.readStream(`node-${uuid}`)).length;
  const clear = await execute(store, 'node', uuid, { commandId: randomUUID(), actor: 'admin', command: { type: 'UpdateNode', data: { uuid, at: at(), changes: { driver_info: { ipmi_password: 'clear-text-oops' } } } } });
  assert.ok(E.isLeft(clear), 'a clear password is refused');
  assert.is((await store.readStream(`node-${uuid}`)).length, before);

  const events = await store.readStream(`node-${uuid}`);
  const created = events.find((e) => e.type === 'NodeCreated')!.data as { node: { driver_info: Record<string, unknown> } };
  assert.is(openSecrets(created.node.driver_info, box).ipmi_password, PASSWORD);
  await store.close();

  for (const name of ['events.sqlite', 'events.sqlite-wal', 'events.sqlite-shm']) {
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    const raw = readFileSync(path);
    for (const secret of [PASSWORD, TOKEN, RESCUE, 'clear-text-oops']) {
      assert.is(raw.indexOf(Buffer.from(secret)), -1, `${secret} must not be in ${name}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

test.run();
