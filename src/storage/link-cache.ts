// Port: the lookup cache in front of PostgreSQL (Redis; in-process in the one-machine mode).
// Implementations never throw: a cache that is down behaves as a cache that misses.

/** What a redirect needs to decide, and nothing more. */
export interface CachedLink {
  id: number;
  url: string;
  /** Epoch ms, or null for no expiry. */
  expiresAt: number | null;
  /**
   * The link has a visit limit (a one-time link too): each visit is decided by PostgreSQL, never by
   * a cache, so such an entry is never held in an in-process tier nor answered from it.
   */
  limited: boolean;
  isActive: boolean;
  /** A limited link already used up. */
  consumed: boolean;
  /** The redirect adds the request's query string to the target's. */
  forwardQuery: boolean;
  /**
   * A password protects the link: no tier answers it, every request goes through the check (the
   * hash itself is never cached: it is read from PostgreSQL at each attempt, which is rate limited).
   */
  hasPassword: boolean;
  /**
   * The row's version (LinkRecord.version). A write of a new state is refused when the entry holds a
   * newer one of the same link (or a later link on the code): changes reach the cache in any order.
   * Absent: no order (an entry of an earlier release); any write replaces it.
   */
  version?: number;
}

/** `undefined` = not cached (or the cache is down); `null` = cached as "no such code". */
export type CacheLookup = CachedLink | null | undefined;

/**
 * A lookup with what is left of the entry's own cache lifetime, so that a cache in front of this one
 * never keeps the entry longer (reading never extends a lifetime). `remainingMs`: null when the
 * entry is a miss or its lifetime is unknown; a caller then must not keep it at all.
 */
export interface CacheRead {
  entry: CacheLookup;
  remainingMs: number | null;
}

/**
 * On a fill: `performance.now()` when its lookup began reading the cache. A cache that may have
 * lost invalidations since then (Redis failed) refuses the fill: the row it read may be older.
 */
export interface FillStamp {
  readStartedAt?: number;
}

export interface LinkCache {
  get(code: string): Promise<CacheLookup>;
  /**
   * What this process holds for `code`, read without I/O and without waiting: a cache with an
   * in-process tier answers from it; `undefined` when it has no such tier, or cannot vouch for it
   * now, or has no entry. The warm redirect answers from it without a promise (docs/performance.md).
   * The entry is shared and frozen: read it, never change it.
   */
  peek?(code: string): CacheLookup;
  /** `get` with the entry's remaining lifetime, in the same single read. */
  read(code: string): Promise<CacheRead>;
  /**
   * Stores the entry. `ifAbsent`: only when the code has no entry. A lookup filling a miss uses it,
   * so that it can never overwrite a newer state that an update, a deletion or a one-time use wrote
   * while the lookup was reading PostgreSQL; writers of a new state overwrite. `created`: the entry of
   * a link just created (no older state to retire, so replicas need not confirm they dropped theirs).
   * `afterVisit`: the state a visit of a limited link found or left (used up): the link was limited
   * when the visit read it, so no in-process tier holds it, and there is nothing to tell replicas.
   */
  set(code: string, link: CachedLink, ttlS: number, options?: { ifAbsent?: boolean; created?: boolean; afterVisit?: boolean } & FillStamp): Promise<void>;
  /**
   * Caches "no such code", only when the code has no entry (a creation racing with the miss wins).
   * `overwrite` replaces any entry: the tombstone a deletion leaves. `deleted`: the link it deleted,
   * at the version it had; the tombstone ranks above every state of that link, so a write of one that
   * arrives after it is refused (a later link on the code still replaces it).
   */
  setMissing(code: string, ttlS: number, options?: { overwrite?: boolean; deleted?: { id: number; version: number } } & FillStamp): Promise<void>;
  delete(code: string): Promise<void>;
}

/** CACHE_TTL_S=0: every lookup misses, so every redirect reads PostgreSQL (and the bench can measure that). */
export const noLinkCache: LinkCache = {
  get: () => Promise.resolve(undefined),
  read: () => Promise.resolve({ entry: undefined, remainingMs: null }),
  set: () => Promise.resolve(),
  setMissing: () => Promise.resolve(),
  delete: () => Promise.resolve(),
};
