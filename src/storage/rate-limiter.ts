// Port: rate-limit counters shared by every replica (Redis; in-process in the one-machine mode).

export interface RateLimiter {
  /**
   * Counts one request for `subject` in fixed windows of `windowMs` (default one minute); returns
   * null when allowed, or seconds to wait. Throws if Redis is down (or its breaker open).
   */
  hit(subject: string, limit: number, windowMs?: number): Promise<number | null>;
  /**
   * Takes back one hit of `subject` in the current window (never below zero): for a request that
   * turned out not to count, such as a right link password (only wrong guesses are limited). A hit
   * counted in the window before is not taken back; at a window's edge the new window loses one.
   */
  refund(subject: string, windowMs?: number): Promise<void>;
}

export const DEFAULT_WINDOW_MS = 60_000;
