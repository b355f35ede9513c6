// `curt serve`: the URL service, its redirects and the KGS in one process, on the storage that
// storage.ts picked. Every part is the services' own; only the wiring lives here.
import type { ServeConfig } from '../core/config.ts';
import type { DrainMode } from '../core/graceful-close.ts';
import type { Logger } from '../core/logger.ts';
import { createRegistry, type Registry } from '../core/metrics.ts';
import { createKgsClient } from '../kgs-client/kgs-client.ts';
import type { CodeSource } from '../kgs-client/types.ts';
import { createCodeGenerator } from '../kgs/code-generator.ts';
import { createKeyPool } from '../kgs/key-pool.ts';
import { createLocalCodeSource } from '../kgs/local-code-source.ts';
import { createKgsMetrics } from '../kgs/metrics.ts';
import type { ApiKeyStore } from '../storage/link-store.ts';
import { createApiKeyService, generateApiKey, reportConfiguredAdminKey, type ApiKeyService } from '../url/api-keys.ts';
import { BOT_HITS_FLUSHED_METRIC, CLICKS_FLUSHED_METRIC, createUrlMetrics } from '../url/metrics.ts';
import { startUrlService, type RunningUrlService } from '../url/url-service.ts';
import { openServeStorage, type ServeStorage } from './storage.ts';

/** Codes the in-process code source takes per statement on the key pool (lost on SIGKILL: only wasted). */
const LOCAL_CODE_BATCH = 100;
/** Cool-down releases and top-ups of the in-process pool; hand-outs trigger top-ups on their own. */
const UPKEEP_MS = 5000;

export interface Served {
  /** Where the HTTP server listens, e.g. http://127.0.0.1:8080 */
  address: string;
  /** The metrics listener (METRICS_PORT), or null when it is off. */
  metricsAddress: string | null;
  /** A new admin key when this start created the first one (shown once, only its hash is kept). */
  createdAdminKey: string | null;
  where: { database: string; cache: string; keyPool: string };
  /** Clicks (people) and bot hits written to the database since the start. */
  clicksWritten(): Promise<{ clicks: number; botHits: number }>;
  /**
   * As the URL service: resolves to the clicks that could not be written by `closeBy` (performance.now()
   * time). The drain ends once no connection is left unless `drain` says 'full' (`curt serve` passes
   * its signal's, shutdown.ts): a stop from within the process has no load balancer in front of it.
   */
  stop(closeBy?: number, drain?: DrainMode): Promise<number>;
}

export async function startServe(config: ServeConfig, dataDir: string, log: Logger): Promise<Served> {
  const registry = createRegistry();
  const metrics = createUrlMetrics(registry);
  const storage = await openServeStorage(config, dataDir, { log, registry, metrics });
  const kgs = await openCodeSource(config, storage, log, registry).catch(async (err: unknown) => {
    await storage.close();
    throw err;
  });
  // What a start that fails half-way has opened is closed again, so that the folder can be used at once.
  const closeParts = async (): Promise<void> => {
    await kgs.stop();
    await storage.close();
  };
  const apiKeys = createApiKeyService(storage.apiKeys, { revocations: storage.apiKeyRevocations });
  let service: RunningUrlService;
  let createdAdminKey: string | null;
  try {
    // ADMIN_API_KEY is the operator's own: in place before the first request.
    if (config.service.adminApiKey !== null) reportConfiguredAdminKey(await apiKeys.ensureAdminKey(config.service.adminApiKey, 'bootstrap (ADMIN_API_KEY)'), log);
    service = await startUrlService(
      config.service,
      {
        links: storage.links,
        redirectLinks: storage.redirectLinks,
        backgroundLinks: storage.backgroundLinks,
        clickBatchLinks: storage.clickBatchLinks,
        webhooks: storage.webhooks,
        backgroundWebhooks: storage.backgroundWebhooks,
        apiKeys,
        cache: storage.cache,
        limiter: storage.limiter,
        codes: kgs.codes,
        checks: { postgres: storage.checks.database, redis: storage.checks.redis, kgs: kgs.check, ...(storage.checks.replica ? { postgresReplica: storage.checks.replica } : {}) },
      },
      { log, registry, metrics },
    );
  } catch (err) {
    await closeParts();
    throw err;
  }
  // A first admin key is made only once the port is open: made before, a start that cannot listen
  // (port taken) would store a key nobody was shown, and the next start, finding an admin key, would
  // print none, leaving no way in.
  try {
    createdAdminKey = await createFirstAdminKey(storage.apiKeys, apiKeys);
  } catch (err) {
    await service.stop(performance.now(), 'until-idle');
    await closeParts();
    throw err;
  }
  log.info({ address: service.address, metrics: service.metricsAddress ?? 'off', publicBaseUrl: config.service.publicBaseUrl }, 'curt serve listening');

  return {
    address: service.address,
    metricsAddress: service.metricsAddress,
    createdAdminKey,
    where: { database: storage.where.database, cache: storage.where.cache, keyPool: kgs.where },
    async clicksWritten() {
      // The click pipeline's own tallies, as /metrics reports them.
      const total = async (name: string): Promise<number> => (await registry.getSingleMetric(name)?.get())?.values.reduce((sum, { value }) => sum + value, 0) ?? 0;
      return { clicks: await total(CLICKS_FLUSHED_METRIC), botHits: await total(BOT_HITS_FLUSHED_METRIC) };
    },
    async stop(closeBy = performance.now() + config.service.shutdownTimeoutMs, drain = 'until-idle') {
      const lost = await service.stop(closeBy, drain);
      await closeParts();
      return lost;
    },
  };
}

interface Codes {
  codes: CodeSource;
  check: () => Promise<void>;
  stop: () => Promise<void>;
  where: string;
}

async function openCodeSource(config: ServeConfig, storage: ServeStorage, log: Logger, registry: Registry): Promise<Codes> {
  if (config.kgsUrls !== null) {
    const { token, batchSize, timeoutMs } = config.service.kgs;
    const client = createKgsClient({ urls: config.kgsUrls, token, log, batchSize, timeoutMs, registry });
    return {
      codes: client,
      check: async () => {
        if (!client.healthy()) throw new Error('no code buffered and no KGS reachable');
      },
      stop: async () => undefined,
      where: `at the KGS: ${config.kgsUrls.join(', ')}`,
    };
  }
  const pool = createKeyPool({
    store: storage.keys,
    generator: createCodeGenerator(config.codes),
    log,
    ...config.pool,
    events: createKgsMetrics(registry, () => storage.keys.sizes()),
  });
  // Filled before the first request, so the first link does not wait for it.
  await pool.replenish().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not fill the key pool at start-up'));
  return { codes: createLocalCodeSource(pool, { batchSize: LOCAL_CODE_BATCH }), check: () => storage.keys.ping(), stop: pool.startUpkeep(UPKEEP_MS), where: `in this process, codes kept in ${storage.where.keys}` };
}

/**
 * A start with no admin key that works (the first, or one after every admin key was revoked, the
 * one ADMIN_API_KEY names included) creates one and returns it to be shown once; only its hash is
 * stored, so a later start cannot show it again.
 */
async function createFirstAdminKey(store: ApiKeyStore, apiKeys: ApiKeyService): Promise<string | null> {
  if (await store.hasAdminKey()) return null;
  const key = generateApiKey();
  await apiKeys.ensureAdminKey(key, 'first start (curt serve)');
  return key;
}
