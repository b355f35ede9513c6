// Rate limits in Redis, so every replica counts against the same window.
import { readFileSync } from 'node:fs';
import type { RedisClient } from '../../core/redis.ts';
import type { DependencyBreaker } from '../../core/dependency-breaker.ts';
import { DEFAULT_WINDOW_MS, type RateLimiter } from '../rate-limiter.ts';

const LUA = readFileSync(new URL('./lua/rate-limit.lua', import.meta.url), 'utf8');
const REFUND_LUA = readFileSync(new URL('./lua/rate-refund.lua', import.meta.url), 'utf8');

type WithScript = RedisClient & {
  curtRateLimit(key: string, limit: number, windowMs: number): Promise<[number, number]>;
  curtRateRefund(key: string): Promise<number>;
};

/**
 * `breaker`: while the Redis breaker is open, hit() throws at once instead of waiting for a timeout.
 * `now`: the clock that names the window (tests fix it so that no window turns mid-test; a counter
 * still lives one window length in Redis's own time).
 */
export function createRedisRateLimiter(redis: RedisClient, prefix: string, options: { breaker?: DependencyBreaker; now?: () => number } = {}): RateLimiter {
  if (!('curtRateLimit' in redis)) redis.defineCommand('curtRateLimit', { numberOfKeys: 1, lua: LUA });
  if (!('curtRateRefund' in redis)) redis.defineCommand('curtRateRefund', { numberOfKeys: 1, lua: REFUND_LUA });
  const r = redis as WithScript;
  const { breaker } = options;
  const now = options.now ?? Date.now;
  // One-minute windows keep the key they always had; other lengths name theirs.
  const keyOf = (subject: string, windowMs: number): string => {
    const window = Math.floor(now() / windowMs);
    return windowMs === DEFAULT_WINDOW_MS ? `${prefix}ratelimit:${subject}:${window}` : `${prefix}ratelimit:${subject}:${windowMs}:${window}`;
  };
  return {
    async hit(subject, limit, windowMs = DEFAULT_WINDOW_MS) {
      const count = () => r.curtRateLimit(keyOf(subject, windowMs), limit, windowMs);
      const [allowed, ttlMs] = await (breaker ? breaker.run(count) : count());
      return allowed === 1 ? null : Math.max(1, Math.ceil(ttlMs / 1000));
    },
    async refund(subject, windowMs = DEFAULT_WINDOW_MS) {
      const refund = () => r.curtRateRefund(keyOf(subject, windowMs));
      await (breaker ? breaker.run(refund) : refund());
    },
  };
}
