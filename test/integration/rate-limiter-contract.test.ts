// The RateLimiter contract on both of its adapters: Redis (the services) and in-process (`curt serve`).
import { createMemoryRateLimiter } from '../../src/storage/memory/memory-rate-limiter.ts';
import { createRedisRateLimiter } from '../../src/storage/redis/redis-rate-limiter.ts';
import { rateLimiterContract } from '../contract/rate-limiter.contract.ts';
import { openTestRedis } from '../support/redis.ts';

rateLimiterContract('Redis', async () => {
  const redis = await openTestRedis('rate_limiter_contract');
  return { limiter: createRedisRateLimiter(redis.redis, redis.prefix), close: () => redis.cleanup() };
});

rateLimiterContract('in-process', async () => ({ limiter: createMemoryRateLimiter(), close: async () => undefined }));
