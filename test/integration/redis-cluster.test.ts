// The Redis adapters on a real Redis Cluster (3 masters, 3 replicas, started here on free ports):
// the KeyStore, LinkCache and RateLimiter contracts, where their keys land, the invalidation bus over
// sharded pub/sub and the cache epoch across two clients, and what a master's death does to them.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from 'ioredis';
import { createRegistry } from '../../src/core/metrics.ts';
import { connectRedis, deleteByPrefix, type RedisClient } from '../../src/core/redis.ts';
import type { LinkCache } from '../../src/storage/link-cache.ts';
import { cacheLayout, CLUSTER_CACHE_SHARDS, createRedisCacheEpoch } from '../../src/storage/redis/redis-cache-epoch.ts';
import { createRedisInvalidationBus } from '../../src/storage/redis/redis-invalidation-bus.ts';
import { createRedisKeyStore, redisKeyNames } from '../../src/storage/redis/redis-key-store.ts';
import { openRedisLinkCacheStack } from '../../src/storage/redis/redis-link-cache-stack.ts';
import { createRedisLinkCache } from '../../src/storage/redis/redis-link-cache.ts';
import { createRedisRateLimiter } from '../../src/storage/redis/redis-rate-limiter.ts';
import { createUrlMetrics } from '../../src/url/metrics.ts';
import { keyStoreContract } from '../contract/key-store.contract.ts';
import { linkCacheContract } from '../contract/link-cache.contract.ts';
import { rateLimiterContract } from '../contract/rate-limiter.contract.ts';
import { until } from '../support/fault-probes.ts';
import { captureLogger, testLogger } from '../support/log.ts';
import { startRedisCluster, type PrivateRedisCluster } from '../support/redis-cluster.ts';
import { uniquePrefix } from '../support/redis.ts';
import { cachedLink as link } from '../support/cached-link.ts';

let started: Promise<PrivateRedisCluster> | null = null;
const cluster = (): Promise<PrivateRedisCluster> => (started ??= startRedisCluster());

const log = testLogger('cluster');
const clients: RedisClient[] = [];
async function client(name: string): Promise<RedisClient> {
  const redis = await connectRedis({ url: (await cluster()).url, log, name: `curt-test-${name}`, commandTimeoutMs: 1000 });
  clients.push(redis);
  return redis;
}
// The clients first: a client whose nodes die goes on reconnecting (and its epoch bumping) until it is told to stop.
after(async () => {
  for (const redis of clients) redis.disconnect();
  if (started) await (await started).stop();
});


keyStoreContract('Redis Cluster', async () => {
  const redis = await client('key-store');
  const prefixes: string[] = [];
  return {
    async fresh() {
      prefixes.push(uniquePrefix('cluster_key_store'));
      return createRedisKeyStore(redis, prefixes.at(-1) ?? '');
    },
    async close() {
      for (const prefix of prefixes) await deleteByPrefix(redis, prefix);
    },
  };
});

linkCacheContract('Redis Cluster', async () => {
  const prefix = uniquePrefix('cluster_link_cache');
  const [a, b] = [await client('cache-a'), await client('cache-b')];
  const cache = createRedisLinkCache({ redis: a, prefix, log });
  const peer = createRedisLinkCache({ redis: b, prefix, log });
  // A client that meets the cluster's nodes one by one may read no cache until it has bumped the epoch
  // (src/storage/redis/redis-cache-epoch.ts): the contract is the settled cache's, so both first read
  // what they wrote. Without this wait the contract's first tests failed in two runs of the suite.
  for (const [i, side] of [cache, peer].entries()) {
    await until(async () => {
      await side.set(`settle${i}`, link(i), 60);
      return (await side.get(`settle${i}`)) !== undefined;
    }, 10_000, `cache ${i} to read what it wrote`);
  }
  return { cache, peer, close: async () => void (await deleteByPrefix(a, prefix)) };
});

/** Two URL-service replicas' cache stacks (in-process tier, sharded pub/sub, epoch) on the cluster. */
async function stacks(prefix: string, names: string[]) {
  return Promise.all(
    names.map(async (name) => {
      const redis = await client(name);
      const registry = createRegistry({ defaultMetrics: false });
      const stack = openRedisLinkCacheStack({ redis, prefix, log, registry, metrics: createUrlMetrics(registry), cache: { ttlS: 3600, negativeTtlS: 30, nearTtlS: 60, nearMax: 1000 } });
      return { redis, stack, cache: stack.cache };
    }),
  );
}

/** Waits until a replica serves an entry from its in-process tier (it is subscribed and trusts it). */
async function servedFromMemory(cache: LinkCache, redis: RedisClient, prefix: string, code: string): Promise<void> {
  const layout = cacheLayout(prefix, { cluster: true });
  await until(
    async () => {
      await cache.set(code, link(1), 60);
      await cache.get(code);
      await redis.del(layout.entryKey(code));
      const served = (await cache.get(code)) !== undefined;
      await cache.delete(code);
      return served;
    },
    15_000,
    'the in-process tier to be trusted',
  );
}

linkCacheContract('in-process tier in front of a Redis Cluster (the services)', async () => {
  const prefix = uniquePrefix('cluster_tiered');
  const replicas = await stacks(prefix, ['tier-a', 'tier-b']);
  for (const [i, { cache, redis }] of replicas.entries()) await servedFromMemory(cache, redis, prefix, `probe${i}`);
  const [a, b] = replicas;
  if (!a || !b) throw new Error('replica missing');
  return {
    cache: a.cache,
    peer: b.cache,
    async close() {
      for (const { stack } of replicas) await stack.close();
      await deleteByPrefix(a.redis, prefix);
    },
  };
});

rateLimiterContract('Redis Cluster', async () => {
  const redis = await client('limiter');
  const prefix = uniquePrefix('cluster_rate');
  return { limiter: createRedisRateLimiter(redis, prefix), close: async () => void (await deleteByPrefix(redis, prefix)) };
});

describe('Redis Cluster: keys, bus, epoch and a failover', () => {
  test('REDIS_URL names a cluster: the client is one, and deleteByPrefix reaches every master', async () => {
    const redis = await client('kind');
    assert.ok(redis instanceof Cluster);
    const prefix = uniquePrefix('cluster_delete');
    const layout = cacheLayout(prefix, { cluster: true });
    for (let i = 0; i < 40; i++) await redis.set(layout.entryKey(`d${i}`), 'x');
    assert.equal(await deleteByPrefix(redis, prefix), 40);
  });

  test('the pool is one slot; cache entries and their epoch copies spread over every master', async () => {
    const c = await cluster();
    const pool = redisKeyNames('p:', { cluster: true });
    const poolMasters = new Set(await Promise.all([pool.available, pool.used, pool.cooldownRecycle, pool.cooldownRelease].map((key) => c.masterOf(key))));
    assert.equal(poolMasters.size, 1, 'every set of the pool on one master');
    const layout = cacheLayout('p:', { cluster: true });
    const masters = new Set<number>();
    for (let shard = 0; shard < CLUSTER_CACHE_SHARDS; shard++) masters.add(await c.masterOf(layout.epochKey(shard)));
    assert.equal(masters.size, 3, 'the cache shards land on all three masters');
    const codes = Array.from({ length: 400 }, (_, i) => `code${i}`);
    const perShard = new Map<number, number>();
    for (const code of codes) {
      const shard = layout.shardOf(code);
      perShard.set(shard, (perShard.get(shard) ?? 0) + 1);
      assert.equal(await c.masterOf(layout.entryKey(code)), await c.masterOf(layout.epochKey(shard)), 'an entry shares its epoch copy\u2019s slot');
    }
    assert.equal(perShard.size, CLUSTER_CACHE_SHARDS, 'codes use every shard');
  });

  test('lookups and fills of one turn across every shard: each shard its own call, every answer right', async () => {
    const redis = await client('cache-concurrent');
    const prefix = uniquePrefix('cluster_cache_turn');
    const errors: string[] = [];
    const cache = createRedisLinkCache({ redis, prefix, log, onError: (operation) => errors.push(operation) });
    const codes = Array.from({ length: 200 }, (_, i) => `turn${i}`);
    try {
      // Fills of one turn, then lookups of one turn, each spread over all 16 shards and 3 masters.
      await Promise.all(codes.map((code, i) => cache.set(code, link(i), 60, { ifAbsent: true })));
      assert.deepEqual(await Promise.all(codes.map((code) => cache.get(code))), codes.map((_, i) => link(i)));
      assert.deepEqual(errors, [], 'no command refused for mixing slots');
    } finally {
      await deleteByPrefix(redis, prefix);
    }
  });

  test('two replicas: an invalidation over sharded pub/sub is acknowledged, a bump moves every epoch copy and is heard', async () => {
    const prefix = uniquePrefix('cluster_bus');
    const [a, b] = await stacks(prefix, ['bus-a', 'bus-b']);
    if (!a || !b) throw new Error('replica missing');
    await servedFromMemory(a.cache, a.redis, prefix, 'warm-a');
    await servedFromMemory(b.cache, b.redis, prefix, 'warm-b');
    // b holds the code in memory; a changes it: b must read the new state at once.
    await a.cache.set('shared1', link(1), 60);
    assert.equal((await b.cache.get('shared1'))?.id, 1);
    await a.cache.set('shared1', link(2), 60);
    assert.equal((await b.cache.get('shared1'))?.id, 2, 'b dropped its in-process copy');

    // The bus on its own: a confirmed publish needs b's ack, which comes back over the writer's channel.
    const busA = createRedisInvalidationBus({ redis: a.redis, prefix: `${prefix}x:`, log });
    const busB = createRedisInvalidationBus({ redis: b.redis, prefix: `${prefix}x:`, log });
    const heard: string[] = [];
    busA.subscribe(() => undefined, () => undefined);
    busB.subscribe((code) => heard.push(code), () => undefined);
    await until(() => busA.subscribed() && busB.subscribed(), 10_000, 'both subscribed');
    assert.deepEqual(await busA.publish('abc', { confirm: true }), { delivered: true });
    assert.deepEqual(heard, ['abc']);

    // A bump INCRs every shard's copy, and the other replica learns all of them from the bus.
    const epochA = createRedisCacheEpoch({ redis: a.redis, prefix: `${prefix}e:`, log, refreshMs: 0 });
    const epochB = createRedisCacheEpoch({ redis: b.redis, prefix: `${prefix}e:`, log, refreshMs: 0 });
    epochA.attach(busA);
    epochB.attach(busB);
    await epochA.refresh();
    await epochB.refresh();
    epochA.failed('test');
    await until(() => epochA.readable(), 5000, 'a to bump');
    for (let shard = 0; shard < CLUSTER_CACHE_SHARDS; shard++) assert.equal(epochA.current(shard), 1, `shard ${shard} bumped`);
    await until(() => Array.from({ length: CLUSTER_CACHE_SHARDS }, (_, s) => epochB.current(s)).every((e) => e === 1), 5000, 'b to hear every copy');
    epochA.close();
    epochB.close();
    await busA.close();
    await busB.close();
    for (const { stack } of [a, b]) await stack.close();
    await deleteByPrefix(a.redis, prefix);
  });

  test('a take waits for the replica; when none acknowledges in time the codes are handed out all the same, with a warning', async () => {
    const c = await cluster();
    const prefix = uniquePrefix('cluster_wait');
    const redis = await client('wait');
    const quiet = captureLogger('wait');
    let unreplicated = 0;
    const store = createRedisKeyStore(redis, prefix, { log: quiet.log, replicaWaitMs: 300, onUnreplicated: () => (unreplicated += 1) });
    await store.offer(['w0001', 'w0002', 'w0003']);
    assert.equal((await store.take(1)).codes.length, 1);
    assert.doesNotMatch(quiet.text(), /no Redis replica acknowledged/);
    const replica = await c.replicaOf(await c.masterOf(redisKeyNames(prefix, { cluster: true }).used));
    c.freeze(replica);
    try {
      assert.equal((await store.take(1)).codes.length, 1, 'handed out although unacknowledged');
      assert.equal(await store.claim('walias'), true);
    } finally {
      c.thaw(replica);
    }
    assert.equal(quiet.text().match(/no Redis replica acknowledged/g)?.length, 2, 'the take and the claim warned');
    assert.equal(unreplicated, 2, 'and were counted');
    await deleteByPrefix(redis, prefix);
  });

  // Last: it kills a master.
  test('a master dies: its replica takes over, the bus resubscribes, the epoch moves on, the pool hands out no code twice', async () => {
    const c = await cluster();
    const prefix = uniquePrefix('cluster_failover');
    const warnings = captureLogger('failover');
    const [a, b] = await stacks(prefix, ['fo-a', 'fo-b']);
    if (!a || !b) throw new Error('replica missing');
    await servedFromMemory(a.cache, a.redis, prefix, 'warm-a');
    await servedFromMemory(b.cache, b.redis, prefix, 'warm-b');
    const kgsRedis = await client('fo-kgs');
    const store = createRedisKeyStore(kgsRedis, prefix, { log: warnings.log });
    const candidates = Array.from({ length: 3000 }, (_, i) => `f${String(i).padStart(5, '0')}`);
    await store.offer(candidates);
    const handedOut: string[] = [];
    handedOut.push(...(await store.take(500)).codes);
    assert.doesNotMatch(warnings.text(), /no Redis replica acknowledged/, 'a replica acknowledged every take');

    // The master the bus is on: the hardest case for the cache (its subscription, epoch copies and
    // entries all on the dead node).
    const victim = await c.masterOf(`${prefix}{invalidate}`);
    const layout = cacheLayout(prefix, { cluster: true });
    const shardOnVictim = (await Promise.all(Array.from({ length: CLUSTER_CACHE_SHARDS }, async (_, s) => ((await c.masterOf(layout.epochKey(s))) === victim ? s : -1)))).find((s) => s >= 0);
    assert.ok(shardOnVictim !== undefined, 'a cache shard on the victim');
    const epochBefore = Number((await a.redis.get(layout.epochKey(shardOnVictim))) ?? 0);
    // A code of that shard, cached by both replicas in its old state, then changed: replication being
    // asynchronous, the promoted replica may come up with the old entry under the old epoch.
    let stale = 'x';
    for (let i = 0; layout.shardOf(stale) !== shardOnVictim; i++) stale = `stale${i}`;
    await a.cache.set(stale, link(1), 60);
    const oldEntry = await a.redis.get(layout.entryKey(stale));
    assert.match(String(oldEntry), new RegExp(`^${epochBefore}\\|`), 'written under the epoch before');
    assert.equal((await b.cache.get(stale))?.id, 1);
    await a.cache.set(stale, link(2), 60);

    let failedTakes = 0;
    const takes = (async () => {
      const deadline = Date.now() + 8000;
      while (Date.now() < deadline) {
        try {
          handedOut.push(...(await store.take(50)).codes);
        } catch {
          // the pool's master may be the dead one: 503 until its replica is promoted
          failedTakes += 1;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const failoverMs = await c.killMaster(victim);
    // What a lost replication would leave: the old entry, under the epoch it was written in.
    await until(async () => (await a.redis.set(layout.entryKey(stale), String(oldEntry), 'EX', 60).catch(() => null)) === 'OK', 5000, 'the old entry written back');
    const seen = new Set<number | undefined>();
    const reads = performance.now();
    while (performance.now() - reads < 2000) {
      for (const { cache } of [a, b]) seen.add((await cache.get(stale))?.id);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(!seen.has(1), 'the old state is never served after the failover');
    await takes;
    console.log(`# redis cluster failover: ${Math.round(failoverMs)} ms from SIGKILL to a promoted replica; ${handedOut.length} codes handed out`);
    assert.equal(new Set(handedOut).size, handedOut.length, 'no code handed out twice');
    // A take whose script ran but whose answer was lost with the master leaves its codes used and
    // handed to no one (wasted, never given twice): at most one take's codes per failed take.
    const sizes = await store.sizes();
    const unanswered = sizes.used - handedOut.length;
    assert.ok(unanswered >= 0, `used_keys holds every code handed out (${sizes.used} used, ${handedOut.length} handed out)`);
    assert.ok(unanswered % 50 === 0 && unanswered <= 50 * failedTakes, `only whole takes that failed are used and not handed out (${unanswered} codes, ${failedTakes} failed takes)`);

    // Both replicas saw the node go, bumped the epoch (every copy, the promoted replica's too), and
    // are subscribed again to the promoted master.
    await until(async () => Number(await a.redis.get(layout.epochKey(shardOnVictim))) > epochBefore, 10_000, 'the epoch copy on the promoted replica to move on');
    await servedFromMemory(a.cache, a.redis, prefix, 'after-a');
    await servedFromMemory(b.cache, b.redis, prefix, 'after-b');
    await a.cache.set('moved', link(1), 60);
    assert.equal((await b.cache.get('moved'))?.id, 1);
    await a.cache.set('moved', link(2), 60);
    assert.equal((await b.cache.get('moved'))?.id, 2, 'invalidations flow again after the failover');
    for (const { stack } of [a, b]) await stack.close();
    await deleteByPrefix(a.redis, prefix);
  });
});
