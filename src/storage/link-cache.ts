// Port: the lookup cache in front of PostgreSQL (Redis; in-process in the one-machine mode).
// Implementations never throw: a cache that is down behaves as a cache that misses.

/** What a redirect needs to decide, and nothing more. */
export interface CachedLink {
  id: number;
  url: string;
  /** Epoch ms, or null for no expiry. */
  expiresAt: number | null;
  isOneTime: boolean;
  isActive: boolean;
  /** A one-time link already used. */
  consumed: boolean;
}

/** `undefined` = not cached (or the cache is down); `null` = cached as "no such code". */
export type CacheLookup = CachedLink | null | undefined;

export interface LinkCache {
  get(code: string): Promise<CacheLookup>;
  set(code: string, link: CachedLink, ttlS: number): Promise<void>;
  setMissing(code: string, ttlS: number): Promise<void>;
  delete(code: string): Promise<void>;
}
