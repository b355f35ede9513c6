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
// round trip (MGET, or cache-read.lua), so they need no up-to-date local copy; writes carry the writer's copy, and
// cache-write.lua refuses to let a write from behind the epoch count (see there).
//
// The in-process (near) tier cannot ask Redis, so it is trusted on a lease: a round trip to Redis
// that began less than `leaseMs` ago succeeded, and nothing changed since its entries were filled.
// trustToken() changes whenever that stops holding, and the tiered cache then empties the near tier.
// A periodic epoch read keeps the lease and the epoch fresh on an idle replica.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { DependencyBreaker } from '../../core/dependency-breaker.ts';
import type { Logger } from '../../core/logger.ts';
import type { NearTierTrust } from '../tiered-link-cache.ts';

/** How often the epoch is read: at most this long an idle replica can hold an old epoch (the bus is faster). */
export const EPOCH_REFRESH_MS = 500;
/** The near tier is trusted only this long after a successful round trip to Redis began. */
export const NEAR_LEASE_MS = 1500;
/** Pause between two attempts to bump the epoch while Redis fails fast (a hung Redis times out slower). */
const BUMP_RETRY_MS = 100;

/** Carries new epochs between replicas (the invalidation bus). */
export interface EpochChannel {
  publishEpoch(epoch: number): Promise<void>;
  onEpoch(listener: (epoch: number) => void): void;
}

export interface CacheEpoch extends NearTierTrust {
  /** The Redis key holding the epoch. */
  readonly key: string;
  /** The epoch this replica last learned, or null before it has read one. */
  current(): number | null;
  /** The epoch, read from Redis first if it is not known yet (null if Redis cannot say). */
  known(): Promise<number | null>;
  /** False while suspect: the cache must not be read. */
  readable(): boolean;
  /** When (on `now()`'s clock) the epoch last changed or suspicion began: an older lookup may not fill. */
  changedAt(): number;
  now(): number;
  /** The current epoch as Redis answered it to a command sent at `startedAt`. */
  observe(epoch: number, startedAt: number): void;
  /** A cache operation failed, or was skipped, or an invalidation was not published. */
  failed(reason: string, err?: unknown): void;
  /** Reads the epoch now (the periodic refresh does this by itself). */
  refresh(): Promise<void>;
  attach(channel: EpochChannel): void;
  stats(): { epoch: number | null; suspect: boolean };
  close(): void;
}

export interface CacheEpochOptions {
  redis: Redis;
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
  const key = `${options.prefix}cache_epoch`;
  const now = options.now ?? (() => performance.now());
  const leaseMs = options.leaseMs ?? NEAR_LEASE_MS;
  const refreshMs = options.refreshMs ?? EPOCH_REFRESH_MS;

  let epoch: number | null = null;
  // When the command that taught us `epoch` was sent: an older answer arriving later cannot undo it.
  let epochFrom = -Infinity;
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

  function observe(value: number, startedAt: number): void {
    // A stretch longer than the lease without a successful round trip: the near tier may have missed
    // invalidations in it, whether or not anyone looked at trustToken() meanwhile.
    if (lastOkStart === null || startedAt - lastOkStart > leaseMs) generation += 1;
    if (lastOkStart === null || startedAt > lastOkStart) lastOkStart = startedAt;
    if (startedAt >= epochFrom && value !== epoch) {
      // Last answer wins, not the highest: an epoch lower than ours means Redis lost its data.
      epoch = value;
      epochFrom = startedAt;
      changed = now();
      generation += 1;
    }
  }

  function heard(value: number): void {
    if (epoch !== null && value <= epoch) return;
    epoch = value;
    epochFrom = now();
    changed = epochFrom;
    generation += 1;
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
        let next: number;
        try {
          next = await redis.incr(key);
        } catch {
          breaker?.recordFailure();
          await sleep(BUMP_RETRY_MS);
          continue;
        }
        breaker?.recordSuccess();
        observe(next, startedAt);
        // A failure reported while the INCR was on its way may be newer than it: bump once more.
        if (failures !== seen) continue;
        suspect = false;
        changed = now();
        generation += 1;
        log.info({ dependency: 'redis', epoch: next }, 'lookup cache epoch bumped: entries written before are misses; cache reads resume');
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
        const raw = await redis.get(key);
        breaker?.recordSuccess();
        observe(Number(raw ?? 0), startedAt);
      } catch (err) {
        breaker?.recordFailure();
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
  const close = (): void => {
    closed = true;
    if (timer) clearInterval(timer);
    redis.off('reconnecting', onReconnecting);
  };
  redis.once('end', close);

  return {
    key,
    current: () => epoch,
    async known() {
      if (epoch === null) await refresh();
      return epoch;
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
    stats: () => ({ epoch, suspect }),
    close,
  };
}
