// A bounded memo of a pure function, first in, first out: a hit is one Map.get. Moving each hit to
// the end (exact LRU) costs a delete and a set per call, which the in-process link cache measured at
// 15 % of a warm redirect (src/storage/memory/memory-link-cache.ts); here an evicted popular key
// costs one more computation. Never holds more than `max` entries.
export interface Memo<V> {
  get(key: string): V;
  size(): number;
}

export function boundedMemo<V>(max: number, compute: (key: string) => V): Memo<V> {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`cacheMax must be a positive integer, got ${max}`);
  const entries = new Map<string, V>();
  return {
    get(key) {
      const known = entries.get(key);
      if (known !== undefined) return known;
      const value = compute(key);
      if (entries.size >= max) {
        const oldest = entries.keys().next();
        if (oldest.done !== true) entries.delete(oldest.value);
      }
      entries.set(key, value);
      return value;
    },
    size: () => entries.size,
  };
}
