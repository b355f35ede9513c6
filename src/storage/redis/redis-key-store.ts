// KeyStore on Redis: the design's two sets, `available_keys` and `used_keys`, behind an optional
// prefix, plus two cool-down sorted sets. Each operation is one Lua script, hence atomic.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError, DependencyDown } from '../../core/errors.ts';
import { isRedisUnavailable } from '../../core/unavailable.ts';
import type { KeyStore, PoolSizes } from '../key-store.ts';

const script = (name: string): string => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');

const SCRIPTS = {
  curtTake: { numberOfKeys: 2, lua: script('take') },
  curtOffer: { numberOfKeys: 2, lua: script('offer') },
  curtGiveBack: { numberOfKeys: 4, lua: script('give-back') },
  curtReleaseDue: { numberOfKeys: 4, lua: script('release-due') },
  curtClaim: { numberOfKeys: 2, lua: script('claim') },
  curtUnlock: { numberOfKeys: 1, lua: script('unlock') },
} as const;

type ScriptName = keyof typeof SCRIPTS;
type ScriptedRedis = Redis & Record<ScriptName, (...args: (string | number)[]) => Promise<unknown>>;

/** How many codes one Lua call handles: long scripts block Redis for everyone else. */
const CHUNK = 1000;
const RELEASE_BATCH = 1000;

export interface RedisKeyNames {
  available: string;
  used: string;
  cooldownRecycle: string;
  cooldownRelease: string;
  lockPrefix: string;
}

export function redisKeyNames(prefix: string): RedisKeyNames {
  return {
    available: `${prefix}available_keys`,
    used: `${prefix}used_keys`,
    cooldownRecycle: `${prefix}cooldown_keys`,
    cooldownRelease: `${prefix}cooldown_aliases`,
    lockPrefix: `${prefix}lock:`,
  };
}

export function createRedisKeyStore(redis: Redis, prefix: string): KeyStore {
  for (const [name, definition] of Object.entries(SCRIPTS)) {
    if (!(name in redis)) redis.defineCommand(name, definition);
  }
  const r = redis as ScriptedRedis;
  const keys = redisKeyNames(prefix);
  const allFour = [keys.available, keys.used, keys.cooldownRecycle, keys.cooldownRelease];

  return dependencyErrors({
    async take(count) {
      const [remaining, codes] = (await r.curtTake(keys.available, keys.used, count)) as [number, string[]];
      return { codes, remaining };
    },

    async offer(candidates) {
      let added = 0;
      for (let i = 0; i < candidates.length; i += CHUNK) {
        added += (await r.curtOffer(keys.available, keys.used, ...candidates.slice(i, i + CHUNK))) as number;
      }
      return added;
    },

    async giveBack(recycle, release, releaseAtMs) {
      if (recycle.length + release.length === 0) return 0;
      return (await r.curtGiveBack(...allFour, releaseAtMs ?? 0, recycle.length, ...recycle, ...release)) as number;
    },

    async claim(code) {
      return ((await r.curtClaim(keys.available, keys.used, code)) as number) === 1;
    },

    async coolingUntil(code) {
      const results = await redis.multi().zscore(keys.cooldownRecycle, code).zscore(keys.cooldownRelease, code).exec();
      if (!results) throw new Error('redis transaction aborted');
      const scores = results.map(([err, value]) => {
        if (err) throw err;
        return value === null ? null : Number(value);
      });
      const found = scores.filter((score): score is number => score !== null && Number.isFinite(score));
      return found.length === 0 ? null : Math.min(...found);
    },

    async releaseDue(nowMs) {
      let total = 0;
      for (;;) {
        const released = (await r.curtReleaseDue(...allFour, nowMs, RELEASE_BATCH)) as number;
        total += released;
        if (released < RELEASE_BATCH) return total;
      }
    },

    async sizes(): Promise<PoolSizes> {
      const results = await redis.multi().scard(keys.available).scard(keys.used).zcard(keys.cooldownRecycle).zcard(keys.cooldownRelease).exec();
      if (!results) throw new Error('redis transaction aborted');
      const [available, used, recycling, releasing] = results.map(([err, value]) => {
        if (err) throw err;
        return Number(value);
      }) as [number, number, number, number];
      return { available, used, coolingDown: recycling + releasing };
    },

    async tryLock(name, ttlMs) {
      const key = `${keys.lockPrefix}${name}`;
      const token = randomUUID();
      const acquired = await redis.set(key, token, 'PX', ttlMs, 'NX');
      if (acquired !== 'OK') return null;
      return async () => {
        await r.curtUnlock(key, token);
      };
    },

    async ping() {
      await redis.ping();
    },
  });
}

/**
 * Redis unreachable or refusing work for now is the dependency being down (503 + Retry-After). A reply
 * that says a script or command is wrong (`ERR ...`, `WRONGTYPE`, `NOSCRIPT`) is a bug: passed on, to
 * be a 500 `internal_error` with its cause logged.
 */
function dependencyErrors(store: KeyStore): KeyStore {
  const wrap =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await call(...args);
      } catch (err) {
        if (err instanceof AppError || !isRedisUnavailable(err)) throw err;
        throw new DependencyDown('redis', 'The key pool (Redis) is not reachable; try again shortly.', 1, { cause: err });
      }
    };
  return {
    take: wrap((count: number) => store.take(count)),
    offer: wrap((candidates: readonly string[]) => store.offer(candidates)),
    giveBack: wrap((recycle: readonly string[], release: readonly string[], releaseAtMs: number | null) => store.giveBack(recycle, release, releaseAtMs)),
    claim: wrap((code: string) => store.claim(code)),
    coolingUntil: wrap((code: string) => store.coolingUntil(code)),
    releaseDue: wrap((nowMs: number) => store.releaseDue(nowMs)),
    sizes: wrap(() => store.sizes()),
    tryLock: wrap((name: string, ttlMs: number) => store.tryLock(name, ttlMs)),
    ping: wrap(() => store.ping()),
  };
}
