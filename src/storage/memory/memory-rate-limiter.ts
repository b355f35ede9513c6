// Rate limits in this process (`curt serve` without Redis): the same fixed windows as the Redis
// limiter, counted in a map per window length that holds only its current window.
import { DEFAULT_WINDOW_MS, type RateLimiter } from '../rate-limiter.ts';

export function createMemoryRateLimiter(now: () => number = Date.now): RateLimiter {
  const byLength = new Map<number, { window: number; counts: Map<string, number> }>();
  function countsOf(windowMs: number, at: number): { window: number; counts: Map<string, number> } {
    const current = Math.floor(at / windowMs);
    let entry = byLength.get(windowMs);
    if (entry === undefined || entry.window !== current) {
      // Every counter belongs to a past window: dropping them all bounds memory to one window's subjects.
      entry = { window: current, counts: new Map() };
      byLength.set(windowMs, entry);
    }
    return entry;
  }
  return {
    async hit(subject, limit, windowMs = DEFAULT_WINDOW_MS) {
      const at = now();
      const { window, counts } = countsOf(windowMs, at);
      const count = (counts.get(subject) ?? 0) + 1;
      counts.set(subject, count);
      if (count <= limit) return null;
      return Math.max(1, Math.ceil(((window + 1) * windowMs - at) / 1000));
    },
    async refund(subject, windowMs = DEFAULT_WINDOW_MS) {
      const { counts } = countsOf(windowMs, now());
      const count = counts.get(subject) ?? 0;
      if (count > 1) counts.set(subject, count - 1);
      else counts.delete(subject);
    },
  };
}
