// Click analytics end to end through HTTP: redirects with given headers and client addresses produce
// the expected breakdowns (country, browser, OS, device, referrer; bots apart) in PostgreSQL and in
// PGlite (`curt serve` on each); absurd headers never fail a redirect; a preview bot does not use up
// a one-time link; a country header counts only from a trusted proxy.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { loadServeConfig, type Env } from '../../src/core/config.ts';
import { startServe } from '../../src/serve/serve.ts';
import { testLogger } from '../support/log.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { buildTestUrlService } from '../support/url-service.ts';
import { BROWSER_UA, PREVIEW_BOT_UA } from '../support/visitors.ts';

const IPHONE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1';
const ANDROID_UA = 'Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Mobile Safari/537.36';
const IPAD_UA = 'Mozilla/5.0 (iPad; CPU OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1';

interface Breakdown {
  name: string;
  clicks: number;
}

interface AnalyticsBody {
  clicks: number;
  bot_hits: number;
  range_clicks: number;
  range_bot_hits: number;
  daily: { date: string; clicks: number; bot_hits: number }[];
  referrers: { host: string; clicks: number }[];
  countries: Breakdown[];
  browsers: Breakdown[];
  operating_systems: Breakdown[];
  devices: Breakdown[];
  bots: { name: string; hits: number }[];
}

/** name → count, for comparisons that do not depend on the order of equal counts. */
const asMap = (list: { name?: string; host?: string; clicks?: number; hits?: number }[]): Record<string, number | undefined> =>
  Object.fromEntries(list.map((v) => [v.name ?? v.host ?? '', v.clicks ?? v.hits]));

/**
 * The redirects every store is given: who asks (User-Agent), from where (X-Forwarded-For through the
 * trusted proxy at 127.0.0.1, or the proxy's country header) and from which page. The absurd ones
 * must still redirect.
 */
const VISITS: { headers: Record<string, string>; why: string }[] = [
  { headers: { 'user-agent': BROWSER_UA, 'x-forwarded-for': '8.8.8.8', referer: 'https://news.example/story' }, why: 'Chrome on Windows, US' },
  { headers: { 'user-agent': BROWSER_UA, 'x-forwarded-for': '8.8.8.8', referer: 'https://NEWS.example/other' }, why: 'the same host in capitals' },
  { headers: { 'user-agent': IPHONE_UA, 'x-forwarded-for': '81.2.69.160' }, why: 'Safari on an iPhone, GB, direct' },
  { headers: { 'user-agent': ANDROID_UA, 'x-forwarded-for': '8.8.8.8', 'cf-ipcountry': 'de' }, why: 'the trusted proxy says DE: it wins over the address' },
  { headers: { 'user-agent': IPAD_UA, 'x-forwarded-for': '2a00:1450:4001:81b::200e', 'cf-ipcountry': 'XX' }, why: 'XX is no country: the IPv6 address decides (IE)' },
  { headers: { 'user-agent': `${BROWSER_UA} ${'x'.repeat(8000)}` }, why: 'an 8 KB User-Agent' },
  { headers: { 'user-agent': BROWSER_UA, 'x-forwarded-for': 'not-an-address, 999.1.1.1', referer: 'http://[::1' }, why: 'garbage addresses and a Referer that is no URL' },
  { headers: { 'user-agent': BROWSER_UA, referer: `https://${'a'.repeat(3000)}.example/` }, why: 'a 3 KB Referer' },
  { headers: { 'user-agent': PREVIEW_BOT_UA }, why: "Slack's link preview" },
  { headers: { 'user-agent': 'Twitterbot/1.0' }, why: "Twitter's card fetcher" },
  { headers: { 'user-agent': 'curl/8.5.0' }, why: 'curl' },
];

const PEOPLE = 8;
const BOTS = 3;

type Flush = (code: string, expected: { clicks: number; botHits: number }) => Promise<unknown>;

async function checkBreakdowns(t: TestContext, base: string, admin: string, flush: Flush): Promise<void> {
  const created = await request(`${base}/urls`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: JSON.stringify({ url: 'https://example.com/analytics' }) });
  assert.equal(created.statusCode, 201);
  const { short_code: code } = (await created.body.json()) as { short_code: string };
  for (const visit of VISITS) {
    const res = await request(`${base}/${code}`, { headers: visit.headers });
    await res.body.dump();
    assert.equal(res.statusCode, 302, visit.why);
  }
  // HEAD is not a hit of any kind.
  assert.equal((await request(`${base}/${code}`, { method: 'HEAD', headers: { 'user-agent': BROWSER_UA } })).statusCode, 302);
  await flush(code, { clicks: PEOPLE, botHits: BOTS });
  const res = await request(`${base}/urls/${code}/analytics`, { headers: { authorization: `Bearer ${admin}` } });
  assert.equal(res.statusCode, 200);
  const body = (await res.body.json()) as AnalyticsBody;
  t.diagnostic(JSON.stringify(body));
  assert.equal(body.clicks, PEOPLE, 'clicks = redirects served to people');
  assert.equal(body.bot_hits, BOTS);
  assert.equal(body.range_clicks, PEOPLE);
  assert.equal(body.range_bot_hits, BOTS);
  assert.equal(body.daily.length, 1);
  assert.deepEqual({ clicks: body.daily[0]?.clicks, bot_hits: body.daily[0]?.bot_hits }, { clicks: PEOPLE, bot_hits: BOTS });
  assert.deepEqual(asMap(body.countries), { US: 2, GB: 1, DE: 1, IE: 1, '(unknown)': 3 });
  assert.deepEqual(asMap(body.referrers), { 'news.example': 2, '(direct)': 6 });
  assert.deepEqual(asMap(body.devices), { desktop: 4, mobile: 2, tablet: 1, other: 1 });
  assert.equal(asMap(body.browsers).Chrome, 5, 'Chrome on Windows four times (one 8 KB UA is not parsed), on Android once');
  assert.equal(asMap(body.browsers).Safari, 2);
  assert.equal(asMap(body.operating_systems).Windows, 4);
  assert.equal(asMap(body.operating_systems).iOS, 2, 'the iPhone and the iPad');
  assert.equal(asMap(body.operating_systems).Android, 1);
  assert.deepEqual(asMap(body.bots), { Slackbot: 1, Twitterbot: 1, curl: 1 });
  for (const list of [body.countries, body.browsers, body.operating_systems, body.devices]) {
    assert.equal(list.reduce((n, v) => n + v.clicks, 0), PEOPLE, 'each breakdown sums to the clicks');
  }
}

async function checkOneTimePreview(base: string, admin: string, flush: Flush): Promise<void> {
  const created = await request(`${base}/urls`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
    body: JSON.stringify({ url: 'https://example.com/once', one_time: true }),
  });
  const { short_code: code } = (await created.body.json()) as { short_code: string };
  for (const agent of [PREVIEW_BOT_UA, 'WhatsApp/2.23.20.0 A', 'facebookexternalhit/1.1']) {
    const preview = await request(`${base}/${code}`, { headers: { 'user-agent': agent, accept: 'text/html' } });
    assert.equal(preview.statusCode, 200, `${agent} gets the page`);
    assert.equal(preview.headers.location, undefined, 'and not the target');
    assert.match(String(preview.headers['content-type']), /^text\/html/);
    assert.equal(preview.headers['x-robots-tag'], 'noindex');
    assert.match(await preview.body.text(), /opens a limited number of times, for people/);
  }
  const person = await request(`${base}/${code}`, { headers: { 'user-agent': BROWSER_UA } });
  assert.equal(person.statusCode, 302, 'the person still gets the one redirect');
  assert.equal(person.headers.location, 'https://example.com/once');
  await person.body.dump();
  const again = await request(`${base}/${code}`, { headers: { 'user-agent': BROWSER_UA } });
  assert.equal(again.statusCode, 410);
  await again.body.dump();
  const late = await request(`${base}/${code}`, { headers: { 'user-agent': PREVIEW_BOT_UA } });
  assert.equal(late.statusCode, 410, 'a used link is gone for bots too');
  await late.body.dump();
  await flush(code, { clicks: 1, botHits: 3 });
  const stats = await request(`${base}/urls/${code}/analytics`, { headers: { authorization: `Bearer ${admin}` } });
  const body = (await stats.body.json()) as AnalyticsBody;
  assert.equal(body.clicks, 1);
  assert.equal(body.bot_hits, 3, 'the previews are bot hits');
}

async function startServeOn(t: TestContext, env: Env): Promise<{ base: string; admin: string; flush: Flush }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'curt-analytics-'));
  const served = await startServe(
    loadServeConfig({ DATA_DIR: dataDir, PORT: '0', METRICS_PORT: 'off', LOG_LEVEL: 'silent', TRUST_PROXY: '127.0.0.1', GEOIP_COUNTRY_HEADER: 'CF-IPCountry', CLICK_FLUSH_INTERVAL_MS: '50', ...env }),
    dataDir,
    testLogger('serve'),
  );
  t.after(async () => {
    await served.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  assert.ok(served.createdAdminKey);
  const admin = served.createdAdminKey;
  // Flushed by its own timer (every 50 ms): wait until the link shows at least the hits expected (a
  // loaded machine, or a PGlite write in progress, can hold the count still for longer than any fixed
  // wait), then until the pipeline's count stops moving, so that one hit too many would show as well.
  const flush = async (code: string, expected: { clicks: number; botHits: number }): Promise<void> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await request(`${served.address}/urls/${code}/analytics`, { headers: { authorization: `Bearer ${admin}` } });
      const body = (await res.body.json()) as Partial<AnalyticsBody>;
      if (((body.clicks ?? 0) >= expected.clicks && (body.bot_hits ?? 0) >= expected.botHits) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    let last = -1;
    for (let i = 0; i < 100; i++) {
      await new Promise((resolve) => setTimeout(resolve, 120));
      const written = await served.clicksWritten();
      const now = written.clicks + written.botHits;
      if (now === last) return;
      last = now;
    }
  };
  return { base: served.address, admin, flush };
}

for (const store of ['PGlite', 'PostgreSQL'] as const) {
  test(`${store}: redirects with given headers and addresses give the expected breakdowns; absurd input still redirects`, async (t) => {
    const env: Env = {};
    if (store === 'PostgreSQL') {
      const database = await createTestDatabase('analytics_http', { migrated: false });
      t.after(() => database.drop());
      Object.assign(env, { DATABASE_URL: database.url });
    }
    const { base, admin, flush } = await startServeOn(t, env);
    await checkBreakdowns(t, base, admin, flush);
    await checkOneTimePreview(base, admin, flush);
  });
}

test('a country header counts only from a trusted proxy; X-Forwarded-For only through one', async (t) => {
  const svc = await buildTestUrlService('analytics_trust', { trustProxy: ['10.0.0.1'], countryHeader: 'cf-ipcountry' });
  t.after(() => svc.close());
  const created = await svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload: { url: 'https://example.com/trust' } });
  const code = created.json<{ short_code: string }>().short_code;
  const visit = (remoteAddress: string, headers: Record<string, string>) => svc.app.inject({ url: `/${code}`, remoteAddress, headers: { 'user-agent': BROWSER_UA, ...headers } });
  assert.equal((await visit('10.0.0.1', { 'cf-ipcountry': 'FR' })).statusCode, 302, 'from the proxy: FR');
  assert.equal((await visit('10.0.0.1', { 'x-forwarded-for': '81.2.69.160' })).statusCode, 302, 'through the proxy: GB');
  assert.equal((await visit('203.0.113.9', { 'cf-ipcountry': 'FR', 'x-forwarded-for': '8.8.8.8' })).statusCode, 302, 'a client claiming FR and US: neither believed');
  await svc.clicks.flush();
  const stats = await svc.app.inject({ url: `/urls/${code}/analytics`, headers: svc.admin });
  assert.deepEqual(asMap(stats.json<AnalyticsBody>().countries), { FR: 1, GB: 1, '(unknown)': 1 });
});
