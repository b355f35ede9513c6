// Redirect lookups on a streaming replica (DATABASE_READ_URL, src/storage/postgres/replica-link-reads.ts),
// on a private primary and a real `pg_basebackup` replica of it: the replica answers while it has
// replayed every write made before the lookup began; paused (or killed), the primary answers, so a
// new link resolves, an update or a deletion is never undone by the replica's older row, and a
// limited link's visits are counted on the primary alone. It holds with synchronous_commit off too,
// where a commit is acknowledged before its WAL is flushed.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServeConfig } from '../../src/core/config.ts';
import { createRegistry, type Registry } from '../../src/core/metrics.ts';
import { startServe } from '../../src/serve/serve.ts';
import { createLocalCodeSource } from '../../src/kgs/local-code-source.ts';
import { noLinkCache, type LinkCache } from '../../src/storage/link-cache.ts';
import { openPostgresLinkStorage, type PostgresLinkStorage } from '../../src/storage/postgres/postgres-link-storage.ts';
import { createRedisLinkCache } from '../../src/storage/redis/redis-link-cache.ts';
import { createClickCounter, type ClickCounter } from '../../src/url/click-counter.ts';
import { createLinkService, type LinkService } from '../../src/url/link-service.ts';
import { createUrlMetrics } from '../../src/url/metrics.ts';
import { targetPolicyFor } from '../../src/url/target-url.ts';
import { metricValue, seriesValue, until } from '../support/fault-probes.ts';
import { captureLogger, testLogger } from '../support/log.ts';
import { startPostgresWithReplica, type PostgresWithReplica } from '../support/postgres-replica.ts';
import { openTestRedis, type TestRedis } from '../support/redis.ts';
import { testKeyPool } from '../support/url-service.ts';
import { BROWSER_UA, seenFromPerson, testVisitors } from '../support/visitors.ts';

describe('redirect lookups on a read replica', () => {
  let servers: PostgresWithReplica;
  let redis: TestRedis;
  let storage: PostgresLinkStorage;
  let registry: Registry;
  let clicks: ClickCounter;
  let codes: ReturnType<typeof createLocalCodeSource>;
  /** Every lookup reaches PostgreSQL: the case in which a stale replica would show. */
  let uncached: LinkService;
  /** The Redis cache in front, as the URL service has it. */
  let cached: LinkService;
  let cache: LinkCache;

  const lookups = async (result: string): Promise<number> => seriesValue(await registry.metrics(), `db_read_replica_lookups_total{result="${result}"}`) ?? 0;
  const location = async (service: LinkService, code: string): Promise<string> => {
    const answer = await service.resolveRedirect(code, seenFromPerson());
    assert.ok('location' in answer, 'a redirect');
    return answer.location;
  };
  const primaryRow = async (code: string): Promise<{ original_url: string; visits: number } | undefined> =>
    (await servers.primary.query<{ original_url: string; visits: number }>('curt', 'SELECT original_url, visits FROM urls WHERE short_code = $1', [code]))[0];

  before(async () => {
    servers = await startPostgresWithReplica('read-replica');
    const url = await servers.primary.createMigratedDatabase('curt');
    await servers.caughtUp();
    redis = await openTestRedis('read-replica');
    const log = testLogger('read-replica');
    registry = createRegistry({ defaultMetrics: false });
    const metrics = createUrlMetrics(registry);
    storage = openPostgresLinkStorage({ url, readUrl: servers.replica.url('curt'), log, registry, applicationName: 'curt-test' });
    const pool = testKeyPool(redis, log);
    codes = createLocalCodeSource(pool);
    const visitors = testVisitors();
    clicks = createClickCounter({ store: storage.backgroundLinks, log, visitors, flushIntervalMs: 60_000, bufferMax: 10_000, metrics: metrics.clickMetrics });
    cache = createRedisLinkCache({ redis: redis.redis, prefix: redis.prefix, log });
    const service = (linkCache: LinkCache): LinkService =>
      createLinkService({
        store: storage.links,
        redirectStore: storage.redirectLinks,
        cache: linkCache,
        codes,
        clicks,
        visitors,
        log,
        urlPolicy: targetPolicyFor({ publicBaseUrl: 'http://sho.rt', listenHost: '0.0.0.0', blockedDomains: [] }),
        cacheTtlS: 3600,
        negativeCacheTtlS: 30,
        allowAnonymous: true,
      });
    uncached = service(noLinkCache);
    cached = service(cache);
  });

  after(async () => {
    await clicks?.stop(0);
    await codes?.close();
    await storage?.close();
    await redis?.cleanup();
    await servers?.destroy();
  });

  beforeEach(async () => {
    // Each test starts from a replica that replays and has caught up.
    await servers.resumeReplay();
    await servers.caughtUp();
  });

  test('a lookup is answered by the replica once it has replayed what the primary wrote', async () => {
    const link = await uncached.createLink({ url: 'https://example.com/replicated' }, null);
    await servers.caughtUp();
    const hits = await lookups('hit');
    assert.equal(await location(uncached, link.code), 'https://example.com/replicated');
    assert.equal(await lookups('hit'), hits + 1, 'the replica had the row');
    const misses = await lookups('miss');
    await assert.rejects(uncached.resolveRedirect('nosuch', null), { code: 'link_not_found' });
    assert.equal(await lookups('miss'), misses + 1, 'and the replica said there is no such code');
    const connections = await servers.replica.query<{ n: number }>('postgres', "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'curt-test-replica'");
    assert.ok((connections[0]?.n ?? 0) > 0, 'the service holds connections to the replica');
  });

  test('replay paused: a link created since resolves, from the primary', async () => {
    await servers.pauseReplay();
    const link = await uncached.createLink({ url: 'https://example.com/after-pause' }, null);
    assert.equal((await servers.replica.query('curt', 'SELECT 1 FROM urls WHERE short_code = $1', [link.code])).length, 0, 'the replica has not replayed it');
    const behind = await lookups('behind_fallback');
    assert.equal(await location(uncached, link.code), 'https://example.com/after-pause');
    assert.equal(await lookups('behind_fallback'), behind + 1);
  });

  test('replay paused: after an update has answered, every lookup serves the new target, and the cache is filled with it', async () => {
    const link = await cached.createLink({ url: 'https://example.com/old-target' }, null);
    await servers.caughtUp();
    await servers.pauseReplay();
    await cached.updateLink(link.code, { url: 'https://example.com/new-target' }, { keyId: 0, isAdmin: true });
    const [onReplica] = await servers.replica.query<{ original_url: string }>('curt', 'SELECT original_url FROM urls WHERE short_code = $1', [link.code]);
    assert.equal(onReplica?.original_url, 'https://example.com/old-target', 'the replica still holds the old row');
    // Without a cache, and with the cache entry gone (evicted, expired, Redis flushed): the lookup
    // reaches PostgreSQL, and a replica read would bring the old target back.
    assert.equal(await location(uncached, link.code), 'https://example.com/new-target');
    await cache.delete(link.code);
    assert.equal(await location(cached, link.code), 'https://example.com/new-target');
    assert.equal((await cache.get(link.code))?.url, 'https://example.com/new-target', 'the refill holds the new target');
  });

  test('replay paused: a disabled or deleted link stays gone, whatever the replica still holds', async () => {
    const disabled = await uncached.createLink({ url: 'https://example.com/to-disable' }, null);
    const deleted = await uncached.createLink({ url: 'https://example.com/to-delete' }, null);
    await servers.caughtUp();
    await servers.pauseReplay();
    await uncached.updateLink(disabled.code, { isActive: false }, { keyId: 0, isAdmin: true });
    await uncached.deleteLink(deleted.code, { keyId: 0, isAdmin: true });
    await assert.rejects(uncached.resolveRedirect(disabled.code, seenFromPerson()), { code: 'link_disabled' });
    await assert.rejects(uncached.resolveRedirect(deleted.code, seenFromPerson()), { code: 'link_not_found' });
  });

  test('with synchronous_commit off on the primary, a link just created resolves and a link just disabled answers 410', async () => {
    // A DBA's throughput setting: a commit is acknowledged before its WAL is flushed, so a fence at
    // the flush position let a replica that lacked the commit pass for caught up.
    await servers.primary.createMigratedDatabase('curt_async');
    await servers.primary.query('postgres', 'ALTER DATABASE curt_async SET synchronous_commit = off');
    await servers.caughtUp();
    const log = testLogger('read-replica-async');
    const ownRegistry = createRegistry({ defaultMetrics: false });
    const async = openPostgresLinkStorage({ url: servers.primary.url('curt_async'), readUrl: servers.replica.url('curt_async'), log, registry: ownRegistry, applicationName: 'curt-test-async' });
    const visitors = testVisitors();
    const ownClicks = createClickCounter({ store: async.backgroundLinks, log, visitors, flushIntervalMs: 60_000, bufferMax: 10_000 });
    const service = createLinkService({
      store: async.links,
      redirectStore: async.redirectLinks,
      cache: noLinkCache,
      codes,
      clicks: ownClicks,
      visitors,
      log,
      urlPolicy: targetPolicyFor({ publicBaseUrl: 'http://sho.rt', listenHost: '0.0.0.0', blockedDomains: [] }),
      cacheTtlS: 3600,
      negativeCacheTtlS: 30,
      allowAnonymous: true,
    });
    try {
      const [setting] = await servers.primary.query<{ value: string }>('curt_async', "SELECT current_setting('synchronous_commit') AS value");
      assert.equal(setting?.value, 'off');
      const wrong: string[] = [];
      for (let i = 0; i < 20; i++) {
        const link = await service.createLink({ url: `https://example.com/async-${i}` }, null);
        const created = await service.resolveRedirect(link.code, seenFromPerson()).then(
          () => 'redirect',
          (err: { code?: string }) => String(err.code),
        );
        if (created !== 'redirect') wrong.push(`${link.code} just created: ${created}`);
        await service.updateLink(link.code, { isActive: false }, { keyId: 0, isAdmin: true });
        const disabled = await service.resolveRedirect(link.code, seenFromPerson()).then(
          () => 'redirect',
          (err: { code?: string }) => String(err.code),
        );
        if (disabled !== 'link_disabled') wrong.push(`${link.code} just disabled: ${disabled}`);
      }
      assert.deepEqual(wrong, []);
    } finally {
      await ownClicks.stop(0);
      await async.close();
    }
  });

  test('a visit-limited link gives exactly its visits, counted on the primary, while the replica holds it unvisited', async () => {
    const link = await uncached.createLink({ url: 'https://example.com/three-visits', maxVisits: 3 }, null);
    await servers.caughtUp();
    // Paused after it has the row (visits 0): nothing newer is written yet, so it answers the first lookups.
    await servers.pauseReplay();
    const hits = await lookups('hit');
    const answers = await Promise.allSettled(Array.from({ length: 12 }, () => uncached.resolveRedirect(link.code, seenFromPerson())));
    assert.equal(answers.filter((a) => a.status === 'fulfilled').length, 3, 'three redirects');
    assert.deepEqual(
      answers.flatMap((a) => (a.status === 'rejected' ? [(a.reason as { code?: string }).code] : [])),
      Array.from({ length: 9 }, () => 'link_used'),
    );
    assert.ok((await lookups('hit')) > hits, 'some lookups read the replica (its row says 0 visits)');
    assert.equal((await primaryRow(link.code))?.visits, 3);
    const [onReplica] = await servers.replica.query<{ visits: number }>('curt', 'SELECT visits FROM urls WHERE short_code = $1', [link.code]);
    assert.equal(onReplica?.visits, 0, 'the replica never saw a visit');
    await assert.rejects(uncached.resolveRedirect(link.code, seenFromPerson()), { code: 'link_used' });
  });

  test('a one-time link redirects once, even when the replica answers every lookup before the visit', async () => {
    const link = await uncached.createLink({ url: 'https://example.com/once', oneTime: true }, null);
    await servers.caughtUp();
    await servers.pauseReplay();
    const answers = await Promise.allSettled(Array.from({ length: 20 }, () => uncached.resolveRedirect(link.code, seenFromPerson())));
    assert.equal(answers.filter((a) => a.status === 'fulfilled').length, 1);
    await assert.rejects(uncached.resolveRedirect(link.code, seenFromPerson()), { code: 'link_used' });
    assert.equal((await primaryRow(link.code))?.visits, 1);
  });

  test('a DATABASE_READ_URL that is no standby, or has no links table, is never believed: the primary answers, and the log says why', async () => {
    const link = await uncached.createLink({ url: 'https://example.com/misconfigured' }, null);
    await servers.caughtUp();
    for (const [readUrl, said] of [
      [servers.primary.url('curt'), /is not a streaming replica/],
      [servers.replica.url('postgres'), /replica lookup failed; read the primary/],
    ] as const) {
      const captured = captureLogger('misconfigured');
      const ownRegistry = createRegistry({ defaultMetrics: false });
      const other = openPostgresLinkStorage({ url: servers.primary.url('curt'), readUrl, log: captured.log, registry: ownRegistry, applicationName: 'curt-test-other' });
      try {
        assert.equal((await other.redirectLinks.findRedirect(link.code))?.url, 'https://example.com/misconfigured');
        assert.equal(await other.redirectLinks.findRedirect('nosuch'), null);
        const series = await ownRegistry.metrics();
        assert.equal(seriesValue(series, 'db_read_replica_lookups_total{result="hit"}') ?? 0, 0, String(readUrl));
        assert.equal((seriesValue(series, 'db_read_replica_lookups_total{result="behind_fallback"}') ?? 0) + (seriesValue(series, 'db_read_replica_lookups_total{result="error_fallback"}') ?? 0), 2);
        assert.match(captured.text(), said);
      } finally {
        await other.close();
      }
    }
  });

  test('curt serve with DATABASE_URL and DATABASE_READ_URL: redirect lookups on the replica, reported by /ready', async () => {
    await servers.primary.query('postgres', 'CREATE DATABASE serve_replica');
    // The start-up check refuses a DATABASE_READ_URL naming a database the replica lacks: the
    // replica must have replayed the CREATE DATABASE first (CI once checked it sooner).
    await servers.caughtUp();
    const config = loadServeConfig({
      DATABASE_URL: servers.primary.url('serve_replica'),
      DATABASE_READ_URL: servers.replica.url('serve_replica'),
      CACHE_TTL_S: '0',
      PORT: '0',
      METRICS_PORT: '0',
      LOG_LEVEL: 'silent',
    });
    const dataDir = join(tmpdir(), `curt-unused-${process.pid}-${Date.now()}`);
    const served = await startServe(config, dataDir, testLogger('serve'));
    try {
      assert.match(served.where.database, /redirect lookups on the replica postgres:\/\//);
      const created = await fetch(`${served.address}/urls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: 'https://example.com/served' }) });
      assert.equal(created.status, 201);
      const { short_code: code } = (await created.json()) as { short_code: string };
      await servers.caughtUp();
      const res = await fetch(`${served.address}/${code}`, { redirect: 'manual', headers: { 'user-agent': BROWSER_UA } });
      assert.equal(res.headers.get('location'), 'https://example.com/served');
      assert.equal(await metricValue(served.metricsAddress ?? '', 'db_read_replica_lookups_total{result="hit"}'), 1);
      const ready = (await (await fetch(`${served.address}/ready`)).json()) as { checks: Record<string, string> };
      assert.equal(ready.checks.postgres_replica, 'up');
      assert.equal(existsSync(dataDir), false, 'no embedded database was made');
    } finally {
      await served.stop();
    }
  });

  test('replica killed: redirects go on from the primary, the replica breaker opens, and closes when it is back', async () => {
    const link = await uncached.createLink({ url: 'https://example.com/replica-down' }, null);
    await servers.caughtUp();
    await servers.replica.kill();
    const errors = await lookups('error_fallback');
    for (let i = 0; i < 6; i++) assert.equal(await location(uncached, link.code), 'https://example.com/replica-down');
    assert.equal(await lookups('error_fallback'), errors + 6);
    assert.equal(seriesValue(await registry.metrics(), 'db_read_replica_state'), 2, 'open: lookups skip it');
    await assert.rejects(storage.replicaCheck?.() ?? Promise.resolve(), 'the readiness probe reports it down');
    await servers.replica.start();
    await until(
      async () => {
        await storage.replicaCheck?.().catch(() => undefined);
        return seriesValue(await registry.metrics(), 'db_read_replica_state') === 0;
      },
      15_000,
      'the replica breaker to close',
    );
    await servers.caughtUp();
    const hits = await lookups('hit');
    assert.equal(await location(uncached, link.code), 'https://example.com/replica-down');
    assert.equal(await lookups('hit'), hits + 1, 'the replica answers again');
  });
});
