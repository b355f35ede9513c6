// The eviction policy of the in-process link cache (src/storage/memory/memory-link-cache.ts) for the
// capacity simulation: the same entries, expiry and second-chance (CLOCK) order, entry for entry
// (test/unit/capacity-sim.test.ts replays one trace through both and compares every answer).
//
// Why not the class itself: it holds an object per entry (a frozen link, its lifetime, its mark), and
// a simulated month writes tens of millions of entries. Like the class, this one keeps its eviction
// walk between evictions (a V8 Map keeps deleted entries' slots until it is rehashed, so a fresh walk
// per eviction stepped over all of them: docs/scaling.md, "Capacity plan"). Everything before the
// walk's position was deleted or moved to the end, so the entry it reaches next is the one a new walk
// would reach first: the order is the same.

// Keys are link ids, and an entry is one number: its end of life, negative once read since it last
// came round for eviction. No object per entry: a simulated month writes tens of millions of them.

export interface SecondChanceCache {
  /** The entry's end of life (ms of the simulated clock) if it is live; marks it read. */
  peek(id: number): number | undefined;
  /** Stores an entry for `ttlS` seconds; `ifAbsent`: only when there is no live entry (Redis SET NX). */
  set(id: number, ttlS: number, ifAbsent?: boolean): void;
  delete(id: number): void;
  /**
   * Deletes every expired entry, as Redis's active expiry does. Not for the near tier: the class keeps
   * expired entries until they are read or their turn for eviction comes.
   */
  purgeExpired(): void;
  size(): number;
}

export function createSecondChanceCache(maxEntries: number, now: () => number): SecondChanceCache {
  const entries = new Map<number, number>();
  let walk: Iterator<[number, number]> | null = null;

  /** The entry's signed value if live; an expired one is deleted, as the class does. */
  function live(id: number): number | undefined {
    const value = entries.get(id);
    if (value === undefined) return undefined;
    if (Math.abs(value) > now()) return value;
    entries.delete(id);
    return undefined;
  }

  function evictOne(): void {
    while (entries.size > 0) {
      walk ??= entries[Symbol.iterator]();
      const step = walk.next();
      if (step.done === true) {
        walk = null;
        continue;
      }
      const [id, value] = step.value;
      entries.delete(id);
      // Not read since it last came round, or expired: it goes. Read: once more round, unmarked.
      if (value > 0 || -value <= now()) return;
      entries.set(id, -value);
    }
  }

  return {
    peek(id) {
      const value = live(id);
      if (value === undefined) return undefined;
      if (value > 0) entries.set(id, -value);
      return Math.abs(value);
    },
    set(id, ttlS, ifAbsent = false) {
      if (ttlS <= 0 || (ifAbsent && live(id) !== undefined)) return;
      entries.delete(id);
      if (entries.size >= maxEntries) evictOne();
      entries.set(id, now() + ttlS * 1000);
    },
    delete(id) {
      entries.delete(id);
    },
    purgeExpired() {
      const at = now();
      for (const [id, value] of entries) if (Math.abs(value) <= at) entries.delete(id);
    },
    size: () => entries.size,
  };
}
