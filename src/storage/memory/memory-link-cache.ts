// LinkCache in this process (`curt serve` without Redis): a bounded map with an expiry per entry,
// "no such code" entries included. This process is the only reader and writer, so a replaced or
// deleted entry takes effect at once for every request, as a Redis entry does for every replica.
import type { CachedLink, CacheRead, LinkCache } from '../link-cache.ts';

export interface MemoryLinkCacheOptions {
  /** The most entries kept; one not read for longest goes first (approximately: see evictOne). */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  /** Frozen: handed out as it is, so a reader can never change what is cached. */
  link: Readonly<CachedLink> | null;
  until: number;
  /** Read since it last came round for eviction. */
  read: boolean;
}

export interface MemoryLinkCache extends LinkCache {
  /** Forgets every entry (the near tier of a tiered cache, when it may have missed invalidations). */
  clear(): void;
  peek(code: string): CachedLink | null | undefined;
  /** read() without a promise: a tier in front reads this one in the same turn. */
  readNow(code: string): CacheRead;
  /**
   * Stores the entry (null: "no such code") whatever is there, without a promise: for a tier in
   * front that has decided already (set() and setMissing() with `overwrite`, synchronously).
   */
  hold(code: string, link: CachedLink | null, ttlS: number): void;
  /** delete() without a promise: an invalidation heard, or broadcast, drops the entry at once. */
  drop(code: string): void;
}

/**
 * The entry as held, field by field: on Node 20 `Object.freeze({ ...link })` gave every entry a hidden
 * class of its own, so each warm redirect read its entry through megamorphic property loads (reading
 * the eight fields of 100,000 such entries: 2.3 µs a time, against 0.25 µs for entries of one shape,
 * in a microbenchmark; docs/performance.md).
 */
function frozenCopy(link: CachedLink): CachedLink {
  return Object.freeze({
    id: link.id,
    url: link.url,
    expiresAt: link.expiresAt,
    limited: link.limited,
    isActive: link.isActive,
    consumed: link.consumed,
    forwardQuery: link.forwardQuery,
    hasPassword: link.hasPassword,
  });
}

export function createMemoryLinkCache(options: MemoryLinkCacheOptions = {}): MemoryLinkCache {
  const maxEntries = options.maxEntries ?? 100_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();

  function live(code: string): Entry | undefined {
    const entry = entries.get(code);
    if (entry === undefined) return undefined;
    if (entry.until > now()) return entry;
    entries.delete(code);
    return undefined;
  }

  /**
   * The eviction hand: one walk of the map kept from one eviction to the next. A V8 Map keeps the
   * slots of deleted entries until it is rehashed, so a walk started afresh at every eviction first
   * stepped over every entry evicted or moved since: 127 µs per eviction at 100,000 entries
   * (docs/scaling.md, "Capacity plan"). Everything before the hand was deleted or moved to the end,
   * so the entry it reaches next is the one a fresh walk would reach first: the order is the same.
   */
  let hand: Iterator<[string, Entry]> | null = null;

  /**
   * Second chance (CLOCK): the oldest entry goes unless it was read since it last came round; a read
   * one moves to the end with its mark cleared, and the next oldest is looked at. Under a skewed mix
   * over more links than fit, the hot ones keep coming back. A hit then only sets a flag: moving
   * every hit to the end of a map of 100,000 (exact LRU) took 15 % of a warm redirect's time.
   */
  function evictOne(): void {
    while (entries.size > 0) {
      hand ??= entries[Symbol.iterator]();
      const step = hand.next();
      if (step.done === true) {
        hand = null;
        continue;
      }
      const [code, entry] = step.value;
      entries.delete(code);
      if (!entry.read || entry.until <= now()) return;
      entry.read = false;
      entries.set(code, entry);
    }
  }

  function put(code: string, link: CachedLink | null, ttlS: number): void {
    // Re-inserted at the end: the map's order is oldest write (or second chance) first.
    entries.delete(code);
    if (entries.size >= maxEntries) evictOne();
    entries.set(code, { link: link === null ? null : frozenCopy(link), until: now() + ttlS * 1000, read: false });
  }

  function markRead(entry: Entry): CachedLink | null {
    entry.read = true;
    return entry.link;
  }

  function peek(code: string): CachedLink | null | undefined {
    const entry = live(code);
    return entry === undefined ? undefined : markRead(entry);
  }

  function drop(code: string): void {
    entries.delete(code);
  }

  function readNow(code: string): CacheRead {
    const entry = live(code);
    return entry === undefined ? { entry: undefined, remainingMs: null } : { entry: markRead(entry), remainingMs: entry.until - now() };
  }

  return {
    get: async (code) => peek(code),
    peek,
    readNow,
    hold(code, link, ttlS) {
      if (ttlS > 0) put(code, link, ttlS);
    },
    read: async (code) => readNow(code),
    async set(code, link, ttlS, options) {
      // ifAbsent (a lookup filling a miss) never replaces a newer state written meanwhile (Redis: SET NX).
      if (ttlS > 0 && (options?.ifAbsent !== true || live(code) === undefined)) put(code, link, ttlS);
    },
    async setMissing(code, ttlS, options) {
      // Never over a real entry written by a creation racing with this miss (Redis: SET NX), unless
      // told to overwrite: a deletion's tombstone.
      if (ttlS > 0 && (options?.overwrite === true || live(code) === undefined)) put(code, null, ttlS);
    },
    drop,
    delete: async (code) => drop(code),
    clear: () => {
      entries.clear();
      hand = null;
    },
  };
}
