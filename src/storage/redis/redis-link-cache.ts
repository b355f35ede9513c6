// LinkCache on Redis: `url:{code}` holds "<epoch>|<body>", the body being the link as a compact JSON
// array, "-" for an unknown code (negative cache; "-<id>:<version>" for a deleted link's tombstone) or
// "?" for a blocker (see lua/cache-write.lua). A new state is written only over an older one of the
// same link: its id and version travel with it, and the script compares them with the entry's.
// An entry of another epoch than the current one is a miss (redis-cache-epoch.ts says why). Errors
// degrade to a miss and are counted, never thrown at a redirect; while the Redis circuit breaker is
// open, nothing is sent at all. On a Redis Cluster entries are spread over shards, each with its own
// epoch copy in the same slot (redis-cache-epoch.ts), so every read and write stays one round trip.
// Reads made in the same turn of the event loop go out together as one script call per shard, and
// so do the writes made together (the fills after one PostgreSQL query, the creations of one
// INSERT): under load, fifty cold redirects cost one read and one fill command instead of fifty of
// each (docs/performance.md, "Changes measured"). Writes go out at the end of the callback that made
// them (process.nextTick), in the same turn as the redirect's answer, not later. A read costs its
// caller one promise, and a write none of its own (the writes of a tick share one): every cold
// redirect makes one of each, and a promise chain through the breaker per call made five or six.
import { readFileSync } from 'node:fs';
import { CACHE_SCRIPT_COMMANDS, type RedisClient } from '../../core/redis.ts';
import type { Admission } from '../../core/circuit-breaker.ts';
import type { DependencyBreaker } from '../../core/dependency-breaker.ts';
import type { Logger } from '../../core/logger.ts';
import type { CachedLink, CacheRead, LinkCache } from '../link-cache.ts';
import { createRedisCacheEpoch, type CacheEpoch } from './redis-cache-epoch.ts';
import { callPromise } from '../../core/call-promise.ts';
import { createTickGroup } from '../../core/tick-group.ts';
import { chunksOf } from '../../core/chunks.ts';

const MISSING = '-';
const BLOCKER = '?';
/** How long a blocker keeps fills out: longer than any lookup in flight (queries time out within seconds). */
const BLOCKER_TTL_S = 30;
/** `version` absent in entries of a release before migration 017. */
type Packed = [id: number, url: string, expiresAt: number | null, flags: number, version?: number];
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
const NOTHING = (): void => undefined;
const entryOf = (found: CacheRead): CachedLink | null | undefined => found.entry;

function ofShard<T>(perShard: readonly T[], shard: number): T {
  const found = perShard[shard];
  if (found === undefined) throw new Error(`no cache shard ${shard}`);
  return found;
}

/** A read waiting for its shard's next script call; `admission`: the breaker's, handed back with the outcome. */
interface PendingRead {
  code: string;
  admission: Admission;
  resolve: (read: CacheRead) => void;
}
interface EntryWrite {
  code: string;
  mode: 'fill' | 'put';
  /** A put's "<link id>:<version>": written only over an entry of an older state (cache-write.lua). */
  order: string | undefined;
  /** The epoch the writer knew (-1: none, which leaves a blocker). */
  writer: number;
  body: string;
  ttlS: number;
  /** For the error count and the log. */
  operation: string;
  /** The breaker's, handed back with the outcome. */
  admission: Admission;
}

/** What a read answers when nothing was read (skipped, failed): a miss of unknown lifetime. */
const NOT_READ: CacheRead = Object.freeze({ entry: undefined, remainingMs: null });

function pack(link: CachedLink): string {
  const flags =
    (link.limited ? LIMITED : 0) |
    (link.isActive ? ACTIVE : 0) |
    (link.consumed ? CONSUMED : 0) |
    (link.forwardQuery ? FORWARD_QUERY : 0) |
    (link.hasPassword ? PASSWORD : 0);
  const packed: Packed = [link.id, link.url, link.expiresAt, flags];
  if (link.version !== undefined) packed.push(link.version);
  return JSON.stringify(packed);
}

/** The order of a put of `link`: none for a link without a version (an entry an earlier release wrote). */
const orderOf = (link: CachedLink): string | undefined => (link.version === undefined ? undefined : `${link.id}:${link.version}`);

function unpack(raw: string): CachedLink | undefined {
  try {
    const [id, url, expiresAt, flags, version] = JSON.parse(raw) as Packed;
    const link: CachedLink = {
      id,
      url,
      expiresAt,
      limited: (flags & LIMITED) !== 0,
      isActive: (flags & ACTIVE) !== 0,
      consumed: (flags & CONSUMED) !== 0,
      forwardQuery: (flags & FORWARD_QUERY) !== 0,
      hasPassword: (flags & PASSWORD) !== 0,
    };
    if (version !== undefined) link.version = version;
    return link;
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
  // "-", or a deletion's "-<id>:<version>".
  if (body.startsWith(MISSING)) return null;
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

  // Per shard: a script call may only touch keys of one hash slot.
  const pendingReads: PendingRead[][] = Array.from({ length: layout.shards }, () => []);
  // The writes of one tick to one shard: a script call per MAX_BATCH of them, one promise for all.
  const writes = Array.from({ length: layout.shards }, (_, shard) => createTickGroup<EntryWrite, void>((entries) => sendWrites(shard, entries)));

  function skipped(operation: string): void {
    options.onSkipped?.(operation);
  }

  function failed(operation: string, err: unknown): void {
    options.onError?.(operation);
    log.debug({ dependency: 'redis', operation, err: (err as Error).message }, 'cache operation failed');
    epoch.failed(`cache ${operation} failed`, err);
  }

  /**
   * The breaker's word on one command: undefined when it is open (counted as skipped), else the
   * admission to hand back to `finish` with the outcome ('call' when there is no breaker).
   */
  function admit(operation: string): Admission | undefined {
    if (breaker === undefined) return 'call';
    const admission = breaker.admit();
    if (admission === undefined) skipped(operation);
    return admission;
  }

  function finish(admission: Admission, rejected: boolean, err?: unknown): void {
    breaker?.finish(admission, rejected, err);
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
    return withEpoch(shard, (known) => (known === null ? undefined : write(shard, 'fill', 'fill', code, known, body, ttlS, undefined)));
  }

  /**
   * A new state: written over whatever is there but a newer state of the same link (`order`), or a
   * later link on the code (a writer behind the epoch leaves a blocker instead).
   */
  function put(operation: string, code: string, body: string, ttlS: number, order: string | undefined): Promise<void> {
    if (ttlS <= 0) return DONE;
    // -1 when Redis cannot tell us the epoch: the script then leaves a blocker, never a stale entry.
    const shard = layout.shardOf(code);
    return withEpoch(shard, (known) => write(shard, 'put', operation, code, known ?? -1, body, ttlS, order));
  }

  /**
   * One entry into its shard's writes of this tick; resolves (never rejects) once they are sent and
   * answered, the epoch Redis answered adopted.
   */
  function write(shard: number, mode: EntryWrite['mode'], operation: string, code: string, writer: number, body: string, ttlS: number, order: string | undefined): Promise<void> {
    const admission = admit(operation);
    if (admission === undefined) {
      // A put (a new state) that never reached Redis leaves an old entry behind: the epoch must move
      // on. A fill that did not happen leaves only a miss.
      if (mode === 'put') epoch.failed(`cache ${operation} skipped (circuit breaker open)`);
      return DONE;
    }
    return ofShard(writes, shard)({ code, mode, order, writer, body, ttlS, operation, admission });
  }

  function sendWrites(shard: number, entries: EntryWrite[]): Promise<void> {
    return Promise.all(chunksOf(entries, MAX_BATCH).map((chunk) => sendWriteCall(shard, chunk))).then(NOTHING);
  }

  /**
   * One script call. Never rejects: a throw on the way (building it, adopting the epoch) counts as
   * the call's failure, and a throw while counting one entry's outcome is logged and the others are
   * counted all the same (a lost put must still move the epoch on).
   */
  function sendWriteCall(shard: number, entries: EntryWrite[]): Promise<void> {
    return callPromise(() => {
      const args = [String(BLOCKER_TTL_S)];
      for (const w of entries) args.push(w.order === undefined ? w.mode : `${w.mode}:${w.order}`, String(w.writer), w.body, String(w.ttlS));
      const startedAt = epoch.now();
      return scripted.curtCacheWrite(1 + entries.length, layout.epochKey(shard), ...entries.map((w) => key(w.code)), ...args).then((current) => {
        epoch.observe(Number(current), startedAt, shard);
      });
    }).then(
      () => eachLogged(entries, 'counting a cache write', (w) => finish(w.admission, false)),
      (err: unknown) =>
        eachLogged(entries, 'counting a cache write', (w) => {
          try {
            failed(w.operation, err);
          } finally {
            finish(w.admission, true, err);
          }
        }),
    );
  }

  /** `each` for every item in turn: one that throws is logged, and the others still get theirs. */
  function eachLogged<T>(items: readonly T[], what: string, each: (item: T, i: number) => void): void {
    items.forEach((item, i) => {
      try {
        each(item, i);
      } catch (err) {
        log.error({ err }, `${what} failed`);
      }
    });
  }

  function read(code: string): Promise<CacheRead> {
    // Suspect: this replica saw Redis fail and may have lost an invalidation; PostgreSQL decides.
    if (!epoch.readable()) {
      skipped('get');
      return Promise.resolve(NOT_READ);
    }
    const admission = admit('get');
    if (admission === undefined) return Promise.resolve(NOT_READ);
    const shard = layout.shardOf(code);
    const pending = ofShard(pendingReads, shard);
    // Gathered over the turn's I/O callbacks (each request's socket), as the PostgreSQL batcher does.
    if (pending.length === 0) setImmediate(sendReads, shard);
    return new Promise((resolve) => pending.push({ code, admission, resolve }));
  }

  function sendReads(shard: number): void {
    const all = ofShard(pendingReads, shard);
    pendingReads[shard] = [];
    for (const batch of chunksOf(all, MAX_BATCH)) readBatch(shard, batch);
  }

  /**
   * One script call for `batch`. Every read is answered whatever happens: a throw on the way
   * (building the call, adopting the epoch) counts as the call's failure, as a refused call does.
   */
  function readBatch(shard: number, batch: PendingRead[]): void {
    callPromise(() => {
      // Turned suspect since these were asked for: nothing is read.
      if (!epoch.readable()) return Promise.resolve(null);
      const startedAt = epoch.now();
      return scripted.curtCacheRead(1 + batch.length, layout.epochKey(shard), ...batch.map((r) => key(r.code))).then((reply) => {
        const current = Number(reply[0] ?? 0);
        epoch.observe(current, startedAt, shard);
        return { reply, current };
      });
    }).then(
      (read) =>
        answerAll(batch, (r, i) => {
          finish(r.admission, false);
          if (read === null) {
            skipped('get');
            return NOT_READ;
          }
          const entry = readEntry((read.reply[1 + 2 * i] as string | null) ?? null, read.current);
          const pttlMs = Number(read.reply[2 + 2 * i]);
          // No expiry (-1) or gone meanwhile (-2): a lifetime we cannot vouch for.
          return { entry, remainingMs: entry === undefined || pttlMs < 0 ? null : pttlMs };
        }),
      (err: unknown) =>
        answerAll(batch, (r) => {
          try {
            failed('get', err);
          } finally {
            finish(r.admission, true, err);
          }
          return NOT_READ;
        }),
    );
  }

  /** Each read its answer; one that throws (a callback of the breaker) is answered as not read, and logged. */
  function answerAll(batch: readonly PendingRead[], answer: (r: PendingRead, i: number) => CacheRead): void {
    eachLogged(batch, 'answering a cache read', (r, i) => {
      let result = NOT_READ;
      try {
        result = answer(r, i);
      } finally {
        r.resolve(result);
      }
    });
  }

  return {
    get: (code) => read(code).then(entryOf),
    read,
    set: (code, link, ttlS, setOptions) => (setOptions?.ifAbsent ? fill(code, pack(link), ttlS, setOptions.readStartedAt) : put('set', code, pack(link), ttlS, orderOf(link))),
    // Only a deletion's tombstone overwrites: a "no such code" fill never covers a creation racing with it.
    setMissing: (code, ttlS, setOptions) => {
      if (!setOptions?.overwrite) return fill(code, MISSING, ttlS, setOptions?.readStartedAt);
      const deleted = setOptions.deleted;
      if (deleted === undefined) return put('setMissing', code, MISSING, ttlS, undefined);
      // Above every state of the deleted link, its last (`version`) included.
      const order = `${deleted.id}:${deleted.version + 1}`;
      return put('setMissing', code, `${MISSING}${order}`, ttlS, order);
    },
    delete(code) {
      const admission = admit('delete');
      if (admission === undefined) {
        epoch.failed('cache delete skipped (circuit breaker open)');
        return DONE;
      }
      return callPromise(() => redis.unlink(key(code))).then(
        () => finish(admission, false),
        (err: unknown) => {
          finish(admission, true, err);
          failed('delete', err);
        },
      );
    },
  };
}
