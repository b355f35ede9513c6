// KeyStore on Redis: the design's two sets, `available_keys` and `used_keys`, behind an optional
// prefix, plus two cool-down sorted sets. Each operation is one Lua script, hence atomic.
//
// On a Redis Cluster the four keys carry one hash tag (`{kgs}`), so each script touches one slot: the
// whole pool lives on one master, which alone decides whether a code is used, exactly as a single
// server does (docs/scaling.md, "Redis Cluster", says why one slot is enough). Replication to its
// replica is asynchronous, so after handing out or claiming codes the store WAITs until a replica
// has the write: a master that dies right after a take cannot leave a promoted replica that would
// hand the same codes out again. On a single server the names stay what they always were, so that an
// upgrade keeps its pool and, above all, its used_keys.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { AppError, DependencyDown } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { RedisClient } from '../../core/redis.ts';
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
type ScriptedRedis = RedisClient & Record<ScriptName, (...args: (string | number)[]) => Promise<unknown>>;

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

/** How long a take or claim on a cluster waits for a replica to hold it. */
export const REPLICA_WAIT_MS = 500;

/** Today's names on a single server; one hash tag for all four sets on a cluster (one slot per script). */
export function redisKeyNames(prefix: string, options: { cluster?: boolean } = {}): RedisKeyNames {
  const tag = options.cluster === true ? '{kgs}' : '';
  return {
    available: `${prefix}${tag}available_keys`,
    used: `${prefix}${tag}used_keys`,
    cooldownRecycle: `${prefix}${tag}cooldown_keys`,
    cooldownRelease: `${prefix}${tag}cooldown_aliases`,
    lockPrefix: `${prefix}lock:`,
  };
}

export interface RedisKeyStoreOptions {
  /** Warned to when no replica acknowledged a take or claim in time (cluster only). */
  log?: Logger;
  /** Called then too (the KGS counts it: kgs_unreplicated_writes_total). */
  onUnreplicated?: () => void;
  replicaWaitMs?: number;
}

export function createRedisKeyStore(redis: RedisClient, prefix: string, options: RedisKeyStoreOptions = {}): KeyStore {
  for (const [name, definition] of Object.entries(SCRIPTS)) {
    if (!(name in redis)) redis.defineCommand(name, definition);
  }
  const r = redis as ScriptedRedis;
  const keys = redisKeyNames(prefix, { cluster: redis.isCluster });
  const allFour = [keys.available, keys.used, keys.cooldownRecycle, keys.cooldownRelease];
  const replicated = redis instanceof Cluster ? replicaWaiter(redis, keys.used, options) : async () => undefined;

  return dependencyErrors({
    async take(count) {
      const [remaining, codes] = (await r.curtTake(keys.available, keys.used, count)) as [number, string[]];
      if (codes.length > 0) await replicated('take');
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
      const claimed = ((await r.curtClaim(keys.available, keys.used, code)) as number) === 1;
      if (claimed) await replicated('claim');
      return claimed;
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
 * WAIT on the pool's master, on the very connection the script ran on (WAIT counts that connection's
 * writes). No acknowledgement in time (no replica, or one lagging) does not fail the call: the codes
 * are handed out, with a warning, and PostgreSQL's unique index stays the last guard (a creation
 * that meets a code already linked takes another one). Refusing instead would stop every creation
 * while a replica is down, to guard against a second failure on top of it.
 */
function replicaWaiter(cluster: Cluster, poolKey: string, options: RedisKeyStoreOptions): (what: string) => Promise<void> {
  const waitMs = options.replicaWaitMs ?? REPLICA_WAIT_MS;
  let slot: number | null = null;
  return async (what) => {
    slot ??= await cluster.cluster('KEYSLOT', poolKey);
    const nodeKey = cluster.slots[slot]?.[0];
    const master = cluster.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === nodeKey);
    const acks = master ? await master.wait(1, waitMs) : 0;
    if (acks < 1) options.onUnreplicated?.();
    if (acks < 1) options.log?.warn({ dependency: 'redis', operation: what, waitMs }, 'no Redis replica acknowledged the key pool write in time; a failover now could hand these codes out again (PostgreSQL refuses the duplicate)');
  };
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
