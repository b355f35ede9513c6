// The URL service process: reads configuration, wires PostgreSQL, Redis, the KGS client, the click
// pipeline and the HTTP app, and shuts down without losing clicks or codes.
import { ConfigError, loadUrlServiceConfig } from '../core/config.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { pendingMigrations } from '../core/migrate.ts';
import type { SqlRunner } from '../core/sql.ts';
import { connectRedis } from '../core/redis.ts';
import { onShutdown } from '../core/shutdown.ts';
import { createKgsClient } from '../kgs-client/kgs-client.ts';
import { createApiKeyService } from './api-keys.ts';
import { createUrlMetrics } from './metrics.ts';
import { openPostgresLinkStorage } from '../storage/postgres/postgres-link-storage.ts';
import { openRedisLinkCacheStack } from '../storage/redis/redis-link-cache-stack.ts';
import { startUrlService } from './url-service.ts';

async function main(): Promise<void> {
  const config = loadUrlServiceConfig(process.env);
  const log = createLogger({ service: 'url-service', level: config.logLevel });
  const registry = createRegistry();
  const metrics = createUrlMetrics(registry);
  const postgres = openPostgresLinkStorage({ url: config.databaseUrl, readUrl: config.databaseReadUrl, log, registry, applicationName: 'curt-url-service' });
  // Independent: neither waits on the other's round trips.
  const [redis] = await Promise.all([
    connectRedis({ url: config.redis.url, log, name: 'curt-url-service', commandTimeoutMs: 1000 }),
    checkSchema(postgres.background, log),
  ]);
  const cached = openRedisLinkCacheStack({ redis, prefix: config.redis.keyPrefix, log, registry, metrics, cache: config.cache });
  const apiKeys = createApiKeyService(postgres.apiKeys, { revocations: cached.apiKeyRevocations });
  if (config.adminApiKey !== null) await bootstrapAdminKey(apiKeys, config.adminApiKey, log);

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
  );
  log.info({ address: service.address, metrics: service.metricsAddress ?? 'off', publicBaseUrl: config.publicBaseUrl }, 'url service listening');

  onShutdown(
    log,
    async () => {
      const lost = await service.stop(performance.now() + config.shutdownTimeoutMs);
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
      () => log.info('admin API key from ADMIN_API_KEY is in place'),
      (err: Error) => {
        log.warn({ err: err.message }, 'could not store ADMIN_API_KEY yet; retrying in 5 s');
        setTimeout(() => void attempt(), 5000).unref();
      },
    );
  await attempt();
}

/** A schema behind the code is a deployment mistake: say so and stop. PostgreSQL down is not: start degraded. */
async function checkSchema(db: SqlRunner, log: Logger): Promise<void> {
  let pending: string[];
  try {
    pending = await pendingMigrations(db);
  } catch (err) {
    log.error({ dependency: 'postgres', err: (err as Error).message }, 'postgres not reachable at start-up; starting degraded');
    return;
  }
  if (pending.length > 0) throw new ConfigError([`The database schema is not up to date (${pending.join(', ')} pending): run \`npm run migrate\` first.`]);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
  else process.stderr.write(`url-service failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
