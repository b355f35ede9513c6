// Picks the adapter of each port for `curt serve`: embedded by default (PGlite, in-process cache,
// rate limits and key pool), PostgreSQL when DATABASE_URL is set, Redis when REDIS_URL is set. Each
// switch is independent, and nothing connects to a server that was not configured.
import { join } from 'node:path';
import type { ServeConfig } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { Registry } from '../core/metrics.ts';
import { migrate, migrateDatabase } from '../core/migrate.ts';
import { configurationRefusal } from '../core/postgres.ts';
import { makePrivate } from './data-dir.ts';
import { connectRedis } from '../core/redis.ts';
import type { KeyStore } from '../storage/key-store.ts';
import { noLinkCache, type LinkCache } from '../storage/link-cache.ts';
import type { ApiKeyStore, LinkStore } from '../storage/link-store.ts';
import { createMemoryLinkCache } from '../storage/memory/memory-link-cache.ts';
import { createMemoryRateLimiter } from '../storage/memory/memory-rate-limiter.ts';
import { openPgliteThread } from '../storage/pglite/pglite-thread.ts';
import { startPgliteUpkeep } from '../storage/pglite/pglite-upkeep.ts';
import { createPgKeyStore } from '../storage/postgres/pg-key-store.ts';
import { createPgApiKeyStore, createPgLinkStore } from '../storage/postgres/pg-link-store.ts';
import { createPgWebhookStore } from '../storage/postgres/pg-webhook-store.ts';
import type { WebhookStore } from '../storage/webhook-store.ts';
import { createRedisKeyStore } from '../storage/redis/redis-key-store.ts';
import type { RateLimiter } from '../storage/rate-limiter.ts';
import type { InvalidationBus } from '../storage/tiered-link-cache.ts';
import type { UrlMetrics } from '../url/metrics.ts';
import { checkReadReplica, openPostgresLinkStorage } from '../storage/postgres/postgres-link-storage.ts';
import { openRedisLinkCacheStack } from '../storage/redis/redis-link-cache-stack.ts';

export interface ServeStorage {
  links: LinkStore;
  /** The redirect's lookups: the read replica (DATABASE_READ_URL) when set, else `links`. */
  redirectLinks: Pick<LinkStore, 'findRedirect'>;
  /** Click flushes and the expiry sweep: PostgreSQL's background pool, or PGlite's one connection. */
  backgroundLinks: LinkStore;
  /** Most links one transaction of a click flush writes (undefined: the click counter's default). */
  clickBatchLinks?: number;
  apiKeys: ApiKeyStore;
  webhooks: WebhookStore;
  backgroundWebhooks: WebhookStore;
  cache: LinkCache;
  limiter: RateLimiter;
  /** API key revocations to other replicas: over Redis when REDIS_URL is set, none otherwise (one process). */
  apiKeyRevocations: InvalidationBus | null;
  /** Where the in-process key pool keeps its codes. */
  keys: KeyStore;
  /** Throw when their dependency is unreachable; redis null: the cache, rate limits and key pool live in this process. */
  checks: { database: () => Promise<void>; redis: (() => Promise<void>) | null; replica: (() => Promise<void>) | null };
  /** Where each part lives, for the start-up summary (no passwords). */
  where: { database: string; cache: string; keys: string };
  close(): Promise<void>;
}

/**
 * PGlite runs one statement at a time: a click flush in the click counter's usual transactions of
 * 5,000 links (0.6–0.9 s each on PGlite) made every creation and cold lookup wait for as long, and,
 * while PGlite ran on the requests' thread, every request (docs/performance.md). Smaller transactions
 * bound that wait.
 */
const EMBEDDED_CLICK_BATCH_LINKS = 250;
/**
 * Longest a lookup or creation waits for the embedded database before 503 `server_busy`. On a
 * PostgreSQL server the wait is for one of a pool's connections, and 0.5 s (its connect timeout) is
 * long (src/storage/postgres/pg-link-store.ts). PGlite has one connection: a burst of requests queues
 * behind the statements ahead of it. 200 concurrent visits of a visit-limited link (a statement each)
 * took longer than 0.5 s on a busy machine, and some were refused while the database was still
 * answering. A database that does not answer in time is refused sooner by nothing else here: this wait
 * stays bounded.
 */
const EMBEDDED_MAX_WAIT_MS = 5000;
/** How often the embedded database's tables are checked for a vacuum or an analyse (autovacuum_naptime's default). */
const EMBEDDED_UPKEEP_INTERVAL_MS = 60_000;

/** The folder inside DATA_DIR that PGlite owns. */
export const PGLITE_FOLDER = 'postgres';

/**
 * PostgreSQL and Redis are used exactly as the URL service uses them (the same breakers, request
 * timeouts and cache tiers), so that `curt serve` on servers degrades the way docs/operations.md says.
 */
export async function openServeStorage(config: ServeConfig, dataDir: string, deps: { log: Logger; registry: Registry; metrics: UrlMetrics }): Promise<ServeStorage> {
  const { log } = deps;
  const database =
    config.databaseUrl === null ? await openEmbeddedDatabase(join(dataDir, PGLITE_FOLDER), log) : await openPostgres(config.databaseUrl, config.service.databaseReadUrl, deps);
  const checks = { database: () => database.links.ping(), redis: null, replica: database.replicaCheck };
  if (config.redisUrl === null) {
    return {
      ...database,
      // CACHE_TTL_S=0 means no cache at all, as in the URL service.
      cache: config.service.cache.ttlS === 0 ? noLinkCache : createMemoryLinkCache({ maxEntries: config.service.cache.nearMax }),
      limiter: createMemoryRateLimiter(),
      apiKeyRevocations: null,
      checks,
      where: { database: database.where, cache: 'in this process', keys: 'the database' },
      close: () => database.close(),
    };
  }
  const prefix = config.service.redis.keyPrefix;
  let redis;
  try {
    redis = await connectRedis({ url: config.redisUrl, log, name: 'curt-serve', commandTimeoutMs: 1000 });
  } catch (err) {
    await database.close();
    throw err;
  }
  const cached = openRedisLinkCacheStack({ redis, prefix, ...deps, cache: config.service.cache });
  return {
    ...database,
    cache: cached.cache,
    limiter: cached.limiter,
    apiKeyRevocations: cached.apiKeyRevocations,
    keys: createRedisKeyStore(redis, prefix, { log }),
    checks: { ...checks, redis: () => cached.check() },
    where: { database: database.where, cache: `Redis ${withoutPassword(config.redisUrl)}`, keys: 'Redis' },
    async close() {
      await cached.close();
      redis.disconnect();
      await database.close();
    },
  };
}

interface Database {
  links: LinkStore;
  redirectLinks: Pick<LinkStore, 'findRedirect'>;
  replicaCheck: (() => Promise<void>) | null;
  backgroundLinks: LinkStore;
  clickBatchLinks?: number;
  apiKeys: ApiKeyStore;
  webhooks: WebhookStore;
  backgroundWebhooks: WebhookStore;
  /** The in-process key pool's store, in the same database. */
  keys: KeyStore;
  where: string;
  close(): Promise<void>;
}

async function openEmbeddedDatabase(dir: string, log: Logger): Promise<Database> {
  // On a thread of its own: a statement there never holds up the requests' event loop.
  const pglite = await openPgliteThread(dir);
  const db = pglite.runner;
  try {
    // PGlite has one connection, and nothing else runs yet: it is the session migrate() needs.
    await migrate(db, log);
    await makePrivate(dir);
  } catch (err) {
    await pglite.close().catch(() => undefined);
    throw err;
  }
  const upkeep = startPgliteUpkeep(db, log, { intervalMs: EMBEDDED_UPKEEP_INTERVAL_MS });
  const links = createPgLinkStore(db, { maxWaitMs: EMBEDDED_MAX_WAIT_MS });
  return {
    links,
    redirectLinks: links,
    replicaCheck: null,
    backgroundLinks: links,
    clickBatchLinks: EMBEDDED_CLICK_BATCH_LINKS,
    apiKeys: createPgApiKeyStore(db),
    webhooks: createPgWebhookStore(db),
    backgroundWebhooks: createPgWebhookStore(db),
    keys: createPgKeyStore(db),
    where: `${dir} (PGlite, embedded PostgreSQL)`,
    async close() {
      await upkeep.stop();
      await pglite.close();
      // Files made while it ran are already out of reach (0700 folders): a failure here costs no data.
      await makePrivate(dir).catch((err: unknown) => log.warn({ err: (err as Error).message, dir }, 'could not narrow the permissions of the database files'));
    },
  };
}

async function openPostgres(url: string, readUrl: string | null, deps: { log: Logger; registry: Registry }): Promise<Database> {
  try {
    await migrateDatabase({ url, log: deps.log, applicationName: 'curt-serve-migrate' });
  } catch (err) {
    throw new Error(`cannot prepare PostgreSQL at ${withoutPassword(url)}: ${configurationRefusal(err) ?? (err as Error).message}`, { cause: err });
  }
  const storage = openPostgresLinkStorage({ url, readUrl, ...deps, applicationName: 'curt-serve' });
  await checkReadReplica(storage, deps.log).catch(async (err: unknown) => {
    await storage.close();
    throw err;
  });
  // Takes, claims and returns happen while a request waits: the request pool, with its short
  // timeouts. Filling the pool inserts thousands of codes at a time: the background pool.
  const onRequests = createPgKeyStore(storage.requests);
  const keys: KeyStore = {
    ...createPgKeyStore(storage.background),
    take: (count) => onRequests.take(count),
    claim: (code) => onRequests.claim(code),
    coolingUntil: (code) => onRequests.coolingUntil(code),
    giveBack: (recycle, release, releaseAtMs) => onRequests.giveBack(recycle, release, releaseAtMs),
  };
  return { ...storage, keys, where: `PostgreSQL ${withoutPassword(url)}${readUrl === null ? '' : `, redirect lookups on the replica ${withoutPassword(readUrl)}`}` };
}

/** A URL as it may be printed: the password replaced. */
export function withoutPassword(url: string): string {
  // A cluster URL lists several hosts, which URL cannot parse.
  if (/^rediss?\+cluster:\/\//i.test(url)) return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}
