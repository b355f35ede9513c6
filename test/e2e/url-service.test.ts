// The real processes — two KGS and two URL services on the real PostgreSQL and Redis — driven over
// HTTP through the SDK, as a deployment with two replicas of each would be.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCurtClient, type CurtClient } from '../../src/client/curt-client.ts';
import { inParallel, until } from '../support/fault-probes.ts';
import { E2E_ADMIN_KEY, startKgs, startUrlService, type ServiceProcess } from '../support/processes.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { openTestRedis, REDIS_URL, type TestRedis } from '../support/redis.ts';
import { BROWSER_UA } from '../support/user-agents.ts';

const FLUSH_MS = 300;



describe('two URL services and two KGS on PostgreSQL and Redis', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  const kgs: ServiceProcess[] = [];
  const urls: ServiceProcess[] = [];
  let a: CurtClient;
  let b: CurtClient;
  let urlEnv: Record<string, string>;

  before(async () => {
    database = await createTestDatabase('e2e_url');
    redis = await openTestRedis('e2e-url');
    const kgsEnv = { REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, KGS_POOL_TARGET: '30000', KGS_POOL_LOW_WATERMARK: '10000', KGS_REUSE_COOLDOWN_S: '0' };
    kgs.push(await startKgs(kgsEnv), await startKgs(kgsEnv));
    urlEnv = {
      DATABASE_URL: database.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: redis.prefix,
      KGS_URL: kgs.map((k) => k.url).join(','),
      CLICK_FLUSH_INTERVAL_MS: String(FLUSH_MS),
    };
    urls.push(await startUrlService(urlEnv), await startUrlService(urlEnv));
    const [first, second] = urls as [ServiceProcess, ServiceProcess];
    a = createCurtClient({ baseUrl: first.url, apiKey: E2E_ADMIN_KEY });
    b = createCurtClient({ baseUrl: second.url, apiKey: E2E_ADMIN_KEY });
  });

  after(async () => {
    await Promise.all([...urls, ...kgs].map((p) => p.stop('SIGKILL')));
    await database?.drop();
    await redis?.cleanup();
  });

  test('20,000 links created concurrently through both services get 20,000 distinct codes, each resolving to its own URL', async () => {
    const created = await inParallel(20_000, 64, (i) => (i % 2 === 0 ? a : b).shorten(`https://example.com/e2e/${i}`));
    const codes = new Set(created.map((l) => l.short_code));
    assert.equal(codes.size, 20_000);
    // HEAD: checks the redirect without counting a click.
    const wrong = await inParallel(20_000, 64, async (i) => {
      const link = created[i];
      if (!link) return `missing ${i}`;
      const res = await (i % 2 === 0 ? b : a).resolve(link.short_code, { method: 'HEAD' });
      return res.status === 302 && res.location === `https://example.com/e2e/${i}` ? null : `${link.short_code}: ${res.status} ${res.location}`;
    });
    assert.deepEqual(wrong.filter((w) => w !== null), []);
    const { rows } = await database.db.query<{ n: number; distinct_codes: number }>('SELECT count(*)::int AS n, count(DISTINCT short_code)::int AS distinct_codes FROM urls');
    assert.deepEqual(rows[0], { n: 20_000, distinct_codes: 20_000 });
  });

  test('10,000 redirects over both services → analytics count exactly 10,000, daily and referrers consistent', async () => {
    const link = await a.shorten('https://example.com/counted');
    const referers = ['https://news.example/a', 'https://blog.example/b', undefined];
    const statuses = await inParallel(10_000, 50, async (i) => {
      const referer = referers[i % 3];
      const res = await (i % 2 === 0 ? a : b).resolve(link.short_code, referer === undefined ? { userAgent: BROWSER_UA } : { referer, userAgent: BROWSER_UA });
      return res.status;
    });
    assert.equal(statuses.filter((s) => s === 302).length, 10_000);
    await until(async () => (await a.analytics(link.short_code)).clicks === 10_000, 10 * FLUSH_MS + 5000, 'clicks to reach 10,000');
    await sleep(3 * FLUSH_MS);
    const stats = await b.analytics(link.short_code);
    assert.equal(stats.clicks, 10_000, 'no click counted twice after further flushes');
    assert.equal(stats.daily.reduce((sum, d) => sum + d.clicks, 0), 10_000);
    const byHost = Object.fromEntries(stats.referrers.map((r) => [r.host, r.clicks]));
    assert.deepEqual(byHost, { 'news.example': 3334, 'blog.example': 3333, '(direct)': 3333 });
    assert.ok(stats.last_clicked_at !== null);
  });

  test('a deleted link answers 404 at once on the other replica too', async () => {
    const link = await a.shorten('https://example.com/to-delete');
    assert.equal((await b.resolve(link.short_code, { userAgent: BROWSER_UA })).status, 302, 'cached through replica b');
    await a.delete(link.short_code);
    const res = await b.resolve(link.short_code, { userAgent: BROWSER_UA });
    assert.equal(res.status, 404);
    assert.equal(res.code, 'link_not_found');
  });

  test('a link disabled on one replica answers 410 on the other at once', async () => {
    const link = await a.shorten('https://example.com/to-disable');
    assert.equal((await b.resolve(link.short_code, { userAgent: BROWSER_UA })).status, 302);
    await a.update(link.short_code, { isActive: false });
    assert.equal((await b.resolve(link.short_code, { userAgent: BROWSER_UA })).code, 'link_disabled');
  });

  test('200 concurrent redirects of a one-time link across both replicas → exactly one 302', async () => {
    const link = await a.shorten('https://example.com/once', { oneTime: true });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).resolve(link.short_code, { userAgent: BROWSER_UA })));
    assert.equal(results.filter((r) => r.status === 302).length, 1);
    assert.equal(results.filter((r) => r.status === 410 && r.code === 'link_used').length, 199);
  });

  test('SIGTERM during load loses no click: the count before equals the count after restart', async () => {
    const link = await a.shorten('https://example.com/sigterm');
    const second = urls[1];
    assert.ok(second);
    let served = 0;
    let stop = false;
    const loops = Array.from({ length: 16 }, async () => {
      while (!stop) {
        try {
          const res = await b.resolve(link.short_code, { userAgent: BROWSER_UA });
          if (res.status === 302) served += 1;
        } catch {
          // connection refused once the replica stops accepting: not a served redirect
        }
      }
    });
    await until(async () => served >= 2000, 30_000, '2000 redirects');
    const exitCode = await second.stop('SIGTERM');
    stop = true;
    await Promise.all(loops);
    assert.equal(exitCode, 0, `graceful exit:\n${second.output().slice(-2000)}`);
    // The clicks were flushed on shutdown: they are in PostgreSQL before any restart.
    const { rows } = await database.db.query<{ clicks: number }>('SELECT clicks FROM urls WHERE short_code = $1', [link.short_code]);
    assert.equal(rows[0]?.clicks, served);
    urls[1] = await startUrlService(urlEnv);
    b = createCurtClient({ baseUrl: (urls[1]).url, apiKey: E2E_ADMIN_KEY });
    assert.equal((await b.analytics(link.short_code)).clicks, served);
  });
});
