// LinkCache on Redis: `url:{code}` holds "<epoch>|<body>", the body being the link as a compact JSON
// array, "-" for an unknown code (negative cache) or "?" for a blocker (see lua/cache-write.lua).
// An entry of another epoch than the current one is a miss (redis-cache-epoch.ts says why). Errors
// degrade to a miss and are counted, never thrown at a redirect; while the Redis circuit breaker is
// open, nothing is sent at all. On a Redis Cluster entries are spread over shards, each with its own
// epoch copy in the same slot (redis-cache-epoch.ts), so every read and write stays one round trip.
import { readFileSync } from 'node:fs';
import type { RedisClient } from '../../core/redis.ts';
import type { DependencyBreaker } from '../../core/dependency-breaker.ts';
import type { Logger } from '../../core/logger.ts';
import type { CachedLink, LinkCache } from '../link-cache.ts';
import { createRedisCacheEpoch, type CacheEpoch } from './redis-cache-epoch.ts';

const MISSING = '-';
const BLOCKER = '?';
/** How long a blocker keeps fills out: longer than any lookup in flight (queries time out within seconds). */
const BLOCKER_TTL_S = 30;
type Packed = [id: number, url: string, expiresAt: number | null, flags: number];
/** Was ONE_TIME before visit limits: entries of one-time links written then read as limited, as they are. */
const LIMITED = 1;
const ACTIVE = 2;
const CONSUMED = 4;
const FORWARD_QUERY = 8;
const PASSWORD = 16;

const WRITE_LUA = readFileSync(new URL('./lua/cache-write.lua', import.meta.url), 'utf8');
const READ_LUA = readFileSync(new URL('./lua/cache-read.lua', import.meta.url), 'utf8');
type WithScript = RedisClient & {
  curtCacheRead(entryKey: string, epochKey: string): Promise<[raw: string | null, epoch: string | null, pttlMs: number]>;
  curtCacheWrite(entryKey: string, epochKey: string, mode: 'fill' | 'put', epoch: number, body: string, ttlS: number, blockerTtlS: number): Promise<number>;
};

function pack(link: CachedLink): string {
  const flags =
    (link.limited ? LIMITED : 0) |
    (link.isActive ? ACTIVE : 0) |
    (link.consumed ? CONSUMED : 0) |
    (link.forwardQuery ? FORWARD_QUERY : 0) |
    (link.hasPassword ? PASSWORD : 0);
  return JSON.stringify([link.id, link.url, link.expiresAt, flags] satisfies Packed);
}

function unpack(raw: string): CachedLink | undefined {
  try {
    const [id, url, expiresAt, flags] = JSON.parse(raw) as Packed;
    return {
      id,
      url,
      expiresAt,
      limited: (flags & LIMITED) !== 0,
      isActive: (flags & ACTIVE) !== 0,
      consumed: (flags & CONSUMED) !== 0,
      forwardQuery: (flags & FORWARD_QUERY) !== 0,
      hasPassword: (flags & PASSWORD) !== 0,
    };
  } catch {
    return undefined;
  }
}

/** What an entry says under the current epoch: undefined = a miss (absent, older epoch, blocker, unreadable). */
function readEntry(raw: string | null, current: number): CachedLink | null | undefined {
  if (raw === null) return undefined;
  const bar = raw.indexOf('|');
  if (bar < 1 || Number(raw.slice(0, bar)) !== current) return undefined;
  const body = raw.slice(bar + 1);
  if (body === MISSING) return null;
  if (body === BLOCKER) return undefined;
  return unpack(body);
}

export interface RedisLinkCacheOptions {
  redis: RedisClient;
  prefix: string;
  log: Logger;
  /** A command failed (Redis down, hung, or refusing). */
  onError?: (operation: string) => void;
  /** A command was not sent: the breaker is open, or the cache is suspect (reads and fills). */
  onSkipped?: (operation: string) => void;
  /** The Redis breaker: while open, the cache costs no round trip at all. */
  breaker?: DependencyBreaker;
  /** Shared with the near tier and the invalidation bus; by default one of its own. */
  epoch?: CacheEpoch;
}

export function createRedisLinkCache(options: RedisLinkCacheOptions): LinkCache {
  const { redis, prefix, log, breaker } = options;
  const epoch = options.epoch ?? createRedisCacheEpoch({ redis, prefix, log, ...(breaker ? { breaker } : {}) });
  if (!('curtCacheWrite' in redis)) redis.defineCommand('curtCacheWrite', { numberOfKeys: 2, lua: WRITE_LUA });
  if (!('curtCacheRead' in redis)) redis.defineCommand('curtCacheRead', { numberOfKeys: 2, lua: READ_LUA });
  const scripted = redis as WithScript;
  const { layout } = epoch;
  const key = (code: string): string => layout.entryKey(code);

  function skipped(operation: string): undefined {
    options.onSkipped?.(operation);
    return undefined;
  }

  function failed(operation: string, err: unknown): undefined {
    options.onError?.(operation);
    log.debug({ dependency: 'redis', operation, err: (err as Error).message }, 'cache operation failed');
    epoch.failed(`cache ${operation} failed`, err);
    return undefined;
  }

  /** A command through the breaker; undefined when it was skipped or failed (already reported). */
  async function send<T>(operation: string, command: () => Promise<T>, { lostWrite }: { lostWrite: boolean }): Promise<{ value: T } | undefined> {
    if (breaker && !breaker.allows()) {
      skipped(operation);
      // A change that never reached Redis leaves an old entry behind: the epoch must move on.
      if (lostWrite) epoch.failed(`cache ${operation} skipped (circuit breaker open)`);
      return undefined;
    }
    try {
      return { value: await (breaker ? breaker.run(command) : command()) };
    } catch (err) {
      return failed(operation, err);
    }
  }

  /** A lookup caching what it read: only under the epoch its lookup began in (see cache-write.lua). */
  async function fill(code: string, body: string, ttlS: number, readStartedAt: number | undefined): Promise<void> {
    if (ttlS <= 0) return;
    if (!epoch.readable()) return skipped('fill');
    // The epoch moved (or suspicion began) since this lookup read the cache: what it read from
    // PostgreSQL may predate an invalidation that was lost.
    if (readStartedAt !== undefined && readStartedAt < epoch.changedAt()) return;
    const shard = layout.shardOf(code);
    const known = await epoch.known(shard);
    if (known === null) return;
    const startedAt = epoch.now();
    const sent = await send('fill', () => scripted.curtCacheWrite(key(code), layout.epochKey(shard), 'fill', known, body, ttlS, BLOCKER_TTL_S), { lostWrite: false });
    if (sent) epoch.observe(Number(sent.value), startedAt, shard);
  }

  /** A new state: written whatever is there (a writer behind the epoch leaves a blocker instead). */
  async function put(operation: string, code: string, body: string, ttlS: number): Promise<void> {
    if (ttlS <= 0) return;
    // -1 when Redis cannot tell us the epoch: the script then leaves a blocker, never a stale entry.
    const shard = layout.shardOf(code);
    const known = (await epoch.known(shard)) ?? -1;
    const startedAt = epoch.now();
    const sent = await send(operation, () => scripted.curtCacheWrite(key(code), layout.epochKey(shard), 'put', known, body, ttlS, BLOCKER_TTL_S), { lostWrite: true });
    if (sent) epoch.observe(Number(sent.value), startedAt, shard);
  }

  return {
    async get(code) {
      // Suspect: this replica saw Redis fail and may have lost an invalidation; PostgreSQL decides.
      if (!epoch.readable()) return skipped('get');
      const shard = layout.shardOf(code);
      const startedAt = epoch.now();
      const sent = await send('get', () => redis.mget(key(code), layout.epochKey(shard)), { lostWrite: false });
      if (!sent) return undefined;
      const [raw, current] = sent.value;
      const currentEpoch = Number(current ?? 0);
      epoch.observe(currentEpoch, startedAt, shard);
      return readEntry(raw ?? null, currentEpoch);
    },
    async read(code) {
      // As get, plus the entry's PTTL from the same script call: still one round trip.
      if (!epoch.readable()) return { entry: skipped('get'), remainingMs: null };
      const shard = layout.shardOf(code);
      const startedAt = epoch.now();
      const sent = await send('get', () => scripted.curtCacheRead(key(code), layout.epochKey(shard)), { lostWrite: false });
      if (!sent) return { entry: undefined, remainingMs: null };
      const [raw, current, pttlMs] = sent.value;
      const currentEpoch = Number(current ?? 0);
      epoch.observe(currentEpoch, startedAt, shard);
      const entry = readEntry(raw ?? null, currentEpoch);
      // No expiry (-1) or gone meanwhile (-2): a lifetime we cannot vouch for.
      return { entry, remainingMs: entry === undefined || pttlMs < 0 ? null : pttlMs };
    },
    async set(code, link, ttlS, setOptions) {
      if (setOptions?.ifAbsent) await fill(code, pack(link), ttlS, setOptions.readStartedAt);
      else await put('set', code, pack(link), ttlS);
    },
    async setMissing(code, ttlS, setOptions) {
      // Only a deletion's tombstone overwrites: a "no such code" fill never covers a creation racing with it.
      if (setOptions?.overwrite) await put('setMissing', code, MISSING, ttlS);
      else await fill(code, MISSING, ttlS, setOptions?.readStartedAt);
    },
    async delete(code) {
      await send('delete', () => redis.unlink(key(code)), { lostWrite: true });
    },
  };
}
