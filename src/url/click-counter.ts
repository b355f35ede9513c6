// Clicks leave the redirect path: a redirect only bumps counters in memory (O(1), no I/O), and a timer
// writes them to PostgreSQL in one transaction per interval. A failed flush keeps its clicks and the
// next one retries them. Memory is bounded: clicks for links not yet in the buffer are dropped (and
// counted) once it holds `bufferMax` links, so a long PostgreSQL outage cannot exhaust the heap.
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
  let flushing: Promise<number> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let lastSuccess = now();

  function add(target: Map<number, ClickAggregate>, incoming: ClickAggregate): void {
    const current = target.get(incoming.linkId);
    if (!current) {
      target.set(incoming.linkId, incoming);
      return;
    }
    current.clicks += incoming.clicks;
    if (incoming.lastClickedAt > current.lastClickedAt) current.lastClickedAt = incoming.lastClickedAt;
    for (const [day, n] of incoming.days) current.days.set(day, (current.days.get(day) ?? 0) + n);
    for (const [host, n] of incoming.referrers) current.referrers.set(host, (current.referrers.get(host) ?? 0) + n);
  }

  function record(linkId: number, referrerHost: string): void {
    const at = now();
    const day = at.toISOString().slice(0, 10);
    let entry = buffer.get(linkId);
    if (!entry) {
      if (buffer.size >= options.bufferMax) {
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

  async function writeOnce(): Promise<number> {
    if (buffer.size === 0) {
      lastSuccess = now();
      return 0;
    }
    const batch = buffer;
    const clicks = pendingClicks;
    buffer = new Map();
    pendingClicks = 0;
    const started = performance.now();
    try {
      await options.store.applyClicks([...batch.values()]);
    } catch (err) {
      // Put the batch back in front of whatever arrived meanwhile: nothing is lost, the next flush retries.
      for (const entry of buffer.values()) add(batch, entry);
      buffer = batch;
      pendingClicks += clicks;
      options.metrics?.flushFailed?.();
      throw err;
    }
    lastSuccess = now();
    options.metrics?.flushed?.(clicks, (performance.now() - started) / 1000);
    return clicks;
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
    pending: () => pendingClicks,
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
          if (pendingClicks === 0) return;
        } catch (err) {
          if (performance.now() >= deadline) {
            options.log.error({ err: (err as Error).message, lost: pendingClicks }, 'clicks could not be written before shutdown');
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
