// Upgrade safety on a single Redis: the Redis Cluster work hash-tags key names on a cluster only. A
// deployment on one server keeps the names it always had, so an upgrade (and a rolling one, old and
// new replicas side by side) keeps its pool and, above all, its used_keys: losing that set could hand
// out codes that links have. Here the keys are written under their literal old names first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectRedis } from '../../src/core/redis.ts';
import { cacheLayout } from '../../src/storage/redis/redis-cache-epoch.ts';
import { createRedisKeyStore, redisKeyNames } from '../../src/storage/redis/redis-key-store.ts';
import { createRedisLinkCache } from '../../src/storage/redis/redis-link-cache.ts';
import { testLogger } from '../support/log.ts';
import { openTestRedis, REDIS_URL } from '../support/redis.ts';

test('a pool written under the old names is the pool a new KGS on a single Redis uses', async () => {
  const shared = await openTestRedis('names_upgrade');
  const { redis, prefix } = shared;
  await redis.sadd(`${prefix}available_keys`, 'old01', 'old02');
  await redis.sadd(`${prefix}used_keys`, 'used01', 'used02', 'cool01');
  await redis.zadd(`${prefix}cooldown_keys`, 1, 'cool01');
  const client = await connectRedis({ url: REDIS_URL, log: testLogger(), name: 'curt-test-upgrade' });
  try {
    assert.deepEqual(redisKeyNames(prefix), {
      available: `${prefix}available_keys`,
      used: `${prefix}used_keys`,
      cooldownRecycle: `${prefix}cooldown_keys`,
      cooldownRelease: `${prefix}cooldown_aliases`,
      lockPrefix: `${prefix}lock:`,
    });
    const store = createRedisKeyStore(client, prefix);
    assert.deepEqual(await store.sizes(), { available: 2, used: 3, coolingDown: 1 });
    assert.equal(await store.offer(['used01', 'used02', 'new01']), 1, 'codes in the old used_keys are never offered again');
    assert.equal(await store.claim('used01'), false, 'nor claimed');
    assert.deepEqual((await store.take(10)).codes.sort(), ['new01', 'old01', 'old02']);
    assert.equal(await store.releaseDue(Date.now()), 1, 'the old cool-down set is honoured');
    assert.deepEqual((await store.take(10)).codes, ['cool01']);

    // The cache too: an entry and the epoch under their old names (a rolling upgrade's old replicas write them).
    assert.deepEqual([cacheLayout(prefix).entryKey('abc'), cacheLayout(prefix).epochKey(0)], [`${prefix}url:abc`, `${prefix}cache_epoch`]);
    await redis.set(`${prefix}cache_epoch`, '7');
    await redis.set(`${prefix}url:abc`, '7|[5,"https://example.com/old-writer",null,2]');
    const cache = createRedisLinkCache({ redis: client, prefix, log: testLogger() });
    assert.equal((await cache.get('abc'))?.url, 'https://example.com/old-writer');
  } finally {
    client.disconnect();
    await shared.cleanup();
  }
});
