// The Redis link cache sends the reads, and the writes, made in one turn of the event loop as one
// script call per shard (src/storage/redis/redis-link-cache.ts). On the shared server, own prefix:
// every caller gets its own entry back whatever its neighbours in the batch hold, writes keep the
// order they were made in, a turn of more than one batch's worth sends more calls, and the calls
// counted are the ones claimed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { LinkCache } from '../../src/storage/link-cache.ts';
import { createRedisCacheEpoch, type CacheEpoch } from '../../src/storage/redis/redis-cache-epoch.ts';
import { createRedisLinkCache } from '../../src/storage/redis/redis-link-cache.ts';
import { testLogger } from '../support/log.ts';
import { openTestRedis, REDIS_URL, type TestRedis } from '../support/redis.ts';
import { cachedLink as link } from '../support/cached-link.ts';

const log = testLogger('cache-batching');

describe('Redis link cache: one script call per shard and turn', () => {
  let shared: TestRedis;
  let redis: Redis;
  let epoch: CacheEpoch;
  let cache: LinkCache;
  /** Script calls sent by the cache's client (EVALSHA, or EVAL after a NOSCRIPT), by script name. */
  let scriptCalls = 0;

  before(async () => {
    shared = await openTestRedis('cache-batching');
    redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = ((command: Parameters<Redis['sendCommand']>[0], ...rest: unknown[]) => {
      if (command.name === 'evalsha' || command.name === 'eval') scriptCalls += 1;
      return (send as (...args: unknown[]) => unknown)(command, ...rest);
    });
    epoch = createRedisCacheEpoch({ redis, prefix: shared.prefix, log, refreshMs: 0 });
    await epoch.refresh();
    cache = createRedisLinkCache({ redis, prefix: shared.prefix, log, epoch });
    // The scripts are loaded by their first calls (a NOSCRIPT, then EVAL): not in the counts below.
    await cache.set('warmup', link(0), 60);
    await cache.read('warmup');
  });
  after(async () => {
    epoch.close();
    redis.disconnect();
    await shared.cleanup();
  });

  test('reads of one turn: one call, and each caller its own entry (a link, a known-missing code, an absent one, an entry of an old epoch)', async () => {
    const codes = Array.from({ length: 40 }, (_, i) => `r${String(i).padStart(3, '0')}`);
    for (const [i, code] of codes.entries()) {
      if (i % 4 === 0) await cache.set(code, link(i, { expiresAt: 4_000_000_000_000 + i }), 60 + i);
      else if (i % 4 === 1) await cache.setMissing(code, 60, { overwrite: true });
      else if (i % 4 === 3) await shared.redis.set(`${shared.prefix}url:${code}`, `-5|${JSON.stringify([i, 'https://old.example', null, 2])}`, 'EX', 60);
    }
    scriptCalls = 0;
    const results = await Promise.all(codes.map((code) => cache.read(code)));
    assert.equal(scriptCalls, 1, 'forty reads in one turn went out as one script call');
    for (const [i, { entry, remainingMs }] of results.entries()) {
      if (i % 4 === 0) {
        assert.deepEqual(entry, link(i, { expiresAt: 4_000_000_000_000 + i }), codes[i]);
        // Its own TTL, not a neighbour's: 60 + i seconds, read a moment after the write.
        assert.ok(remainingMs !== null && remainingMs > (60 + i - 5) * 1000 && remainingMs <= (60 + i) * 1000, `${codes[i]}: ${remainingMs}`);
      } else if (i % 4 === 1) assert.equal(entry, null, `${codes[i]} is known missing`);
      else assert.equal(entry, undefined, `${codes[i]} is a miss (absent, or of an old epoch)`);
    }
    assert.deepEqual(await Promise.all(codes.slice(0, 8).map((code) => cache.get(code))), [link(0, { expiresAt: 4_000_000_000_000 }), null, undefined, undefined, link(4, { expiresAt: 4_000_000_000_004 }), null, undefined, undefined]);
  });

  test('writes of one turn: one call, in the order they were made (a fill after a put of the same code does not replace it)', async () => {
    scriptCalls = 0;
    await Promise.all([
      cache.set('w-put', link(1), 60),
      cache.set('w-put', link(2), 60, { ifAbsent: true }),
      cache.set('w-fill', link(3), 60, { ifAbsent: true }),
      cache.setMissing('w-gone', 60, { overwrite: true }),
      cache.setMissing('w-gone', 60),
      cache.setMissing('w-none', 60),
    ]);
    assert.equal(scriptCalls, 1, 'six writes in one turn went out as one script call');
    assert.deepEqual(await cache.get('w-put'), link(1), 'the put made first stands; the fill after it kept off');
    assert.deepEqual(await cache.get('w-fill'), link(3));
    assert.equal(await cache.get('w-gone'), null);
    assert.equal(await cache.get('w-none'), null);

    // The other order: a put after a fill of the same code replaces it.
    await Promise.all([cache.set('w-late', link(4), 60, { ifAbsent: true }), cache.set('w-late', link(5), 60)]);
    assert.deepEqual(await cache.get('w-late'), link(5));
  });

  test('a turn of more than 256 reads is sent in as many calls as it needs, every caller answered', async () => {
    const codes = Array.from({ length: 600 }, (_, i) => `m${i}`);
    await Promise.all(codes.map((code, i) => cache.set(code, link(i), 60, { ifAbsent: true })));
    scriptCalls = 0;
    const entries = await Promise.all(codes.map((code) => cache.get(code)));
    assert.equal(scriptCalls, 3, '600 reads: 256 + 256 + 88');
    assert.deepEqual(entries, codes.map((_, i) => link(i)));
  });
});
