// README's "URL service API" through the real URL service app (app.inject) on real PostgreSQL and Redis: every endpoint
// and status code of links, redirects and the operational routes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { Link } from '../../src/client/curt-client.ts';
import { redisKeyNames } from '../../src/storage/redis/redis-key-store.ts';
import { startMetricsServer } from '../../src/core/metrics-server.ts';
import { DEFAULT_HTTP_TIMEOUTS } from '../../src/core/http-app.ts';
import { testLogger } from '../support/log.ts';
import { buildTestUrlService, PUBLIC_BASE_URL, type TestUrlService } from '../support/url-service.ts';
import { PERSON } from '../support/visitors.ts';

const PROBLEM = 'application/problem+json; charset=utf-8';
type Headers = Record<string, string>;

/** A link as the API answers it: the SDK's type. */
type LinkJson = Link;

function assertProblem(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers['content-type'], PROBLEM);
  const body = res.json<{ type: string; status: number; code: string; title: string }>();
  assert.equal(body.status, status);
  assert.equal(body.code, code);
  assert.equal(body.type, `urn:curt:problem:${code}`);
  assert.ok(body.title.length > 0);
  assert.ok(!/at .*\.ts:\d+/.test(res.body), 'no stack trace');
}

describe('URL service API', () => {
  let svc: TestUrlService;
  const clock = { offsetMs: 0 };
  let create: (payload: Record<string, unknown>, headers?: Headers) => Promise<LightMyRequestResponse>;
  let createLink: (payload: Record<string, unknown>) => Promise<LinkJson>;
  // From a person's browser unless headers say otherwise: inject's own User-Agent is a bot's.
  const redirect = (code: string, headers: Headers = {}, method: 'GET' | 'HEAD' = 'GET') =>
    svc.app.inject({ method, url: `/${code}`, headers: { ...PERSON, ...headers } });

  before(async () => {
    svc = await buildTestUrlService('url-api', { now: () => new Date(Date.now() + clock.offsetMs) });
    create = (payload, headers = svc.admin) => svc.app.inject({ method: 'POST', url: '/urls', headers, payload });
    createLink = async (payload) => {
      const res = await create(payload);
      assert.equal(res.statusCode, 201, res.body);
      return res.json<LinkJson>();
    };
  });
  after(() => svc.close());

  describe('POST /urls', () => {
    test('201 with short_code, short_url, original_url, created_at, expires_at and is_one_time', async () => {
      const before = Date.now();
      const res = await create({ url: 'https://example.com/some/page?q=1' });
      assert.equal(res.statusCode, 201);
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
      const body = res.json<LinkJson>();
      assert.match(body.short_code, /^[a-zA-Z]{6}$/);
      assert.equal(body.short_url, `${PUBLIC_BASE_URL}/${body.short_code}`);
      assert.equal(body.original_url, 'https://example.com/some/page?q=1');
      assert.ok(Math.abs(Date.parse(body.created_at) - before) < 10_000);
      assert.equal(body.expires_at, null);
      assert.equal(body.is_one_time, false);
      assert.equal(body.is_custom_alias, false);
      assert.equal(body.state, 'active');
      assert.equal(res.headers.location, `/urls/${body.short_code}`);
    });

    test('the stored original_url is the normalised URL', async () => {
      const body = await createLink({ url: '  HTTPS://Bücher.Example/ä b ' });
      assert.equal(body.original_url, 'https://xn--bcher-kva.example/%C3%A4%20b');
    });

    test('two creations get two different codes', async () => {
      const codes = await Promise.all(Array.from({ length: 20 }, () => createLink({ url: 'https://example.com/' })));
      assert.equal(new Set(codes.map((c) => c.short_code)).size, 20);
    });

    test('a custom alias becomes the code', async () => {
      const body = await createLink({ url: 'https://example.com/promo', alias: 'Promo_2026' });
      assert.equal(body.short_code, 'Promo_2026');
      assert.equal(body.is_custom_alias, true);
      assert.equal((await redirect('Promo_2026')).headers.location, 'https://example.com/promo');
    });

    test('an alias already taken is 409 alias_taken, and the first link is untouched', async () => {
      await createLink({ url: 'https://example.com/first', alias: 'taken1' });
      assertProblem(await create({ url: 'https://example.com/second', alias: 'taken1' }), 409, 'alias_taken');
      assert.equal((await redirect('taken1')).headers.location, 'https://example.com/first');
    });

    test('an alias equal to a generated code is 409 alias_taken', async () => {
      const generated = await createLink({ url: 'https://example.com/g' });
      assertProblem(await create({ url: 'https://example.com/x', alias: generated.short_code }), 409, 'alias_taken');
    });

    test('two creations racing for one alias: exactly one 201, the other 409', async () => {
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => create({ url: `https://example.com/${i}`, alias: 'race-1' })));
      assert.deepEqual(results.map((r) => r.statusCode).sort(), [201, ...Array<number>(9).fill(409)]);
    });

    test('expires_in sets expires_at that many seconds from now', async () => {
      const body = await createLink({ url: 'https://example.com/', expires_in: 3600 });
      const expiresAt = Date.parse(body.expires_at ?? '');
      assert.ok(Math.abs(expiresAt - (Date.now() + 3_600_000)) < 10_000);
    });

    test('expires_at is kept as given', async () => {
      const at = new Date(Date.now() + 86_400_000);
      at.setMilliseconds(0);
      const body = await createLink({ url: 'https://example.com/', expires_at: at.toISOString() });
      assert.equal(body.expires_at, at.toISOString());
      const offset = await createLink({ url: 'https://example.com/', expires_at: '2099-06-01T12:00:00+02:00' });
      assert.equal(offset.expires_at, '2099-06-01T10:00:00.000Z');
    });

    test('one_time is stored and reported', async () => {
      assert.equal((await createLink({ url: 'https://example.com/', one_time: true })).is_one_time, true);
    });
  });

  describe('GET /{short_code}', () => {
    test('redirects with 302 and Location, and no caching by the browser', async () => {
      const link = await createLink({ url: 'https://example.com/target?x=1#top' });
      const res = await redirect(link.short_code);
      assert.equal(res.statusCode, 302);
      assert.equal(res.headers.location, 'https://example.com/target?x=1#top');
      assert.match(String(res.headers['cache-control']), /no-store/);
    });

    test('an unknown code is 404 link_not_found problem+json', async () => {
      assertProblem(await redirect('nosuch'), 404, 'link_not_found');
      assertProblem(await redirect('x'.repeat(11)), 404, 'link_not_found');
      assertProblem(await redirect('bad.code'), 404, 'link_not_found');
    });

    test('a browser (Accept: text/html) gets a small HTML page with security headers instead', async () => {
      const res = await redirect('nosuch2', { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
      assert.equal(res.statusCode, 404);
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
      assert.match(res.body, /This short link does not exist/);
      assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['x-frame-options'], 'DENY');
    });

    test('an expired link is 410 link_expired, on a cache hit and on a miss', async () => {
      const link = await createLink({ url: 'https://example.com/', expires_in: 60 });
      assert.equal((await redirect(link.short_code)).statusCode, 302);
      clock.offsetMs = 61_000;
      try {
        assertProblem(await redirect(link.short_code), 410, 'link_expired');
        await svc.redis.redis.del(`${svc.redis.prefix}url:${link.short_code}`);
        assertProblem(await redirect(link.short_code), 410, 'link_expired');
        const page = await redirect(link.short_code, { accept: 'text/html' });
        assert.equal(page.statusCode, 410);
        assert.match(page.body, /has expired/);
      } finally {
        clock.offsetMs = 0;
      }
    });

    test('a one-time link redirects once, then 410 link_used', async () => {
      const link = await createLink({ url: 'https://example.com/secret', one_time: true });
      assert.equal((await redirect(link.short_code)).statusCode, 302);
      assertProblem(await redirect(link.short_code), 410, 'link_used');
      const page = await redirect(link.short_code, { accept: 'text/html' });
      assert.match(page.body, /has been used up/);
    });

    test('a disabled link is 410 link_disabled', async () => {
      const link = await createLink({ url: 'https://example.com/' });
      await svc.app.inject({ method: 'PATCH', url: `/urls/${link.short_code}`, headers: svc.admin, payload: { is_active: false } });
      assertProblem(await redirect(link.short_code), 410, 'link_disabled');
    });

    test('HEAD answers like GET but counts no click and does not use up a one-time link', async () => {
      const link = await createLink({ url: 'https://example.com/head' });
      const head = await redirect(link.short_code, {}, 'HEAD');
      assert.equal(head.statusCode, 302);
      assert.equal(head.headers.location, 'https://example.com/head');
      assert.equal(head.body, '');
      assert.equal((await redirect('nosuch3', {}, 'HEAD')).statusCode, 404);
      await svc.clicks.flush();
      const after = await svc.app.inject({ url: `/urls/${link.short_code}`, headers: svc.admin });
      assert.equal(after.json<LinkJson>().clicks, 0);

      const once = await createLink({ url: 'https://example.com/once', one_time: true });
      for (let i = 0; i < 3; i++) assert.equal((await redirect(once.short_code, {}, 'HEAD')).statusCode, 302);
      assert.equal((await redirect(once.short_code)).statusCode, 302);
      assert.equal((await redirect(once.short_code, {}, 'HEAD')).statusCode, 410);
    });
  });

  describe('GET, PATCH and DELETE /urls/{short_code}', () => {
    test('GET returns the metadata of a link', async () => {
      const link = await createLink({ url: 'https://example.com/meta', expires_in: 600, one_time: true });
      const res = await svc.app.inject({ url: `/urls/${link.short_code}`, headers: svc.admin });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), link);
    });

    test('GET of an unknown code is 404 link_not_found', async () => {
      assertProblem(await svc.app.inject({ url: '/urls/nosuch', headers: svc.admin }), 404, 'link_not_found');
    });

    test('PATCH is_active disables and re-enables a link', async () => {
      const link = await createLink({ url: 'https://example.com/p' });
      const off = await svc.app.inject({ method: 'PATCH', url: `/urls/${link.short_code}`, headers: svc.admin, payload: { is_active: false } });
      assert.equal(off.statusCode, 200);
      assert.deepEqual([off.json<LinkJson>().is_active, off.json<LinkJson>().state], [false, 'disabled']);
      assert.equal((await redirect(link.short_code)).statusCode, 410);
      const on = await svc.app.inject({ method: 'PATCH', url: `/urls/${link.short_code}`, headers: svc.admin, payload: { is_active: true } });
      assert.equal(on.json<LinkJson>().state, 'active');
      assert.equal((await redirect(link.short_code)).statusCode, 302);
    });

    test('PATCH url changes the target at once (the cached entry too), under the same rules as creation', async () => {
      const link = await createLink({ url: 'https://example.com/before' });
      assert.equal((await redirect(link.short_code)).headers.location, 'https://example.com/before', 'cached by this redirect');
      const patch = (url: string) => svc.app.inject({ method: 'PATCH', url: `/urls/${link.short_code}`, headers: svc.admin, payload: { url } });
      const moved = await patch('https://EXAMPLE.com/after');
      assert.equal(moved.statusCode, 200);
      assert.equal(moved.json<LinkJson>().original_url, 'https://example.com/after', 'normalised as at creation');
      assert.equal((await redirect(link.short_code)).headers.location, 'https://example.com/after');
      assertProblem(await patch('ftp://example.com/'), 400, 'invalid_url');
      assertProblem(await patch('http://sho.rt/loop'), 400, 'invalid_url');
      assertProblem(await patch(`https://example.com/${'x'.repeat(2048)}`), 400, 'invalid_url');
      assert.equal((await redirect(link.short_code)).headers.location, 'https://example.com/after', 'a refused target changes nothing');
    });

    test('PATCH expires_at sets, moves into the past and removes (null) the expiry', async () => {
      const link = await createLink({ url: 'https://example.com/e' });
      const patch = (expires_at: string | null) =>
        svc.app.inject({ method: 'PATCH', url: `/urls/${link.short_code}`, headers: svc.admin, payload: { expires_at } });
      const later = new Date(Date.now() + 3_600_000).toISOString();
      assert.equal((await patch(later)).json<LinkJson>().expires_at, later);
      const past = await patch(new Date(Date.now() - 1000).toISOString());
      assert.deepEqual([past.json<LinkJson>().is_expired, past.json<LinkJson>().state], [true, 'expired']);
      assertProblem(await redirect(link.short_code), 410, 'link_expired');
      const none = await patch(null);
      assert.deepEqual([none.json<LinkJson>().expires_at, none.json<LinkJson>().state], [null, 'active']);
      assert.equal((await redirect(link.short_code)).statusCode, 302);
    });

    test('PATCH with nothing to change, an unknown field, a wrong type or an expiry past 100 years is 400', async () => {
      const link = await createLink({ url: 'https://example.com/' });
      for (const payload of [{}, { is_active: 'no' }, { clicks: 5 }, { expires_at: 'tomorrow' }, { expires_at: '2999-01-01T00:00:00Z' }]) {
        const res = await svc.app.inject({ method: 'PATCH', url: `/urls/${link.short_code}`, headers: svc.admin, payload });
        assert.equal(res.statusCode, 400, JSON.stringify(payload));
        assert.equal(res.headers['content-type'], PROBLEM);
      }
      assertProblem(await svc.app.inject({ method: 'PATCH', url: '/urls/nosuch', headers: svc.admin, payload: { is_active: false } }), 404, 'link_not_found');
    });

    test('DELETE answers 204, then the link is 404 everywhere and its generated code is back in the KGS pool', async () => {
      const link = await createLink({ url: 'https://example.com/d' });
      await redirect(link.short_code); // cached
      const names = redisKeyNames(svc.redis.prefix);
      assert.equal(await svc.redis.redis.sismember(names.used, link.short_code), 1);
      const del = await svc.app.inject({ method: 'DELETE', url: `/urls/${link.short_code}`, headers: svc.admin });
      assert.equal(del.statusCode, 204);
      assert.equal(del.body, '');
      assertProblem(await redirect(link.short_code), 404, 'link_not_found');
      assertProblem(await svc.app.inject({ url: `/urls/${link.short_code}`, headers: svc.admin }), 404, 'link_not_found');
      assertProblem(await svc.app.inject({ method: 'DELETE', url: `/urls/${link.short_code}`, headers: svc.admin }), 404, 'link_not_found');
      // The test pool has no cool-down: the code is available again at once.
      assert.equal(await svc.redis.redis.sismember(names.used, link.short_code), 0);
      assert.equal(await svc.redis.redis.sismember(names.available, link.short_code), 1);
    });

    test('DELETE of an alias link releases the alias for claiming, never into the pool of generated codes', async () => {
      await createLink({ url: 'https://example.com/', alias: 'ab_12' });
      assert.equal((await svc.app.inject({ method: 'DELETE', url: '/urls/ab_12', headers: svc.admin })).statusCode, 204);
      const names = redisKeyNames(svc.redis.prefix);
      assert.equal(await svc.redis.redis.sismember(names.available, 'ab_12'), 0, 'not a generated code');
      assert.equal(await svc.redis.redis.sismember(names.used, 'ab_12'), 0, 'released (the test pool has no cool-down)');
      const again = await create({ url: 'https://example.com/again', alias: 'ab_12' });
      assert.equal(again.statusCode, 201, 'the alias can be claimed again');
    });
  });

  describe('GET /urls', () => {
    test('q finds links by code or target and state keeps one state; a key still sees only its own; a bad state is 400', async () => {
      const user = await svc.userKey('searcher');
      const other = await svc.userKey('other');
      const mine = (await create({ url: 'https://example.com/find-ME/1' }, user)).json<LinkJson>();
      const off = (await create({ url: 'https://example.com/find-me/2' }, user)).json<LinkJson>();
      await create({ url: 'https://example.com/find-me/3' }, other);
      await svc.app.inject({ method: 'PATCH', url: `/urls/${off.short_code}`, headers: user, payload: { is_active: false } });
      const list = async (query: string) => {
        const res = await svc.app.inject({ url: `/urls?${query}`, headers: user });
        assert.equal(res.statusCode, 200, res.body);
        return res.json<{ items: LinkJson[] }>().items.map((l) => l.short_code);
      };
      assert.deepEqual(await list('q=find-me'), [off.short_code, mine.short_code]);
      assert.deepEqual(await list('q=find-me&state=disabled'), [off.short_code]);
      assert.deepEqual(await list('q=find-me&state=active'), [mine.short_code]);
      assert.deepEqual(await list(`q=${mine.short_code}`), [mine.short_code]);
      assert.deepEqual(await list('q=find-me&state=used'), []);
      const bad = await svc.app.inject({ url: '/urls?state=gone', headers: user });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json<{ detail: string }>().detail, /state must be "active" or "expired" or "used" or "disabled"/);
      assert.equal((await svc.app.inject({ url: `/urls?q=${'x'.repeat(201)}`, headers: user })).statusCode, 400);
    });

    test('cursor pagination walks every link once, newest first, with no duplicate and none missing', async () => {
      const user = await svc.userKey('lister');
      const created: string[] = [];
      for (let i = 0; i < 23; i++) {
        const res = await create({ url: `https://example.com/${i}` }, user);
        created.push(res.json<LinkJson>().short_code);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor === null ? '?limit=5' : `?limit=5&cursor=${cursor}`;
        const res = await svc.app.inject({ url: `/urls${query}`, headers: user });
        assert.equal(res.statusCode, 200);
        const page = res.json<{ items: LinkJson[]; next_cursor: string | null }>();
        assert.ok(page.items.length <= 5);
        seen.push(...page.items.map((l) => l.short_code));
        cursor = page.next_cursor;
        pages += 1;
      } while (cursor !== null && pages < 20);
      assert.equal(pages, 5);
      assert.deepEqual(seen, [...created].reverse());
    });

    test('a page exactly full has no next_cursor when nothing follows', async () => {
      const user = await svc.userKey('exact');
      for (let i = 0; i < 4; i++) await create({ url: 'https://example.com/' }, user);
      const first = (await svc.app.inject({ url: '/urls?limit=2', headers: user })).json<{ items: LinkJson[]; next_cursor: string | null }>();
      const second = (await svc.app.inject({ url: `/urls?limit=2&cursor=${first.next_cursor}`, headers: user })).json<{ next_cursor: string | null; items: unknown[] }>();
      assert.equal(second.items.length, 2);
      assert.equal(second.next_cursor, null);
    });

    test('the default page is 20 links', async () => {
      const res = await svc.app.inject({ url: '/urls', headers: svc.admin });
      assert.equal(res.json<{ items: unknown[] }>().items.length, 20);
    });

    test('a bad limit or cursor is 400, not 500', async () => {
      for (const query of ['limit=0', 'limit=101', 'limit=abc', 'limit=-1', 'cursor=garbage', 'cursor=aWQ6LTE', 'other=1']) {
        const res = await svc.app.inject({ url: `/urls?${query}`, headers: svc.admin });
        assert.equal(res.statusCode, 400, query);
        assert.equal(res.headers['content-type'], PROBLEM);
      }
    });
  });

  describe('GET /urls/{short_code}/analytics', () => {
    test('reports total clicks, last click, clicks per day and top referrer hosts once flushed', async () => {
      const link = await createLink({ url: 'https://example.com/a' });
      for (const referer of [undefined, 'https://news.example/x', 'https://news.example/y', 'https://blog.example/']) {
        await redirect(link.short_code, referer ? { referer } : {});
      }
      await svc.clicks.flush();
      const res = await svc.app.inject({ url: `/urls/${link.short_code}/analytics`, headers: svc.admin });
      assert.equal(res.statusCode, 200);
      const body = res.json<{ clicks: number; last_clicked_at: string; daily: { date: string; clicks: number }[]; referrers: { host: string; clicks: number }[]; state: string }>();
      assert.equal(body.clicks, 4);
      assert.equal(body.state, 'active');
      assert.ok(Math.abs(Date.parse(body.last_clicked_at) - Date.now()) < 60_000);
      assert.deepEqual(body.daily, [{ date: new Date().toISOString().slice(0, 10), clicks: 4, bot_hits: 0 }]);
      assert.deepEqual(body.referrers[0], { host: 'news.example', clicks: 2 });
      assert.equal(body.referrers.reduce((s, r) => s + r.clicks, 0), 4);
      assertProblem(await svc.app.inject({ url: '/urls/nosuch/analytics', headers: svc.admin }), 404, 'link_not_found');
    });

    test('answers the last 90 UTC days by default, or the range asked; a range that is no range is 400', async () => {
      const link = await createLink({ url: 'https://example.com/range' });
      await redirect(link.short_code);
      await svc.clicks.flush();
      const today = new Date().toISOString().slice(0, 10);
      const ask = (query: string) => svc.app.inject({ url: `/urls/${link.short_code}/analytics${query}`, headers: svc.admin });
      const byDefault = (await ask('')).json<{ from: string; to: string; range_clicks: number }>();
      assert.equal(byDefault.to, today);
      assert.equal((Date.parse(byDefault.to) - Date.parse(byDefault.from)) / 86_400_000, 89);
      assert.equal(byDefault.range_clicks, 1);
      const past = (await ask('?from=2020-01-01&to=2020-12-31')).json<{ from: string; to: string; range_clicks: number; daily: unknown[] }>();
      assert.deepEqual([past.from, past.to, past.range_clicks, past.daily.length], ['2020-01-01', '2020-12-31', 0, 0]);
      assert.equal((await ask(`?from=${today}&to=${today}&top=1`)).json<{ range_clicks: number }>().range_clicks, 1);
      for (const query of ['?from=2026-02-30', '?to=2026-13-01', '?from=2026-1-1', '?from=yesterday', '?from=2026-03-02&to=2026-03-01', '?from=2000-01-01&to=2026-01-01', '?top=0', '?top=101', '?top=x', '?days=7']) {
        const res = await ask(query);
        assert.equal(res.statusCode, 400, query);
        assert.equal(res.headers['content-type'], PROBLEM);
      }
    });
  });

  describe('operations', () => {
    test('GET /health is 200 {status: ok}', async () => {
      const res = await svc.app.inject({ url: '/health' });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { status: 'ok' });
    });

    test('GET /ready reports each dependency', async () => {
      const res = await svc.app.inject({ url: '/ready' });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { status: 'ready', checks: { postgres: 'up', redis: 'up', kgs: 'up' } });
    });

    test('the metrics listener serves Prometheus text with request, cache, redirect and click series; the public port has no /metrics', async (t) => {
      const listener = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: svc.registry, log: testLogger('metrics'), timeouts: DEFAULT_HTTP_TIMEOUTS });
      t.after(() => listener.close());
      const hidden = await svc.app.inject({ url: '/metrics' });
      assert.equal(hidden.statusCode, 404, 'the public port does not serve metrics');
      const res = await fetch(`${listener.address}/metrics`);
      assert.equal(res.status, 200);
      assert.match(String(res.headers.get('content-type')), /^text\/plain/);
      const body = await res.text();
      for (const series of ['http_request_duration_seconds_bucket', 'cache_lookups_total', 'redirects_total', 'links_created_total', 'clicks_pending', 'click_flush_lag_seconds']) {
        assert.ok(body.includes(series), `metrics lack ${series}`);
      }
      assert.match(body, /redirects_total\{outcome="redirected"\} [1-9]/);
      const elsewhere = await fetch(`${listener.address}/urls`);
      assert.equal(elsewhere.status, 404, 'the metrics listener serves nothing else');
      assert.match(String(elsewhere.headers.get('content-type')), /^application\/problem\+json/);
      assert.equal((await elsewhere.json() as { code: string }).code, 'not_found');
      const posted = await fetch(`${listener.address}/metrics`, { method: 'POST', headers: { 'x-request-id': 'metrics-post-1' } });
      assert.equal(posted.status, 405);
      assert.equal(posted.headers.get('allow'), 'GET, HEAD');
      assert.equal(posted.headers.get('x-request-id'), 'metrics-post-1');
      assert.deepEqual(await posted.json(), {
        type: 'urn:curt:problem:method_not_allowed',
        title: 'Method not allowed',
        status: 405,
        code: 'method_not_allowed',
        detail: '/metrics does not answer POST; it answers GET, HEAD.',
        request_id: 'metrics-post-1',
      });
      const head = await fetch(`${listener.address}/nothing`, { method: 'HEAD' });
      assert.equal(head.status, 404);
      assert.equal(await head.text(), '', 'a HEAD gets no body');
    });

    test('GET /docs serves the API documentation and /docs/json the OpenAPI document of every route', async () => {
      const page = await svc.app.inject({ url: '/docs' });
      assert.equal(page.statusCode, 200);
      const res = await svc.app.inject({ url: '/docs/json' });
      assert.equal(res.statusCode, 200);
      const doc = res.json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>();
      assert.match(doc.openapi, /^3\./);
      for (const path of ['/urls', '/urls/{short_code}', '/urls/{short_code}/analytics', '/api-keys', '/{short_code}', '/health', '/ready']) {
        assert.ok(doc.paths[path], `OpenAPI lacks ${path}`);
      }
      assert.ok(doc.paths['/urls']?.post && doc.paths['/urls/{short_code}']?.patch && doc.paths['/urls/{short_code}']?.delete);
    });

    test(
      'the /docs page carries the security headers of every HTML response',

      async () => {
        const page = await svc.app.inject({ url: '/docs' });
        assert.equal(page.headers['x-content-type-options'], 'nosniff');
        assert.ok(page.headers['content-security-policy']);
      },
    );
  });
});

describe('REDIRECT_STATUS', () => {
  for (const status of [301, 307, 308] as const) {
    test(`redirects answer ${status} when configured so`, async (t) => {
      const svc = await buildTestUrlService(`redirect-${status}`, { redirectStatus: status });
      t.after(() => svc.close());
      const created = await svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload: { url: 'https://example.com/s' } });
      const res = await svc.app.inject({ url: `/${created.json<LinkJson>().short_code}` });
      assert.equal(res.statusCode, status);
      assert.equal(res.headers.location, 'https://example.com/s');
    });
  }
});
