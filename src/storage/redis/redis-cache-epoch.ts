// The cache epoch: what keeps a Redis outage from bringing a deleted or disabled link back.
//
// The danger: a link is deleted or disabled while Redis hangs or is unreachable. PostgreSQL has the
// change, but the cache write and the invalidation message are lost; when Redis returns it still
// holds the old `url:{code}` entry, and every replica would redirect from it until its TTL ends.
//
// The cure: every entry carries the epoch it was written under (`{prefix}cache_epoch`), and an entry
// of any other epoch than the current one is a miss. A replica that saw a Redis failure on the cache
// is *suspect*: it reads no cache until it has INCRed the epoch itself (retried until Redis answers),
// which turns every older entry into a miss for every replica at once, and then it announces the new
// epoch on the invalidation bus. Reads compare the entry's epoch with the current one in the same
// round trip (cache-read.lua), so they need no up-to-date local copy; writes carry the writer's copy, and
// cache-write.lua refuses to let a write from behind the epoch count (see there).
//
// The in-process (near) tier cannot ask Redis, so it is trusted on a lease: a round trip to Redis
// that began less than `leaseMs` ago succeeded, and nothing changed since its entries were filled.
// trustToken() changes whenever that stops holding, and the tiered cache then empties the near tier.
// A periodic epoch read keeps the lease and the epoch fresh on an idle replica.
//
// On a Redis Cluster the cache is split into CLUSTER_CACHE_SHARDS shards, each under its own hash tag
// (`{prefix}{c:NN}url:<code>` next to `{prefix}{c:NN}cache_epoch`, NN = a hash of the code), so that
// entries spread over the masters and each script still touches one slot. Every shard has its own
// copy of the epoch, and every rule above holds per shard: an entry is compared only with its own
// shard's copy, a bump INCRs every copy (retried until each answered), the bus carries all copies.
// A failover is one more way to lose writes (replication is asynchronous: the promoted replica may
// hold an entry older than what its master last acknowledged), so losing the connection to any node
// makes the replica suspect as a lost connection to a single server does; its bump then lands on
// the promoted replica too. On a single server there is one shard under the names of old.
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from 'ioredis';
import type { RedisClient } from '../../core/redis.ts';
import type { DependencyBreaker } from '../../core/dependency-breaker.ts';
import type { Logger } from '../../core/logger.ts';
import type { NearTierTrust } from '../tiered-link-cache.ts';

/** How often the epoch is read: at most this long an idle replica can hold an old epoch (the bus is faster). */
export const EPOCH_REFRESH_MS = 500;
/** The near tier is trusted only this long after a successful round trip to Redis began. */
export const NEAR_LEASE_MS = 1500;
/** Pause between two attempts to bump the epoch while Redis fails fast (a hung Redis times out slower). */
const BUMP_RETRY_MS = 100;

/** How many cache shards (each with its own epoch copy) a cluster holds. */
export const CLUSTER_CACHE_SHARDS = 16;

/** Where a code's entry and its epoch copy live. */
export interface CacheLayout {
  shards: number;
  shardOf(code: string): number;
  entryKey(code: string): string;
  epochKey(shard: number): string;
}

export function cacheLayout(prefix: string, options: { cluster?: boolean } = {}): CacheLayout {
  if (options.cluster !== true) {
    return { shards: 1, shardOf: () => 0, entryKey: (code) => `${prefix}url:${code}`, epochKey: () => `${prefix}cache_epoch` };
  }
  const shards = CLUSTER_CACHE_SHARDS;
  const tag = (shard: number): string => `{c:${String(shard).padStart(2, '0')}}`;
  // FNV-1a: cheap, and spreads codes (short strings of one alphabet) evenly.
  const shardOf = (code: string): number => {
    let hash = 0x811c9dc5;
    for (let i = 0; i < code.length; i++) hash = Math.imul(hash ^ code.charCodeAt(i), 0x01000193);
    return (hash >>> 0) % shards;
  };
  return { shards, shardOf, entryKey: (code) => `${prefix}${tag(shardOf(code))}url:${code}`, epochKey: (shard) => `${prefix}${tag(shard)}cache_epoch` };
}

/** Carries new epochs (every shard's copy, in shard order) between replicas (the invalidation bus). */
export interface EpochChannel {
  publishEpoch(epochs: readonly number[]): Promise<void>;
  onEpoch(listener: (epochs: readonly number[]) => void): void;
}

export interface CacheEpoch extends NearTierTrust {
  readonly layout: CacheLayout;
  /** The Redis key holding shard 0's epoch (the only one on a single server). */
  readonly key: string;
  /** The epoch of a shard this replica last learned, or null before it has read one. */
  current(shard?: number): number | null;
  /** A shard's epoch, read from Redis first if it is not known yet (null if Redis cannot say). */
  known(shard?: number): Promise<number | null>;
  /** False while suspect: the cache must not be read. */
  readable(): boolean;
  /** When (on `now()`'s clock) the epoch last changed or suspicion began: an older lookup may not fill. */
  changedAt(): number;
  now(): number;
  /** A shard's current epoch as Redis answered it to a command sent at `startedAt`. */
  observe(epoch: number, startedAt: number, shard?: number): void;
  /** A cache operation failed, or was skipped, or an invalidation was not published. */
  failed(reason: string, err?: unknown): void;
  /** Reads the epoch now (the periodic refresh does this by itself). */
  refresh(): Promise<void>;
  attach(channel: EpochChannel): void;
  stats(): { epoch: number | null; suspect: boolean };
  close(): void;
}

export interface CacheEpochOptions {
  redis: RedisClient;
  prefix: string;
  log: Logger;
  /** Background reads and bumps report their outcome to it: a failing Redis opens it, a returning one closes it. */
  breaker?: DependencyBreaker;
  /** 0: no timer (tests call refresh()). */
  refreshMs?: number;
  leaseMs?: number;
  /** A monotonic clock in ms; default performance.now (the link service stamps lookups with it too). */
  now?: () => number;
}

export function createRedisCacheEpoch(options: CacheEpochOptions): CacheEpoch {
  const { redis, log, breaker } = options;
  const layout = cacheLayout(options.prefix, { cluster: redis.isCluster });
  const keys = Array.from({ length: layout.shards }, (_, shard) => layout.epochKey(shard));
  const now = options.now ?? (() => performance.now());
  const leaseMs = options.leaseMs ?? NEAR_LEASE_MS;
  const refreshMs = options.refreshMs ?? EPOCH_REFRESH_MS;

  const epochs: (number | null)[] = keys.map(() => null);
  // When the command that taught us a shard's epoch was sent: an older answer arriving later cannot undo it.
  const epochFrom: number[] = keys.map(() => -Infinity);
  let lastOkStart: number | null = null;
  let generation = 0;
  let changed = now();
  let suspect = false;
  // Failures counted, so that a bump only clears the failures seen before it was sent.
  let failures = 0;
  let bumping = false;
  let refreshing: Promise<void> | null = null;
  let channel: EpochChannel | null = null;
  let closed = false;

  function observe(value: number, startedAt: number, shard = 0): void {
    // A stretch longer than the lease without a successful round trip: the near tier may have missed
    // invalidations in it, whether or not anyone looked at trustToken() meanwhile.
    if (lastOkStart === null || startedAt - lastOkStart > leaseMs) generation += 1;
    if (lastOkStart === null || startedAt > lastOkStart) lastOkStart = startedAt;
    if (startedAt >= (epochFrom[shard] ?? -Infinity) && value !== epochs[shard]) {
      // Last answer wins, not the highest: an epoch lower than ours means Redis lost its data.
      epochs[shard] = value;
      epochFrom[shard] = startedAt;
      changed = now();
      generation += 1;
    }
  }

  function heard(values: readonly number[]): void {
    // Another deployment's message (another shard count) says nothing about ours.
    if (values.length !== epochs.length) return;
    values.forEach((value, shard) => {
      const known = epochs[shard] ?? null;
      if (known !== null && value <= known) return;
      epochs[shard] = value;
      epochFrom[shard] = now();
      changed = now();
      generation += 1;
    });
  }

  function failed(reason: string, err?: unknown): void {
    if (closed) return;
    failures += 1;
    changed = now();
    if (!suspect) {
      suspect = true;
      generation += 1;
      log.warn({ dependency: 'redis', reason, err: (err as Error | undefined)?.message }, 'lookup cache suspect: not read until the cache epoch is bumped');
    }
    void bump();
  }

  async function bump(): Promise<void> {
    if (bumping) return;
    bumping = true;
    try {
      while (suspect && !closed) {
        const seen = failures;
        const startedAt = now();
        let next: number[];
        try {
          // Every copy, each on its own master: all must have moved on before reads resume.
          next = await Promise.all(keys.map((key) => redis.incr(key)));
        } catch (err) {
          breaker?.recordFailure(err);
          // Unref'd: a retry in the background never keeps a stopping process alive.
          await sleep(BUMP_RETRY_MS, undefined, { ref: false });
          continue;
        }
        breaker?.recordSuccess();
        next.forEach((value, shard) => observe(value, startedAt, shard));
        // A failure reported while the INCR was on its way may be newer than it: bump once more.
        if (failures !== seen) continue;
        suspect = false;
        changed = now();
        generation += 1;
        log.info({ dependency: 'redis', epoch: next.length === 1 ? next[0] : next }, 'lookup cache epoch bumped: entries written before are misses; cache reads resume');
        await channel?.publishEpoch(next);
      }
    } finally {
      bumping = false;
    }
  }

  function refresh(): Promise<void> {
    refreshing ??= (async () => {
      const startedAt = now();
      try {
        const raw = await Promise.all(keys.map((key) => redis.get(key)));
        breaker?.recordSuccess();
        raw.forEach((value, shard) => observe(Number(value ?? 0), startedAt, shard));
      } catch (err) {
        breaker?.recordFailure(err);
        failed('the cache epoch could not be read', err);
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  }

  const timer = refreshMs > 0 ? setInterval(() => void refresh(), refreshMs) : null;
  timer?.unref();
  if (refreshMs > 0) void refresh();
  // A lost connection may have taken writes with it; 'reconnecting' (not 'close') skips a disconnect we asked for.
  const onReconnecting = (): void => failed('the connection to Redis was lost');
  redis.on('reconnecting', onReconnecting);
  // On a cluster: a node's connection lost or dropped (a master dying, a failover's topology change).
  const onNodeLost = (): void => failed('the connection to a Redis cluster node was lost');
  if (redis instanceof Cluster) redis.on('-node', onNodeLost);
  const close = (): void => {
    closed = true;
    if (timer) clearInterval(timer);
    redis.off('reconnecting', onReconnecting);
    redis.off('-node', onNodeLost);
  };
  redis.once('end', close);

  return {
    layout,
    key: keys[0] ?? '',
    current: (shard = 0) => epochs[shard] ?? null,
    async known(shard = 0) {
      if (epochs[shard] === null) await refresh();
      return epochs[shard] ?? null;
    },
    readable: () => !suspect,
    changedAt: () => changed,
    now,
    observe,
    failed,
    refresh,
    attach(next) {
      channel = next;
      next.onEpoch(heard);
    },
    trustToken() {
      if (suspect || lastOkStart === null || now() - lastOkStart > leaseMs) return null;
      return generation;
    },
    // The highest copy: it moves on every bump, which is what the metric is watched for.
    stats: () => ({ epoch: epochs.every((e) => e === null) ? null : Math.max(...epochs.map((e) => e ?? 0)), suspect }),
    close,
  };
}
