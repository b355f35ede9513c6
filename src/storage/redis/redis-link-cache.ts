// LinkCache on Redis: `url:{code}` holds the link as a compact JSON array, or "-" for an unknown
// code (negative cache). Errors degrade to a miss and are counted, never thrown at a redirect.
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.ts';
import type { CachedLink, LinkCache } from '../link-cache.ts';

const MISSING = '-';
type Packed = [id: number, url: string, expiresAt: number | null, flags: number];
const ONE_TIME = 1;
const ACTIVE = 2;
const CONSUMED = 4;

function pack(link: CachedLink): string {
  const flags = (link.isOneTime ? ONE_TIME : 0) | (link.isActive ? ACTIVE : 0) | (link.consumed ? CONSUMED : 0);
  return JSON.stringify([link.id, link.url, link.expiresAt, flags] satisfies Packed);
}

function unpack(raw: string): CachedLink | undefined {
  try {
    const [id, url, expiresAt, flags] = JSON.parse(raw) as Packed;
    return { id, url, expiresAt, isOneTime: (flags & ONE_TIME) !== 0, isActive: (flags & ACTIVE) !== 0, consumed: (flags & CONSUMED) !== 0 };
  } catch {
    return undefined;
  }
}

export interface RedisLinkCacheOptions {
  redis: Redis;
  prefix: string;
  log: Logger;
  onError?: (operation: string) => void;
}

export function createRedisLinkCache(options: RedisLinkCacheOptions): LinkCache {
  const { redis, prefix, log } = options;
  const key = (code: string): string => `${prefix}url:${code}`;
  const failed = (operation: string, err: unknown): undefined => {
    options.onError?.(operation);
    log.debug({ dependency: 'redis', operation, err: (err as Error).message }, 'cache operation failed');
    return undefined;
  };

  return {
    async get(code) {
      let raw: string | null;
      try {
        raw = await redis.get(key(code));
      } catch (err) {
        return failed('get', err);
      }
      if (raw === null) return undefined;
      if (raw === MISSING) return null;
      return unpack(raw);
    },
    async set(code, link, ttlS) {
      if (ttlS <= 0) return;
      await redis.set(key(code), pack(link), 'EX', ttlS).catch((err: unknown) => failed('set', err));
    },
    async setMissing(code, ttlS) {
      if (ttlS <= 0) return;
      // NX: never overwrite a real entry written by a creation racing with this miss.
      await redis.set(key(code), MISSING, 'EX', ttlS, 'NX').catch((err: unknown) => failed('setMissing', err));
    },
    async delete(code) {
      await redis.unlink(key(code)).catch((err: unknown) => failed('delete', err));
    },
  };
}
