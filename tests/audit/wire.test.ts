// The pure parts subscribers depend on: the subject of each stream's events, the wildcard
// filters, and the masking of secrets in what leaves ironlog.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { eventSubject, isPublicStream, subjectFilter } from '../../publisher/subjects.ts';
import { maskDeep } from '../../publisher/wire.ts';

const uuid = '2b3c8a52-6f0e-4d1a-9b57-0c1d2e3f4a5b';

test('subjects: <category>.<id>.<EventType> from the stream name, tokens escaped', () => {
  assert.is(eventSubject(`node-${uuid}`, 'ProvisionStateChanged'), `ironlog.events.node.${uuid}.ProvisionStateChanged`);
  assert.is(eventSubject(`port-${uuid}`, 'PortCreated'), `ironlog.events.port.${uuid}.PortCreated`);
  assert.is(eventSubject('membership-ring', 'ConductorRegistered'), 'ironlog.events.membership.ring.ConductorRegistered');
  // an id with NATS' special characters stays one token
  assert.is(eventSubject('chassis-a.b*c>d', 'ChassisCreated'), 'ironlog.events.chassis.a%2Eb%2Ac%3Ed.ChassisCreated');
  assert.is(subjectFilter(), 'ironlog.events.>');
  assert.is(subjectFilter({ category: 'node', id: uuid }), `ironlog.events.node.${uuid}.*`);
  assert.is(subjectFilter({ type: 'PowerStateChanged' }), 'ironlog.events.*.*.PowerStateChanged');
});

test('public streams: aggregates and the membership log, not uniqueness claims', () => {
  for (const s of [`node-${uuid}`, `port-${uuid}`, `allocation-${uuid}`, 'membership-ring']) assert.ok(isPublicStream(s), s);
  for (const s of ['claim-node-name-foo', 'claim-port-address-aa%3Abb', 'other-x']) assert.not.ok(isPublicStream(s), s);
});

test('maskDeep: sealed values anywhere, and password-like keys of the dicts Ironic masks', () => {
  const sealed = { $secret: 'v1:QUJDRA==' };
  const masked = maskDeep({
    node: {
      driver_info: { ipmi_address: '10.0.0.1', ipmi_password: sealed, nested: { redfish_password: 'clear' } },
      instance_info: { image_url: 'http://x/img', image_source: 'glance://x' },
      driver_internal_info: { agent_secret_token: sealed, agent_url: 'http://a' },
      extra: { password_hint: 'not a secret dict', note: 'kept' },
    },
    token: sealed,
    steps: [{ step: 'erase', args: { secret_key: 'k', size: 3 } }, sealed],
  }) as Record<string, any>;
  assert.equal(masked.node.driver_info, { ipmi_address: '10.0.0.1', ipmi_password: '******', nested: { redfish_password: '******' } });
  assert.equal(masked.node.instance_info, { image_url: '******', image_source: 'glance://x' });
  assert.equal(masked.node.driver_internal_info, { agent_secret_token: '******', agent_url: 'http://a' });
  assert.equal(masked.node.extra, { password_hint: 'not a secret dict', note: 'kept' });
  assert.is(masked.token, '******');
  assert.equal(masked.steps, [{ step: 'erase', args: { secret_key: '******', size: 3 } }, '******']);
  assert.not.ok(JSON.stringify(masked).includes('$secret'));
});

test('maskDeep: copies only what it masks, never changes its input, no scope from Object.prototype', () => {
  const sealed = { $secret: 'v1:QUJDRA==' };
  const clean = { node: { name: 'n1', extra: { a: [1, { b: 2 }] }, properties: { cpus: 4 } }, list: ['x', { y: null }] };
  const before = JSON.stringify(clean);
  assert.is(maskDeep(clean), clean);
  const input = { node: { name: 'n1', extra: { keep: { same: true } }, driver_info: { ipmi_password: sealed, ipmi_address: 'a' } }, items: [{ k: 1 }, sealed] };
  const inputText = JSON.stringify(input);
  const masked = maskDeep(input) as typeof input & { items: unknown[] };
  assert.is(JSON.stringify(input), inputText, 'the input is left as it was');
  assert.is.not(masked, input);
  assert.is.not(masked.node, input.node);
  assert.is(masked.node.extra, input.node.extra, 'an untouched branch is shared, not copied');
  assert.is(masked.items[0], input.items[0]);
  assert.equal(masked.items[1], '******');
  assert.equal(masked.node.driver_info, { ipmi_password: '******', ipmi_address: 'a' });
  // "constructor" is an ordinary key of a dict: its password-like keys are a dict's own business
  // (compared as JSON: uvu's deep equality reads `constructor` itself)
  assert.is(JSON.stringify(maskDeep(JSON.parse('{"constructor":{"password":"p"}}'))), '{"constructor":{"password":"p"}}');
  assert.is(JSON.stringify(clean), before);
});

test.run();
