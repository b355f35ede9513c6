// The e2e scenarios of test/e2e/url-service.test.ts (test/support/url-service-scenarios.ts: two KGS
// and two URL services, real processes driven over HTTP) on a real Redis Cluster (3 masters, 3
// replicas, started here) with REDIS_URL=redis+cluster://..., at a tenth of their volume. Then an
// update seen at once by the other replica, and a failover under load: the master serving the key
// pool is SIGKILLed while links are created, updated and redirected through both replicas, and
// afterwards no code belongs to two links, every link redirects to its own (latest) target, and the
// clicks in PostgreSQL are exactly the redirects people got. The test prints the figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { redisKeyNames } from '../../src/storage/redis/redis-key-store.ts';
import { inParallel, until } from '../support/fault-probes.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { startRedisCluster, type PrivateRedisCluster } from '../support/redis-cluster.ts';
import { uniquePrefix } from '../support/redis.ts';
import { runUrlServiceScenarios, type ScenarioContext } from '../support/url-service-scenarios.ts';
import { BROWSER_UA } from '../support/user-agents.ts';

const FLUSH_MS = 300;
const PREFIX = uniquePrefix('e2e-cluster');
let cluster: PrivateRedisCluster;

runUrlServiceScenarios('two URL services and two KGS on a Redis Cluster', {
  // Small refills: creations keep asking the KGS (and so the pool's master) for codes.
  urlEnv: { KGS_CLIENT_BATCH: '10', CLICK_FLUSH_INTERVAL_MS: String(FLUSH_MS) },
  scale: 0.1,
  async setUp() {
    const [started, database] = await Promise.all([startRedisCluster(), createTestDatabase('e2e_redis_cluster')]);
    cluster = started;
    return {
      databaseUrl: database.url,
      redisUrl: cluster.url,
      redisPrefix: PREFIX,
      db: database.db,
      async tearDown() {
        await database.drop();
        await cluster.stop();
      },
    };
  },
  more(ctx: ScenarioContext) {
    test('an updated target is what the other replica redirects to at once', async () => {
      const link = await ctx.a.shorten('https://example.com/before');
      assert.equal((await ctx.b.resolve(link.short_code, { method: 'HEAD' })).location, 'https://example.com/before', 'cached in b');
      await ctx.a.update(link.short_code, { url: 'https://example.com/after' });
      assert.equal((await ctx.b.resolve(link.short_code, { method: 'HEAD' })).location, 'https://example.com/after');
    });

    test('the master of the key pool is SIGKILLed under load: no duplicate code, no lost click, no wrong redirect', async () => {
      const poolMaster = await cluster.masterOf(redisKeyNames(PREFIX, { cluster: true }).used);
      const links: { code: string; url: string; mutable: boolean }[] = [];
      const figures = { created: 0, createFailed: 0, updated: 0, updateFailed: 0, redirects302: 0, redirectsFailed: 0, wrongTarget: 0, duringFailover302: 0, duringFailoverFailed: 0 };
      let failingOver = false;
      let stop = false;
      let n = 0;
      const creators = Array.from({ length: 4 }, async (_, w) => {
        while (!stop) {
          const url = `https://example.com/failover/${w}/${n++}`;
          try {
            const link = await (n % 2 === 0 ? ctx.a : ctx.b).shorten(url);
            // One creator's links are updated during the load (and so never redirected then: a redirect
            // racing an update may rightly see either target); the others' are redirected.
            links.push({ code: link.short_code, url, mutable: w === 0 });
            figures.created += 1;
          } catch {
            figures.createFailed += 1;
            await sleep(20);
          }
        }
      });
      const updater = (async () => {
        let i = 0;
        while (!stop) {
          const mutable = links.filter((l) => l.mutable);
          const target = mutable[i++ % Math.max(1, mutable.length)];
          if (!target) {
            await sleep(10);
            continue;
          }
          const url = `${target.url.split('?')[0] ?? ''}?v=${i}`;
          try {
            await (i % 2 === 0 ? ctx.a : ctx.b).update(target.code, { url });
            target.url = url;
            figures.updated += 1;
          } catch {
            // not answered: the old or the new target may hold; a later update settles it
            target.url = (await ctx.a.get(target.code).catch(() => null))?.original_url ?? target.url;
            figures.updateFailed += 1;
          }
        }
      })();
      const redirectors = Array.from({ length: 8 }, async (_, w) => {
        let i = w;
        while (!stop) {
          const target = links[(i += 7) % Math.max(1, links.length)];
          if (!target || target.mutable) {
            await sleep(10);
            continue;
          }
          try {
            const res = await (i % 2 === 0 ? ctx.a : ctx.b).resolve(target.code, { userAgent: BROWSER_UA });
            if (res.status === 302) {
              figures.redirects302 += 1;
              if (failingOver) figures.duringFailover302 += 1;
              if (res.location !== target.url) figures.wrongTarget += 1;
            } else {
              figures.redirectsFailed += 1;
              if (failingOver) figures.duringFailoverFailed += 1;
            }
          } catch {
            figures.redirectsFailed += 1;
            if (failingOver) figures.duringFailoverFailed += 1;
          }
        }
      });
      await until(() => links.length >= 300, 30_000, '300 links created before the kill');
      failingOver = true;
      const failoverMs = await cluster.killMaster(poolMaster);
      failingOver = false;
      // Load goes on after the promotion: creations need the promoted replica's pool.
      const createdBefore = figures.created;
      await until(() => figures.created >= createdBefore + 150, 30_000, '150 more links created after the failover');
      stop = true;
      await Promise.all([...creators, ...redirectors, updater]);

      const codes = links.map((l) => l.code);
      assert.equal(new Set(codes).size, codes.length, 'no code handed to two links');
      const { rows } = await ctx.backends.db.query<{ code: string; url: string }>("SELECT short_code AS code, original_url AS url FROM urls WHERE original_url LIKE 'https://example.com/failover/%'");
      const stored = new Map(rows.map((r) => [r.code, r.url]));
      assert.equal(stored.size, links.length, 'every link answered 201 is in PostgreSQL, and no other');
      assert.deepEqual(links.filter((l) => stored.get(l.code) !== l.url), [], 'each code owned by the link that was answered, with its latest target');
      const wrong = await inParallel(links.length, 32, async (i) => {
        const l = links[i];
        if (!l) return null;
        const res = await (i % 2 === 0 ? ctx.a : ctx.b).resolve(l.code, { method: 'HEAD' });
        return res.status === 302 && res.location === l.url ? null : `${l.code}: ${res.status} ${res.location}`;
      });
      assert.deepEqual(wrong.filter((w) => w !== null), [], 'every link redirects to its own (latest) target, through either replica');
      assert.equal(figures.wrongTarget, 0, 'no redirect went to a wrong target during the load');
      let clicks = 0;
      await until(
        async () => {
          const sum = await ctx.backends.db.query<{ clicks: number }>("SELECT coalesce(sum(t.clicks), 0)::int AS clicks FROM urls JOIN url_totals t ON t.url_id = urls.id WHERE urls.original_url LIKE 'https://example.com/failover/%'");
          clicks = sum.rows[0]?.clicks ?? -1;
          return clicks >= figures.redirects302;
        },
        10 * FLUSH_MS + 5000,
        () => `clicks (${clicks}) to reach the redirects served (${figures.redirects302})`,
      );
      await sleep(3 * FLUSH_MS);
      const final = await ctx.backends.db.query<{ clicks: number }>("SELECT coalesce(sum(t.clicks), 0)::int AS clicks FROM urls JOIN url_totals t ON t.url_id = urls.id WHERE urls.original_url LIKE 'https://example.com/failover/%'");
      clicks = final.rows[0]?.clicks ?? -1;
      console.log(
        `# redis cluster failover figures: failover ${Math.round(failoverMs)} ms (SIGKILL of the pool's master to a promoted replica); ` +
          `links created ${figures.created} (distinct codes ${new Set(codes).size}), creations failed ${figures.createFailed}; updates ${figures.updated}, failed ${figures.updateFailed}; ` +
          `redirects 302 ${figures.redirects302} (during failover ${figures.duringFailover302}), failed ${figures.redirectsFailed} (during failover ${figures.duringFailoverFailed}), wrong target ${figures.wrongTarget}; ` +
          `clicks in PostgreSQL ${clicks}`,
      );
      assert.equal(clicks, figures.redirects302, 'clicks in PostgreSQL == redirects answered 302 to people');
    });
  },
});
