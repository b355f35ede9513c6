// The LinkCache contract on each adapter: Redis alone, in-process (`curt serve`), and the two tiers
// the URL service runs (an in-process tier kept coherent over Redis pub/sub and the cache epoch, in
// front of Redis), built by the same function the services use, two replicas on one Redis.
import { setTimeout as sleep } from 'node:timers/promises';
import { createRegistry } from '../../src/core/metrics.ts';
import { connectRedis } from '../../src/core/redis.ts';
import type { LinkCache } from '../../src/storage/link-cache.ts';
import { createMemoryLinkCache } from '../../src/storage/memory/memory-link-cache.ts';
import { createRedisLinkCache } from '../../src/storage/redis/redis-link-cache.ts';
import { createUrlMetrics } from '../../src/url/metrics.ts';
import { openRedisLinkCacheStack } from '../../src/storage/redis/redis-link-cache-stack.ts';
import { linkCacheContract } from '../contract/link-cache.contract.ts';
import { testLogger } from '../support/log.ts';
import { openTestRedis, REDIS_URL } from '../support/redis.ts';

linkCacheContract('Redis', async () => {
  const redis = await openTestRedis('link_cache_contract');
  const other = await connectRedis({ url: REDIS_URL, log: testLogger('cache'), name: 'curt-test-cache-peer' });
  return {
    cache: createRedisLinkCache({ redis: redis.redis, prefix: redis.prefix, log: testLogger('cache') }),
    peer: createRedisLinkCache({ redis: other, prefix: redis.prefix, log: testLogger('cache') }),
    async close() {
      other.disconnect();
      await redis.cleanup();
    },
  };
});

linkCacheContract('in-process', async () => {
  const cache = createMemoryLinkCache();
  return { cache, peer: cache, close: async () => undefined };
});

linkCacheContract('in-process tier in front of Redis (the services)', async () => {
  const shared = await openTestRedis('tiered_cache_contract');
  const log = testLogger('tiered');
  const replica = async (name: string) => {
    const redis = await connectRedis({ url: REDIS_URL, log, name: `curt-test-${name}` });
    const registry = createRegistry({ defaultMetrics: false });
    const stack = openRedisLinkCacheStack({
      redis,
      prefix: shared.prefix,
      log,
      registry,
      metrics: createUrlMetrics(registry),
      cache: { ttlS: 3600, negativeTtlS: 30, nearTtlS: 60, nearMax: 1000 },
    });
    return { cache: stack.cache, redis, stack };
  };
  const replicas = [await replica('tier-a'), await replica('tier-b')];
  // Until each replica is subscribed to invalidations and trusts its in-process tier, it reads Redis
  // only, and the contract would not reach the in-process tier: wait for each to serve a warm entry
  // from memory (it survives the Redis entry being removed behind its back).
  for (const [i, { cache }] of replicas.entries()) await servedFromMemory(cache, shared.redis, `${shared.prefix}url:`, `probe${i}`);
  return {
    cache: replicas[0]?.cache ?? fail(),
    peer: replicas[1]?.cache ?? fail(),
    async close() {
      for (const { stack, redis } of replicas) {
        await stack.close();
        redis.disconnect();
      }
      await shared.cleanup();
    },
  };
});

function fail(): never {
  throw new Error('replica missing');
}

async function servedFromMemory(cache: LinkCache, redis: { del(key: string): Promise<number> }, keyPrefix: string, code: string): Promise<void> {
  const probe = { id: 1, url: 'https://example.com/probe', expiresAt: null, limited: false, isActive: true, consumed: false, forwardQuery: false, hasPassword: false };
  const deadline = Date.now() + 10_000;
  for (;;) {
    await cache.set(code, probe, 60);
    await cache.get(code);
    await redis.del(`${keyPrefix}${code}`);
    const served = (await cache.get(code)) !== undefined;
    await cache.delete(code);
    if (served) return;
    if (Date.now() > deadline) throw new Error(`the in-process tier of ${code} never came into use`);
    await sleep(20);
  }
}
