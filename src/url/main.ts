// The URL service process: reads configuration, wires PostgreSQL, Redis, the KGS client, the click
// pipeline and the HTTP app, and shuts down without losing clicks or codes.
import { ConfigError, loadUrlServiceConfig, type UrlServiceConfig } from '../core/config.ts';
import { hostRefusal } from '../core/host-refusal.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { pendingMigrations } from '../core/migrate.ts';
import { configurationRefusal } from '../core/postgres.ts';
import type { SqlRunner } from '../core/sql.ts';
import { connectRedis } from '../core/redis.ts';
import { onShutdown } from '../core/shutdown.ts';
import { createKgsClient } from '../kgs-client/kgs-client.ts';
import { checkCountryDatabase, GeoIpDatabaseError } from '../analytics/country.ts';
import type { ApiKeyStore } from '../storage/link-store.ts';
import { createApiKeyService, reportConfiguredAdminKey } from './api-keys.ts';
import { createUrlMetrics } from './metrics.ts';
import { checkReadReplica, openPostgresLinkStorage } from '../storage/postgres/postgres-link-storage.ts';
import { openRedisLinkCacheStack } from '../storage/redis/redis-link-cache-stack.ts';
import { startUrlService } from './url-service.ts';

async function main(): Promise<void> {
  const config = loadUrlServiceConfig(process.env);
  // Before anything connects, like the problems loadUrlServiceConfig found.
  await checkGeoipDb(config.analytics.geoipDb);
  const log = createLogger({ service: 'url-service', level: config.logLevel });
  if (config.publicBaseUrlDefaulted) {
    log.warn({ publicBaseUrl: config.publicBaseUrl }, `PUBLIC_BASE_URL is unset: short URLs start with ${config.publicBaseUrl}, which opens only on this machine; set it to the address people use (e.g. https://sho.rt)`);
  }
  const registry = createRegistry();
  const metrics = createUrlMetrics(registry);
  const postgres = openPostgresLinkStorage({ url: config.databaseUrl, readUrl: config.databaseReadUrl, log, registry, applicationName: 'curt-url-service' });
  // Independent: neither waits on the other's round trips.
  const [redis, postgresReachable] = await Promise.all([
    connectRedis({ url: config.redis.url, log, name: 'curt-url-service', commandTimeoutMs: 1000 }),
    checkSchema(postgres.background, log),
    checkReadReplica(postgres, log),
  ]);
  const cached = openRedisLinkCacheStack({ redis, prefix: config.redis.keyPrefix, log, registry, metrics, cache: config.cache });
  const apiKeys = createApiKeyService(postgres.apiKeys, { revocations: cached.apiKeyRevocations });
  if (config.adminApiKey !== null) await bootstrapAdminKey(apiKeys, config.adminApiKey, log);
  else if (!config.allowAnonymous && postgresReachable) await warnIfNoKeyWorks(postgres.apiKeys, log);

  const codes = createKgsClient({ urls: config.kgs.urls, token: config.kgs.token, log, batchSize: config.kgs.batchSize, timeoutMs: config.kgs.timeoutMs, registry });
  const service = await startUrlService(
    config,
    {
      links: postgres.links,
      redirectLinks: postgres.redirectLinks,
      backgroundLinks: postgres.backgroundLinks,
      webhooks: postgres.webhooks,
      backgroundWebhooks: postgres.backgroundWebhooks,
      apiKeys,
      cache: cached.cache,
      limiter: cached.limiter,
      codes,
      checks: {
        postgres: () => postgres.links.ping(),
        redis: () => cached.check(),
        kgs: async () => {
          if (!codes.healthy()) throw new Error('no code buffered and no KGS reachable');
        },
        ...(postgres.replicaCheck ? { postgresReplica: postgres.replicaCheck } : {}),
      },
    },
    { log, registry, metrics },
  ).catch((err: unknown) => {
    throw hostRefusal(err, config.listen.host) ?? err;
  });
  log.info({ address: service.address, metrics: service.metricsAddress ?? 'off', publicBaseUrl: config.publicBaseUrl }, 'url service listening');

  onShutdown(
    log,
    async (drain) => {
      const lost = await service.stop(performance.now() + config.shutdownTimeoutMs, drain);
      await cached.close();
      redis.disconnect();
      await postgres.close();
      // Exit 1: clicks were lost, and whoever stopped the process should be able to tell.
      if (lost > 0) throw new Error(`${lost} counted clicks could not be written to PostgreSQL`);
    },
    config.shutdownTimeoutMs,
  );
}

/**
 * The first attempt is awaited, so the key works from the first request; only when PostgreSQL is
 * down at start-up does it go on in the background (the service must start degraded, not refuse).
 */
async function bootstrapAdminKey(apiKeys: ReturnType<typeof createApiKeyService>, key: string, log: Logger): Promise<void> {
  const attempt = (): Promise<void> =>
    apiKeys.ensureAdminKey(key, 'bootstrap (ADMIN_API_KEY)').then(
      (record) => reportConfiguredAdminKey(record, log),
      (err: Error) => {
        log.warn({ err: err.message }, 'could not store ADMIN_API_KEY yet; retrying in 5 s');
        setTimeout(() => void attempt(), 5000).unref();
      },
    );
  await attempt();
}

/**
 * A schema behind the code is a deployment mistake: say so and stop. PostgreSQL down is not: start
 * degraded. Resolves to whether PostgreSQL answered.
 */
async function checkSchema(db: SqlRunner, log: Logger): Promise<boolean> {
  let pending: string[];
  try {
    pending = await pendingMigrations(db);
  } catch (err) {
    // A DATABASE_URL the server refuses (no such database or role, a wrong password, no CONNECT) is a
    // deployment mistake, like a schema behind the code; a server down or starting up is not.
    const refusal = configurationRefusal(err);
    if (refusal !== null) throw new ConfigError([`DATABASE_URL: ${refusal}`]);
    log.error({ dependency: 'postgres', err: (err as Error).message }, 'postgres not reachable at start-up; starting degraded');
    return false;
  }
  // `curt migrate` works wherever this process does; `npm run migrate` needs tsx, which an image lacks.
  if (pending.length > 0) throw new ConfigError([`The database schema is not up to date (${pending.join(', ')} pending): run \`curt migrate\` (or \`node bin/curt.mjs migrate\`) with this DATABASE_URL first.`]);
  return true;
}

/**
 * Without ADMIN_API_KEY and anonymous links, only a key can create links, and only an admin key can
 * create a key: with none that works, the service starts but nobody can ever use it.
 */
async function warnIfNoKeyWorks(keys: ApiKeyStore, log: Logger): Promise<void> {
  try {
    // Without an admin key nobody can add keys, so the list is what was there before: short.
    if ((await keys.hasAdminKey()) || (await keys.list()).some((key) => key.revokedAt === null)) return;
  } catch (err) {
    log.warn({ dependency: 'postgres', err: (err as Error).message }, 'could not count API keys at start-up');
    return;
  }
  log.warn(
    'no API key exists (or every one is revoked), ADMIN_API_KEY is unset and ALLOW_ANONYMOUS is off: POST /urls answers 401 to everyone. ' +
      'For a first key, restart with ADMIN_API_KEY set to a long random string (e.g. `openssl rand -hex 24`): it becomes an admin key, and `curt keys create` makes more with it',
  );
}

/** GEOIP_DB that config.ts found readable, but that is no MaxMind DB: said like any other configuration problem. */
async function checkGeoipDb(geoipDb: UrlServiceConfig['analytics']['geoipDb']): Promise<void> {
  if (geoipDb === null || !('path' in geoipDb)) return;
  try {
    await checkCountryDatabase(geoipDb.path);
  } catch (err) {
    if (!(err instanceof GeoIpDatabaseError)) throw err;
    throw new ConfigError([`Invalid configuration: GEOIP_DB ${err.reason} (got ${JSON.stringify(geoipDb.path)})`]);
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
  // A GeoIP file damaged past its metadata is found only when it is loaded: still one line.
  else if (err instanceof GeoIpDatabaseError) process.stderr.write(`url-service failed to start: ${err.message}\n`);
  else process.stderr.write(`url-service failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
