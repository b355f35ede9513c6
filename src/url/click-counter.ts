// Clicks leave the redirect path: a redirect only bumps counters in memory (O(1), no I/O), and a timer
// writes them to PostgreSQL in one transaction per interval. A failed flush keeps its clicks and the
// next one retries them. Memory is bounded in entries overall (one per link, per link and day, per
// link and referrer host), the batch being written included, so that neither many links nor a spray
// of distinct Referer headers during a long PostgreSQL outage can exhaust the heap. Near the bound the
// detail goes first (referrer hosts, then new days), never a known link's total; only a link that
// does not fit at all loses its clicks (docs/operations.md, "Clicks: what can be lost").
import { randomUUID } from 'node:crypto';
import type { Logger } from '../core/logger.ts';
import type { ClickAggregate, LinkStore } from '../storage/link-store.ts';

export const DIRECT = '(direct)';
/** Distinct referrer hosts kept per link per flush; more fold into "(other)" so spam cannot grow memory. */
const REFERRERS_PER_LINK = 100;
const OTHER = '(other)';
/**
 * Referrer hosts may fill this share of the bound; the rest is kept for links and days, so that the
 * totals stay exact when a spray of Referer headers fills the buffer.
 */
const REFERRER_SHARE = 0.75;

export interface ClickCounterMetrics {
  flushed: (clicks: number, seconds: number) => void;
  flushFailed: () => void;
  /** Clicks not counted at all: their link did not fit in the buffer. */
  dropped: (clicks: number) => void;
  /** Clicks counted in their link's total whose referrer host or day was not kept. */
  shed: (detail: 'referrer' | 'day', clicks: number) => void;
}

export interface ClickCounterOptions {
  store: Pick<LinkStore, 'applyClicks'>;
  log: Logger;
  flushIntervalMs: number;
  /** Most entries in memory overall: one per link, per link and UTC day, per link and referrer host. */
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
  /** Entries of `buffer`. */
  let entries = 0;
  /** Entries of the batch being written (or awaiting its retry): still in memory, and retried on failure. */
  let inFlightEntries = 0;
  const referrerRoom = Math.floor(options.bufferMax * REFERRER_SHARE);
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

  /** Whether `more` entries fit under `limit`, the batch in flight counted too. */
  const fits = (more: number, limit: number): boolean => entries + inFlightEntries + more <= limit;

  function record(linkId: number, referrerHost: string): void {
    const at = now();
    const day = dayOf(at.getTime());
    let entry = buffer.get(linkId);
    if (!entry) {
      // The batch in flight counts too: a failed flush keeps it in memory, and without it each failing
      // flush during an outage would let another `bufferMax` entries in. A new link needs two: itself
      // and its day.
      if (!fits(2, options.bufferMax)) {
        options.metrics?.dropped?.(1);
        return;
      }
      entry = { linkId, clicks: 0, lastClickedAt: at, days: new Map(), referrers: new Map() };
      buffer.set(linkId, entry);
      entries += 1;
    }
    entry.clicks += 1;
    entry.lastClickedAt = at;
    const dayClicks = entry.days.get(day);
    if (dayClicks !== undefined) entry.days.set(day, dayClicks + 1);
    else if (fits(1, options.bufferMax)) {
      entry.days.set(day, 1);
      entries += 1;
    } else options.metrics?.shed?.('day', 1);
    const host = entry.referrers.has(referrerHost) || entry.referrers.size < REFERRERS_PER_LINK ? referrerHost : OTHER;
    const hostClicks = entry.referrers.get(host);
    if (hostClicks !== undefined) entry.referrers.set(host, hostClicks + 1);
    else if (fits(1, referrerRoom)) {
      entry.referrers.set(host, 1);
      entries += 1;
    } else options.metrics?.shed?.('referrer', 1);
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
      inFlightEntries = 0;
    }
    if (buffer.size > 0) {
      const next = { id: randomUUID(), batch: buffer, clicks: pendingClicks };
      // Counted against bufferMax while in flight (and while waiting for a retry), so an outage
      // cannot let more than bufferMax entries into memory.
      inFlightEntries = entries;
      buffer = new Map();
      pendingClicks = 0;
      entries = 0;
      try {
        await apply(next.id, next.batch);
        inFlightEntries = 0;
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
