// Rate limits in Redis, so every replica counts against the same window.
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

const LUA = readFileSync(new URL('./lua/rate-limit.lua', import.meta.url), 'utf8');
const WINDOW_MS = 60_000;

export interface RateLimiter {
  /** Counts one request for `subject`; returns null when allowed, or seconds to wait. Throws if Redis is down. */
  hit(subject: string, limitPerMinute: number): Promise<number | null>;
}

type WithScript = Redis & { curtRateLimit(key: string, limit: number, windowMs: number): Promise<[number, number]> };

export function createRedisRateLimiter(redis: Redis, prefix: string): RateLimiter {
  if (!('curtRateLimit' in redis)) redis.defineCommand('curtRateLimit', { numberOfKeys: 1, lua: LUA });
  const r = redis as WithScript;
  return {
    async hit(subject, limitPerMinute) {
      const window = Math.floor(Date.now() / WINDOW_MS);
      const [allowed, ttlMs] = await r.curtRateLimit(`${prefix}ratelimit:${subject}:${window}`, limitPerMinute, WINDOW_MS);
      return allowed === 1 ? null : Math.max(1, Math.ceil(ttlMs / 1000));
    },
  };
}
