// Every KGS endpoint and error, through the real Fastify app on the real Redis.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestKgs, auth } from '../support/kgs.ts';
import { RESERVED_WORDS } from '../../src/core/reserved.ts';
import { buildKgsApp } from '../../src/kgs/app.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { startMetricsServer } from '../../src/core/metrics-server.ts';
import { DEFAULT_HTTP_TIMEOUTS } from '../../src/core/http-app.ts';
import { testLogger } from '../support/log.ts';
import { redisKeyNames } from '../../src/storage/redis/redis-key-store.ts';

const PROBLEM = 'application/problem+json; charset=utf-8';

test('GET /codes hands out count codes (default 1) and validates count', async (t) => {
  const kgs = await buildTestKgs('api-codes', { target: 2000, lowWatermark: 100 });
  t.after(() => kgs.close());
  const one = await kgs.app.inject({ url: '/codes', headers: auth });
  assert.equal(one.statusCode, 200);
  assert.equal(one.json<{ codes: string[] }>().codes.length, 1);
  const many = await kgs.app.inject({ url: '/codes?count=1000', headers: auth });
  assert.equal(many.json<{ codes: string[] }>().codes.length, 1000);
  for (const bad of ['0', '1001', 'abc', '-1', '1.5', '']) {
    const res = await kgs.app.inject({ url: `/codes?count=${bad}`, headers: auth });
    assert.equal(res.statusCode, 400, `count=${bad}`);
    assert.equal(res.headers['content-type'], PROBLEM);
    assert.equal(res.json<{ code: string }>().code, 'invalid_request');
  }
  const extra = await kgs.app.inject({ url: '/codes?count=1&evil=1', headers: auth });
  assert.equal(extra.statusCode, 400);
});

test('HEAD /codes is 405 and takes no code: its answer has no body, so the codes would be lost', async (t) => {
  const kgs = await buildTestKgs('api-head', { target: 2000, lowWatermark: 100 });
  t.after(() => kgs.close());
  const keys = redisKeyNames(kgs.redis.prefix);
  await kgs.app.inject({ url: '/codes', headers: auth });
  const used = await kgs.redis.redis.scard(keys.used);
  const res = await kgs.app.inject({ method: 'HEAD', url: '/codes?count=50', headers: auth });
  assert.equal(res.statusCode, 405);
  assert.equal(res.headers.allow, 'GET');
  assert.equal(await kgs.redis.redis.scard(keys.used), used, 'no code taken');
});

test('/codes* need the bearer token: 401 problem+json with WWW-Authenticate otherwise', async (t) => {
  const kgs = await buildTestKgs('api-auth');
  t.after(() => kgs.close());
  const cases = [
    { method: 'GET' as const, url: '/codes' },
    { method: 'POST' as const, url: '/codes/return', payload: { codes: ['abcdef'] } },
    { method: 'POST' as const, url: '/codes/claim', payload: { code: 'abcdef' } },
  ];
  for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 'test-token' }, { authorization: 'Basic dGVzdC10b2tlbg==' }]) {
    for (const c of cases) {
      const res = await kgs.app.inject({ ...c, headers });
      assert.equal(res.statusCode, 401, `${c.url} ${JSON.stringify(headers)}`);
      assert.equal(res.headers['www-authenticate'], 'Bearer');
      assert.equal(res.headers['content-type'], PROBLEM);
    }
  }
  assert.equal((await kgs.app.inject({ url: '/health' })).statusCode, 200, 'health needs no token');
});

test('POST /codes/return counts only codes in used_keys', async (t) => {
  const kgs = await buildTestKgs('api-return', { reuseCooldownS: 0 });
  t.after(() => kgs.close());
  const { codes } = (await kgs.app.inject({ url: '/codes?count=3', headers: auth })).json<{ codes: string[] }>();
  const res = await kgs.app.inject({ method: 'POST', url: '/codes/return', headers: auth, payload: { codes: [...codes, 'neverUsed'] } });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { returned: 3 });
  for (const payload of [{ codes: [] }, { codes: 'abc' }, { codes: ['a/b'] }, { codes: ['abcdef'], more: 1 }, {}]) {
    const bad = await kgs.app.inject({ method: 'POST', url: '/codes/return', headers: auth, payload });
    assert.equal(bad.statusCode, 400, JSON.stringify(payload));
  }
});

test('POST /codes/return with unused: true skips the cool-down (no link ever had those codes); without it they cool down', async (t) => {
  const kgs = await buildTestKgs('api-return-unused', { reuseCooldownS: 3600 });
  t.after(() => kgs.close());
  const keys = redisKeyNames(kgs.redis.prefix);
  const { codes } = (await kgs.app.inject({ url: '/codes?count=2', headers: auth })).json<{ codes: string[] }>();
  const [deleted = '', neverLinked = ''] = codes;
  assert.ok((await kgs.app.inject({ method: 'POST', url: '/codes/claim', headers: auth, payload: { code: 'my-alias' } })).statusCode === 200);

  const cooled = await kgs.app.inject({ method: 'POST', url: '/codes/return', headers: auth, payload: { codes: [deleted] } });
  assert.deepEqual(cooled.json(), { returned: 1 });
  assert.equal(await kgs.redis.redis.sismember(keys.used, deleted), 1, 'a deleted link’s code stays used for the cool-down');

  const atOnce = await kgs.app.inject({ method: 'POST', url: '/codes/return', headers: auth, payload: { codes: [neverLinked, 'my-alias'], unused: true } });
  assert.deepEqual(atOnce.json(), { returned: 2 });
  assert.deepEqual(
    [await kgs.redis.redis.sismember(keys.used, neverLinked), await kgs.redis.redis.sismember(keys.available, neverLinked)],
    [0, 1],
    'an unused generated code is available again at once',
  );
  const reclaim = await kgs.app.inject({ method: 'POST', url: '/codes/claim', headers: auth, payload: { code: 'my-alias' } });
  assert.equal(reclaim.statusCode, 200, 'an unused alias can be claimed again at once');

  for (const unused of ['yes', 1, null]) {
    const bad = await kgs.app.inject({ method: 'POST', url: '/codes/return', headers: auth, payload: { codes: [deleted], unused } });
    assert.equal(bad.statusCode, 400, JSON.stringify(unused));
  }
});

test('POST /codes/claim: 200 when free, 409 taken or reserved, 400 malformed', async (t) => {
  const kgs = await buildTestKgs('api-claim');
  t.after(() => kgs.close());
  const claim = (code: unknown) => kgs.app.inject({ method: 'POST', url: '/codes/claim', headers: auth, payload: { code } });
  const ok = await claim('promo-2026');
  assert.equal(ok.statusCode, 200);
  assert.deepEqual(ok.json(), { code: 'promo-2026' });
  const again = await claim('promo-2026');
  assert.equal(again.statusCode, 409);
  assert.equal(again.json<{ code: string }>().code, 'alias_taken');
  const reserved = await claim('ReAdY');
  assert.equal(reserved.statusCode, 409);
  assert.equal(reserved.json<{ code: string }>().code, 'alias_reserved');
  for (const bad of ['x', 'has space', 'a.b.c', 42, null]) {
    const res = await claim(bad);
    assert.equal(res.statusCode, 400, JSON.stringify(bad));
    assert.equal(res.headers['content-type'], PROBLEM);
  }
});

test('malformed JSON, wrong media type, oversized body, unknown routes and methods are problem+json, never 500', async (t) => {
  const kgs = await buildTestKgs('api-errors');
  t.after(() => kgs.close());
  const post = (payload: string, contentType = 'application/json') =>
    kgs.app.inject({ method: 'POST', url: '/codes/claim', headers: { ...auth, 'content-type': contentType }, payload });
  const cases: [Awaited<ReturnType<typeof post>>, number, string][] = [
    [await post('{"code":'), 400, 'malformed_json'],
    [await post(''), 400, 'malformed_json'],
    [await post('code=abc', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type'],
    [await post(JSON.stringify({ code: 'a'.repeat(17 * 1024) })), 413, 'payload_too_large'],
    [await kgs.app.inject({ url: '/nope' }), 404, 'not_found'],
    [await kgs.app.inject({ method: 'DELETE', url: '/codes' }), 405, 'method_not_allowed'],
    [await post('abc', 'text/plain'), 415, 'unsupported_media_type'],
  ];
  for (const [res, status, code] of cases) {
    assert.equal(res.statusCode, status, res.body);
    assert.equal(res.headers['content-type'], PROBLEM);
    const body = res.json<{ code: string; status: number; type: string; request_id: string }>();
    assert.equal(body.code, code);
    assert.equal(body.status, status);
    assert.equal(body.type, `urn:curt:problem:${code}`);
    assert.equal(body.request_id, res.headers['x-request-id']);
  }
  // Valid JSON with a prototype key is refused as such, not as a syntax error that is not there.
  for (const payload of ['{"__proto__":{"admin":true},"code":"abc"}', '{"code":"abc","constructor":{"prototype":{"x":1}}}']) {
    const res = await post(payload);
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.headers['content-type'], PROBLEM);
    const body = res.json<{ code: string; detail: string }>();
    assert.equal(body.code, 'invalid_request', payload);
    assert.match(body.detail, /has a "__proto__" key \(or "constructor" with "prototype"\)/);
  }
  // A "constructor" that is a plain field's value is no prototype key: the route's own validation answers.
  const plain = await post('{"code":"abc","constructor":"x"}');
  assert.equal(plain.json<{ code: string }>().code, 'invalid_request');
  assert.doesNotMatch(plain.json<{ detail: string }>().detail, /__proto__/);
});

test('a caller-supplied request id is echoed; a malformed one is replaced', async (t) => {
  const kgs = await buildTestKgs('api-reqid');
  t.after(() => kgs.close());
  const kept = await kgs.app.inject({ url: '/health', headers: { 'x-request-id': 'abc-123' } });
  assert.equal(kept.headers['x-request-id'], 'abc-123');
  const replaced = await kgs.app.inject({ url: '/health', headers: { 'x-request-id': 'bad id\u0001' } });
  assert.match(String(replaced.headers['x-request-id']), /^[0-9a-f-]{36}$/);
});

test('GET /ready is 200 with Redis up and 503 problem+json when it is unreachable; /health stays 200', async (t) => {
  const kgs = await buildTestKgs('api-ready');
  t.after(() => kgs.close());
  assert.deepEqual((await kgs.app.inject({ url: '/ready' })).json(), { status: 'ready', checks: { redis: 'up' } });

  const down = await buildKgsApp({
    pool: kgs.pool,
    token: 't',
    log: testLogger(),
    registry: createRegistry({ defaultMetrics: false }),
    checkReady: () => Promise.reject(new Error('ECONNREFUSED')),
  });
  t.after(() => down.close());
  const res = await down.inject({ url: '/ready' });
  assert.equal(res.statusCode, 503);
  assert.equal(res.headers['content-type'], PROBLEM);
  assert.deepEqual(res.json<{ checks: unknown }>().checks, { redis: 'down' });
  assert.equal((await down.inject({ url: '/health' })).statusCode, 200);
});

test('the metrics listener reports pool sizes, hand-outs, returns, replenish runs and request latency; the public port has no /metrics', async (t) => {
  const kgs = await buildTestKgs('api-metrics', { reuseCooldownS: 0 });
  t.after(() => kgs.close());
  const listener = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: kgs.registry, log: testLogger('metrics'), timeouts: DEFAULT_HTTP_TIMEOUTS });
  t.after(() => listener.close());
  const { codes } = (await kgs.app.inject({ url: '/codes?count=7', headers: auth })).json<{ codes: string[] }>();
  await kgs.app.inject({ method: 'POST', url: '/codes/return', headers: auth, payload: { codes: codes.slice(0, 2) } });
  const hidden = await kgs.app.inject({ url: '/metrics' });
  assert.equal(hidden.statusCode, 404, 'the public port does not serve metrics');
  assert.match(String(hidden.headers['content-type']), /^application\/problem\+json/);
  const res = await fetch(`${listener.address}/metrics`);
  assert.equal(res.status, 200);
  assert.match(String(res.headers.get('content-type')), /^text\/plain/);
  const text = await res.text();
  assert.match(text, /^kgs_codes_handed_out_total 7$/m);
  assert.match(text, /^kgs_codes_returned_total 2$/m);
  assert.match(text, /^kgs_replenish_runs_total [1-9]/m);
  assert.match(text, /^kgs_pool_codes\{set="used"\} 5$/m);
  assert.match(text, /^kgs_pool_codes\{set="available"\} \d+$/m);
  assert.match(text, /^http_request_duration_seconds_count\{method="GET",route="\/codes",status_code="200"\} 1$/m);
});

test('the OpenAPI document and docs page come from the route schemas', async (t) => {
  const kgs = await buildTestKgs('api-docs');
  t.after(() => kgs.close());
  const doc = (await kgs.app.inject({ url: '/docs/json' })).json<{ paths: Record<string, unknown> }>();
  for (const path of ['/codes', '/codes/return', '/codes/claim', '/health', '/ready']) assert.ok(doc.paths[path], path);
  const page = await kgs.app.inject({ url: '/docs/' });
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /swagger/i);
});

test('every top-level path segment the KGS serves is a reserved word', async (t) => {
  const kgs = await buildTestKgs('api-reserved');
  t.after(() => kgs.close());
  const doc = (await kgs.app.inject({ url: '/docs/json' })).json<{ paths: Record<string, unknown> }>();
  const segments = new Set(Object.keys(doc.paths).map((p) => p.split('/')[1] ?? ''));
  segments.add('docs');
  segments.add('metrics');
  for (const segment of segments) assert.ok(RESERVED_WORDS.has(segment), `"${segment}" must be reserved`);
});
