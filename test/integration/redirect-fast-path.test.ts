// The redirect's fast path (src/url/routes/redirect.ts, redirectFastPath): over a real socket
// (app.inject never reaches it), a link held in memory, or looked up because it is not, is answered
// before Fastify with exactly what the route sends and counted as the route counts; everything else
// still goes to the route, which goes on from the lookup already made (counted once).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LinkCache } from '../../src/storage/link-cache.ts';
import { createMemoryLinkCache } from '../../src/storage/memory/memory-link-cache.ts';
import { seriesValue } from '../support/fault-probes.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';
import { PERSON, PREVIEW_BOT_UA } from '../support/visitors.ts';

describe('redirect fast path', () => {
  let svc: TestUrlService;
  let base: string;
  let cache: LinkCache;
  // From a person's browser unless a test says otherwise: fetch's own User-Agent is a bot's.
  const get = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${base}${path}`, { redirect: 'manual', ...init, headers: { ...PERSON, ...(init.headers as Record<string, string> | undefined) } });
  const metric = async (series: string): Promise<number> => seriesValue(await svc.registry.metrics(), series) ?? 0;
  const nearHits = (): Promise<number> => metric('cache_lookups_total{result="hit"}');
  async function create(payload: Record<string, unknown>): Promise<string> {
    const res = await svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload });
    assert.equal(res.statusCode, 201, res.body);
    return res.json<{ short_code: string }>().short_code;
  }

  /** Counts the route's calls while `body` runs, and which of them came with the fast path's lookup; with what `body` gave. */
  async function watchRoute<T>(body: () => Promise<T>): Promise<{ calls: number; withLookup: number; result: T }> {
    const routed = svc.links.resolveRedirect.bind(svc.links);
    const seen = { calls: 0, withLookup: 0 };
    svc.links.resolveRedirect = (...args) => {
      seen.calls += 1;
      if (args[4] !== undefined) seen.withLookup += 1;
      return routed(...args);
    };
    try {
      const result = await body();
      return { ...seen, result };
    } finally {
      svc.links.resolveRedirect = routed;
    }
  }

  before(async () => {
    // An in-process cache, as `curt serve` has: the one the fast path reads (the services' tiered cache
    // peeks its near tier the same way; see the tiered cache's unit tests).
    cache = createMemoryLinkCache();
    svc = await buildTestUrlService('redirect-fast-path', { cache });
    base = await svc.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => svc.close());

  test('a held link gets what the route sends: status, Location, Cache-Control, X-Request-Id, an empty body', async () => {
    const code = await create({ url: 'https://example.com/fast' });
    const viaRoute = await svc.app.inject({ url: `/${code}` });
    const hitsBefore = await nearHits();
    // The route's way in: the fast path must not take it.
    const { calls, result: res } = await watchRoute(() => get(`/${code}`, { headers: { 'x-request-id': 'trace-123' } }));
    assert.equal(calls, 0, 'answered before the route');
    assert.equal(await nearHits(), hitsBefore + 1, 'and counted as a cache hit');
    assert.equal(res.status, 302);
    for (const header of ['location', 'cache-control', 'content-length']) assert.equal(res.headers.get(header), viaRoute.headers[header] === undefined ? null : String(viaRoute.headers[header]), header);
    assert.equal(res.headers.get('x-request-id'), 'trace-123', 'a valid request id is kept');
    assert.equal(await res.text(), '');
    const fresh = await get(`/${code}`, { headers: { 'x-request-id': 'bad id with spaces' } });
    assert.match(fresh.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, 'an odd one is replaced');
  });

  test('GET counts a click, HEAD does not; a trailing slash and a query string reach the same link', async () => {
    const code = await create({ url: 'https://example.com/counted' });
    await svc.app.inject({ url: `/${code}` });
    await svc.clicks.flush();
    const clicks = async (): Promise<number> => {
      await svc.clicks.flush();
      return (await svc.store.findByCode(code))?.clicks ?? -1;
    };
    const before = await clicks();
    const redirected = await metric('redirects_total{outcome="redirected"}');
    const routeCount = await metric('http_request_duration_seconds_count{method="GET",route="/:short_code",status_code="302"}');
    for (const path of [`/${code}`, `/${code}/`, `/${code}?utm_source=x`]) {
      const res = await get(path, { headers: { referer: 'https://news.example/item' } });
      assert.equal(res.headers.get('location'), 'https://example.com/counted', path);
    }
    const head = await get(`/${code}`, { method: 'HEAD' });
    assert.equal(head.status, 302);
    const bot = await get(`/${code}`, { headers: { 'user-agent': PREVIEW_BOT_UA } });
    assert.equal(bot.status, 302, 'a bot is redirected from memory too');
    assert.equal(await clicks(), before + 3, 'three GETs, and neither HEAD nor the bot is a click');
    assert.equal((await svc.store.findByCode(code))?.botHits, 2, 'the bot is a bot hit (as is the inject that held the link: "lightMyRequest")');
    assert.equal(await metric('redirects_total{outcome="redirected"}'), redirected + 5);
    assert.equal(await metric('http_request_duration_seconds_count{method="GET",route="/:short_code",status_code="302"}'), routeCount + 3);
    assert.equal(await metric('http_request_duration_seconds_count{method="GET",route="/:short_code/",status_code="302"}'), 1);
    const analytics = await svc.app.inject({ url: `/urls/${code}/analytics`, headers: svc.admin });
    assert.ok(analytics.body.includes('news.example'), 'the referrer host is counted too');
  });

  test("a link that forwards its query is answered from memory with the request's query merged into its target's", async () => {
    const code = await create({ url: 'https://example.com/page?ref=1#top', forward_query: true });
    await svc.app.inject({ url: `/${code}` });
    const route = await watchRoute(async () => {
      assert.equal((await get(`/${code}?utm_source=x&ref=2`)).headers.get('location'), 'https://example.com/page?utm_source=x&ref=2#top');
      assert.equal((await get(`/${code}/?utm_source=y`, { method: 'HEAD' })).headers.get('location'), 'https://example.com/page?ref=1&utm_source=y#top');
      assert.equal((await get(`/${code}`)).headers.get('location'), 'https://example.com/page?ref=1#top');
    });
    assert.equal(route.calls, 0, 'every one answered before the route');
  });

  test('a stray % of the forwarded query is forwarded as %25, by the fast path and the route alike; valid escapes are kept', async () => {
    const held = await create({ url: 'https://example.com/a?b=1', forward_query: true });
    // A visit limit: never answered before the route, so the route writes its Location.
    const limited = await create({ url: 'https://example.com/a?b=1', forward_query: true, max_visits: 10 });
    const expected = 'https://example.com/a?b=1&x=%25&y=%25zz&z=%41%2f';
    const query = '?x=%&y=%zz&z=%41%2f';
    const viaRoute = await svc.app.inject({ url: `/${held}${query}` });
    assert.equal(viaRoute.headers.location, expected, 'the route (inject never reaches the fast path)');
    const fromMemory = await watchRoute(async () => {
      assert.equal((await get(`/${held}${query}`)).headers.get('location'), expected, 'the fast path, from memory');
    });
    assert.equal(fromMemory.calls, 0, 'answered before the route');
    const overSocket = await watchRoute(async () => {
      assert.equal((await get(`/${limited}/${query}`)).headers.get('location'), expected, 'the route, over the socket');
    });
    assert.equal(overSocket.calls, 1);
  });

  test('a link disabled, expired, one-time or with a visit limit is never answered from memory: the route decides', async () => {
    const disabled = await create({ url: 'https://example.com/disabled' });
    assert.equal((await get(`/${disabled}`)).status, 302);
    const patched = await svc.app.inject({ method: 'PATCH', url: `/urls/${disabled}`, headers: svc.admin, payload: { is_active: false } });
    assert.equal(patched.statusCode, 200, patched.body);
    const gone = await get(`/${disabled}`, { headers: { accept: 'application/json' } });
    assert.equal(gone.status, 410);
    assert.equal(gone.headers.get('content-type'), 'application/problem+json; charset=utf-8');

    // Three seconds to live, not one: the creation and the first redirect must both fall inside it,
    // and a loaded machine can take a second over them.
    const made = await svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload: { url: 'https://example.com/expiring', expires_in: 3 } });
    assert.equal(made.statusCode, 201, made.body);
    const { short_code: expiring, expires_at } = made.json<{ short_code: string; expires_at: string }>();
    const sentAt = Date.now();
    assert.equal((await get(`/${expiring}`)).status, 302, `sent ${Date.parse(expires_at) - sentAt} ms before expires_at`);
    await sleep(Date.parse(expires_at) - Date.now() + 100);
    assert.equal((await get(`/${expiring}`)).status, 410, 'expiry to the second, even when held in memory');

    const once = await create({ url: 'https://example.com/once', one_time: true });
    assert.equal((await get(`/${once}`)).status, 302);
    assert.equal((await get(`/${once}`)).status, 410, 'the use is decided in PostgreSQL');

    const three = await create({ url: 'https://example.com/three', max_visits: 3 });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await get(`/${three}`)).status);
    assert.deepEqual(statuses, [302, 302, 302, 410, 410], 'each visit is decided in PostgreSQL');
  });

  const lookups = async (): Promise<Record<string, number>> => ({
    hit: await metric('cache_lookups_total{result="hit"}'),
    miss: await metric('cache_lookups_total{result="miss"}'),
    negative_hit: await metric('cache_lookups_total{result="negative_hit"}'),
  });
  const added = (after: Record<string, number>, before: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));

  test('a link not held in memory is looked up and answered before the route too: the same answer, counted once', async () => {
    const code = await create({ url: 'https://example.com/cold' });
    const viaRoute = await svc.app.inject({ url: `/${code}` });
    await svc.clicks.flush();
    const clicksBefore = (await svc.store.findByCode(code))?.clicks ?? -1;
    await cache.delete(code);
    const before = await lookups();
    const redirected = await metric('redirects_total{outcome="redirected"}');
    const routeCount = await metric('http_request_duration_seconds_count{method="GET",route="/:short_code",status_code="302"}');
    const { calls, result: res } = await watchRoute(() => get(`/${code}`, { headers: { 'x-request-id': 'cold-trace' } }));
    assert.equal(calls, 0, 'answered before the route');
    assert.equal(res.status, 302);
    for (const header of ['location', 'cache-control', 'content-length']) assert.equal(res.headers.get(header), String(viaRoute.headers[header]), header);
    assert.equal(res.headers.get('x-request-id'), 'cold-trace');
    assert.equal(await res.text(), '');
    assert.deepEqual(added(await lookups(), before), { hit: 0, miss: 1, negative_hit: 0 }, 'one lookup, a miss (then PostgreSQL)');
    assert.equal(await metric('redirects_total{outcome="redirected"}'), redirected + 1);
    assert.equal(await metric('http_request_duration_seconds_count{method="GET",route="/:short_code",status_code="302"}'), routeCount + 1);
    await svc.clicks.flush();
    assert.equal((await svc.store.findByCode(code))?.clicks, clicksBefore + 1, 'the click counted');
    // The lookup filled the cache: the next one is answered from memory.
    assert.equal((await get(`/${code}/`, { method: 'HEAD' })).status, 302);
    assert.deepEqual(added(await lookups(), before), { hit: 1, miss: 1, negative_hit: 0 });
  });

  test('a code not held in memory that is no plain redirect goes to the route with the lookup made: unknown, password, visit limit, disabled', async () => {
    const password = await create({ url: 'https://example.com/secret', password: 'open sesame' });
    const limited = await create({ url: 'https://example.com/limited', max_visits: 1 });
    const disabled = await create({ url: 'https://example.com/off' });
    const patched = await svc.app.inject({ method: 'PATCH', url: `/urls/${disabled}`, headers: svc.admin, payload: { is_active: false } });
    assert.equal(patched.statusCode, 200, patched.body);
    const json = { headers: { accept: 'application/json' } };
    for (const [path, status, init] of [
      ['/unknown1', 404, json],
      [`/${password}`, 401, json],
      [`/${limited}`, 302, {}],
      [`/${limited}`, 410, json],
      [`/${disabled}`, 410, json],
    ] as const) {
      await cache.delete(path.slice(1));
      const before = await lookups();
      const { result: res, ...route } = await watchRoute(() => get(path, init));
      assert.equal(res.status, status, path);
      if (status !== 302) assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8', path);
      assert.deepEqual(route, { calls: 1, withLookup: 1 }, `${path}: the route answered, going on from the fast path's lookup`);
      const counted = added(await lookups(), before);
      assert.equal(Object.values(counted).reduce((sum, n) => sum + n, 0), 1, `${path}: one lookup counted, not two (${JSON.stringify(counted)})`);
    }
    assert.equal((await get(`/${password}`, { headers: { authorization: `Basic ${Buffer.from(':open sesame').toString('base64')}` } })).status, 302, 'with its password');
  });

  test('if the fast path fails after its lookup, the route answers the request', async () => {
    const code = await create({ url: 'https://example.com/fallback' });
    await cache.delete(code);
    const answerNow = svc.links.redirectNowTo.bind(svc.links);
    svc.links.redirectNowTo = () => {
      throw new Error('broken on purpose');
    };
    let res: Response | undefined;
    try {
      const { result, ...route } = await watchRoute(() => get(`/${code}`));
      res = result;
      assert.deepEqual(route, { calls: 1, withLookup: 1 });
    } finally {
      svc.links.redirectNowTo = answerNow;
    }
    assert.equal(res?.status, 302);
    assert.equal(res?.headers.get('location'), 'https://example.com/fallback');
  });

  test("a request held and then handed to the route is timed from when it was held: its latency includes the lookup", async () => {
    const series = 'http_request_duration_seconds_sum{method="GET",route="/:short_code",status_code="404"}';
    const slowLookup = svc.links.lookupLink.bind(svc.links);
    svc.links.lookupLink = async (code) => {
      await sleep(300);
      return slowLookup(code);
    };
    const before = await metric(series);
    try {
      assert.equal((await get('/slow404', { headers: { accept: 'application/json' } })).status, 404);
    } finally {
      svc.links.lookupLink = slowLookup;
    }
    const seconds = (await metric(series)) - before;
    assert.ok(seconds >= 0.29, `recorded ${seconds} s for a request held 300 ms`);
  });

  test('unknown codes, reserved words and other methods go to their routes', async () => {
    const unknown = await get('/zzzzzz', { headers: { accept: 'application/json' } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal((await get('/health')).status, 200);
    const code = await create({ url: 'https://example.com/post' });
    await get(`/${code}`);
    // POST /{code} is the password form's route; other methods are no redirect.
    const post = await get(`/${code}`, { method: 'PUT', headers: { accept: 'application/json' } });
    assert.equal(post.status, 405, 'PUT /{code} is no redirect');
    assert.equal(post.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  });
});
