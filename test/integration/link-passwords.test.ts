// Password-protected links end to end: the browser's form, the API's Basic header, HEAD, one-time
// links, clicks only after the password, never answered from a cache or the fast path without the
// check; on `curt serve` over PGlite and over PostgreSQL (real sockets, in-process cache and limiter),
// and the guess limits on the services' Redis limiter and on the in-process one, with a short window.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadServeConfig } from '../../src/core/config.ts';
import { startServe } from '../../src/serve/serve.ts';
import { createMemoryLinkCache } from '../../src/storage/memory/memory-link-cache.ts';
import { createMemoryRateLimiter } from '../../src/storage/memory/memory-rate-limiter.ts';
import { testLogger } from '../support/log.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { BROWSER_UA, PREVIEW_BOT_UA } from '../support/user-agents.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';

const PASSWORD = 'open sesame 🔑';
const basic = (password: string, user = ''): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const BROWSER = { 'user-agent': BROWSER_UA, accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

interface Subject {
  base: string;
  admin: Record<string, string>;
  /** The link's counts once at least `clicks` are written (or after 10 s: the assertion then tells). */
  clicks(code: string, clicks: number): Promise<{ clicks: number; bot_hits: number }>;
}

async function servedOn(t: TestContext | null, kind: 'pglite' | 'postgres', cleanup: (fn: () => Promise<unknown>) => void): Promise<Subject> {
  void t;
  const env: Record<string, string> = { PORT: '0', METRICS_PORT: 'off', LOG_LEVEL: 'silent', CLICK_FLUSH_INTERVAL_MS: '50' };
  if (kind === 'postgres') {
    const database = await createTestDatabase(`pw_${process.pid}`, { migrated: false });
    cleanup(() => database.drop());
    env.DATABASE_URL = database.url;
  }
  const dataDir = join(tmpdir(), `curt-pw-${process.pid}-${Date.now()}-${kind}`);
  cleanup(() => rm(dataDir, { recursive: true, force: true }));
  const served = await startServe(loadServeConfig(env), dataDir, testLogger('serve'));
  cleanup(() => served.stop());
  const admin = { authorization: `Bearer ${served.createdAdminKey ?? ''}`, 'content-type': 'application/json' };
  return {
    base: served.address,
    admin,
    async clicks(code, clicks) {
      // The clicks are written every 50 ms; a loaded machine can take longer than a fixed wait. At
      // least two flushes either way, so that one more than expected would show too.
      const deadline = Date.now() + 10_000;
      for (;;) {
        await sleep(200);
        const res = await fetch(`${served.address}/urls/${code}`, { headers: admin });
        const counts = (await res.json()) as { clicks: number; bot_hits: number };
        if (counts.clicks >= clicks || Date.now() > deadline) return counts;
      }
    },
  };
}

for (const kind of ['pglite', 'postgres'] as const) {
  describe(`password-protected links on curt serve (${kind})`, () => {
    const cleanups: (() => Promise<unknown>)[] = [];
    let s: Subject;
    const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => fetch(`${s.base}${path}`, { method, redirect: 'manual', headers });
    const postForm = (path: string, password: string, headers: Record<string, string> = BROWSER) =>
      fetch(`${s.base}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ password }).toString(),
      });
    async function create(payload: Record<string, unknown>): Promise<{ short_code: string; has_password: boolean }> {
      const res = await fetch(`${s.base}/urls`, { method: 'POST', headers: s.admin, body: JSON.stringify(payload) });
      assert.equal(res.status, 201, await res.clone().text());
      return (await res.json()) as { short_code: string; has_password: boolean };
    }

    before(async () => {
      s = await servedOn(null, kind, (fn) => cleanups.push(fn));
    });
    after(async () => {
      for (const fn of cleanups.reverse()) await fn();
    });

    test('a browser gets the form, a wrong password the form again (401, no click), the right one a 302 and a click', async () => {
      const link = await create({ url: 'https://example.com/secret', password: PASSWORD });
      assert.equal(link.has_password, true);
      const code = link.short_code;
      const form = await get(`/${code}`, BROWSER);
      assert.equal(form.status, 401);
      assert.equal(form.headers.get('www-authenticate'), null, 'no native dialog in place of the form');
      assert.match(form.headers.get('content-security-policy') ?? '', /form-action 'self' http: https:;/);
      assert.doesNotMatch(form.headers.get('content-security-policy') ?? '', /script-src/);
      assert.equal(form.headers.get('cache-control'), 'private, no-store');
      const page = await form.text();
      assert.match(page, /<form method="post">/);
      assert.match(page, /name="password" type="password"/);
      assert.doesNotMatch(page, /example\.com/, 'the target is not on the page');
      assert.doesNotMatch(page, /<script/);

      const wrong = await postForm(`/${code}`, 'not the password');
      assert.equal(wrong.status, 401);
      assert.match(await wrong.text(), /not the password/);
      assert.equal(wrong.headers.get('location'), null);

      const right = await postForm(`/${code}`, PASSWORD);
      assert.equal(right.status, 302);
      assert.equal(right.headers.get('location'), 'https://example.com/secret');
      const slash = await postForm(`/${code}/`, PASSWORD);
      assert.equal(slash.status, 302, 'the form of /{code}/ posts there');
      const counted = await s.clicks(code, 2);
      assert.equal(counted.clicks, 2, 'two right passwords, two clicks; the form and the wrong one none');
      assert.equal(counted.bot_hits, 0);
    });

    test('the click after the form counts the referrer of the GET that showed it: its origin, carried in a hidden field through a wrong password too; a field that is no http(s) URL, or none, counts as direct', async () => {
      const { short_code: code } = await create({ url: 'https://example.com/referred', password: PASSWORD });
      const postFields = (fields: Record<string, string>) =>
        fetch(`${s.base}/${code}`, { method: 'POST', redirect: 'manual', headers: { ...BROWSER, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
      const hiddenOf = (page: string) => /<input type="hidden" name="referrer" value="([^"]*)">/.exec(page)?.[1];

      const form = await get(`/${code}`, { ...BROWSER, referer: 'https://News.Example.org/item?id=42&token=s3cret' });
      assert.equal(form.status, 401);
      const page = await form.text();
      assert.equal(hiddenOf(page), 'https://news.example.org', 'the origin only');
      assert.doesNotMatch(page, /s3cret|item\?id/, 'nothing of the referring page but its origin');
      assert.equal(hiddenOf(await (await get(`/${code}`, BROWSER)).text()), undefined, 'no Referer, no field');
      assert.equal(hiddenOf(await (await get(`/${code}`, { ...BROWSER, referer: 'javascript:alert(1)' })).text()), undefined, 'not http(s): no field');

      const wrong = await postFields({ password: 'not the password', referrer: 'https://news.example.org' });
      assert.equal(wrong.status, 401);
      assert.equal(hiddenOf(await wrong.text()), 'https://news.example.org', 'the form again carries it on');
      const right = await postFields({ password: PASSWORD, referrer: 'https://news.example.org' });
      assert.equal(right.status, 302);
      for (const referrer of ['not a url', 'javascript:alert(1)', `https://long.example/${'a'.repeat(2100)}`]) {
        assert.equal((await postFields({ password: PASSWORD, referrer })).status, 302, `a bad referrer field does not stop the link: ${referrer.slice(0, 30)}`);
      }
      assert.equal((await postFields({ password: PASSWORD })).status, 302);

      assert.equal((await s.clicks(code, 5)).clicks, 5);
      const analytics = (await (await fetch(`${s.base}/urls/${code}/analytics`, { headers: s.admin })).json()) as { referrers: { host: string; clicks: number }[] };
      assert.deepEqual(Object.fromEntries(analytics.referrers.map((r) => [r.host, r.clicks])), { 'news.example.org': 1, '(direct)': 4 });
    });

    test('an API client sends the password as HTTP Basic: 401 required, 401 wrong (problem+json), 302 right; HEAD never reveals the target', async () => {
      const { short_code: code } = await create({ url: 'https://example.com/api', password: PASSWORD });
      const none = await get(`/${code}`, { 'user-agent': BROWSER_UA });
      assert.equal(none.status, 401);
      assert.match(none.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.equal(((await none.json()) as { code: string }).code, 'link_password_required');
      assert.match(none.headers.get('www-authenticate') ?? '', /^Basic /);
      const wrong = await get(`/${code}`, { 'user-agent': BROWSER_UA, authorization: basic('wrong password') });
      assert.equal(wrong.status, 401);
      assert.equal(((await wrong.json()) as { code: string }).code, 'link_password_wrong');
      const right = await get(`/${code}`, { 'user-agent': BROWSER_UA, authorization: basic(PASSWORD, 'anyone') });
      assert.equal(right.status, 302);
      assert.equal(right.headers.get('location'), 'https://example.com/api');
      for (const headers of [{}, { authorization: basic(PASSWORD) }] as Record<string, string>[]) {
        const head = await get(`/${code}`, headers, 'HEAD');
        assert.equal(head.status, 401);
        assert.equal(head.headers.get('location'), null);
      }
      assert.equal((await s.clicks(code, 1)).clicks, 1);
    });

    test('a bot gets the 401 like anyone, and is no bot hit', async () => {
      const { short_code: code } = await create({ url: 'https://example.com/bot', password: PASSWORD });
      const res = await get(`/${code}`, { 'user-agent': PREVIEW_BOT_UA, accept: 'text/html' });
      assert.equal(res.status, 401);
      assert.doesNotMatch(await res.text(), /example\.com/);
      assert.deepEqual(await s.clicks(code, 0).then((c) => [c.clicks, c.bot_hits]), [0, 0]);
    });

    test('held in the cache, a protected link is never answered without the check (the fast path and the cache)', async () => {
      const { short_code: code } = await create({ url: 'https://example.com/held', password: PASSWORD });
      // Created links are cached at once; ask a few times so any tier holds it.
      for (let i = 0; i < 3; i++) {
        const res = await get(`/${code}`, { 'user-agent': BROWSER_UA });
        assert.equal(res.status, 401);
        assert.equal(res.headers.get('location'), null);
      }
      // A password set on a link already held: the change reaches the cache at once.
      const open = await create({ url: 'https://example.com/was-open' });
      assert.equal((await get(`/${open.short_code}`, { 'user-agent': BROWSER_UA })).status, 302);
      const patched = await fetch(`${s.base}/urls/${open.short_code}`, { method: 'PATCH', headers: s.admin, body: JSON.stringify({ password: PASSWORD }) });
      assert.equal(((await patched.json()) as { has_password: boolean }).has_password, true);
      assert.equal((await get(`/${open.short_code}`, { 'user-agent': BROWSER_UA })).status, 401);
      const removed = await fetch(`${s.base}/urls/${open.short_code}`, { method: 'PATCH', headers: s.admin, body: JSON.stringify({ password: null }) });
      assert.equal(((await removed.json()) as { has_password: boolean }).has_password, false);
      assert.equal((await get(`/${open.short_code}`, { 'user-agent': BROWSER_UA })).status, 302);
    });

    test('a one-time protected link is used only by the right password', async () => {
      const { short_code: code } = await create({ url: 'https://example.com/once', password: PASSWORD, one_time: true });
      assert.equal((await get(`/${code}`, { 'user-agent': BROWSER_UA })).status, 401);
      assert.equal((await postForm(`/${code}`, 'wrong password')).status, 401);
      assert.equal((await get(`/${code}`, { 'user-agent': PREVIEW_BOT_UA })).status, 401, 'a link preview neither');
      const right = await get(`/${code}`, { 'user-agent': BROWSER_UA, authorization: basic(PASSWORD) });
      assert.equal(right.status, 302);
      const again = await get(`/${code}`, { 'user-agent': BROWSER_UA, authorization: basic(PASSWORD) });
      assert.equal(again.status, 410);
      assert.equal((await s.clicks(code, 1)).clicks, 1);
    });

    test('a protected link with a visit limit spends a visit only on the right password, and forwards the query after it (form and Basic)', async () => {
      const { short_code: code } = await create({ url: 'https://example.com/limited?a=1', password: PASSWORD, max_visits: 2, forward_query: true });
      assert.equal((await get(`/${code}?utm_source=x`, BROWSER)).status, 401, 'the form, no visit');
      assert.equal((await postForm(`/${code}?utm_source=x`, 'wrong password')).status, 401);
      const bot = await get(`/${code}`, { 'user-agent': PREVIEW_BOT_UA });
      assert.equal(bot.status, 401, 'a link preview gets the 401, not the preview page');
      assert.equal((await get(`/${code}`, { 'user-agent': BROWSER_UA }, 'HEAD')).status, 401);
      // The form has no action: the browser posts to the page's URL, the GET's query string with it.
      const form = await postForm(`/${code}?utm_source=x`, PASSWORD);
      assert.equal(form.status, 302);
      assert.equal(form.headers.get('location'), 'https://example.com/limited?a=1&utm_source=x');
      const basicRight = await get(`/${code}?utm_source=y`, { 'user-agent': BROWSER_UA, authorization: basic(PASSWORD) });
      assert.equal(basicRight.status, 302);
      assert.equal(basicRight.headers.get('location'), 'https://example.com/limited?a=1&utm_source=y');
      assert.equal((await get(`/${code}`, { 'user-agent': BROWSER_UA, authorization: basic(PASSWORD) })).status, 410, 'two visits, both by the password');
      const read = (await (await fetch(`${s.base}/urls/${code}`, { headers: s.admin })).json()) as { visits: number; bot_hits: number; state: string };
      assert.equal(read.visits, 2);
      assert.equal(read.state, 'used');
      const counted = await s.clicks(code, 2);
      assert.equal(counted.clicks, 2);
      assert.equal(counted.bot_hits, 0);
    });

    test('the password is never returned, and its rules are checked', async () => {
      const res = await fetch(`${s.base}/urls`, { method: 'POST', headers: s.admin, body: JSON.stringify({ url: 'https://example.com/x', password: 'short' }) });
      assert.equal(res.status, 400);
      const long = await fetch(`${s.base}/urls`, { method: 'POST', headers: s.admin, body: JSON.stringify({ url: 'https://example.com/x', password: 'x'.repeat(129) }) });
      assert.equal(long.status, 400);
      const link = await create({ url: 'https://example.com/y', password: PASSWORD });
      const read = await (await fetch(`${s.base}/urls/${link.short_code}`, { headers: s.admin })).text();
      assert.doesNotMatch(read, /sesame|scrypt/);
      assert.match(read, /"has_password":true/);
    });
  });
}

for (const limiterKind of ['redis', 'in-process'] as const) {
  describe(`wrong-password limits (${limiterKind} limiter, 30 s window)`, () => {
    let svc: TestUrlService;
    const limits = { perLink: 3, perClient: 5, windowMs: 30_000 };
    // The limiter's clock, moved by hand: each guess costs a scrypt hash, and on a loaded machine a
    // window could turn between them and start the count afresh. (A Redis counter still lives one
    // window, 30 s, in Redis's own time: far longer than a test.)
    let clock = 1_800_000_000_000;
    before(async () => {
      svc = await buildTestUrlService(`pw_limits_${limiterKind === 'redis' ? 'r' : 'm'}`, {
        guessLimits: limits,
        cache: createMemoryLinkCache(),
        ...(limiterKind === 'in-process' ? { limiter: createMemoryRateLimiter(() => clock) } : { limiterNow: () => clock }),
      });
    });
    after(() => svc.close());
    const create = async (): Promise<string> => {
      const res = await svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload: { url: 'https://example.com/limited', password: PASSWORD } });
      return res.json<{ short_code: string }>().short_code;
    };
    const guess = (code: string, password: string, client: string) =>
      svc.app.inject({ url: `/${code}`, remoteAddress: client, headers: { 'user-agent': BROWSER_UA, authorization: basic(password) } });
    /** The start of the next window, so that a test's guesses all fall in one. */
    const freshWindow = (): void => {
      clock = (Math.floor(clock / limits.windowMs) + 1) * limits.windowMs;
    };

    test('per link: past 3 wrong guesses in the window, 429 with Retry-After, for the right password too; then open again', async () => {
      const code = await create();
      freshWindow();
      for (let i = 0; i < 3; i++) assert.equal((await guess(code, `wrong guess ${i}`, `10.0.0.${i + 1}`)).statusCode, 401);
      const limited = await guess(code, 'wrong guess 4', '10.0.0.9');
      assert.equal(limited.statusCode, 429);
      assert.equal(limited.json<{ code: string }>().code, 'rate_limited');
      const retryAfter = Number(limited.headers['retry-after']);
      assert.ok(retryAfter >= 1 && retryAfter <= limits.windowMs / 1000, String(retryAfter));
      assert.equal((await guess(code, PASSWORD, '10.0.0.10')).statusCode, 429, 'a right password would tell the guess was right');
      const page = await svc.app.inject({ method: 'POST', url: `/${code}`, remoteAddress: '10.0.0.11', headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' }, payload: 'password=x' });
      assert.equal(page.statusCode, 429);
      assert.match(page.body, /Too many wrong passwords/);
      assert.ok(page.headers['retry-after']);
      // Open again once the window has ended: after Retry-After on the in-process limiter's clock; on
      // Redis, Retry-After is the counter's time to live in Redis's own time, and the clock that
      // names the window moves to the next one.
      if (limiterKind === 'in-process') clock += retryAfter * 1000;
      else freshWindow();
      assert.equal((await guess(code, PASSWORD, '10.0.0.10')).statusCode, 302);
    });

    test('the form sent as another type (multipart) is 415 naming the types the form is read from, not "must be JSON"', async () => {
      const code = await create();
      const res = await svc.app.inject({ method: 'POST', url: `/${code}`, headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x\r\nContent-Disposition: form-data; name="password"\r\n\r\nx\r\n--x--\r\n' });
      assert.equal(res.statusCode, 415);
      const problem = res.json<{ code: string; detail: string }>();
      assert.equal(problem.code, 'unsupported_media_type');
      assert.match(problem.detail, /^The password form is sent as application\/x-www-form-urlencoded/);
    });

    test('per client: past 5 wrong guesses over several links, 429; right passwords are not counted', async () => {
      const codes = [await create(), await create(), await create()];
      freshWindow();
      for (let i = 0; i < 2; i++) assert.equal((await guess(codes[0] ?? '', PASSWORD, '10.1.0.1')).statusCode, 302, 'right ones never limited');
      const wrongs = [codes[0], codes[0], codes[1], codes[1], codes[2]];
      for (const code of wrongs) assert.equal((await guess(code ?? '', 'wrong password', '10.1.0.1')).statusCode, 401);
      assert.equal((await guess(codes[2] ?? '', 'wrong password', '10.1.0.1')).statusCode, 429);
      assert.equal((await guess(codes[2] ?? '', 'wrong password', '10.1.0.2')).statusCode, 401, 'another client is not limited by it');
    });

    test('per client: an IPv6 client is counted by its /64, so 5 wrong guesses from 5 of its addresses, then 429', async () => {
      const codes = [await create(), await create(), await create()];
      freshWindow();
      const wrongs = [codes[0], codes[0], codes[1], codes[1], codes[2]];
      for (const [i, code] of wrongs.entries()) assert.equal((await guess(code ?? '', 'wrong password', `2001:db8:5:6::${i + 1}`)).statusCode, 401);
      assert.equal((await guess(codes[2] ?? '', 'wrong password', '2001:db8:5:6:ffff::6')).statusCode, 429, 'a fresh address of the same /64');
      assert.equal((await guess(codes[2] ?? '', 'wrong password', '2001:db8:5:7::1')).statusCode, 401, 'another /64 is not limited by it');
    });
  });
}
