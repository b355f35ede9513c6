// Clicks leave the redirect path: a redirect only bumps counters in memory (O(1), no I/O), and a timer
// writes them to PostgreSQL in one transaction per interval. A failed flush keeps its clicks and the
// next one retries them. Memory is bounded: clicks for links not yet in the buffer are dropped (and
// counted) once it holds `bufferMax` links, the batch being written included, so a long PostgreSQL
// outage cannot exhaust the heap.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../core/logger.ts';
import type { ClickAggregate, LinkStore } from '../storage/link-store.ts';

export const DIRECT = '(direct)';
/** Distinct referrer hosts kept per link per flush; more fold into "(other)" so spam cannot grow memory. */
const REFERRERS_PER_LINK = 100;
const OTHER = '(other)';

export interface ClickCounterMetrics {
  flushed: (clicks: number, seconds: number) => void;
  flushFailed: () => void;
  dropped: (clicks: number) => void;
}

export interface ClickCounterOptions {
  store: Pick<LinkStore, 'applyClicks'>;
  log: Logger;
  flushIntervalMs: number;
  bufferMax: number;
  now?: () => Date;
  metrics?: Partial<ClickCounterMetrics>;
}

export interface ClickCounter {
  record(linkId: number, referrerHost: string): void;
  /** Writes what is buffered; on failure keeps it for the next flush and rethrows. */
  flush(): Promise<number>;
  /** Clicks counted but not yet written. */
  pending(): number;
  /** Time of the last successful flush (or start), for the flush-lag metric. */
  lastFlushAt(): Date;
  start(): void;
  /** Stops the timer and flushes until empty or `deadlineMs` has passed. */
  stop(deadlineMs: number): Promise<void>;
}

export function createClickCounter(options: ClickCounterOptions): ClickCounter {
  const now = options.now ?? (() => new Date());
  let buffer = new Map<number, ClickAggregate>();
  let pendingClicks = 0;
  /** Links in the batch being written: they are still in memory, and come back on failure. */
  let inFlightLinks = 0;
  let flushing: Promise<number> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let lastSuccess = now();

  // The UTC day of a click, formatted once per day rather than once per click (the redirect path).
  let cachedDayNumber = -1;
  let cachedDay = '';
  function dayOf(ms: number): string {
    const dayNumber = Math.floor(ms / 86_400_000);
    if (dayNumber !== cachedDayNumber) {
      cachedDayNumber = dayNumber;
      cachedDay = new Date(dayNumber * 86_400_000).toISOString().slice(0, 10);
    }
    return cachedDay;
  }

  function record(linkId: number, referrerHost: string): void {
    const at = now();
    const day = dayOf(at.getTime());
    let entry = buffer.get(linkId);
    if (!entry) {
      // The batch in flight counts too: a failed flush merges it back, and without it each failing
      // flush during an outage would let another `bufferMax` links in.
      if (buffer.size + inFlightLinks >= options.bufferMax) {
        options.metrics?.dropped?.(1);
        return;
      }
      entry = { linkId, clicks: 0, lastClickedAt: at, days: new Map(), referrers: new Map() };
      buffer.set(linkId, entry);
    }
    entry.clicks += 1;
    entry.lastClickedAt = at;
    entry.days.set(day, (entry.days.get(day) ?? 0) + 1);
    const host = entry.referrers.has(referrerHost) || entry.referrers.size < REFERRERS_PER_LINK ? referrerHost : OTHER;
    entry.referrers.set(host, (entry.referrers.get(host) ?? 0) + 1);
    pendingClicks += 1;
  }

  /**
   * A batch that failed keeps its id and its content, and is retried as it is before anything newer:
   * if its first COMMIT did go through (only the answer was lost), the store recognises the id and
   * the retry adds nothing. Merging it into newer clicks would lose that protection.
   */
  let failed: { id: string; batch: Map<number, ClickAggregate>; clicks: number } | null = null;

  async function apply(id: string, batch: Map<number, ClickAggregate>): Promise<void> {
    await options.store.applyClicks([...batch.values()], id);
  }

  async function writeOnce(): Promise<number> {
    const started = performance.now();
    let written = 0;
    const succeeded = (): void => {
      lastSuccess = now();
      if (written > 0) options.metrics?.flushed?.(written, (performance.now() - started) / 1000);
    };
    if (failed !== null) {
      try {
        await apply(failed.id, failed.batch);
      } catch (err) {
        options.metrics?.flushFailed?.();
        throw err;
      }
      written += failed.clicks;
      failed = null;
      inFlightLinks = 0;
    }
    if (buffer.size > 0) {
      const next = { id: randomUUID(), batch: buffer, clicks: pendingClicks };
      buffer = new Map();
      pendingClicks = 0;
      // Counted against bufferMax while in flight (and while waiting for a retry), so an outage
      // cannot let more than bufferMax links into memory.
      inFlightLinks = next.batch.size;
      try {
        await apply(next.id, next.batch);
        inFlightLinks = 0;
      } catch (err) {
        failed = next;
        options.metrics?.flushFailed?.();
        // A retried batch before it did land: it is reported even though this flush fails.
        if (written > 0) succeeded();
        throw err;
      }
      written += next.clicks;
    }
    succeeded();
    return written;
  }

  function flush(): Promise<number> {
    flushing ??= writeOnce().finally(() => {
      flushing = null;
    });
    return flushing;
  }

  return {
    record,
    flush,
    pending: () => pendingClicks + (failed?.clicks ?? 0),
    lastFlushAt: () => lastSuccess,
    start() {
      timer ??= setInterval(() => {
        flush().catch((err: unknown) =>
          options.log.warn({ err: (err as Error).message, pending: pendingClicks }, 'click flush failed; clicks kept for the next try'),
        );
      }, options.flushIntervalMs);
      timer.unref();
    },
    async stop(deadlineMs) {
      if (timer) clearInterval(timer);
      timer = null;
      const deadline = performance.now() + deadlineMs;
      for (;;) {
        try {
          if (flushing) await flushing.catch(() => 0);
          await flush();
          if (pendingClicks === 0 && failed === null) return;
        } catch (err) {
          if (performance.now() >= deadline) {
            options.log.error({ err: (err as Error).message, lost: pendingClicks + (failed?.clicks ?? 0) }, 'clicks could not be written before shutdown');
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    },
  };
}

/** The host of a Referer header, lower-case, or "(direct)" when there is none or it is not a URL. */
export function referrerHost(referer: string | undefined): string {
  if (referer === undefined || referer === '') return DIRECT;
  try {
    const host = new URL(referer).hostname.toLowerCase();
    return host === '' || host.length > 255 ? DIRECT : host;
  } catch {
    return DIRECT;
  }
}
