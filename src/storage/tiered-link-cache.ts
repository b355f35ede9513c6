// LinkCache in two tiers: a small in-process map ("near") in front of the shared cache ("far",
// Redis). A warm redirect then costs no network hop at all. What keeps the near tier honest:
//  - every write of a new state (update, delete, creation) is broadcast on the invalidation bus, and
//    every replica drops its near entry for that code at once (limited links are never held near);
//  - the near tier is only used while this replica is subscribed to the bus: when the subscription
//    drops (Redis down), it is cleared and bypassed, and cleared again when the subscription is back,
//    so a replica can never serve a state it may have missed the invalidation of;
//  - nor while the far tier cannot vouch for it (`trust`): a subscription can look alive while Redis
//    hangs, so the far tier grants a lease; when it lapses, or the far tier saw a failure or a new
//    cache epoch, the near tier is bypassed and emptied before it is used again;
//  - a fill races with invalidations: an entry read from the far tier is only kept if no
//    invalidation of that code arrived while it was being read;
//  - links with a visit limit (one-time links too) are never kept near: each visit is decided in
//    PostgreSQL, and their "used" state must be seen by every replica through the far tier;
//  - reading never extends an entry's lifetime: a near entry lives no longer than what was left of
//    the far entry it was read from (the far tier reports it in the same read), and is not kept at
//    all when the far tier cannot tell.
import type { CachedLink, CacheLookup, CacheRead, LinkCache } from './link-cache.ts';
import type { MemoryLinkCache } from './memory/memory-link-cache.ts';

/**
 * `delivered`: the message was sent and, for a confirmed publish, every other subscribed replica
 * acknowledged it in time. False when it could not be sent (Redis down, breaker open) or an ack is missing.
 */
export interface PublishResult {
  delivered: boolean;
  /** Why not, for the log. */
  reason?: string;
}

export interface InvalidationBus {
  /**
   * Tells every other replica that `code` changed. Never throws. `confirm`: resolves only once every
   * other subscribed replica has dropped the code (or a timeout passed), and reports in `delivered`
   * whether they all did, so a caller that promises the change holds everywhere can refuse to say so.
   */
  publish(code: string, options?: { confirm?: boolean }): Promise<PublishResult>;
  /** `onCode` for each invalidation from another replica; `onReset` when the subscription was lost or is back. */
  subscribe(onCode: (code: string) => void, onReset: () => void): void;
  /** True while invalidations are being received. */
  subscribed(): boolean;
  close(): Promise<void>;
}

/** The far tier's word on the near tier: null = do not use it now; any other change = empty it first. */
export interface NearTierTrust {
  trustToken(): number | null;
}

export interface TieredLinkCacheOptions {
  /** Read and filled in the same turn as the request's lookup (no promise of its own). */
  near: Pick<MemoryLinkCache, 'clear' | 'peek' | 'readNow' | 'hold' | 'drop'>;
  far: LinkCache;
  bus: InvalidationBus;
  /** Without it, the subscription alone decides. */
  trust?: NearTierTrust;
  /**
   * Longest life of a near entry, in seconds; it is also bounded by what is left of the far entry
   * it was read from (`far.read`), and by the link's expiry.
   */
  nearTtlS: number;
  onNearLookup?: (result: 'hit' | 'miss' | 'bypass') => void;
}

const NOTHING = (): void => undefined;
const entryOf = (found: CacheRead): CacheLookup => found.entry;
const asRead = (found: CacheRead): CacheRead => found;

export function createTieredLinkCache(options: TieredLinkCacheOptions): LinkCache {
  const { near, far, bus } = options;
  // Invalidations by code, stamped with a counter, kept for a second: long enough to outlive any
  // far read in flight (commands time out sooner), short enough to stay small under heavy writes.
  let counter = 0;
  let floor = 0;
  const recent = new Map<string, number>();
  const pruner = setInterval(() => {
    recent.clear();
    floor = counter;
  }, 1000);
  pruner.unref();

  function invalidate(code: string): void {
    counter += 1;
    recent.set(code, counter);
    near.drop(code);
  }

  function forgetAll(): void {
    counter += 1;
    recent.clear();
    floor = counter;
    near.clear();
  }

  bus.subscribe(invalidate, forgetAll);

  // The token the near tier was last used under: a different one means it may have missed
  // invalidations in between, so everything in it (and every fill in flight) is dropped.
  let trustedAs: number | null = null;
  function nearToken(): number | null {
    const token = !bus.subscribed() ? null : options.trust ? options.trust.trustToken() : 0;
    if (token !== trustedAs) {
      trustedAs = token;
      forgetAll();
    }
    return token;
  }

  function changedSince(code: string, stamp: number): boolean {
    return stamp < floor || (recent.get(code) ?? 0) > stamp;
  }

  function fillNear(code: string, value: CachedLink | null, stamp: number, ttlS: number): void {
    if (nearToken() === null || changedSince(code, stamp)) return;
    near.hold(code, value, ttlS);
  }

  function broadcast(code: string, confirm: boolean): Promise<void> {
    invalidate(code);
    return bus.publish(code, { confirm }).then(NOTHING);
  }

  /** What the far tier read, kept near when it may be (see the top of this file). */
  function keepNear(code: string, found: CacheRead, stamp: number): CacheRead {
    const { entry } = found;
    if (entry !== undefined && (entry === null || !entry.limited)) {
      // Never past what is left of the far entry (a missing one is unknown: not kept at all), nor
      // past the link's own expiry; whole seconds down, as the port's lifetimes are.
      const leftMs = Math.min(options.nearTtlS * 1000, found.remainingMs ?? 0, entry === null || entry.expiresAt === null ? Infinity : entry.expiresAt - Date.now());
      const leftS = Math.floor(leftMs / 1000);
      if (leftS > 0) fillNear(code, entry, stamp, leftS);
    }
    return found;
  }

  /** The near tier's entry, when it may be used and has one (counted either way); else undefined. */
  function nearHit(code: string): CacheRead | undefined {
    if (nearToken() === null) {
      options.onNearLookup?.('bypass');
      return undefined;
    }
    const hit = near.readNow(code);
    options.onNearLookup?.(hit.entry === undefined ? 'miss' : 'hit');
    return hit.entry === undefined ? undefined : hit;
  }

  // Promises only where the far tier is waited for, one each way: the near tier is read and filled
  // in the same turn, and a cold redirect passes here (docs/performance.md, "The redirect path").
  // `answer` shapes the result inside the one reaction (get() wants the entry alone).
  function readAs<T>(code: string, answer: (found: CacheRead) => T): Promise<T> {
    const hit = nearHit(code);
    if (hit !== undefined) return Promise.resolve(answer(hit));
    const stamp = counter;
    return far.read(code).then((found) => answer(keepNear(code, found, stamp)));
  }

  return {
    get: (code) => readAs(code, entryOf),
    read: (code) => readAs(code, asRead),
    // The near tier alone, under the same trust as read(); a miss here is left to read(), which counts it.
    peek(code) {
      if (nearToken() === null) return undefined;
      const entry = near.peek(code);
      if (entry !== undefined) options.onNearLookup?.('hit');
      return entry;
    },
    set(code, link, ttlS, setOptions) {
      const written = far.set(code, link, ttlS, setOptions);
      // A lookup filling a miss brings no new state: nothing for other replicas to drop.
      // A new link only has to clear "no such code" entries, which are harmless for a moment: no need
      // to wait for the other replicas. A changed state (disable, expiry, a new limit) waits: an
      // update that gives a link a limit must reach replicas that hold it near without one.
      // A visit's state is of a link that was limited when the visit read it, never held near (see
      // read), so it has nothing to drop there: the redirect that used it does not wait on a broadcast.
      if (setOptions?.ifAbsent === true || setOptions?.afterVisit === true) return written;
      return written.then(() => broadcast(code, setOptions?.created !== true));
    },
    async setMissing(code, ttlS, setOptions) {
      await far.setMissing(code, ttlS, setOptions);
      if (setOptions?.overwrite === true) await broadcast(code, true);
    },
    async delete(code) {
      await far.delete(code);
      await broadcast(code, true);
    },
  };
}
