// API keys and rate limits (README, "URL service API"): who may do what to which link, through the real app.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';
import { createRedisRateLimiter } from '../../src/storage/redis/redis-rate-limiter.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';

const PROBLEM = 'application/problem+json; charset=utf-8';
type Headers = Record<string, string>;
type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

function assertProblem(res: LightMyRequestResponse, status: number, code: string, what = ''): void {
  assert.equal(res.statusCode, status, `${what} ${res.body}`);
  assert.equal(res.headers['content-type'], PROBLEM, what);
  assert.equal(res.json<{ code: string }>().code, code, what);
}

/** Every link-management call on one code, as (method, url, payload). */
const manageCalls = (code: string): { method: Method; url: string; payload?: object }[] => [
  { method: 'GET', url: `/urls/${code}` },
  { method: 'GET', url: `/urls/${code}/analytics` },
  { method: 'PATCH', url: `/urls/${code}`, payload: { is_active: false } },
  { method: 'DELETE', url: `/urls/${code}` },
];

describe('API keys and authorization', () => {
  let svc: TestUrlService;
  let alice: Headers;
  let bob: Headers;
  const call = (method: Method, url: string, headers: Headers = {}, payload?: object) =>
    svc.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
  const createAs = async (headers: Headers, url = 'https://example.com/'): Promise<string> => {
    const res = await call('POST', '/urls', headers, { url });
    assert.equal(res.statusCode, 201, res.body);
    return res.json<{ short_code: string }>().short_code;
  };

  before(async () => {
    svc = await buildTestUrlService('url-auth', { allowAnonymous: true });
    alice = await svc.userKey('alice');
    bob = await svc.userKey('bob');
  });
  after(() => svc.close());

  test('POST /api-keys with the admin key: 201 {id, key} once; only the hash is stored', async () => {
    const res = await call('POST', '/api-keys', svc.admin, { name: 'ci' });
    assert.equal(res.statusCode, 201);
    const body = res.json<{ id: number; key: string; name: string; is_admin: boolean; created_at: string }>();
    assert.equal(typeof body.id, 'number');
    assert.match(body.key, /^curt_[A-Za-z0-9_-]{32}$/);
    assert.deepEqual([body.name, body.is_admin], ['ci', false]);
    const { rows } = await svc.database.db.query<Record<string, unknown>>('SELECT * FROM api_keys WHERE id = $1', [body.id]);
    assert.equal(rows.length, 1);
    assert.ok(!JSON.stringify(rows[0], (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v)).includes(body.key), 'the key itself is not stored');
    assert.ok(!JSON.stringify(rows[0]).includes(body.key.slice(12)), 'nor its secret part');
    // The new key works at once.
    assert.equal((await call('POST', '/urls', { authorization: `Bearer ${body.key}` }, { url: 'https://example.com/' })).statusCode, 201);
  });

  test('an admin can mint admin keys, and those can mint keys too', async () => {
    const res = await call('POST', '/api-keys', svc.admin, { name: 'ops', is_admin: true });
    const key = res.json<{ key: string; is_admin: boolean }>();
    assert.equal(key.is_admin, true);
    assert.equal((await call('POST', '/api-keys', { authorization: `Bearer ${key.key}` }, {})).statusCode, 201);
  });

  test('POST /api-keys with a user key is 403; with no key 401; with a bad body 400', async () => {
    assertProblem(await call('POST', '/api-keys', alice, { name: 'x' }), 403, 'forbidden');
    const none = await call('POST', '/api-keys', {}, { name: 'x' });
    assertProblem(none, 401, 'unauthorized');
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assertProblem(await call('POST', '/api-keys', svc.admin, { name: 'x', scopes: ['all'] }), 400, 'invalid_request');
    assertProblem(await call('POST', '/api-keys', svc.admin, { is_admin: 'yes' }), 400, 'invalid_request');
  });

  test('a wrong, malformed or non-bearer Authorization header is 401, even where anonymous access is allowed', async () => {
    for (const authorization of ['Bearer curt_not-a-real-key', 'Bearer', 'Basic dXNlcjpwYXNz', 'curt_test-admin-key-0123456789abcdef', `Bearer ${'x'.repeat(300)}`]) {
      assertProblem(await call('POST', '/urls', { authorization }, { url: 'https://example.com/' }), 401, 'unauthorized', authorization.slice(0, 30));
      assertProblem(await call('GET', '/urls', { authorization }), 401, 'unauthorized', authorization.slice(0, 30));
    }
  });

  test('without a key, listing and every call on an owned link is 401', async () => {
    const code = await createAs(alice);
    assertProblem(await call('GET', '/urls'), 401, 'unauthorized');
    for (const c of manageCalls(code)) {
      assertProblem(await call(c.method, c.url, {}, c.payload), 401, 'unauthorized', `${c.method} ${c.url}`);
    }
  });

  test('without a key, every call on a code that does not exist is 404 link_not_found, as its redirect already says', async () => {
    const code = await createAs(alice);
    // What anyone learns without a key from the redirect: this code exists, that one does not.
    assert.equal((await call('GET', `/${code}`)).statusCode, 302);
    assertProblem(await call('GET', '/nosuch'), 404, 'link_not_found');
    for (const c of manageCalls('nosuch')) {
      assertProblem(await call(c.method, c.url, {}, c.payload), 404, 'link_not_found', `${c.method} ${c.url}`);
    }
    // A deleted link is a code that does not exist any more.
    assert.equal((await call('DELETE', `/urls/${code}`, alice)).statusCode, 204);
    assertProblem(await call('GET', `/urls/${code}/analytics`), 404, 'link_not_found');
  });

  test("another user's link is 404 (not 403) for every call, exactly like a code that does not exist", async () => {
    const code = await createAs(alice);
    for (const c of manageCalls(code)) {
      const theirs = await call(c.method, c.url, bob, c.payload);
      const missing = await call(c.method, c.url.replace(code, 'nosuch'), bob, c.payload);
      assertProblem(theirs, 404, 'link_not_found', `${c.method} ${c.url}`);
      assert.equal(theirs.json<{ detail: string }>().detail, missing.json<{ detail: string }>().detail);
    }
    // Bob's attempts changed nothing.
    const own = await call('GET', `/urls/${code}`, alice);
    assert.equal(own.statusCode, 200);
    assert.equal(own.json<{ is_active: boolean }>().is_active, true);
  });

  test('an owner can read, change and delete their own link', async () => {
    const code = await createAs(alice);
    for (const c of manageCalls(code)) {
      const res = await call(c.method, c.url, alice, c.payload);
      assert.ok(res.statusCode === 200 || res.statusCode === 204, `${c.method} ${c.url}: ${res.statusCode}`);
    }
  });

  test('an admin key can read, change and delete any link', async () => {
    const code = await createAs(alice);
    for (const c of manageCalls(code)) {
      const res = await call(c.method, c.url, svc.admin, c.payload);
      assert.ok(res.statusCode === 200 || res.statusCode === 204, `${c.method} ${c.url}: ${res.statusCode}`);
    }
  });

  test("GET /urls lists only the caller's links; an admin sees everyone's", async () => {
    const mine = await createAs(alice, 'https://example.com/mine');
    const theirs = await createAs(bob, 'https://example.com/theirs');
    const codes = async (headers: Headers) =>
      (await call('GET', '/urls?limit=100', headers)).json<{ items: { short_code: string }[] }>().items.map((l) => l.short_code);
    const aliceSees = await codes(alice);
    assert.ok(aliceSees.includes(mine) && !aliceSees.includes(theirs));
    const adminSees = await codes(svc.admin);
    assert.ok(adminSees.includes(mine) && adminSees.includes(theirs));
  });

  test('anonymous links (allowed): created without a key, readable by anyone, changeable only by an admin', async () => {
    const code = await createAs({});
    // The code is its only secret: metadata and analytics are public.
    assert.equal((await call('GET', `/urls/${code}`)).statusCode, 200);
    assert.equal((await call('GET', `/urls/${code}/analytics`, bob)).statusCode, 200);
    assert.equal((await call('GET', `/${code}`)).statusCode, 302);
    for (const c of manageCalls(code).filter((m) => m.method !== 'GET')) {
      assertProblem(await call(c.method, c.url, {}, c.payload), 401, 'unauthorized', `anonymous ${c.method}`);
      assertProblem(await call(c.method, c.url, bob, c.payload), 403, 'forbidden', `user ${c.method}`);
    }
    assert.equal((await call('PATCH', `/urls/${code}`, svc.admin, { is_active: false })).statusCode, 200);
    assert.equal((await call('DELETE', `/urls/${code}`, svc.admin)).statusCode, 204);
  });

  test('an anonymous link with a password is read by an admin key only: its view names the target the password keeps', async () => {
    const res = await call('POST', '/urls', {}, { url: 'https://example.com/behind-a-password', password: 'sesame1234' });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json<{ original_url: string }>().original_url, 'https://example.com/behind-a-password', 'its creator sees it once');
    const code = res.json<{ short_code: string }>().short_code;
    for (const url of [`/urls/${code}`, `/urls/${code}/analytics`]) {
      for (const [who, headers, status, problem] of [['nobody', {}, 401, 'unauthorized'], ['a user key', bob, 403, 'forbidden']] as const) {
        const answer = await call('GET', url, headers);
        assertProblem(answer, status, problem, `${who}: ${url}`);
        assert.ok(!answer.body.includes('behind-a-password'), `${who}: ${url} names no target`);
      }
      assert.equal((await call('GET', url, svc.admin)).statusCode, 200, `admin: ${url}`);
    }
    assert.equal((await call('GET', `/${code}`)).statusCode, 401, 'the redirect asks for the password');
  });

  test('an anonymous link is not listed as anyone\'s', async () => {
    const code = await createAs({});
    const listed = (await call('GET', '/urls?limit=100', alice)).json<{ items: { short_code: string }[] }>().items;
    assert.ok(!listed.some((l) => l.short_code === code));
  });
});

describe('anonymous creation switched off', () => {
  test('POST /urls without a key is 401; with a key it works', async (t) => {
    const svc = await buildTestUrlService('url-auth-closed', { allowAnonymous: false });
    t.after(() => svc.close());
    const res = await svc.app.inject({ method: 'POST', url: '/urls', payload: { url: 'https://example.com/' } });
    assertProblem(res, 401, 'unauthorized');
    assert.equal(res.headers['www-authenticate'], 'Bearer');
    assert.equal((await svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload: { url: 'https://example.com/' } })).statusCode, 201);
  });
});

describe('rate limits', () => {
  let svc: TestUrlService;
  const LIMITS = { perKey: 5, perIp: 3 };

  /** The limiter counts in fixed one-minute windows: start a test well inside one. */
  async function freshWindow(): Promise<void> {
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 5000) await sleep(left + 50);
  }
  const get = (headers: Headers, remoteAddress = '127.0.0.1') => svc.app.inject({ url: '/urls', headers, remoteAddress });

  before(async () => {
    svc = await buildTestUrlService('url-ratelimit', { rateLimit: LIMITS });
  });
  after(() => svc.close());

  test('per key: past the limit a key gets 429 with Retry-After; another key is not affected', async () => {
    const alice = await svc.userKey('rl-alice');
    const bob = await svc.userKey('rl-bob');
    await freshWindow();
    for (let i = 0; i < LIMITS.perKey; i++) assert.equal((await get(alice)).statusCode, 200, `request ${i + 1}`);
    const limited = await get(alice);
    assertProblem(limited, 429, 'rate_limited');
    const retryAfter = Number(limited.headers['retry-after']);
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    // Every API route counts, creation included.
    assertProblem(await svc.app.inject({ method: 'POST', url: '/urls', headers: alice, payload: { url: 'https://example.com/' } }), 429, 'rate_limited');
    assert.equal((await get(bob)).statusCode, 200);
    // The key's limit is the key's, not the address's: from elsewhere it is still limited.
    assertProblem(await get(alice, '10.9.9.9'), 429, 'rate_limited');
  });

  test('per client address: anonymous callers are limited by IP, each address on its own', async () => {
    await freshWindow();
    const address = '10.0.0.1';
    for (let i = 0; i < LIMITS.perIp; i++) assert.equal((await get({}, address)).statusCode, 401, 'unauthenticated but counted');
    const limited = await get({}, address);
    assertProblem(limited, 429, 'rate_limited');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    assert.equal((await get({}, '10.0.0.2')).statusCode, 401, 'another address is not limited');
    const create = await svc.app.inject({ method: 'POST', url: '/urls', payload: { url: 'https://example.com/' }, remoteAddress: address });
    assertProblem(create, 429, 'rate_limited');
  });

  test('guessing API keys is limited per address like any anonymous call', async () => {
    await freshWindow();
    const address = '10.0.0.3';
    const statuses: number[] = [];
    for (let i = 0; i < LIMITS.perIp + 3; i++) statuses.push((await get({ authorization: `Bearer curt_guess${i}` }, address)).statusCode);
    assert.deepEqual(statuses, [...Array<number>(LIMITS.perIp).fill(401), 429, 429, 429]);
  });

  test('an admin key is never rate limited', async () => {
    await freshWindow();
    for (let i = 0; i < LIMITS.perKey * 3; i++) assert.equal((await get(svc.admin)).statusCode, 200);
  });

  test('redirects are not rate limited', async () => {
    await freshWindow();
    const res = await svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload: { url: 'https://example.com/' } });
    const code = res.json<{ short_code: string }>().short_code;
    for (let i = 0; i < LIMITS.perIp * 3; i++) {
      assert.equal((await svc.app.inject({ url: `/${code}`, remoteAddress: '10.0.0.4' })).statusCode, 302);
    }
  });

  test('the counters live in Redis: requests counted by another replica\'s limiter count here too', async () => {
    await freshWindow();
    const minted = await svc.app.inject({ method: 'POST', url: '/api-keys', headers: svc.admin, payload: { name: 'rl-carol' } });
    const { id, key } = minted.json<{ id: number; key: string }>();
    const otherReplica = createRedisRateLimiter(svc.redis.redis, svc.redis.prefix);
    for (let i = 0; i < LIMITS.perKey; i++) assert.equal(await otherReplica.hit(`key:${id}`, LIMITS.perKey), null);
    assertProblem(await get({ authorization: `Bearer ${key}` }), 429, 'rate_limited');
  });
});

describe('rate limits per IPv6 client: by its /64, behind one trusted proxy (TRUST_PROXY=1)', () => {
  let svc: TestUrlService;
  const PER_IP = 5;
  before(async () => {
    // A fixed clock names the limiter's window: no minute turns mid-test and starts the count afresh.
    const fixed = Date.now();
    svc = await buildTestUrlService('url-ratelimit-v6', { rateLimit: { perKey: 0, perIp: PER_IP }, trustProxy: 1, limiterNow: () => fixed });
  });
  after(() => svc.close());
  /** An anonymous API call from `client`, as the one proxy in front reports it. */
  const callFrom = (client: string, headers: Headers = {}) =>
    svc.app.inject({ url: '/urls', remoteAddress: '10.0.0.200', headers: { 'x-forwarded-for': `1.2.3.4, ${client}`, ...headers } });

  test('7 anonymous calls from 7 addresses of one /64 get 429 past the limit; another /64 is not limited by them', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= 7; i++) statuses.push((await callFrom(`2001:db8:1:2::${i}`)).statusCode);
    assert.deepEqual(statuses, [...Array<number>(PER_IP).fill(401), 429, 429]);
    assertProblem(await callFrom('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff'), 429, 'rate_limited', 'the same /64, spelt otherwise');
    for (let i = 1; i <= PER_IP; i++) assert.equal((await callFrom(`2001:db8:1:3::${i}`)).statusCode, 401, `another /64, call ${i}`);
    assertProblem(await callFrom('2001:db8:1:3::99'), 429, 'rate_limited', 'which has its own limit');
  });

  test('guessing API keys from fresh addresses of one /64 is limited like any anonymous call', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= PER_IP + 2; i++) statuses.push((await callFrom(`2001:db8:2:2:${i}::1`, { authorization: `Bearer curt_guess${i}` })).statusCode);
    assert.deepEqual(statuses, [...Array<number>(PER_IP).fill(401), 429, 429]);
  });

  test('an IPv4 client counts the same whether its address comes IPv4-mapped or not', async () => {
    const statuses: number[] = [];
    for (let i = 0; i <= PER_IP; i++) statuses.push((await callFrom(i % 2 === 0 ? '203.0.113.9' : '::ffff:203.0.113.9')).statusCode);
    assert.deepEqual(statuses, [...Array<number>(PER_IP).fill(401), 429]);
    assert.equal((await callFrom('203.0.113.10')).statusCode, 401, 'the next IPv4 address is another client');
  });
});
