// LinkCache on Redis: `url:{code}` holds "<epoch>|<body>", the body being the link as a compact JSON
// array, "-" for an unknown code (negative cache) or "?" for a blocker (see lua/cache-write.lua).
// An entry of another epoch than the current one is a miss (redis-cache-epoch.ts says why). Errors
// degrade to a miss and are counted, never thrown at a redirect; while the Redis circuit breaker is
// open, nothing is sent at all. On a Redis Cluster entries are spread over shards, each with its own
// epoch copy in the same slot (redis-cache-epoch.ts), so every read and write stays one round trip.
// Reads made in the same turn of the event loop go out together as one script call per shard
// (src/core/batcher.ts), and so do the writes made together (the fills after one PostgreSQL query,
// the creations of one INSERT): under load, fifty cold redirects cost one read and one fill command
// instead of fifty of each (docs/performance.md, "Changes measured"). Writes go out at the end of the
// callback that made them (process.nextTick), in the same turn as the redirect's answer, not later.
import { readFileSync } from 'node:fs';
import { createBatcher } from '../../core/batcher.ts';
import { CACHE_SCRIPT_COMMANDS, type RedisClient } from '../../core/redis.ts';
import type { DependencyBreaker } from '../../core/dependency-breaker.ts';
import type { Logger } from '../../core/logger.ts';
import type { CachedLink, CacheRead, LinkCache } from '../link-cache.ts';
import { createRedisCacheEpoch, type CacheEpoch } from './redis-cache-epoch.ts';
import { callPromise } from '../../core/call-promise.ts';

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
/** Most entries in one script call: a turn with more sends more calls. */
const MAX_BATCH = 256;
type WithScript = RedisClient & {
  /** numKeys, the shard's epoch key, then entry keys: [epoch, entry 1, PTTL 1, entry 2, PTTL 2, ...]. */
  curtCacheRead(numKeys: number, ...keys: string[]): Promise<(string | number | null)[]>;
  /** numKeys, the shard's epoch key, entry keys, blocker TTL, then mode, epoch, body, TTL per entry: the current epoch. */
  curtCacheWrite(numKeys: number, ...keysAndArgs: string[]): Promise<number>;
};

const DONE: Promise<void> = Promise.resolve();

function ofShard<T>(perShard: readonly T[], shard: number): T {
  const found = perShard[shard];
  if (found === undefined) throw new Error(`no cache shard ${shard}`);
  return found;
}

/**
 * What one entry's read returned, and when the command carrying it was sent (`epoch.now()`); or
 * `suspect`: the cache turned suspect between the call and the batch going out, so nothing was read.
 */
type EntryRead = { raw: string | null; epoch: number; pttlMs: number; startedAt: number } | 'suspect';
interface EntryWrite {
  code: string;
  mode: 'fill' | 'put';
  /** The epoch the writer knew (-1: none, which leaves a blocker). */
  writer: number;
  body: string;
  ttlS: number;
}

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
  // Named in CACHE_SCRIPT_COMMANDS, which the clients never auto-pipeline (src/core/redis.ts).
  const [readCommand, writeCommand] = CACHE_SCRIPT_COMMANDS;
  if (!(writeCommand in redis)) redis.defineCommand(writeCommand, { lua: WRITE_LUA });
  if (!(readCommand in redis)) redis.defineCommand(readCommand, { lua: READ_LUA });
  const scripted = redis as WithScript;
  const { layout } = epoch;
  const key = (code: string): string => layout.entryKey(code);

  // One batcher per shard: a script call may only touch keys of one hash slot.
  const reads = Array.from({ length: layout.shards }, (_, shard) =>
    createBatcher<string, EntryRead>(async (codes) => {
      if (!epoch.readable()) return codes.map(() => 'suspect' as const);
      const startedAt = epoch.now();
      const reply = await scripted.curtCacheRead(1 + codes.length, layout.epochKey(shard), ...codes.map(key));
      const current = Number(reply[0] ?? 0);
      return codes.map((_, i) => ({ raw: (reply[1 + 2 * i] as string | null) ?? null, epoch: current, pttlMs: Number(reply[2 + 2 * i]), startedAt }));
    }, MAX_BATCH),
  );
  const writes = Array.from({ length: layout.shards }, (_, shard) =>
    createBatcher<EntryWrite, { epoch: number; startedAt: number }>(async (batch) => {
      const args = [String(BLOCKER_TTL_S)];
      for (const w of batch) args.push(w.mode, String(w.writer), w.body, String(w.ttlS));
      const startedAt = epoch.now();
      const current = Number(await scripted.curtCacheWrite(1 + batch.length, layout.epochKey(shard), ...batch.map((w) => key(w.code)), ...args));
      return batch.map(() => ({ epoch: current, startedAt }));
    }, MAX_BATCH, Number.POSITIVE_INFINITY, undefined, (dispatch) => process.nextTick(dispatch)),
  );

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

  /**
   * A command through the breaker; undefined when it was skipped or failed (already reported). A
   * promise chain, not an async function: every cold redirect sends two (docs/performance.md).
   */
  function send<T>(operation: string, command: () => Promise<T>, { lostWrite }: { lostWrite: boolean }): Promise<{ value: T } | undefined> {
    if (breaker && !breaker.allows()) {
      skipped(operation);
      // A change that never reached Redis leaves an old entry behind: the epoch must move on.
      if (lostWrite) epoch.failed(`cache ${operation} skipped (circuit breaker open)`);
      return Promise.resolve(undefined);
    }
    return (breaker ? breaker.run(command) : callPromise(command)).then(
      (value) => ({ value }),
      (err: unknown) => failed(operation, err),
    );
  }

  /**
   * The shard's epoch as this replica knows it, then `then` with it; read from Redis first only when
   * not known yet. Known (as it nearly always is), no promise and no turn before the write.
   */
  function withEpoch(shard: number, then: (known: number | null) => Promise<void> | undefined): Promise<void> {
    const current = epoch.current(shard);
    if (current !== null) return then(current) ?? DONE;
    return epoch.known(shard).then(then);
  }

  /** A lookup caching what it read: only under the epoch its lookup began in (see cache-write.lua). */
  function fill(code: string, body: string, ttlS: number, readStartedAt: number | undefined): Promise<void> {
    if (ttlS <= 0) return DONE;
    if (!epoch.readable()) {
      skipped('fill');
      return DONE;
    }
    // The epoch moved (or suspicion began) since this lookup read the cache: what it read from
    // PostgreSQL may predate an invalidation that was lost.
    if (readStartedAt !== undefined && readStartedAt < epoch.changedAt()) return DONE;
    const shard = layout.shardOf(code);
    return withEpoch(shard, (known) => (known === null ? undefined : write('fill', shard, { code, mode: 'fill', writer: known, body, ttlS }, false)));
  }

  /** A new state: written whatever is there (a writer behind the epoch leaves a blocker instead). */
  function put(operation: string, code: string, body: string, ttlS: number): Promise<void> {
    if (ttlS <= 0) return DONE;
    // -1 when Redis cannot tell us the epoch: the script then leaves a blocker, never a stale entry.
    const shard = layout.shardOf(code);
    return withEpoch(shard, (known) => write(operation, shard, { code, mode: 'put', writer: known ?? -1, body, ttlS }, true));
  }

  /** One entry into its shard's next write call; the epoch Redis answered is adopted. */
  function write(operation: string, shard: number, entry: EntryWrite, lostWrite: boolean): Promise<void> {
    return send(operation, () => ofShard(writes, shard)(entry), { lostWrite }).then((sent) => {
      if (sent) epoch.observe(sent.value.epoch, sent.value.startedAt, shard);
    });
  }

  function read(code: string): Promise<CacheRead> {
    // Suspect: this replica saw Redis fail and may have lost an invalidation; PostgreSQL decides.
    if (!epoch.readable()) return Promise.resolve({ entry: skipped('get'), remainingMs: null });
    const shard = layout.shardOf(code);
    return send('get', () => ofShard(reads, shard)(code), { lostWrite: false }).then((sent): CacheRead => {
      if (!sent) return { entry: undefined, remainingMs: null };
      if (sent.value === 'suspect') return { entry: skipped('get'), remainingMs: null };
      const { raw, epoch: current, pttlMs, startedAt } = sent.value;
      epoch.observe(current, startedAt, shard);
      const entry = readEntry(raw, current);
      // No expiry (-1) or gone meanwhile (-2): a lifetime we cannot vouch for.
      return { entry, remainingMs: entry === undefined || pttlMs < 0 ? null : pttlMs };
    });
  }

  return {
    async get(code) {
      return (await read(code)).entry;
    },
    read,
    set: (code, link, ttlS, setOptions) => (setOptions?.ifAbsent ? fill(code, pack(link), ttlS, setOptions.readStartedAt) : put('set', code, pack(link), ttlS)),
    // Only a deletion's tombstone overwrites: a "no such code" fill never covers a creation racing with it.
    setMissing: (code, ttlS, setOptions) => (setOptions?.overwrite ? put('setMissing', code, MISSING, ttlS) : fill(code, MISSING, ttlS, setOptions?.readStartedAt)),
    async delete(code) {
      await send('delete', () => redis.unlink(key(code)), { lostWrite: true });
    },
  };
}
