// The e2e scenarios of test/e2e/url-service.test.ts on a private PostgreSQL primary with a streaming
// replica (DATABASE_READ_URL), without the lookup cache (CACHE_TTL_S=0): every redirect's lookup goes
// to PostgreSQL, so the replica, or the primary when the replica is behind, answers each one. Then
// what the processes show of the replica, and that they go on serving while it is paused or killed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { metricValue } from '../support/fault-probes.ts';
import { startPostgresWithReplica, type PostgresWithReplica } from '../support/postgres-replica.ts';
import { openTestRedis } from '../support/redis.ts';
import { runUrlServiceScenarios } from '../support/url-service-scenarios.ts';
import { BROWSER_UA } from '../support/user-agents.ts';

let servers: PostgresWithReplica;

async function ready(url: string): Promise<{ status: number; body: { status?: string; checks?: Record<string, string> } }> {
  const res = await fetch(`${url}/ready`);
  return { status: res.status, body: (await res.json()) as { status?: string; checks?: Record<string, string> } };
}

runUrlServiceScenarios('two URL services and two KGS on a PostgreSQL primary with a read replica, no lookup cache', {
  urlEnv: { CACHE_TTL_S: '0' },
  // A tenth of the volume (2,000 links, 1,000 redirects): the shared scenarios' own run has the full
  // one, and the suite's time limit per file is 5 minutes on a loaded machine too.
  scale: 0.1,
  async setUp() {
    servers = await startPostgresWithReplica('e2e-read-replica');
    const databaseUrl = await servers.primary.createMigratedDatabase('curt');
    await servers.caughtUp();
    const redis = await openTestRedis('e2e-read-replica');
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    return {
      databaseUrl,
      databaseReadUrl: servers.replica.url('curt'),
      redisPrefix: redis.prefix,
      db: { query: async <R>(text: string, params?: unknown[]) => ({ rows: (await pool.query(text, params)).rows as R[] }) },
      async tearDown() {
        await pool.end();
        await redis.cleanup();
        await servers.destroy();
      },
    };
  },
  more(ctx) {
    test('both services read redirects from the replica, and /ready reports it', async () => {
      const link = await ctx.a.shorten('https://example.com/from-the-replica');
      await servers.caughtUp();
      for (const client of [ctx.a, ctx.b]) assert.equal((await client.resolve(link.short_code, { method: 'HEAD' })).location, 'https://example.com/from-the-replica');
      const [first] = ctx.urls;
      const results = ['hit', 'miss', 'behind_fallback', 'error_fallback'];
      const counts = await Promise.all(results.map((r) => metricValue(first?.metricsUrl ?? '', `db_read_replica_lookups_total{result="${r}"}`)));
      // The figures of the run, for whoever reads the output: how often the replica could answer.
      console.log(`lookups of the first URL service: ${results.map((r, i) => `${r} ${counts[i] ?? 0}`).join(', ')}`);
      for (const service of ctx.urls) {
        const hits = await metricValue(service.metricsUrl, 'db_read_replica_lookups_total{result="hit"}');
        assert.ok((hits ?? 0) > 0, `${service.url} answered lookups from the replica (hits: ${hits})`);
        assert.deepEqual(await ready(service.url), { status: 200, body: { status: 'ready', checks: { postgres: 'up', redis: 'up', kgs: 'up', postgres_replica: 'up' } } });
      }
    });

    test('replay paused: a link made on one service redirects at once on the other, and its change too', async () => {
      await servers.pauseReplay();
      try {
        const link = await ctx.a.shorten('https://example.com/while-paused');
        assert.equal((await ctx.b.resolve(link.short_code, { userAgent: BROWSER_UA, method: 'HEAD' })).location, 'https://example.com/while-paused');
        await ctx.a.update(link.short_code, { url: 'https://example.com/changed-while-paused' });
        assert.equal((await ctx.b.resolve(link.short_code, { method: 'HEAD' })).location, 'https://example.com/changed-while-paused');
        const behind = await metricValue(ctx.urls[1]?.metricsUrl ?? '', 'db_read_replica_lookups_total{result="behind_fallback"}');
        assert.ok((behind ?? 0) >= 2, 'answered by the primary: the replica was behind');
      } finally {
        await servers.resumeReplay();
      }
    });

    test('replica killed: redirects and creation go on, /ready stays 200 and says the replica is down', async () => {
      const before = await ctx.a.shorten('https://example.com/before-kill');
      await servers.replica.kill();
      for (const client of [ctx.a, ctx.b]) {
        assert.equal((await client.resolve(before.short_code, { method: 'HEAD' })).location, 'https://example.com/before-kill');
        const made = await client.shorten('https://example.com/after-kill');
        assert.equal((await client.resolve(made.short_code, { method: 'HEAD' })).location, 'https://example.com/after-kill');
      }
      for (const service of ctx.urls) {
        const answer = await ready(service.url);
        assert.equal(answer.status, 200, 'a replica down never makes the service unready');
        assert.equal(answer.body.checks?.postgres_replica, 'down');
        assert.equal(answer.body.status, 'degraded');
      }
    });
  },
});
