// The URL service assembled from its parts: the click pipeline, the link service, the expiry sweep
// and the HTTP app. The URL service process and `curt serve` both start it; they differ only in the
// parts they pass (PostgreSQL or PGlite, Redis or in-process, a remote KGS or the key pool in-process).
import type { UrlServiceConfig } from '../core/config.ts';
import type { DrainMode } from '../core/graceful-close.ts';
import type { Logger } from '../core/logger.ts';
import type { Registry } from '../core/metrics.ts';
import { startMetricsServer, type MetricsServer } from '../core/metrics-server.ts';
import type { CodeSource } from '../kgs-client/types.ts';
import type { LinkCache } from '../storage/link-cache.ts';
import type { LinkStore } from '../storage/link-store.ts';
import type { RateLimiter } from '../storage/rate-limiter.ts';
import type { ApiKeyService } from './api-keys.ts';
import { buildUrlApp, type UrlAppDeps } from './app.ts';
import { DEFAULT_GEOIP_DB, openCountryResolver } from '../analytics/country.ts';
import { createUserAgentClassifier } from '../analytics/user-agent.ts';
import { createVisitorClassifier } from '../analytics/visitor.ts';
import { createClickCounter } from './click-counter.ts';
import { startExpirySweep } from './expiry-sweep.ts';
import { createLinkService } from './link-service.ts';
import type { UrlMetrics } from './metrics.ts';
import { targetPolicyFor } from './target-url.ts';
import { buildWebAppIfStale } from './web-assets.ts';
import type { WebhookStore } from '../storage/webhook-store.ts';
import { createWebhookDispatcher } from './webhook-dispatcher.ts';
import { createWebhookService } from './webhook-service.ts';
import { createNameResolver } from './target-url.ts';

export interface UrlServiceParts {
  /** What requests wait on. */
  links: LinkStore;
  /** The redirect's lookups on a cache miss (a read replica, DATABASE_READ_URL); default `links`. */
  redirectLinks?: Pick<LinkStore, 'findRedirect'>;
  /** Click flushes and the expiry sweep: may be slower than a request may wait (or `links` itself). */
  backgroundLinks: LinkStore;
  /** Most links one transaction of a click flush writes (default MAX_BATCH_LINKS, src/url/click-counter.ts). */
  clickBatchLinks?: number;
  apiKeys: ApiKeyService;
  cache: LinkCache;
  limiter: RateLimiter;
  codes: CodeSource;
  checks: UrlAppDeps['checks'];
  /** Webhook endpoints (requests) and the outbox (the dispatcher, on the background connections). */
  webhooks: WebhookStore;
  backgroundWebhooks: WebhookStore;
}

export interface RunningUrlService {
  address: string;
  /** The metrics listener (METRICS_PORT), or null when it is off. */
  metricsAddress: string | null;
  /**
   * Stops taking requests and finishes those in flight, then writes their clicks and hands unused
   * codes back (at the same time: they need different dependencies). Clicks are retried until
   * `closeBy` (a performance.now() time) less what closing the connections afterwards needs; the
   * caller closes them. Resolves to the clicks that could not be written. `drain`: how the HTTP drain
   * ends (graceful-close.ts; shutdown.ts picks it by signal).
   */
  stop(closeBy: number, drain: DrainMode): Promise<number>;
}

/** Of the shutdown deadline, what is kept for closing connections after the last click flush attempt. */
const CLOSE_RESERVE_MS = 1000;
const EXPIRY_SWEEP_MS = 60_000;

export async function startUrlService(
  config: UrlServiceConfig,
  parts: UrlServiceParts,
  deps: { log: Logger; registry: Registry; metrics: UrlMetrics },
): Promise<RunningUrlService> {
  const { log, registry, metrics } = deps;
  const { geoipDb } = config.analytics;
  const visitors = createVisitorClassifier({
    agents: createUserAgentClassifier(),
    countries: await openCountryResolver({ dbPath: geoipDb === null ? null : 'path' in geoipDb ? geoipDb.path : DEFAULT_GEOIP_DB }),
    trustProxy: config.trustProxy,
  });
  const clicks = createClickCounter({
    store: parts.backgroundLinks,
    log,
    visitors,
    flushIntervalMs: config.clicks.flushIntervalMs,
    bufferMax: config.clicks.bufferMax,
    maxBatchLinks: parts.clickBatchLinks,
    metrics: metrics.clickMetrics,
  });
  metrics.watchClicks(clicks);
  clicks.start();
  const urlPolicy = targetPolicyFor({ publicBaseUrl: config.publicBaseUrl, listenHost: config.listen.host, blockedDomains: config.blockedDomains });
  const links = createLinkService({
    store: parts.links,
    ...(parts.redirectLinks ? { redirectStore: parts.redirectLinks } : {}),
    cache: parts.cache,
    codes: parts.codes,
    clicks,
    visitors,
    log,
    urlPolicy,
    cacheTtlS: config.cache.ttlS,
    analyticsRetentionDays: config.analytics.retentionDays,
    negativeCacheTtlS: config.cache.negativeTtlS,
    allowAnonymous: config.allowAnonymous,
    // Wrong link passwords count where the API's limits do: Redis (every replica), or this process.
    guessLimiter: parts.limiter,
    events: metrics,
  });
  const stopSweep = startExpirySweep(parts.backgroundLinks, log, {
    intervalMs: EXPIRY_SWEEP_MS,
    retentionDays: config.analytics.retentionDays,
    webhooks: parts.backgroundWebhooks,
    partitionMetrics: metrics.partitionMetrics,
  });
  // PORT=0 takes any free port: the real one is read once the app listens (no client knows it before).
  let listenPort = config.listen.port;
  const webhooks = createWebhookService({
    store: parts.webhooks,
    policy: {
      ownHosts: [new URL(config.publicBaseUrl).hostname],
      listenPort: () => listenPort,
      // The link policy's (cached) reader: the same list keeps target-url.ts's verdicts for both.
      ownAddresses: urlPolicy.ownAddresses,
      allowPrivate: config.webhooks.allowPrivate,
      resolve: createNameResolver(),
    },
  });
  const dispatcher = createWebhookDispatcher({
    store: parts.backgroundWebhooks,
    log,
    publicBaseUrl: config.publicBaseUrl,
    allowPrivate: config.webhooks.allowPrivate,
    metrics: metrics.webhookMetrics,
  });
  metrics.watchWebhooks(dispatcher);
  dispatcher.start();
  await buildWebAppIfStale(log);
  const app = await buildUrlApp({
    links,
    apiKeys: parts.apiKeys,
    limiter: parts.limiter,
    log,
    registry,
    publicBaseUrl: config.publicBaseUrl,
    redirectStatus: config.redirectStatus,
    countryHeader: config.analytics.countryHeader,
    allowAnonymous: config.allowAnonymous,
    rateLimit: config.rateLimit,
    importMaxBytes: config.importMaxBytes,
    trustProxy: config.trustProxy,
    timeouts: config.listen.timeouts,
    checks: parts.checks,
    onRedirect: metrics.redirect,
    webhooks,
  });
  let address: string;
  let metricsServer: MetricsServer | null = null;
  try {
    address = await app.listen({ host: config.listen.host, port: config.listen.port });
    const bound = app.server.address();
    if (bound !== null && typeof bound === 'object') listenPort = bound.port;
    if (config.listen.metricsPort !== null) {
      metricsServer = await startMetricsServer({ host: config.listen.host, port: config.listen.metricsPort, registry, log, timeouts: config.listen.timeouts });
    }
  } catch (err) {
    await Promise.all([app.close(), stopSweep()]);
    await dispatcher.stop(0);
    await clicks.stop(0);
    throw err;
  }
  return {
    address,
    metricsAddress: metricsServer?.address ?? null,
    async stop(closeBy, drain) {
      const left = (): number => Math.max(0, closeBy - performance.now() - CLOSE_RESERVE_MS);
      // The settle's share is half of what the drain leaves, the rest for the flush and the codes.
      await app.closeGracefully(Math.min(config.shutdownDrainMs, left()), () => Math.min(config.listen.timeouts.headersMs, left() / 2), drain);
      // A failed code return only wastes codes; it must not cut the click flush short.
      const returnCodes = parts.codes.close().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not return the buffered codes'));
      // Deliveries cut short are sent again by another replica (or the next start) after their lease.
      // The sweep's pass under way ends beside the flush, not before it, and within the flush's time.
      await Promise.all([clicks.stop(left()), returnCodes, dispatcher.stop(Math.min(2000, left())), stopSweep(left())]);
      // Last: a scrape during the drain still sees the final counts.
      await metricsServer?.close();
      return clicks.pending();
    },
  };
}
