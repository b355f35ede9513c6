// URL service series: cache effectiveness, redirect outcomes, the click pipeline.
import { Counter, Gauge, Histogram, type Registry } from '../core/metrics.ts';
import type { ClickCounter, ClickCounterMetrics } from './click-counter.ts';

export interface UrlMetrics {
  cacheLookup: (result: 'hit' | 'miss' | 'negative_hit') => void;
  cacheError: (operation: string) => void;
  redirect: (outcome: string) => void;
  linkCreated: (kind: 'generated' | 'alias') => void;
  clickMetrics: ClickCounterMetrics;
  /** Gauges read from the click counter at scrape time. */
  watchClicks: (counter: ClickCounter) => void;
}

export function createUrlMetrics(registry: Registry): UrlMetrics {
  const registers = [registry];
  const cache = new Counter({ name: 'cache_lookups_total', help: 'Link cache lookups by result', labelNames: ['result'], registers });
  const cacheErrors = new Counter({ name: 'cache_errors_total', help: 'Cache operations that failed (Redis down)', labelNames: ['operation'], registers });
  const redirects = new Counter({ name: 'redirects_total', help: 'Redirect requests by outcome', labelNames: ['outcome'], registers });
  const created = new Counter({ name: 'links_created_total', help: 'Links created', labelNames: ['kind'], registers });
  const flushed = new Counter({ name: 'clicks_flushed_total', help: 'Clicks written to PostgreSQL', registers });
  const dropped = new Counter({ name: 'clicks_dropped_total', help: 'Clicks dropped because the click buffer was full', registers });
  const flushFailures = new Counter({ name: 'click_flush_failures_total', help: 'Click flushes that failed and were kept for retry', registers });
  const flushSeconds = new Histogram({ name: 'click_flush_duration_seconds', help: 'Time to write one click batch', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers });
  let counter: ClickCounter | null = null;
  new Gauge({
    name: 'clicks_pending',
    help: 'Clicks counted in memory, not yet written (the click queue depth)',
    registers,
    collect() {
      this.set(counter?.pending() ?? 0);
    },
  });
  new Gauge({
    name: 'click_flush_lag_seconds',
    help: 'Seconds since the last successful click flush',
    registers,
    collect() {
      this.set(counter ? (Date.now() - counter.lastFlushAt().getTime()) / 1000 : 0);
    },
  });
  return {
    cacheLookup: (result) => cache.inc({ result }),
    cacheError: (operation) => cacheErrors.inc({ operation }),
    redirect: (outcome) => redirects.inc({ outcome }),
    linkCreated: (kind) => created.inc({ kind }),
    clickMetrics: {
      flushed: (clicks, seconds) => {
        flushed.inc(clicks);
        flushSeconds.observe(seconds);
      },
      flushFailed: () => flushFailures.inc(),
      dropped: (n) => dropped.inc(n),
    },
    watchClicks: (c) => {
      counter = c;
    },
  };
}
