// The Redis link cache sends the reads, and the writes, made in one turn of the event loop as one
// script call per shard (src/storage/redis/redis-link-cache.ts). On the shared server, own prefix:
// every caller gets its own entry back whatever its neighbours in the batch hold, writes keep the
// order they were made in, a turn of more than one batch's worth sends more calls, and the calls
// counted are the ones claimed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { LinkCache } from '../../src/storage/link-cache.ts';
import { createDependencyBreaker } from '../../src/core/dependency-breaker.ts';
import { createRedisCacheEpoch, type CacheEpoch } from '../../src/storage/redis/redis-cache-epoch.ts';
import { createRedisLinkCache } from '../../src/storage/redis/redis-link-cache.ts';
import { testLogger } from '../support/log.ts';
import { until } from '../support/fault-probes.ts';
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
  /** Keys of each script call sent, in order. */
  let scriptKeys: number[] = [];
  /** While set, every script call is refused with this error (a Redis that fails). */
  let refuse: Error | undefined;

  before(async () => {
    shared = await openTestRedis('cache-batching');
    redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = ((command: Parameters<Redis['sendCommand']>[0], ...rest: unknown[]) => {
      if (command.name === 'evalsha' || command.name === 'eval') {
        scriptCalls += 1;
        scriptKeys.push(Number(command.args[1]));
        if (refuse !== undefined) {
          command.reject(refuse);
          return command.promise;
        }
      }
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

  test('the writes of one tick share one promise, settled once they are written', async () => {
    const first = cache.set('t-one', link(21), 60, { ifAbsent: true });
    const second = cache.set('t-two', link(22), 60);
    assert.equal(first, second, 'one promise for the tick, not one per write');
    await first;
    assert.deepEqual(await Promise.all([cache.get('t-one'), cache.get('t-two')]), [link(21), link(22)]);
  });

  test('with a breaker: a failed call answers each read of it as a miss and counts a failure per read; an open breaker sends nothing; half-open, one read is the trial', async () => {
    let now = 0;
    const breaker = createDependencyBreaker({ dependency: 'redis', log, failureThreshold: 3, resetTimeoutMs: 1000, now: () => now });
    const errors: string[] = [];
    const skipped: string[] = [];
    const guarded = createRedisLinkCache({ redis, prefix: shared.prefix, log, epoch, breaker, onError: (op) => errors.push(op), onSkipped: (op) => skipped.push(op) });
    await guarded.set('b-1', link(31), 60);
    scriptCalls = 0;
    refuse = new Error('refused by the test');
    try {
      const reads = await Promise.all(['b-1', 'b-2', 'b-3'].map((code) => guarded.read(code)));
      assert.deepEqual(reads, [0, 1, 2].map(() => ({ entry: undefined, remainingMs: null })), 'every read of the failed call is a miss, none rejected');
      assert.equal(scriptCalls, 1);
      assert.deepEqual(errors, ['get', 'get', 'get']);
      assert.equal(breaker.state(), 'open', 'three reads, three failures: the threshold');
    } finally {
      refuse = undefined;
    }
    // The failure made the cache suspect: it is read again once the epoch has moved on.
    await until(() => epoch.readable(), 5000, 'the cache epoch to be bumped');
    scriptCalls = 0;
    assert.equal(await guarded.get('b-1'), undefined, 'open: a miss');
    assert.equal(scriptCalls, 0, 'open: nothing sent');
    assert.deepEqual(skipped, ['get']);
    now += 1000;
    scriptKeys = [];
    assert.deepEqual(await Promise.all(['b-1', 'b-2'].map((code) => guarded.get(code))), [undefined, undefined]);
    assert.deepEqual(scriptKeys, [2], 'half-open: one call, with the epoch key and the first read\'s entry (the trial)');
    assert.deepEqual(skipped, ['get', 'get'], 'the second read was skipped');
    assert.equal(breaker.state(), 'closed', 'the trial answered');
    await guarded.set('b-1', link(31), 60);
    assert.deepEqual(await guarded.get('b-1'), link(31), 'closed: written and read again');
  });

  test('a failed write call: every write still resolves, each is counted as failed, and a throw while counting one does not skip the others', async () => {
    let thrown = false;
    const breaker = createDependencyBreaker({
      dependency: 'redis',
      log,
      failureThreshold: 2,
      resetTimeoutMs: 60_000,
      isFailure: () => {
        if (thrown) return true;
        thrown = true;
        throw new Error('isFailure broke');
      },
    });
    const errors: string[] = [];
    const guarded = createRedisLinkCache({ redis, prefix: shared.prefix, log, epoch, breaker, onError: (op) => errors.push(op) });
    await until(() => epoch.readable(), 5000, 'the cache epoch to be readable');
    refuse = new Error('refused by the test');
    try {
      await Promise.all([guarded.set('f-1', link(41), 60), guarded.set('f-2', link(42), 60), guarded.set('f-3', link(43), 60, { ifAbsent: true })]);
    } finally {
      refuse = undefined;
    }
    assert.deepEqual(errors, ['set', 'set', 'fill'], 'each write of the call counted as failed');
    assert.equal(thrown, true);
    assert.equal(breaker.state(), 'open', 'the two writes counted after the throw reach the threshold');
    assert.equal(epoch.readable(), false, 'a lost write makes the cache suspect until the epoch moves on');
    await until(() => epoch.readable(), 5000, 'the cache epoch to be bumped');
  });
});
