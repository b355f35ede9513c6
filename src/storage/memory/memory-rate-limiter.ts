// Rate limits in this process (`curt serve` without Redis): the same fixed one-minute windows as the
// Redis limiter, counted in a map that holds only the current window.
import type { RateLimiter } from '../rate-limiter.ts';

const WINDOW_MS = 60_000;

export function createMemoryRateLimiter(now: () => number = Date.now): RateLimiter {
  let window = -1;
  let counts = new Map<string, number>();
  return {
    async hit(subject, limitPerMinute) {
      const at = now();
      const current = Math.floor(at / WINDOW_MS);
      if (current !== window) {
        // Every counter belongs to a past window: dropping them all bounds memory to one window's subjects.
        window = current;
        counts = new Map();
      }
      const count = (counts.get(subject) ?? 0) + 1;
      counts.set(subject, count);
      if (count <= limitPerMinute) return null;
      return Math.max(1, Math.ceil(((current + 1) * WINDOW_MS - at) / 1000));
    },
  };
}
