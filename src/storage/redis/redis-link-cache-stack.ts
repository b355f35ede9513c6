// The URL service's Redis side, as both the URL service process and `curt serve` with REDIS_URL use
// it: the shared cache (with an in-process near tier kept coherent by the invalidation bus and the
// cache epoch), the shared rate limits, and one circuit breaker in front of every request-path call.
// CACHE_TTL_S and CACHE_NEAR_TTL_S decide what this replica reads, never whether its changes reach
// the other replicas (broadcasting-link-cache.ts).
import type { CacheConfig } from '../../core/config.ts';
import { createDependencyBreaker } from '../../core/dependency-breaker.ts';
import type { Logger } from '../../core/logger.ts';
import type { Registry } from '../../core/metrics.ts';
import type { RedisClient } from '../../core/redis.ts';
import { isRedisUnavailable } from '../../core/unavailable.ts';
import type { LinkCache } from '../link-cache.ts';
import { createMemoryLinkCache } from '../memory/memory-link-cache.ts';
import { createBroadcastingLinkCache } from './broadcasting-link-cache.ts';
import { createRedisCacheEpoch } from './redis-cache-epoch.ts';
import { createRedisInvalidationBus } from './redis-invalidation-bus.ts';
import { createRedisLinkCache } from './redis-link-cache.ts';
import type { RateLimiter } from '../rate-limiter.ts';
import { createRedisRateLimiter } from './redis-rate-limiter.ts';
import { createTieredLinkCache, type InvalidationBus } from '../tiered-link-cache.ts';
import type { UrlMetrics } from '../../url/metrics.ts';

export interface RedisLinkCacheStack {
  cache: LinkCache;
  limiter: RateLimiter;
  /** API key revocations to and from the other replicas (the API key service subscribes). */
  apiKeyRevocations: InvalidationBus;
  /** For /ready: throws while the breaker is open or Redis does not answer. */
  check(): Promise<void>;
  /** Stops the epoch timer and the invalidation subscription; the caller owns `redis`. */
  close(): Promise<void>;
}

/** Revocations are rare and must hold everywhere: worth a longer wait than a link change. */
const REVOCATION_ACK_TIMEOUT_MS = 5000;

export function openRedisLinkCacheStack(options: { redis: RedisClient; prefix: string; log: Logger; registry: Registry; metrics: UrlMetrics; cache: CacheConfig }): RedisLinkCacheStack {
  const { redis, prefix, log, registry, metrics } = options;
  // While it is open, cache, invalidation and rate-limit calls are skipped at once, so a hung Redis
  // does not add its timeout to every request. The cache epoch's background reads keep it open
  // while Redis fails and close it when Redis answers.
  // Only connection-class failures count: a script or type error is a bug, not an outage.
  const breaker = createDependencyBreaker({ dependency: 'redis', log, registry, isFailure: isRedisUnavailable, failureThreshold: 3, resetTimeoutMs: 5000 });
  const epoch = createRedisCacheEpoch({ redis, prefix, log, breaker });
  metrics.watchCacheEpoch(epoch);
  const { ttlS, nearTtlS, nearMax } = options.cache;
  // Whatever this replica's own cache settings, it tells the others of its changes: they may read
  // tiers it does not (a rolling change of CACHE_TTL_S or CACHE_NEAR_TTL_S mixes the values).
  const bus = createRedisInvalidationBus({ redis, prefix, log, breaker, onPublishFailed: (err) => epoch.failed('an invalidation was not published', err) });
  epoch.attach(bus);
  // Its own channel ({prefix}api-keys:invalidate): a revoked key must stop working on every replica
  // before the revocation is answered, so the writer waits longer for acks than a link change does.
  const apiKeyRevocations = createRedisInvalidationBus({
    redis,
    prefix: `${prefix}api-keys:`,
    log,
    breaker,
    ackTimeoutMs: REVOCATION_ACK_TIMEOUT_MS,
    onPublishFailed: (err) => log.warn({ dependency: 'redis', err: (err as Error | undefined)?.message }, 'an API key revocation was not published; the revocation answers 503 so that it is retried'),
  });

  function linkCache(): LinkCache {
    const far = createRedisLinkCache({ redis, prefix, log, onError: metrics.cacheError, onSkipped: metrics.cacheSkipped, breaker, epoch });
    // CACHE_TTL_S=0 reads no cache (every redirect reads PostgreSQL), CACHE_NEAR_TTL_S=0 reads Redis
    // alone: either way changes are still written and broadcast for the others.
    if (ttlS === 0 || nearTtlS === 0) return createBroadcastingLinkCache({ far, bus, reads: ttlS > 0 });
    const near = createMemoryLinkCache({ maxEntries: nearMax });
    return createTieredLinkCache({ near, far, bus, trust: epoch, nearTtlS, onNearLookup: metrics.nearCacheLookup });
  }

  return {
    cache: linkCache(),
    limiter: createRedisRateLimiter(redis, prefix, { breaker }),
    apiKeyRevocations,
    async check() {
      if (breaker.state() === 'open') throw new Error('redis circuit breaker open');
      await redis.ping();
    },
    async close() {
      epoch.close();
      await bus.close();
      await apiKeyRevocations.close();
    },
  };
}
