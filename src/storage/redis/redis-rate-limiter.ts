// Rate limits in Redis, so every replica counts against the same window.
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { DependencyBreaker } from '../../core/dependency-breaker.ts';
import type { RateLimiter } from '../rate-limiter.ts';

const LUA = readFileSync(new URL('./lua/rate-limit.lua', import.meta.url), 'utf8');
const WINDOW_MS = 60_000;


type WithScript = Redis & { curtRateLimit(key: string, limit: number, windowMs: number): Promise<[number, number]> };

/** `breaker`: while the Redis breaker is open, hit() throws at once instead of waiting for a timeout. */
export function createRedisRateLimiter(redis: Redis, prefix: string, options: { breaker?: DependencyBreaker } = {}): RateLimiter {
  if (!('curtRateLimit' in redis)) redis.defineCommand('curtRateLimit', { numberOfKeys: 1, lua: LUA });
  const r = redis as WithScript;
  const { breaker } = options;
  return {
    async hit(subject, limitPerMinute) {
      const window = Math.floor(Date.now() / WINDOW_MS);
      const count = () => r.curtRateLimit(`${prefix}ratelimit:${subject}:${window}`, limitPerMinute, WINDOW_MS);
      const [allowed, ttlMs] = await (breaker ? breaker.run(count) : count());
      return allowed === 1 ? null : Math.max(1, Math.ceil(ttlMs / 1000));
    },
  };
}
