// The shared list machinery (reference §3.1): limit, marker, sort, fields, detail, strict
// booleans, the `next` URL as Ironic builds it, and version hiding; through /v1/chassis and as units.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FastifyRequest } from 'fastify';
import { checkAllowedFields, hideVersionedFields, isUuidLike, nextUrl, parseBoolean, stringListArg } from '../../api/collection.ts';
import { ApiError } from '../../api/http-errors.ts';
import { innerError, latest, testApp, v } from './support/app.ts';

const t = await testApp({ IRONLOG_API_MAX_LIMIT: '3' });
const { app } = t;
const H = { host: 'h' };
const uuids: string[] = [];
for (let i = 0; i < 5; i++) {
  const r = await app.inject({ method: 'POST', url: '/v1/chassis', payload: { description: `c${i}`, extra: { i } } });
  uuids.push((JSON.parse(r.body) as { uuid: string }).uuid);
}
const list = async (qs: string, headers: Record<string, string> = {}) => {
  const r = await app.inject({ method: 'GET', url: `/v1/chassis${qs}`, headers: { ...H, ...headers } });
  return { status: r.statusCode, body: JSON.parse(r.body) as Record<string, unknown>, raw: r.body };
};
const fault = (raw: string) => String(innerError(raw).faultstring);

test('limit: ≤0 → 400 "Limit must be positive"; non-integers → 400; capped at max_limit', async () => {
  for (const l of ['0', '-1']) {
    const r = await list(`?limit=${l}`);
    assert.is(r.status, 400);
    assert.is(fault(r.raw), 'Limit must be positive');
  }
  const bad = await list('?limit=abc');
  assert.is(bad.status, 400);
  assert.is(fault(bad.raw), 'Expected an integer for limit: abc');
  const big = await list('?limit=100');
  assert.is((big.body.chassis as unknown[]).length, 3);
});

test('next appears only when the page is full, as a bare URL with Ironic\'s parameter order', async () => {
  const r = await list('?limit=2');
  assert.is(r.body.next, `http://h/v1/chassis?sort_key=id&sort_dir=asc&fields=uuid,description&limit=2&marker=${uuids[1]}`);
  const all = await list('?limit=2&marker=' + uuids[3]);
  assert.is((all.body.chassis as unknown[]).length, 1);
  assert.is(all.body.next, undefined);
  // no limit: limit is max_limit, so a page of exactly max_limit items has a next link
  const def = await list('');
  assert.match(String(def.body.next), /limit=3&marker=/);
  const withFields = await list('?limit=1&fields=uuid&sort_dir=desc&detail=false', latest);
  assert.is(withFields.body.next, `http://h/v1/chassis?sort_key=id&sort_dir=desc&detail=False&fields=uuid&limit=1&marker=${uuids[4]}`);
});

test('marker: the page after it; unknown → 404; not a UUID → 400', async () => {
  const r = await list(`?limit=2&marker=${uuids[1]}`);
  assert.equal((r.body.chassis as Array<{ uuid: string }>).map((c) => c.uuid), [uuids[2], uuids[3]]);
  const unknown = await list('?marker=1be26c0b-03f2-4d2e-ae87-c02d7f33c123');
  assert.is(unknown.status, 404);
  assert.is(fault(unknown.raw), 'Chassis 1be26c0b-03f2-4d2e-ae87-c02d7f33c123 could not be found.');
  const bad = await list('?marker=foo');
  assert.is(bad.status, 400);
  assert.is(fault(bad.raw), 'Expected UUID for marker: foo');
});

test('sort_key / sort_dir', async () => {
  const desc = await list('?sort_key=description&sort_dir=desc');
  assert.equal((desc.body.chassis as Array<{ description: string }>).map((c) => c.description), ['c4', 'c3', 'c2']);
  const badDir = await list('?sort_dir=up');
  assert.is(badDir.status, 400);
  assert.is(fault(badDir.raw), "Invalid sort direction: up. Acceptable values are 'asc' or 'desc'");
  const json = await list('?sort_key=extra');
  assert.is(json.status, 400);
  assert.is(fault(json.raw), 'The sort_key value extra is an invalid field for sorting');
  const unknown = await list('?sort_key=bogus');
  assert.is(unknown.status, 400);
  assert.is(fault(unknown.raw), 'The sort_key value "bogus" is an invalid field for sorting');
});

test('fields: ≥1.8 (406 before), keeps links, unknown → 400, cannot combine with detail=true', async () => {
  assert.is((await list('?fields=uuid', v('1.7'))).status, 406);
  const r = await list('?fields=extra', v('1.8'));
  assert.equal(Object.keys((r.body.chassis as object[])[0]!), ['extra', 'links']);
  const unknown = await list('?fields=uuid,bogus', latest);
  assert.is(unknown.status, 400);
  assert.is(fault(unknown.raw), 'Field(s) "bogus" are not valid');
  const both = await list('?fields=uuid&detail=true', latest);
  assert.is(both.status, 400);
  assert.is(fault(both.raw), 'Can not specify ?detail=True and fields in the same request.');
});

test('detail: ≥1.43 (400 before), strict booleans', async () => {
  const old = await list('?detail=true', v('1.42'));
  assert.is(old.status, 400);
  assert.is(fault(old.raw), 'Invalid query parameter ?detail=True received.');
  const r = await list('?detail=yes', latest);
  assert.ok('extra' in (r.body.chassis as object[])[0]!);
  const bad = await list('?detail=maybe', latest);
  assert.is(bad.status, 400);
  assert.is(
    fault(bad.raw),
    "Invalid detail: Unrecognized value 'maybe', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'",
  );
  const detailPath = await list('/detail');
  assert.ok('nodes' in (detailPath.body.chassis as object[])[0]!);
  assert.is((await list('/detail?fields=uuid')).status, 400);
});

test('unexpected query arguments → 400, repeated ones are not strings', async () => {
  const r = await list('?bogus=1');
  assert.is(r.status, 400);
  assert.is(fault(r.raw), 'Unexpected arguments: bogus');
  const rep = await list('?limit=1&limit=2');
  assert.is(rep.status, 400);
  assert.is(fault(rep.raw), "Expected string for limit: ['1', '2']");
});

test('units: booleans, uuids, string lists, next, version hiding', () => {
  for (const s of ['1', 't', 'TRUE', ' yes ', 'on', 'Y']) assert.is(parseBoolean('x', s), true);
  for (const s of ['0', 'f', 'False', 'no', 'off', 'N']) assert.is(parseBoolean('x', s), false);
  assert.throws(() => parseBoolean('x', '2'), (e: unknown) => e instanceof ApiError && e.status === 400);
  assert.ok(isUuidLike('1BE26C0B-03F2-4D2E-AE87-C02D7F33C123'));
  assert.ok(isUuidLike('1be26c0b03f24d2eae87c02d7f33c123'));
  assert.ok(isUuidLike('{1be26c0b-03f2-4d2e-ae87-c02d7f33c123}'));
  assert.not.ok(isUuidLike('1be26c0b-03f2-4d2e-ae87-c02d7f33c12'));
  assert.equal(stringListArg({ fields: ' UUID, name,,uuid ' }, 'fields'), ['uuid', 'name']);
  assert.is(nextUrl('http://h', 'nodes', [{ uuid: 'a' }], 2, []), undefined);
  assert.is(nextUrl('http://h', 'nodes', [], 0, []), undefined);
  assert.is(nextUrl('http://h', 'nodes', [{ uuid: 'a' }], 1, [['associated', true], ['fields', ['a', 'b']], ['x', undefined]]), 'http://h/v1/nodes?associated=True&fields=a,b&limit=1&marker=a');
  assert.is(nextUrl('http://h', 'conductors', [{ hostname: 'c1' }], 1, [], 'hostname'), 'http://h/v1/conductors?limit=1&marker=c1');
  const req = { apiVersion: { major: 1, minor: 20 } } as FastifyRequest;
  assert.equal(hideVersionedFields(req, { a: 1, b: 2, c: 3 }, { b: 21, c: 20 }), { a: 1, c: 3 });
  assert.throws(() => checkAllowedFields(req, ['a', 'b'], { b: 21 }), (e: unknown) => e instanceof ApiError && e.status === 406);
});

test.after(async () => {
  await t.close();
});
test.run();
