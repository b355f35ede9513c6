// The LinkCache contract on both of its adapters: Redis (the services) and in-process (`curt serve`).
import { createMemoryLinkCache } from '../../src/storage/memory/memory-link-cache.ts';
import { createRedisLinkCache } from '../../src/storage/redis/redis-link-cache.ts';
import { linkCacheContract } from '../contract/link-cache.contract.ts';
import { testLogger } from '../support/log.ts';
import { openTestRedis } from '../support/redis.ts';

linkCacheContract('Redis', async () => {
  const redis = await openTestRedis('link_cache_contract');
  return { cache: createRedisLinkCache({ redis: redis.redis, prefix: redis.prefix, log: testLogger('cache') }), close: () => redis.cleanup() };
});

linkCacheContract('in-process', async () => ({ cache: createMemoryLinkCache(), close: async () => undefined }));
