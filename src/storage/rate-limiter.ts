// Port: rate-limit counters shared by every replica (Redis; in-process in the one-machine mode).

export interface RateLimiter {
  /** Counts one request for `subject`; returns null when allowed, or seconds to wait. Throws if Redis is down (or its breaker open). */
  hit(subject: string, limitPerMinute: number): Promise<number | null>;
}
