// Redis connections: one server or a Redis Cluster, as REDIS_URL says (src/core/redis-url.ts).
// Commands fail fast while a connection is down (no offline queue), so a dead Redis (or a dead
// cluster master, until its replica takes over) turns into a quick error that callers can degrade
// on, never a request that hangs; the client reconnects forever in the background.
import { Cluster, Redis, type RedisOptions as IoRedisOptions } from 'ioredis';
import { ConfigError } from './config.ts';
import type { Logger } from './logger.ts';
import { parseRedisTarget } from './redis-url.ts';

/** The link cache's script commands (redis-link-cache.ts defines them): it batches them itself. */
export const CACHE_SCRIPT_COMMANDS = ['curtCacheRead', 'curtCacheWrite'] as const;

export type { Redis, Cluster };
/** What the stores take: a single server's client or a cluster's. `isCluster` tells them apart. */
export type RedisClient = Redis | Cluster;

export interface RedisOptions {
  url: string;
  log: Logger;
  name: string;
  commandTimeoutMs?: number;
  /**
   * Commands of one turn leave in one write (default true). ioredis sends the next such write only
   * once the last one is answered: while Redis hangs, a command issued meanwhile waits out the one in
   * flight before its own timeout starts, and fails after up to twice `commandTimeoutMs`. Off, each
   * command is written at once and fails on its own timeout.
   */
  autoPipelining?: boolean;
}

/** Backing off to 2 s, forever: Redis coming back must heal without a restart. */
const retryForever = (attempt: number): number => Math.min(50 * 2 ** attempt, 2000);

export async function connectRedis(options: RedisOptions): Promise<RedisClient> {
  const target = parseRedisTarget(options.url);
  // The cache's scripts are batched by the cache itself, one call per shard and turn
  // (redis-link-cache.ts). Auto-pipelining them would hold each call a turn longer, and on a cluster
  // group them by their first argument (the key count, not a key) into another node's pipeline.
  const autoPipeliningIgnoredCommands = [...CACHE_SCRIPT_COMMANDS];
  const common = {
    maxRetriesPerRequest: 1,
    // A command in flight when the connection dropped may have run: Redis may have applied it and
    // only its answer been lost. ioredis would send it again after reconnecting, running the key
    // pool's scripts twice (a code given back twice, after another replica took it, is handed out
    // twice; an alias's claim answers "taken" to its own caller) and counting a rate limit twice. Not
    // re-sent, it fails by its timeout, an outcome the callers treat as unknown.
    autoResendUnfulfilledCommands: false,
    connectTimeout: 2000,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    connectionName: options.name,
  } satisfies IoRedisOptions;
  const redis: RedisClient =
    target.kind === 'single'
      ? new Redis(target.url, {
          ...common,
          lazyConnect: true,
          enableOfflineQueue: false,
          // Commands issued in the same turn of the event loop go out in one write: concurrent redirects'
          // cache reads share a round trip instead of queuing one behind another.
          enableAutoPipelining: options.autoPipelining ?? true,
          autoPipeliningIgnoredCommands,
          retryStrategy: retryForever,
        })
      : new Cluster(target.nodes, {
          lazyConnect: true,
          enableOfflineQueue: false,
          enableAutoPipelining: options.autoPipelining ?? true,
          autoPipeliningIgnoredCommands,
          clusterRetryStrategy: retryForever,
          // Reads go to masters only: a replica may lag behind a write this process just made.
          scaleReads: 'master',
          slotsRefreshTimeout: 2000,
          // A dead master's slots answer CLUSTERDOWN or connection errors until its replica is
          // promoted (about the node timeout): retry a little, then fail fast like a single server.
          retryDelayOnFailover: 100,
          retryDelayOnClusterDown: 100,
          redisOptions: {
            ...common,
            ...(target.username === null ? {} : { username: target.username }),
            ...(target.password === null ? {} : { password: target.password }),
            ...(target.tls ? { tls: {} } : {}),
          },
        });
  let wasReady = false;
  /** What the server or the socket last said before the first ready: connect() itself only says "Connection is closed." */
  let lastError: Error | undefined;
  redis.on('ready', () => {
    if (!wasReady) options.log.info({ dependency: 'redis', cluster: redis.isCluster }, 'redis connected');
    wasReady = true;
  });
  redis.on('error', (err: Error) => {
    if (wasReady) options.log.warn({ dependency: 'redis', err: err.message }, 'redis connection error');
    // A cluster's "Failed to refresh slots cache." says only that no node answered; the nodes' own
    // errors ('node error' below, or its lastNodeError) say why: NOAUTH, WRONGPASS, a refused socket.
    else if (err.name !== 'ClusterAllFailedError') lastError = err;
    else lastError = lastError ?? (err as { lastNodeError?: Error }).lastNodeError ?? err;
    wasReady = false;
  });
  if (redis instanceof Cluster) {
    // A node lost while the cluster worked (a master dying) is news; the retries of a cluster never reached are not.
    redis.on('node error', (err: Error, node: string) => {
      if (!wasReady) lastError = err;
      options.log[wasReady ? 'warn' : 'debug']({ dependency: 'redis', node, err: err.message }, 'redis cluster node error');
    });
  }
  try {
    await redis.connect();
  } catch (err) {
    const reason = lastError ?? (err as Error);
    // A password missing or refused is REDIS_URL's mistake, which no reconnect cures: stop, saying so.
    const refusal = redisConfigurationRefusal(reason);
    if (refusal !== null) {
      redis.disconnect();
      throw new ConfigError([`REDIS_URL: ${refusal}`]);
    }
    // Start anyway: /ready reports Redis down and ioredis keeps reconnecting in the background.
    options.log.error({ dependency: 'redis', err: reason.message }, 'redis not reachable at start-up');
  }
  return redis;
}

/**
 * When Redis refused the connection because of what REDIS_URL says: the server asks for a password
 * and none is given (NOAUTH), or the user or password is refused (WRONGPASS). One line, or null for
 * anything else. (A password given to a server with none, ioredis only warns about.)
 */
function redisConfigurationRefusal(err: Error): string | null {
  if (err.name !== 'ReplyError') return null;
  if (err.message.startsWith('NOAUTH')) return `the server asks for a password and none is given (${err.message})`;
  if (err.message.startsWith('WRONGPASS')) return `the user or password is refused (${err.message})`;
  return null;
}

/** Deletes every key under a prefix (tests and benchmarks clean up after themselves with this); on a cluster, on every master. */
export async function deleteByPrefix(redis: RedisClient, prefix: string): Promise<number> {
  if (prefix === '') throw new Error('refusing to delete every key: empty prefix');
  let deleted = 0;
  for (const node of redis instanceof Cluster ? redis.nodes('master') : [redis]) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      // One key per command: on a cluster, keys of different slots may not share one.
      const counts = await Promise.all(keys.map((key) => node.unlink(key)));
      deleted += counts.reduce((sum, n) => sum + n, 0);
    } while (cursor !== '0');
  }
  return deleted;
}
