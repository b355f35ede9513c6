// The URL-service scenarios of the e2e suite, on the real processes (two KGS and two URL services)
// driven over HTTP through the SDK, as a deployment with two replicas of each would be. One function
// so that the same flows run against each way of providing the stores: the shared PostgreSQL and
// Redis (test/e2e/url-service.test.ts), a primary with a streaming read replica
// (test/e2e/url-service-read-replica.test.ts), and whatever else a deployment may use.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCurtClient, type CurtClient } from '../../src/client/curt-client.ts';
import type { SqlRunner } from '../../src/core/sql.ts';
import { inParallel, until } from './fault-probes.ts';
import { E2E_ADMIN_KEY, startKgs, startUrlService, withOutputOf, type ServiceProcess } from './processes.ts';
import { REDIS_URL } from './redis.ts';
import { BROWSER_UA } from './user-agents.ts';

const FLUSH_MS = 300;

/** 20000 → "20,000", as the test names have always said it. */
const shown = (n: number): string => n.toLocaleString('en-US');

/** Where a run keeps its data: a migrated database and a Redis key prefix of its own. */
export interface ScenarioBackends {
  /** DATABASE_URL: a migrated database of this run's own. */
  databaseUrl: string;
  /** DATABASE_READ_URL of the URL services; none when absent. */
  databaseReadUrl?: string;
  /** REDIS_URL of the KGS and the URL services; default the shared Redis. */
  redisUrl?: string;
  redisPrefix: string;
  /** Queries on the primary (DATABASE_URL), for the scenarios' own checks. */
  db: SqlRunner;
  /** Drops what setUp made; called after the processes are stopped. */
  tearDown(): Promise<void>;
}

/** What the scenarios run against, for tests a caller adds (`more`); filled in before the first test. */
export interface ScenarioContext {
  backends: ScenarioBackends;
  kgs: ServiceProcess[];
  /** The two URL services; a scenario may restart one (the SIGTERM one restarts the second). */
  urls: ServiceProcess[];
  urlEnv: Record<string, string>;
  /** Admin clients of the first and the second URL service. */
  a: CurtClient;
  b: CurtClient;
}

export function runUrlServiceScenarios(
  title: string,
  options: {
    setUp: () => Promise<ScenarioBackends>;
    urlEnv?: Record<string, string>;
    /** Of the links and redirects of the volume scenarios (20,000 and 10,000), for a run that adds its own tests. Default 1. */
    scale?: number;
    more?: (ctx: ScenarioContext) => void;
  },
): void {
  const links = Math.round(20_000 * (options.scale ?? 1));
  const redirects = Math.round(10_000 * (options.scale ?? 1));
  describe(title, () => {
    const ctx = { kgs: [], urls: [] } as unknown as ScenarioContext;

    before(async () => {
      ctx.backends = await options.setUp();
      const redisUrl = ctx.backends.redisUrl ?? REDIS_URL;
      const kgsEnv = { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: ctx.backends.redisPrefix, KGS_POOL_TARGET: '30000', KGS_POOL_LOW_WATERMARK: '10000', KGS_REUSE_COOLDOWN_S: '0' };
      ctx.kgs.push(await startKgs(kgsEnv), await startKgs(kgsEnv));
      ctx.urlEnv = {
        DATABASE_URL: ctx.backends.databaseUrl,
        ...(ctx.backends.databaseReadUrl === undefined ? {} : { DATABASE_READ_URL: ctx.backends.databaseReadUrl }),
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: ctx.backends.redisPrefix,
        KGS_URL: ctx.kgs.map((k) => k.url).join(','),
        CLICK_FLUSH_INTERVAL_MS: String(FLUSH_MS),
        ...options.urlEnv,
      };
      ctx.urls.push(await startUrlService(ctx.urlEnv), await startUrlService(ctx.urlEnv));
      const [first, second] = ctx.urls as [ServiceProcess, ServiceProcess];
      ctx.a = createCurtClient({ baseUrl: first.url, apiKey: E2E_ADMIN_KEY });
      ctx.b = createCurtClient({ baseUrl: second.url, apiKey: E2E_ADMIN_KEY });
    });

    after(async () => {
      await Promise.all([...ctx.urls, ...ctx.kgs].map((p) => p.stop('SIGKILL')));
      await ctx.backends?.tearDown();
    });

    test(`${shown(links)} links created concurrently through both services get ${shown(links)} distinct codes, each resolving to its own URL`, () =>
      // A creation refused under load (postgres_unavailable once, on a loaded machine) says why in the services' output.
      withOutputOf(ctx.urls.map((process, i) => ({ name: `URL service ${i + 1}`, process })), async () => {
        const created = await inParallel(links, 64, (i) => (i % 2 === 0 ? ctx.a : ctx.b).shorten(`https://example.com/e2e/${i}`));
        const codes = new Set(created.map((l) => l.short_code));
        assert.equal(codes.size, links);
        // HEAD: checks the redirect without counting a click.
        const wrong = await inParallel(links, 64, async (i) => {
          const link = created[i];
          if (!link) return `missing ${i}`;
          const res = await (i % 2 === 0 ? ctx.b : ctx.a).resolve(link.short_code, { method: 'HEAD' });
          return res.status === 302 && res.location === `https://example.com/e2e/${i}` ? null : `${link.short_code}: ${res.status} ${res.location}`;
        });
        assert.deepEqual(wrong.filter((w) => w !== null), []);
        const { rows } = await ctx.backends.db.query<{ n: number; distinct_codes: number }>('SELECT count(*)::int AS n, count(DISTINCT short_code)::int AS distinct_codes FROM urls');
        assert.deepEqual(rows[0], { n: links, distinct_codes: links });
      }));

    test(`${shown(redirects)} redirects over both services → analytics count exactly ${shown(redirects)}, daily and referrers consistent`, async () => {
      const link = await ctx.a.shorten('https://example.com/counted');
      const referers = ['https://news.example/a', 'https://blog.example/b', undefined];
      const statuses = await inParallel(redirects, 50, async (i) => {
        const referer = referers[i % 3];
        const res = await (i % 2 === 0 ? ctx.a : ctx.b).resolve(link.short_code, referer === undefined ? { userAgent: BROWSER_UA } : { referer, userAgent: BROWSER_UA });
        return res.status;
      });
      assert.equal(statuses.filter((s) => s === 302).length, redirects);
      await until(async () => (await ctx.a.analytics(link.short_code)).clicks === redirects, 10 * FLUSH_MS + 5000, `clicks to reach ${shown(redirects)}`);
      await sleep(3 * FLUSH_MS);
      const stats = await ctx.b.analytics(link.short_code);
      assert.equal(stats.clicks, redirects, 'no click counted twice after further flushes');
      assert.equal(stats.daily.reduce((sum, d) => sum + d.clicks, 0), redirects);
      const byHost = Object.fromEntries(stats.referrers.map((r) => [r.host, r.clicks]));
      // Request i sends referers[i % 3].
      const third = (k: number): number => Math.floor((redirects - k + 2) / 3);
      assert.deepEqual(byHost, { 'news.example': third(0), 'blog.example': third(1), '(direct)': third(2) });
      assert.ok(stats.last_clicked_at !== null);
    });

    test('a deleted link answers 404 at once on the other replica too', async () => {
      const link = await ctx.a.shorten('https://example.com/to-delete');
      assert.equal((await ctx.b.resolve(link.short_code, { userAgent: BROWSER_UA })).status, 302, 'cached through replica b');
      await ctx.a.delete(link.short_code);
      const res = await ctx.b.resolve(link.short_code, { userAgent: BROWSER_UA });
      assert.equal(res.status, 404);
      assert.equal(res.code, 'link_not_found');
    });

    test('a link disabled on one replica answers 410 on the other at once', async () => {
      const link = await ctx.a.shorten('https://example.com/to-disable');
      assert.equal((await ctx.b.resolve(link.short_code, { userAgent: BROWSER_UA })).status, 302);
      await ctx.a.update(link.short_code, { isActive: false });
      assert.equal((await ctx.b.resolve(link.short_code, { userAgent: BROWSER_UA })).code, 'link_disabled');
    });

    test('200 concurrent redirects of a one-time link across both replicas → exactly one 302', async () => {
      const link = await ctx.a.shorten('https://example.com/once', { oneTime: true });
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? ctx.a : ctx.b).resolve(link.short_code, { userAgent: BROWSER_UA })));
      assert.equal(results.filter((r) => r.status === 302).length, 1);
      assert.equal(results.filter((r) => r.status === 410 && r.code === 'link_used').length, 199);
    });

    test('SIGTERM during load loses no click: the count before equals the count after restart', async () => {
      const link = await ctx.a.shorten('https://example.com/sigterm');
      const second = ctx.urls[1];
      assert.ok(second);
      let served = 0;
      let stop = false;
      const loops = Array.from({ length: 16 }, async () => {
        while (!stop) {
          try {
            const res = await ctx.b.resolve(link.short_code, { userAgent: BROWSER_UA });
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
      const { rows } = await ctx.backends.db.query<{ clicks: number }>('SELECT t.clicks FROM urls JOIN url_totals t ON t.url_id = urls.id WHERE urls.short_code = $1', [link.short_code]);
      assert.equal(rows[0]?.clicks, served);
      ctx.urls[1] = await startUrlService(ctx.urlEnv);
      ctx.b = createCurtClient({ baseUrl: ctx.urls[1].url, apiKey: E2E_ADMIN_KEY });
      assert.equal((await ctx.b.analytics(link.short_code)).clicks, served);
    });

    options.more?.(ctx);
  });
}
