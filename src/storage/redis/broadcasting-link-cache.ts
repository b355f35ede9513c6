// The lookup cache of a replica that leaves out a tier the other replicas may have: CACHE_NEAR_TTL_S=0
// (no in-process tier: it reads Redis alone) or CACHE_TTL_S=0 (it reads no cache at all). Its own
// settings decide only what it reads. What it changes must reach the other replicas as a change made
// through the tiered cache does (tiered-link-cache.ts), because during a rolling change of those
// settings the replicas mix them, and the others hold the old state in Redis and in memory until
// told: the new state (or a deletion's tombstone) is written to Redis over the old one, and the code
// is broadcast on the invalidation bus, waited for as the tiered cache waits.
import type { CachedLink, CacheRead, LinkCache } from '../link-cache.ts';
import type { InvalidationBus } from '../tiered-link-cache.ts';

export interface BroadcastingLinkCacheOptions {
  far: LinkCache;
  bus: InvalidationBus;
  /** False (CACHE_TTL_S=0): every lookup misses and nothing is filled; changes are still written and broadcast. */
  reads: boolean;
}

/**
 * The least a change's entry lives when this replica reads no cache (the link service then asks for
 * 0 s, its own lifetime): as long as a lookup in flight on another replica may take, since the fill
 * that lookup makes with the old row is refused only while this entry stands. After it, the others
 * read PostgreSQL again.
 */
export const WRITE_ONLY_CHANGE_TTL_S = 30;

const DONE: Promise<void> = Promise.resolve();
const NOT_READ: CacheRead = Object.freeze({ entry: undefined, remainingMs: null });
const NOTHING = (): void => undefined;

export function createBroadcastingLinkCache(options: BroadcastingLinkCacheOptions): LinkCache {
  const { far, bus, reads } = options;
  const changeTtl = (ttlS: number): number => (reads ? ttlS : Math.max(ttlS, WRITE_ONLY_CHANGE_TTL_S));
  // Subscribed although there is nothing in memory to drop: the acks of this replica's confirmed
  // broadcasts arrive on the subscription, and it acknowledges the others' at once.
  bus.subscribe(NOTHING, NOTHING);

  function broadcast(code: string, confirm: boolean): Promise<void> {
    return bus.publish(code, { confirm }).then(NOTHING);
  }

  return {
    get: (code) => (reads ? far.get(code) : Promise.resolve(undefined)),
    read: (code) => (reads ? far.read(code) : Promise.resolve(NOT_READ)),
    set(code, link: CachedLink, ttlS, setOptions) {
      // A fill brings no new state; without reads there is nothing to fill.
      if (setOptions?.ifAbsent === true) return reads ? far.set(code, link, ttlS, setOptions) : DONE;
      const written = far.set(code, link, changeTtl(ttlS), setOptions);
      // Which changes are broadcast, and which waited for: as in the tiered cache (see its set()).
      if (setOptions?.afterVisit === true) return written;
      return written.then(() => broadcast(code, setOptions?.created !== true));
    },
    async setMissing(code, ttlS, setOptions) {
      if (setOptions?.overwrite !== true) {
        if (reads) await far.setMissing(code, ttlS, setOptions);
        return;
      }
      await far.setMissing(code, changeTtl(ttlS), setOptions);
      await broadcast(code, true);
    },
    async delete(code) {
      await far.delete(code);
      await broadcast(code, true);
    },
  };
}
