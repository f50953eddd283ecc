import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConductorConfig } from '../../conductor/config.ts';
import { subjects, subjectToken, fromSubjectToken } from '../../conductor/subjects.ts';
import { parseArgs } from '../../cli/conductor.ts';

test('defaults follow conventions.md and Ironic', () => {
  const c = loadConductorConfig({ IRONLOG_CONDUCTOR_HOST: 'c1' });
  assert.is(c.host, 'c1');
  assert.is(c.group, '');
  assert.equal(c.natsServers, ['nats://127.0.0.1:4222']);
  assert.is(c.heartbeatIntervalMs, 1000);
  assert.is(c.heartbeatMisses, 3);
  assert.is(c.hashPartitionExponent, 5);
  assert.equal(c.hardwareTypes, ['fake-hardware']);
});

test('variables override, lists split on commas, bad numbers are refused', () => {
  const c = loadConductorConfig({
    IRONLOG_CONDUCTOR_HOST: 'c2',
    IRONLOG_CONDUCTOR_GROUP: 'RackA',
    NATS_URL: 'nats://a:4222, nats://b:4222',
    IRONLOG_HEARTBEAT_INTERVAL_MS: '250',
    IRONLOG_HEARTBEAT_MISSES: '5',
    IRONLOG_ENABLED_HARDWARE_TYPES: 'ipmi,fake-hardware',
  });
  assert.is(c.group, 'racka');
  assert.equal(c.natsServers, ['nats://a:4222', 'nats://b:4222']);
  assert.is(c.heartbeatIntervalMs, 250);
  assert.is(c.heartbeatMisses, 5);
  assert.equal(c.hardwareTypes, ['ipmi', 'fake-hardware']);
  assert.throws(() => loadConductorConfig({ IRONLOG_HEARTBEAT_MISSES: 'three' }), /IRONLOG_HEARTBEAT_MISSES/);
  assert.throws(() => loadConductorConfig({ IRONLOG_HEARTBEAT_INTERVAL_MS: '0' }), /IRONLOG_HEARTBEAT_INTERVAL_MS/);
});

test('ironlog conductor --host NAME [--group G]', () => {
  assert.equal(parseArgs(['--host', 'c9', '--group', 'g1']), { host: 'c9', group: 'g1' });
  assert.equal(parseArgs(['--host=c9']), { host: 'c9' });
  assert.equal(parseArgs([]), {});
  assert.type(parseArgs(['--host']), 'string');
  assert.type(parseArgs(['--port', '1']), 'string');
});

test('subject tokens survive FQDNs and NATS wildcards', () => {
  for (const host of ['conductor-1', 'c1.example.com', 'a*b>c', '100%', '']) {
    const token = subjectToken(host);
    assert.not.match(token, /[.*>\s]/);
    assert.ok(token.length > 0);
    assert.is(fromSubjectToken(token), host);
  }
  assert.is(subjects.nodeWork('c1.example.com', 'u-1'), 'ironlog.node.c1%2Eexample%2Ecom.u-1');
  assert.is(subjects.nodeWorkFor('c1.example.com'), 'ironlog.node.c1%2Eexample%2Ecom.*');
  assert.is(subjects.heartbeat('c1'), 'ironlog.conductor.heartbeat.c1');
});

test.run();
