// Redis connections. Commands fail fast while the connection is down (no offline queue), so a dead
// Redis turns into a quick error that callers can degrade on, never a request that hangs.
import { Redis } from 'ioredis';
import type { Logger } from './logger.ts';

export type { Redis };

export interface RedisOptions {
  url: string;
  log: Logger;
  name: string;
  commandTimeoutMs?: number;
}

export async function connectRedis(options: RedisOptions): Promise<Redis> {
  const redis = new Redis(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    // Commands issued in the same turn of the event loop go out in one write: concurrent redirects'
    // cache reads share a round trip instead of queuing one behind another.
    enableAutoPipelining: true,
    connectionName: options.name,
    // Keep reconnecting forever, backing off to 2 s: Redis coming back must heal without a restart.
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
  });
  let wasReady = false;
  redis.on('ready', () => {
    if (!wasReady) options.log.info({ dependency: 'redis' }, 'redis connected');
    wasReady = true;
  });
  redis.on('error', (err: Error) => {
    if (wasReady) options.log.warn({ dependency: 'redis', err: err.message }, 'redis connection error');
    wasReady = false;
  });
  try {
    await redis.connect();
  } catch (err) {
    // Start anyway: /ready reports Redis down and ioredis keeps reconnecting in the background.
    options.log.error({ dependency: 'redis', err: (err as Error).message }, 'redis not reachable at start-up');
  }
  return redis;
}

/** Deletes every key under a prefix (tests and benchmarks clean up after themselves with this). */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<number> {
  if (prefix === '') throw new Error('refusing to delete every key: empty prefix');
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
