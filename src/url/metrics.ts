// URL service series: cache effectiveness, redirect outcomes, the click pipeline.
import { Counter, createTallyCounter, Gauge, Histogram, type Registry } from '../core/metrics.ts';
import type { ClickCounter, ClickCounterMetrics } from './click-counter.ts';
import type { ClickPartitionMetrics } from './expiry-sweep.ts';
import type { WebhookDispatcher, WebhookDispatcherMetrics } from './webhook-dispatcher.ts';

/** The click pipeline's tallies of hits written, which `curt serve` also reads for its stop line. */
export const CLICKS_FLUSHED_METRIC = 'clicks_flushed_total';
export const BOT_HITS_FLUSHED_METRIC = 'bot_hits_flushed_total';

export interface UrlMetrics {
  cacheLookup: (result: 'hit' | 'miss' | 'negative_hit') => void;
  cacheError: (operation: string) => void;
  /** A cache operation not sent to Redis: its breaker is open, or the cache is suspect. */
  cacheSkipped: (operation: string) => void;
  nearCacheLookup: (result: 'hit' | 'miss' | 'bypass') => void;
  redirect: (outcome: string) => void;
  linkCreated: (kind: 'generated' | 'alias') => void;
  clickMetrics: ClickCounterMetrics;
  /** Gauges read from the click counter at scrape time. */
  watchClicks: (counter: ClickCounter) => void;
  /** Gauges read from the cache epoch at scrape time. */
  watchCacheEpoch: (epoch: { stats(): { epoch: number | null; suspect: boolean } }) => void;
  webhookMetrics: WebhookDispatcherMetrics;
  /** The outbox gauge, read from the dispatcher at scrape time. */
  watchWebhooks: (dispatcher: Pick<WebhookDispatcher, 'pending'>) => void;
  partitionMetrics: ClickPartitionMetrics;
}

export function createUrlMetrics(registry: Registry): UrlMetrics {
  const registers = [registry];
  // The counters a request bumps are tallies, handed to prom-client at scrape time (see createTallyCounter).
  const cacheLookup = createTallyCounter({ name: 'cache_lookups_total', help: 'Link cache lookups by result', label: 'result', registry });
  const nearCacheLookup = createTallyCounter({
    name: 'near_cache_lookups_total',
    help: 'In-process cache lookups by result (bypass = off while the invalidation subscription is down)',
    label: 'result',
    registry,
  });
  const cacheError = createTallyCounter({ name: 'cache_errors_total', help: 'Cache operations that failed (Redis down)', label: 'operation', registry });
  const cacheSkipped = createTallyCounter({
    name: 'cache_skipped_total',
    help: 'Cache operations not sent to Redis: its circuit breaker is open, or this replica saw Redis fail and has not bumped the cache epoch yet',
    label: 'operation',
    registry,
  });
  let cacheEpoch: { stats(): { epoch: number | null; suspect: boolean } } | null = null;
  new Gauge({
    name: 'cache_epoch',
    help: 'The lookup-cache epoch this replica last read from Redis (-1 before the first read)',
    registers,
    collect() {
      this.set(cacheEpoch?.stats().epoch ?? -1);
    },
  });
  new Gauge({
    name: 'cache_suspect',
    help: '1 while this replica reads no cache: it saw Redis fail and has not bumped the cache epoch yet',
    registers,
    collect() {
      this.set(cacheEpoch?.stats().suspect ? 1 : 0);
    },
  });
  const redirect = createTallyCounter({ name: 'redirects_total', help: 'Redirect requests by outcome', label: 'outcome', registry });
  const linkCreated = createTallyCounter({ name: 'links_created_total', help: 'Links created', label: 'kind', registry });
  const flushed = new Counter({ name: CLICKS_FLUSHED_METRIC, help: 'Clicks (redirects served to people) written to PostgreSQL', registers });
  const botHitsFlushed = new Counter({ name: BOT_HITS_FLUSHED_METRIC, help: 'Bot hits (crawlers, link previews, HTTP libraries) written to PostgreSQL', registers });
  const dropped = new Counter({ name: 'clicks_dropped_total', help: 'Clicks dropped because the click buffer was full', registers });
  const shed = new Counter({
    name: 'click_details_shed_total',
    help: 'Hits counted in their link total whose value (referrer, country, browser, OS, device or bot name) or day was not kept, the click buffer being near its bound',
    labelNames: ['detail'],
    registers,
  });
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
  const webhookDeliveries = new Counter({
    name: 'webhook_deliveries_total',
    help: 'Webhook delivery attempts by result: delivered (2xx), retry (failed, will be retried), gave_up (failed the last retry)',
    labelNames: ['result'],
    registers,
  });
  const webhookDisabled = new Counter({ name: 'webhook_endpoints_disabled_total', help: 'Webhook endpoints disabled after failing deliveries', registers });
  let dispatcher: Pick<WebhookDispatcher, 'pending'> | null = null;
  new Gauge({
    name: 'webhook_outbox_pending',
    help: 'Webhook events waiting for delivery to active endpoints (all replicas; counted every few seconds)',
    registers,
    collect() {
      this.set(dispatcher?.pending() ?? 0);
    },
  });
  const partitionsCreated = new Counter({ name: 'click_partitions_created_total', help: 'Monthly partitions of the per-day click tables created (ahead, by the expiry sweep)', registers });
  const partitionsDropped = new Counter({ name: 'click_partitions_dropped_total', help: 'Monthly partitions of the per-day click tables dropped by the retention', registers });
  const partitionFailures = new Counter({
    name: 'click_partition_upkeep_failures_total',
    help: 'Expiry sweeps whose creation or retention of click partitions failed (retried by the next sweep; flushes create a missing month themselves)',
    registers,
  });
  return {
    partitionMetrics: {
      upkept: (created, dropped) => {
        partitionsCreated.inc(created);
        partitionsDropped.inc(dropped);
      },
      upkeepFailed: () => partitionFailures.inc(),
    },
    webhookMetrics: {
      delivery: (result) => webhookDeliveries.inc({ result }),
      endpointDisabled: () => webhookDisabled.inc(),
    },
    watchWebhooks: (d) => {
      dispatcher = d;
    },
    cacheLookup,
    cacheError,
    cacheSkipped,
    nearCacheLookup,
    redirect,
    linkCreated,
    clickMetrics: {
      flushed: (clicks, seconds, botHits) => {
        flushed.inc(clicks);
        botHitsFlushed.inc(botHits);
        flushSeconds.observe(seconds);
      },
      flushFailed: () => flushFailures.inc(),
      dropped: (n) => dropped.inc(n),
      shed: (detail, n) => shed.inc({ detail }, n),
    },
    watchClicks: (c) => {
      counter = c;
    },
    watchCacheEpoch: (e) => {
      cacheEpoch = e;
    },
  };
}
