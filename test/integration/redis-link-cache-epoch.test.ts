// The cache epoch on real Redis: an entry written under an older epoch is a miss for every replica; a
// replica whose change never reached Redis reads no cache until it has moved the epoch on; fills and
// writes from behind the epoch cannot bring an old state back; the near tier is only trusted under a
// lease. Mostly on the shared server (own prefix); the hang runs on a private redis-server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createDependencyBreaker, type DependencyBreaker } from '../../src/core/dependency-breaker.ts';
import type { LinkCache } from '../../src/storage/link-cache.ts';
import { createMemoryLinkCache } from '../../src/storage/memory/memory-link-cache.ts';
import { createRedisCacheEpoch, type CacheEpoch } from '../../src/storage/redis/redis-cache-epoch.ts';
import { createRedisInvalidationBus, type RedisInvalidationBus } from '../../src/storage/redis/redis-invalidation-bus.ts';
import { createRedisLinkCache } from '../../src/storage/redis/redis-link-cache.ts';
import { createTieredLinkCache } from '../../src/storage/tiered-link-cache.ts';
import { until } from '../support/fault-probes.ts';
import { testLogger } from '../support/log.ts';
import { openTestRedis, REDIS_URL, type TestRedis } from '../support/redis.ts';
import { startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';
import { cachedLink as link } from '../support/cached-link.ts';

const log = testLogger('epoch');

interface Replica {
  redis: Redis;
  epoch: CacheEpoch;
  cache: LinkCache;
  breaker: DependencyBreaker;
  bus: RedisInvalidationBus | null;
  skipped: string[];
}

interface ReplicaOptions {
  url?: string;
  prefix: string;
  refreshMs?: number;
  leaseMs?: number;
  commandTimeoutMs?: number;
  now?: () => number;
  bus?: boolean;
  tiered?: boolean;
}

describe('cache epoch', () => {
  let shared: TestRedis;
  const replicas: Replica[] = [];

  async function replica(options: ReplicaOptions): Promise<Replica> {
    const redis = new Redis(options.url ?? REDIS_URL, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 2000,
      retryStrategy: () => 50,
    });
    redis.on('error', () => undefined);
    await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
    const breaker = createDependencyBreaker({ dependency: 'redis', log, failureThreshold: 3, resetTimeoutMs: 60_000 });
    const epoch = createRedisCacheEpoch({
      redis,
      prefix: options.prefix,
      log,
      breaker,
      refreshMs: options.refreshMs ?? 0,
      ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
      ...(options.now ? { now: options.now } : {}),
    });
    const skipped: string[] = [];
    const far = createRedisLinkCache({ redis, prefix: options.prefix, log, breaker, epoch, onSkipped: (op) => skipped.push(op) });
    let bus: RedisInvalidationBus | null = null;
    let cache: LinkCache = far;
    if (options.bus || options.tiered) {
      bus = createRedisInvalidationBus({ redis, prefix: options.prefix, log, breaker, onPublishFailed: (err) => epoch.failed('not published', err) });
      epoch.attach(bus);
      if (options.tiered) cache = createTieredLinkCache({ near: createMemoryLinkCache(), far, bus, trust: epoch, nearTtlS: 60 });
      else bus.subscribe(() => undefined, () => undefined);
      const subscribed = bus;
      await until(() => subscribed.subscribed(), 3000, 'the invalidation subscription');
    }
    await epoch.refresh();
    const r = { redis, epoch, cache, breaker, bus, skipped };
    replicas.push(r);
    return r;
  }

  const raw = (prefix: string, code: string, redis: Redis = shared.redis) => redis.get(`${prefix}url:${code}`);
  const bumpBehindTheirBacks = (prefix: string) => shared.redis.incr(`${prefix}cache_epoch`);

  before(async () => {
    shared = await openTestRedis('epoch');
  });
  after(async () => {
    for (const r of replicas) {
      r.epoch.close();
      await r.bus?.close();
      r.redis.disconnect();
    }
    await shared.cleanup();
  });

  test('an entry of an older epoch is a miss on every replica; a lookup that began before the replica learned the epoch does not fill, the next one does', async () => {
    const prefix = `${shared.prefix}a:`;
    const a = await replica({ prefix });
    const b = await replica({ prefix });
    await a.cache.set('old01', link(1), 60);
    assert.deepEqual(await b.cache.get('old01'), link(1));

    await bumpBehindTheirBacks(prefix);
    const startedBefore = performance.now();
    assert.equal(await b.cache.get('old01'), undefined, 'written under the previous epoch');
    assert.equal(await a.cache.get('old01'), undefined);
    await b.cache.set('old01', link(1), 60, { ifAbsent: true, readStartedAt: startedBefore });
    assert.equal(await b.cache.get('old01'), undefined, 'that lookup began before b learned the new epoch');

    const startedAfter = performance.now();
    assert.equal(await b.cache.get('old01'), undefined);
    await b.cache.set('old01', link(1), 60, { ifAbsent: true, readStartedAt: startedAfter });
    assert.deepEqual(await a.cache.get('old01'), link(1), 'filled under the new epoch, read by the other replica');
  });

  test('a write from behind the epoch leaves a blocker: a miss that no fill can replace', async () => {
    const prefix = `${shared.prefix}b:`;
    const behind = await replica({ prefix });
    const current = await replica({ prefix });
    await behind.cache.set('blk01', link(2), 60);
    const next = await bumpBehindTheirBacks(prefix);
    await current.epoch.refresh();
    // `behind` deletes the link without knowing of the new epoch: its tombstone cannot be trusted
    // as the newest state, but it must still keep the old one out.
    await behind.cache.setMissing('blk01', 30, { overwrite: true });
    assert.equal(await raw(prefix, 'blk01'), `${next}|?`);
    assert.equal(behind.epoch.current(), next, 'the writer learned the epoch from the answer');
    await current.cache.set('blk01', link(2), 60, { ifAbsent: true, readStartedAt: performance.now() });
    assert.equal(await raw(prefix, 'blk01'), `${next}|?`, 'a lookup that read the row before the deletion cannot cache it');
    assert.equal(await current.cache.get('blk01'), undefined);
  });

  test('a bumped epoch reaches an idle replica over the bus at once, and without the bus within its periodic read', async () => {
    const prefix = `${shared.prefix}c:`;
    const a = await replica({ prefix, bus: true });
    const b = await replica({ prefix, bus: true });
    const idle = await replica({ prefix, refreshMs: 100 });
    const before = b.epoch.current() ?? 0;
    a.epoch.failed('a test says so');
    await until(() => a.epoch.readable(), 3000, 'a to bump the epoch');
    const bumped = a.epoch.current();
    assert.ok(bumped !== null && bumped > before);
    await until(() => b.epoch.current() === bumped, 2000, 'b to hear the new epoch');
    await until(() => idle.epoch.current() === bumped, 3000, 'the idle replica to read the new epoch');
  });

  test('the near tier is trusted only on a lease, and emptied when it lapses, when Redis fails and when the epoch moves', async () => {
    const prefix = `${shared.prefix}d:`;
    let clock = 1_000_000;
    const a = await replica({ prefix, tiered: true, leaseMs: 1500, now: () => clock });
    const tombstone = async (code: string) => shared.redis.set(`${prefix}url:${code}`, `${a.epoch.current() ?? 0}|-`);

    await a.cache.set('near01', link(3), 60);
    assert.deepEqual(await a.cache.get('near01'), link(3), 'fills the near tier');
    await tombstone('near01'); // changed in Redis without an invalidation
    assert.deepEqual(await a.cache.get('near01'), link(3), 'served from memory while the lease holds');
    clock += 1600;
    assert.equal(await a.cache.get('near01'), null, 'lease lapsed: the far tier decides, and the near tier was emptied');

    await a.epoch.refresh(); // the lease is back
    await a.cache.set('near02', link(4), 60);
    assert.deepEqual(await a.cache.get('near02'), link(4));
    await tombstone('near02');
    assert.deepEqual(await a.cache.get('near02'), link(4), 'trusted again');
    a.epoch.failed('a test says so');
    assert.equal(await a.cache.get('near02'), undefined, 'suspect: neither tier is read');
    await until(() => a.epoch.readable(), 3000, 'the bump');
    assert.equal(await a.cache.get('near02'), undefined, 'new epoch: the old entries are misses in both tiers');
  });

  describe('on a private redis-server that hangs (SIGSTOP)', () => {
    let server: PrivateRedis;
    before(async () => {
      server = await startPrivateRedis();
    });
    after(async () => {
      await server?.stop();
    });

    test('a delete skipped while Redis hangs leaves a stale entry behind, which no replica serves once Redis is back', async () => {
      const prefix = 'hang:';
      const fast = { url: server.url, prefix, refreshMs: 100, commandTimeoutMs: 300 };
      const a = await replica(fast);
      const b = await replica(fast);
      await a.cache.set('hang01', link(5), 60);
      assert.deepEqual(await b.cache.get('hang01'), link(5));
      const inside = server.client();
      const stale = await inside.get(`${prefix}url:hang01`);

      server.freeze();
      try {
        // The periodic reads time out, the replicas turn suspect and their breakers open.
        await until(() => a.breaker.state() === 'open' && b.breaker.state() === 'open', 10_000, 'both breakers to open');
        assert.equal(a.epoch.readable(), false);
        await a.cache.delete('hang01');
        await a.cache.setMissing('hang01', 30, { overwrite: true });
        assert.ok(a.skipped.includes('delete') && a.skipped.includes('setMissing'), 'skipped, not sent: nothing is queued in the hung connection');
        assert.equal(await b.cache.get('hang01'), undefined, 'suspect replicas read nothing');
      } finally {
        server.thaw();
      }
      await until(() => a.epoch.readable() && b.epoch.readable(), 10_000, 'both replicas to bump the epoch');
      assert.equal(await inside.get(`${prefix}url:hang01`), stale, 'the stale entry is still in Redis');
      assert.equal(await a.cache.get('hang01'), undefined);
      assert.equal(await b.cache.get('hang01'), undefined, 'but it belongs to an older epoch');
      await until(() => a.breaker.state() === 'closed' && b.breaker.state() === 'closed', 5000, 'the breakers to close');
      await a.cache.set('hang02', link(6), 60);
      assert.deepEqual(await b.cache.get('hang02'), link(6), 'caching resumed without a restart');
    });
  });
});
