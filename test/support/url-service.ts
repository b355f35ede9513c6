// Builds the URL service in-process on real PostgreSQL (its own database) and real Redis (its own
// prefix), with a real key pool behind an in-process code source, for tests that use app.inject().
import type { TrustProxy } from '../../src/core/config.ts';
import type { Logger } from '../../src/core/logger.ts';
import { createRegistry, type Registry } from '../../src/core/metrics.ts';
import type { CodeSource } from '../../src/kgs-client/types.ts';
import type { HttpApp } from '../../src/core/http-app.ts';
import type { LinkCache } from '../../src/storage/link-cache.ts';
import { createCodeGenerator } from '../../src/kgs/code-generator.ts';
import { createKeyPool, type KeyPool } from '../../src/kgs/key-pool.ts';
import { createLocalCodeSource } from '../../src/kgs/local-code-source.ts';
import { createRedisKeyStore } from '../../src/storage/redis/redis-key-store.ts';
import { createPgApiKeyStore, createPgLinkStore } from '../../src/storage/postgres/pg-link-store.ts';
import { createRedisLinkCache } from '../../src/storage/redis/redis-link-cache.ts';
import type { RateLimiter } from '../../src/storage/rate-limiter.ts';
import { createRedisRateLimiter } from '../../src/storage/redis/redis-rate-limiter.ts';
import type { LinkStore } from '../../src/storage/link-store.ts';
import type { InvalidationBus } from '../../src/storage/tiered-link-cache.ts';
import { createApiKeyService, type ApiKeyService } from '../../src/url/api-keys.ts';
import { buildUrlApp } from '../../src/url/app.ts';
import { createClickCounter, type ClickCounter } from '../../src/url/click-counter.ts';
import { createLinkService, type LinkService } from '../../src/url/link-service.ts';
import type { PasswordGuessLimits } from '../../src/url/password-gate.ts';
import { createUrlMetrics } from '../../src/url/metrics.ts';
import { targetPolicyFor } from '../../src/url/target-url.ts';
import type { WebAssets } from '../../src/url/web-assets.ts';
import { createPgWebhookStore } from '../../src/storage/postgres/pg-webhook-store.ts';
import type { WebhookStore } from '../../src/storage/webhook-store.ts';
import { createWebhookService } from '../../src/url/webhook-service.ts';
import { LETTERS } from './kgs.ts';
import { testLogger } from './log.ts';
import { testVisitors } from './visitors.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';
import { openTestRedis, type TestRedis } from './redis.ts';

export const PUBLIC_BASE_URL = 'http://sho.rt';
export const ADMIN_KEY = 'curt_test-admin-key-0123456789abcdef';

export interface TestUrlService {
  app: HttpApp;
  /** What the metrics listener (METRICS_PORT) exposes; the app's public port does not. */
  registry: Registry;
  links: LinkService;
  store: LinkStore;
  webhookStore: WebhookStore;
  clicks: ClickCounter;
  apiKeys: ApiKeyService;
  database: TestDatabase;
  redis: TestRedis;
  admin: { authorization: string };
  /** Creates a non-admin key and returns its Authorization header. */
  userKey(name?: string): Promise<{ authorization: string }>;
  close(): Promise<void>;
}

export interface TestUrlServiceOptions {
  allowAnonymous?: boolean;
  importMaxBytes?: number;
  redirectStatus?: 301 | 302 | 307 | 308;
  blockedDomains?: string[];
  rateLimit?: { perKey: number; perIp: number; onRedisDown?: 'open' | 'closed' };
  /** Instead of the Redis rate limiter on the test's prefix (e.g. one whose Redis is down). */
  limiter?: RateLimiter;
  /** The clock that names the Redis rate limiter's windows (a fixed one: no window turns mid-test). */
  limiterNow?: () => number;
  cacheTtlS?: number;
  negativeCacheTtlS?: number;
  /** Wrong link passwords allowed per window (default 10 per link, 30 per client, a minute). */
  guessLimits?: PasswordGuessLimits;
  /** Instead of the Redis cache on the test's prefix (e.g. an in-process one, as `curt serve` has). */
  cache?: LinkCache;
  now?: () => Date;
  /** The in-process key pool's KGS_REUSE_COOLDOWN_S (default 0). */
  reuseCooldownS?: number;
  /** Instead of the in-process key pool (e.g. a KGS client over HTTP); closed with the service. */
  codes?: CodeSource;
  log?: Logger;
  /** The built web app to serve (default: dist/web); null: not built. */
  webAssets?: WebAssets | null;
  /** TRUST_PROXY and GEOIP_COUNTRY_HEADER (lower-case) of the service; default none. */
  trustProxy?: TrustProxy;
  countryHeader?: string;
  /** The API key revocation bus (e.g. on the test's Redis prefix, to play one of several replicas); closed with the service. */
  apiKeyRevocations?: (redis: TestRedis, log: Logger) => InvalidationBus;
  /** WEBHOOK_ALLOW_PRIVATE (default true: the tests' receivers listen on 127.0.0.1). */
  webhookAllowPrivate?: boolean;
}

/** The KGS's key pool inside the test process, on the test's Redis prefix: codes for a link service. */
export function testKeyPool(redis: Pick<TestRedis, 'redis' | 'prefix'>, log: Logger, reuseCooldownS = 0): KeyPool {
  return createKeyPool({
    store: createRedisKeyStore(redis.redis, redis.prefix),
    generator: createCodeGenerator({ length: 6, alphabet: LETTERS }),
    log,
    lowWatermark: 200,
    target: 1000,
    reuseCooldownS,
    emptyWaitMs: 1000,
  });
}

export async function buildTestUrlService(label: string, options: TestUrlServiceOptions = {}): Promise<TestUrlService> {
  const database = await createTestDatabase(label);
  const redis = await openTestRedis(label);
  const log = options.log ?? testLogger('url');
  const registry = createRegistry({ defaultMetrics: false });
  const metrics = createUrlMetrics(registry);
  const pool = testKeyPool(redis, log, options.reuseCooldownS ?? 0);
  const codes = options.codes ?? createLocalCodeSource(pool);
  const store = createPgLinkStore(database.db);
  const webhookStore = createPgWebhookStore(database.db);
  const revocations = options.apiKeyRevocations?.(redis, log) ?? null;
  const apiKeys = createApiKeyService(createPgApiKeyStore(database.db), { revocations });
  await apiKeys.ensureAdminKey(ADMIN_KEY, 'test admin');
  const visitors = testVisitors(options.trustProxy ?? false);
  const clicks = createClickCounter({ store, log, visitors, flushIntervalMs: 60_000, bufferMax: 10_000, metrics: metrics.clickMetrics });
  metrics.watchClicks(clicks);
  const now = options.now ?? (() => new Date());
  const limiter = options.limiter ?? createRedisRateLimiter(redis.redis, redis.prefix, options.limiterNow ? { now: options.limiterNow } : {});
  const links = createLinkService({
    store,
    cache: options.cache ?? createRedisLinkCache({ redis: redis.redis, prefix: redis.prefix, log, onError: metrics.cacheError }),
    codes,
    clicks,
    visitors,
    log,
    // Listening on every interface, as the URL service does by default.
    urlPolicy: targetPolicyFor({ publicBaseUrl: PUBLIC_BASE_URL, listenHost: '0.0.0.0', blockedDomains: options.blockedDomains ?? [] }),
    cacheTtlS: options.cacheTtlS ?? 3600,
    negativeCacheTtlS: options.negativeCacheTtlS ?? 30,
    allowAnonymous: options.allowAnonymous ?? true,
    guessLimiter: limiter,
    ...(options.guessLimits ? { guessLimits: options.guessLimits } : {}),
    now,
    events: metrics,
  });
  const app = await buildUrlApp({
    links,
    apiKeys,
    limiter,
    log,
    registry,
    publicBaseUrl: PUBLIC_BASE_URL,
    redirectStatus: options.redirectStatus ?? 302,
    countryHeader: options.countryHeader ?? null,
    ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
    allowAnonymous: options.allowAnonymous ?? true,
    ...(options.webAssets === undefined ? {} : { webAssets: options.webAssets }),
    rateLimit: options.rateLimit ?? { perKey: 0, perIp: 0 },
    ...(options.importMaxBytes === undefined ? {} : { importMaxBytes: options.importMaxBytes }),
    checks: { postgres: () => store.ping(), redis: async () => void (await redis.redis.ping()), kgs: async () => undefined },
    onRedirect: metrics.redirect,
    now: () => now().getTime(),
    webhooks: createWebhookService({ store: webhookStore, policy: { ownHosts: ['sho.rt'], allowPrivate: options.webhookAllowPrivate ?? true } }),
  });
  await app.ready();
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  return {
    app,
    registry,
    links,
    store,
    webhookStore,
    clicks,
    apiKeys,
    database,
    redis,
    admin,
    async userKey(name = 'user') {
      const res = await app.inject({ method: 'POST', url: '/api-keys', headers: admin, payload: { name } });
      if (res.statusCode !== 201) throw new Error(`could not create key: ${res.body}`);
      return { authorization: `Bearer ${res.json<{ key: string }>().key}` };
    },
    async close() {
      await app.close();
      await revocations?.close();
      await codes.close();
      await database.drop();
      await redis.cleanup();
    },
  };
}
