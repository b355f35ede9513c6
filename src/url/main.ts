// The URL service process: reads configuration, wires PostgreSQL, Redis, the KGS client, the click
// pipeline and the HTTP app, and shuts down without losing clicks or codes.
import { ConfigError, loadUrlServiceConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { createDependencyBreaker } from '../core/dependency-breaker.ts';
import { createPgPool, guardedRunner, isPostgresUnavailable, pgRunner, REQUEST_PATH_TIMEOUTS } from '../core/postgres.ts';
import { pendingMigrations } from '../core/migrate.ts';
import type { SqlRunner } from '../core/sql.ts';
import type { Logger } from '../core/logger.ts';
import { connectRedis } from '../core/redis.ts';
import { onShutdown } from '../core/shutdown.ts';
import { createKgsClient } from '../kgs-client/kgs-client.ts';
import { createPgApiKeyStore, createPgLinkStore } from '../storage/postgres/pg-link-store.ts';
import { createRedisLinkCache } from '../storage/redis/redis-link-cache.ts';
import { noLinkCache, type LinkCache } from '../storage/link-cache.ts';
import { createMemoryLinkCache } from '../storage/memory/memory-link-cache.ts';
import { createRedisInvalidationBus } from '../storage/redis/redis-invalidation-bus.ts';
import { createTieredLinkCache } from '../storage/tiered-link-cache.ts';
import { createRedisRateLimiter } from '../storage/redis/redis-rate-limiter.ts';
import { createRedisCacheEpoch } from '../storage/redis/redis-cache-epoch.ts';
import { createApiKeyService } from './api-keys.ts';
import { buildUrlApp } from './app.ts';
import { createClickCounter } from './click-counter.ts';
import { startExpirySweep } from './expiry-sweep.ts';
import { createLinkService } from './link-service.ts';
import { createUrlMetrics } from './metrics.ts';

async function main(): Promise<void> {
  const config = loadUrlServiceConfig(process.env);
  const log = createLogger({ service: 'url-service', level: config.logLevel });
  const registry = createRegistry();
  const metrics = createUrlMetrics(registry);
  // Two pools behind one breaker. Requests wait on `pool`, whose short timeouts turn a database that is
  // down or hung into a 503 within a second; click flushes and the expiry sweep use `backgroundPool`,
  // with the usual timeouts (a large batch may take seconds). Whichever notices an outage first
  // opens the breaker for both, and a flush or a /ready probe is the trial that closes it again.
  const postgres = createDependencyBreaker({ dependency: 'postgres', log, registry, isFailure: isPostgresUnavailable, failureThreshold: 3, resetTimeoutMs: 2000 });
  const pool = createPgPool({ url: config.databaseUrl, log, applicationName: 'curt-url-service', ...REQUEST_PATH_TIMEOUTS });
  const backgroundPool = createPgPool({ url: config.databaseUrl, log, max: 2, applicationName: 'curt-url-service-background' });
  const db = guardedRunner(pgRunner(pool), postgres);
  const backgroundDb = guardedRunner(pgRunner(backgroundPool), postgres);
  const redis = await connectRedis({ url: config.redis.url, log, name: 'curt-url-service', commandTimeoutMs: 1000 });
  // One breaker for every Redis call on the request path (cache, invalidations, rate limits): while it
  // is open they are skipped at once, so a hung Redis does not add its timeout to every request. The
  // cache epoch's background reads keep it open while Redis fails and close it when Redis answers.
  const redisBreaker = createDependencyBreaker({ dependency: 'redis', log, registry, failureThreshold: 3, resetTimeoutMs: 5000 });
  const cacheEpoch = createRedisCacheEpoch({ redis, prefix: config.redis.keyPrefix, log, breaker: redisBreaker });
  metrics.watchCacheEpoch(cacheEpoch);
  const store = createPgLinkStore(db);
  const backgroundStore = createPgLinkStore(backgroundDb);
  await checkSchema(backgroundDb, log);
  const apiKeys = createApiKeyService(createPgApiKeyStore(db));
  if (config.adminApiKey !== null) await bootstrapAdminKey(apiKeys, config.adminApiKey, log);

  const codes = createKgsClient({ urls: config.kgs.urls, token: config.kgs.token, log, batchSize: config.kgs.batchSize, registry });
  const clicks = createClickCounter({ store: backgroundStore, log, flushIntervalMs: config.clicks.flushIntervalMs, bufferMax: config.clicks.bufferMax, metrics: metrics.clickMetrics });
  metrics.watchClicks(clicks);
  clicks.start();
  const bus =
    config.cache.ttlS > 0 && config.cache.nearTtlS > 0
      ? createRedisInvalidationBus({ redis, prefix: config.redis.keyPrefix, log, breaker: redisBreaker, onPublishFailed: (err) => cacheEpoch.failed('an invalidation was not published', err) })
      : null;
  if (bus) cacheEpoch.attach(bus);
  function linkCache(): LinkCache {
    if (config.cache.ttlS === 0) return noLinkCache;
    const far = createRedisLinkCache({
      redis,
      prefix: config.redis.keyPrefix,
      log,
      onError: metrics.cacheError,
      onSkipped: metrics.cacheSkipped,
      breaker: redisBreaker,
      epoch: cacheEpoch,
    });
    if (bus === null) return far;
    const near = createMemoryLinkCache({ maxEntries: config.cache.nearMax });
    return createTieredLinkCache({ near, far, bus, trust: cacheEpoch, nearTtlS: config.cache.nearTtlS, onNearLookup: metrics.nearCacheLookup });
  }
  const links = createLinkService({
    store,
    cache: linkCache(),
    codes,
    clicks,
    log,
    urlPolicy: { ownHosts: [new URL(config.publicBaseUrl).host], blockedDomains: config.blockedDomains },
    cacheTtlS: config.cache.ttlS,
    negativeCacheTtlS: config.cache.negativeTtlS,
    allowAnonymous: config.allowAnonymous,
    events: metrics,
  });
  const stopSweep = startExpirySweep(backgroundStore, log, 60_000);
  const app = await buildUrlApp({
    links,
    apiKeys,
    limiter: createRedisRateLimiter(redis, config.redis.keyPrefix, { breaker: redisBreaker }),
    log,
    registry,
    publicBaseUrl: config.publicBaseUrl,
    redirectStatus: config.redirectStatus,
    rateLimit: config.rateLimit,
    trustProxy: config.trustProxy,
    checks: {
      postgres: () => store.ping(),
      redis: async () => {
        if (redisBreaker.state() === 'open') throw new Error('redis circuit breaker open');
        await redis.ping();
      },
      kgs: async () => {
        if (!codes.healthy()) throw new Error('no code buffered and no KGS reachable');
      },
    },
    onRedirect: metrics.redirect,
  });
  const address = await app.listen({ host: config.listen.host, port: config.listen.port });
  log.info({ address, publicBaseUrl: config.publicBaseUrl }, 'url service listening');

  onShutdown(
    log,
    async () => {
      const deadline = performance.now() + config.shutdownTimeoutMs;
      // Order matters: stop taking requests and finish those in flight; then write their clicks and
      // hand unused codes back (at the same time: they need different dependencies); then close the
      // connections those two needed. Clicks are retried until shortly before the deadline.
      await app.close();
      stopSweep();
      await Promise.all([clicks.stop(Math.max(0, deadline - performance.now() - SHUTDOWN_CLOSE_RESERVE_MS)), codes.close()]);
      cacheEpoch.close();
      await bus?.close();
      redis.disconnect();
      await Promise.all([pool.end(), backgroundPool.end()]);
      // Exit 1: clicks were lost, and whoever stopped the process should be able to tell.
      if (clicks.pending() > 0) throw new Error(`${clicks.pending()} counted clicks could not be written to PostgreSQL`);
    },
    config.shutdownTimeoutMs,
  );
}

/** Of the shutdown deadline, what is kept for closing connections after the last click flush attempt. */
const SHUTDOWN_CLOSE_RESERVE_MS = 1000;

/**
 * The first attempt is awaited, so the key works from the first request; only when PostgreSQL is
 * down at start-up does it go on in the background (the service must start degraded, not refuse).
 */
async function bootstrapAdminKey(apiKeys: ReturnType<typeof createApiKeyService>, key: string, log: Logger): Promise<void> {
  const attempt = (): Promise<void> =>
    apiKeys.ensureAdminKey(key, 'bootstrap (ADMIN_API_KEY)').then(
      () => log.info('admin API key from ADMIN_API_KEY is in place'),
      (err: Error) => {
        log.warn({ err: err.message }, 'could not store ADMIN_API_KEY yet; retrying in 5 s');
        setTimeout(() => void attempt(), 5000).unref();
      },
    );
  await attempt();
}

/** A schema behind the code is a deployment mistake: say so and stop. PostgreSQL down is not: start degraded. */
async function checkSchema(db: SqlRunner, log: Logger): Promise<void> {
  let pending: string[];
  try {
    pending = await pendingMigrations(db);
  } catch (err) {
    log.error({ dependency: 'postgres', err: (err as Error).message }, 'postgres not reachable at start-up; starting degraded');
    return;
  }
  if (pending.length > 0) throw new ConfigError([`The database schema is not up to date (${pending.join(', ')} pending): run \`npm run migrate\` first.`]);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
  else process.stderr.write(`url-service failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
