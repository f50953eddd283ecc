// execute.ts decodes a command with the member of its kind's union that its `type` names (io-ts
// tries every member of a union, and checks each member's data even after its type failed). The
// answers must be the union's own: the same value for every valid command, the same error for
// every invalid one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { randomUUID } from 'node:crypto';
import { commandCodecs } from '../../domain/index.ts';
import { firstError } from '../../domain/codecs.ts';
import { decodeCommand, memberIndex } from '../../command-handling/execute.ts';

const at = new Date().toISOString();
const uuid = randomUUID();
const sealed = { $secret: 'v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' };

const samples: [keyof typeof commandCodecs, unknown][] = [
  ['node', { type: 'CreateNode', data: { uuid, at, fields: { driver: 'fake-hardware', name: 'n-1', driver_info: { ipmi_password: sealed } } } }],
  ['node', { type: 'CreateNode', data: { uuid, at, fields: { driver: 'fake-hardware' } }, extra: 'dropped?' }],
  ['node', { type: 'CreateNode', data: { uuid, at, fields: { driver: 'fake-hardware', driver_info: { ipmi_password: 'clear' } } } }],
  ['node', { type: 'CreateNode', data: { uuid, at } }],
  ['node', { type: 'CreateNode', data: { uuid, at, fields: { driver: 'fake-hardware' }, initial_provision_state: 'active' } }],
  ['node', { type: 'UpdateNode', data: { uuid, at, changes: { name: 'n-2' } } }],
  ['node', { type: 'UpdateNode', data: { uuid, at: 5, changes: {} } }],
  ['node', { type: 'DeleteNode', data: { uuid, at } }],
  ['node', { type: 'RequestPowerState', data: { uuid, at, target: 'power on' } }],
  ['node', { type: 'RequestPowerState', data: { uuid, at, target: 'sideways' } }],
  ['node', { type: 'NoSuchCommand', data: { uuid, at } }],
  ['node', { type: 42, data: {} }],
  ['node', 'CreateNode'],
  ['node', null],
  ['port', { type: 'CreatePort', data: { uuid, at, fields: { node_uuid: randomUUID(), address: '52:54:00:12:34:56' } } }],
  ['port', { type: 'CreatePort', data: { uuid, at, fields: {} } }],
  ['chassis', { type: 'CreateChassis', data: { uuid, at, fields: { description: 'c' } } }],
  ['conductor', { type: 'RegisterConductor', data: {} }],
];

test('every sample decodes to what the whole union gives: the same value, or the same first error', () => {
  let valid = 0;
  for (const [kind, command] of samples) {
    const codec = commandCodecs[kind] as t.Mixed;
    const fast = decodeCommand(codec, command);
    const union = codec.decode(command);
    assert.is(E.isRight(fast), E.isRight(union), `${kind} ${JSON.stringify(command)}: same outcome`);
    if (E.isRight(fast)) valid++;
    if (E.isRight(fast) && E.isRight(union)) assert.equal(fast.right, union.right, `${kind} ${JSON.stringify(command)}: same value`);
    if (E.isLeft(fast) && E.isLeft(union)) assert.is(firstError(fast.left), firstError(union.left), `${kind} ${JSON.stringify(command)}: same error`);
  }
  assert.ok(valid >= 6 && valid <= samples.length - 6, `valid and invalid samples both (${valid} valid)`);
});

test('each kind\'s union is indexed by type (every member has its own), so the fast path is taken', () => {
  for (const [kind, codec] of Object.entries(commandCodecs)) {
    const members = (codec as unknown as t.UnionType<t.Mixed[]>).types;
    assert.ok(Array.isArray(members), `${kind} commands are a union`);
    assert.is(memberIndex(codec as t.Mixed).size, members.length, `${kind}: one indexed member per command type`);
  }
  assert.ok(memberIndex(commandCodecs.node as t.Mixed).has('CreateNode'));
});

test.run();
