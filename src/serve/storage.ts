// Picks the adapter of each port for `curt serve`: embedded by default (PGlite, in-process cache,
// rate limits and key pool), PostgreSQL when DATABASE_URL is set, Redis when REDIS_URL is set. Each
// switch is independent, and nothing connects to a server that was not configured.
import { join } from 'node:path';
import type { ServeConfig } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { migrate } from '../core/migrate.ts';
import { createPgPool, pgRunner } from '../core/postgres.ts';
import { connectRedis } from '../core/redis.ts';
import type { TransactionalRunner } from '../core/sql.ts';
import type { KeyStore } from '../storage/key-store.ts';
import { noLinkCache, type LinkCache } from '../storage/link-cache.ts';
import type { ApiKeyStore, LinkStore } from '../storage/link-store.ts';
import { createMemoryLinkCache } from '../storage/memory/memory-link-cache.ts';
import { createMemoryRateLimiter } from '../storage/memory/memory-rate-limiter.ts';
import { openPglite, pgliteRunner } from '../storage/pglite/pglite-runner.ts';
import { createPgKeyStore } from '../storage/postgres/pg-key-store.ts';
import { createPgApiKeyStore, createPgLinkStore } from '../storage/postgres/pg-link-store.ts';
import { createRedisKeyStore } from '../storage/redis/redis-key-store.ts';
import { createRedisLinkCache } from '../storage/redis/redis-link-cache.ts';
import { createRedisRateLimiter, type RateLimiter } from '../storage/redis/redis-rate-limiter.ts';

export interface ServeStorage {
  links: LinkStore;
  apiKeys: ApiKeyStore;
  cache: LinkCache;
  limiter: RateLimiter;
  /** Where the in-process key pool keeps its codes. */
  keys: KeyStore;
  /** Throw when their dependency is unreachable; redis null: the cache, rate limits and key pool live in this process. */
  checks: { database: () => Promise<void>; redis: (() => Promise<void>) | null };
  /** Where each part lives, for the start-up summary (no passwords). */
  where: { database: string; cache: string; keys: string };
  close(): Promise<void>;
}

/** The folder inside DATA_DIR that PGlite owns. */
export const PGLITE_FOLDER = 'postgres';

export async function openServeStorage(config: ServeConfig, dataDir: string, log: Logger, onCacheError?: (operation: string) => void): Promise<ServeStorage> {
  const database = config.databaseUrl === null ? await openEmbeddedDatabase(join(dataDir, PGLITE_FOLDER), log) : await openPostgres(config.databaseUrl, log);
  const links = createPgLinkStore(database.db);
  const apiKeys = createPgApiKeyStore(database.db);
  const checks = { database: () => links.ping(), redis: null };
  // CACHE_TTL_S=0 means no cache at all, as in the URL service.
  const cached = (cache: () => LinkCache): LinkCache => (config.service.cache.ttlS === 0 ? noLinkCache : cache());
  if (config.redisUrl === null) {
    return {
      links,
      apiKeys,
      cache: cached(() => createMemoryLinkCache()),
      limiter: createMemoryRateLimiter(),
      keys: createPgKeyStore(database.db),
      checks,
      where: { database: database.where, cache: 'in this process', keys: 'the database' },
      close: () => database.close(),
    };
  }
  const prefix = config.service.redis.keyPrefix;
  const redis = await connectRedis({ url: config.redisUrl, log, name: 'curt-serve' });
  return {
    links,
    apiKeys,
    cache: cached(() => createRedisLinkCache({ redis, prefix, log, ...(onCacheError ? { onError: onCacheError } : {}) })),
    limiter: createRedisRateLimiter(redis, prefix),
    keys: createRedisKeyStore(redis, prefix),
    checks: { ...checks, redis: async () => void (await redis.ping()) },
    where: { database: database.where, cache: `Redis ${withoutPassword(config.redisUrl)}`, keys: 'Redis' },
    async close() {
      redis.disconnect();
      await database.close();
    },
  };
}

interface Database {
  db: TransactionalRunner;
  where: string;
  close(): Promise<void>;
}

async function openEmbeddedDatabase(dir: string, log: Logger): Promise<Database> {
  const pglite = await openPglite(dir);
  const db = pgliteRunner(pglite);
  // PGlite has one connection, and nothing else runs yet: it is the session migrate() needs.
  await migrate(db, log);
  return { db, where: `${dir} (PGlite, embedded PostgreSQL)`, close: () => pglite.close() };
}

async function openPostgres(url: string, log: Logger): Promise<Database> {
  const pool = createPgPool({ url, log, applicationName: 'curt-serve' });
  try {
    const client = await pool.connect();
    try {
      await migrate(client, log);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end();
    throw new Error(`cannot prepare PostgreSQL at ${withoutPassword(url)}: ${(err as Error).message}`, { cause: err });
  }
  return { db: pgRunner(pool), where: `PostgreSQL ${withoutPassword(url)}`, close: () => pool.end() };
}

/** A URL as it may be printed: the password replaced. */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}
