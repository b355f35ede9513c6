// The in-process cache in front of Redis, as two replicas sharing one Redis: served without a network
// hop when warm, dropped everywhere at once when a link changes, off while the subscription is down.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { LinkCache } from '../../src/storage/link-cache.ts';
import { createMemoryLinkCache } from '../../src/storage/memory/memory-link-cache.ts';
import { createRedisInvalidationBus } from '../../src/storage/redis/redis-invalidation-bus.ts';
import { createRedisLinkCache } from '../../src/storage/redis/redis-link-cache.ts';
import { createTieredLinkCache, type InvalidationBus } from '../../src/storage/tiered-link-cache.ts';
import { testLogger } from '../support/log.ts';
import { openTestRedis, REDIS_URL, type TestRedis } from '../support/redis.ts';
import { cachedLink as link } from '../support/cached-link.ts';


interface Replica {
  cache: LinkCache;
  bus: InvalidationBus;
  redis: Redis;
  lookups: Record<string, number>;
  name: string;
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('tiered link cache over Redis pub/sub', () => {
  let shared: TestRedis;
  const replicas: Replica[] = [];

  async function replica(label: string): Promise<Replica> {
    const name = `curt-test-${label}-${Math.random().toString(36).slice(2, 8)}`;
    const redis = new Redis(REDIS_URL, { connectionName: name, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    const log = testLogger('tiered');
    const bus = createRedisInvalidationBus({ redis, prefix: shared.prefix, log });
    const lookups: Record<string, number> = {};
    const cache = createTieredLinkCache({
      near: createMemoryLinkCache(),
      far: createRedisLinkCache({ redis, prefix: shared.prefix, log }),
      bus,
      nearTtlS: 60,
      onNearLookup: (result) => (lookups[result] = (lookups[result] ?? 0) + 1),
    });
    const r = { cache, bus, redis, lookups, name };
    replicas.push(r);
    await until(() => bus.subscribed(), `${label} to subscribe`);
    return r;
  }

  before(async () => {
    shared = await openTestRedis('tiered');
  });
  after(async () => {
    for (const r of replicas) {
      await r.bus.close();
      r.redis.disconnect();
    }
    await shared.cleanup();
  });

  test('a warm link is served from memory: it survives its Redis entry being removed behind its back', async () => {
    const a = await replica('warm');
    await a.cache.set('warm01', link(1), 60);
    assert.deepEqual(await a.cache.get('warm01'), link(1), 'first read fills the near tier');
    await shared.redis.del(`${shared.prefix}url:warm01`);
    assert.deepEqual(await a.cache.get('warm01'), link(1));
    assert.equal(a.lookups.hit, 1);
  });

  test('delete, update and a one-time use on one replica reach the other at once', async () => {
    const a = await replica('a');
    const b = await replica('b');
    await a.cache.set('chg01', link(2), 60);
    assert.equal((await b.cache.get('chg01'))?.isActive, true);
    assert.equal((await b.cache.get('chg01'))?.isActive, true, 'now warm in b');

    await a.cache.set('chg01', link(2, { isActive: false }), 60);
    await until(async () => (await b.cache.get('chg01'))?.isActive === false, 'b to see the disabled state');

    await a.cache.setMissing('chg01', 30, { overwrite: true });
    await until(async () => (await b.cache.get('chg01')) === null, 'b to see the deletion tombstone');

    await a.cache.set('chg02', link(3), 60);
    await b.cache.get('chg02');
    await a.cache.delete('chg02');
    await until(async () => (await b.cache.get('chg02')) === undefined, 'b to drop the deleted entry');
  });

  test('the links created in one tick reach the other replica in one message, each code dropped from its memory', async () => {
    const a = await replica('new-a');
    const b = await replica('new-b');
    const codes = ['new01', 'new02', 'new03', 'new04', 'new05'];
    // b holds "no such code" in memory for each: only the creations' message can make it look again.
    for (const code of codes) {
      await a.cache.setMissing(code, 30);
      assert.equal(await b.cache.get(code), null);
    }
    await shared.redis.del(...codes.map((code) => `${shared.prefix}url:${code}`));
    assert.equal(await b.cache.get('new01'), null, 'served from memory');

    const listener = shared.redis.duplicate();
    const messages: string[] = [];
    listener.on('message', (_channel: string, message: string) => messages.push(message));
    await listener.subscribe(`${shared.prefix}invalidate`);
    try {
      await Promise.all(codes.map((code, i) => a.cache.set(code, link(50 + i), 60, { created: true })));
      await until(() => messages.length > 0, 'the message');
      await sleep(50);
      assert.equal(messages.length, 1, `one message: ${messages.join(' | ')}`);
      assert.equal(messages[0]?.split(':')[1], codes.join(','));
      for (const [i, code] of codes.entries()) await until(async () => (await b.cache.get(code))?.id === 50 + i, `b to see ${code}`);
    } finally {
      listener.disconnect();
    }
  });

  test('a change is acknowledged by every other replica before the writer goes on: no polling, never the old state', async () => {
    const a = await replica('ack-a');
    const b = await replica('ack-b');
    for (let i = 0; i < 300; i++) {
      const code = `ack${i}`;
      await a.cache.set(code, link(1000 + i), 60, { created: true });
      await b.cache.get(code);
      assert.equal((await b.cache.get(code))?.isActive, true, 'warm in b');
      await a.cache.set(code, link(1000 + i, { isActive: false }), 60);
      assert.equal((await b.cache.get(code))?.isActive, false, `b saw the disable of ${code} as soon as a's write returned`);
    }
  });

  test('a link given a visit limit is dropped from every near tier before the writer goes on', async () => {
    const a = await replica('limit-a');
    const b = await replica('limit-b');
    await a.cache.set('lim01', link(6), 60);
    await until(async () => (await b.cache.get('lim01'))?.limited === false && (b.lookups.hit ?? 0) > 0, 'b to hold it in memory, without a limit');
    const hits = b.lookups.hit ?? 0;
    // An update (PATCH max_visits): b must not go on redirecting from memory without counting visits.
    await a.cache.set('lim01', link(6, { limited: true }), 60);
    assert.equal((await b.cache.get('lim01'))?.limited, true, "b saw the limit as soon as a's write returned");
    assert.equal(b.lookups.hit ?? 0, hits, 'read from the far tier, not from memory');
  });

  test('links with a visit limit (one-time too) are never served from memory', async () => {
    const a = await replica('once');
    await a.cache.set('once01', link(4, { limited: true }), 60);
    await a.cache.get('once01');
    await shared.redis.del(`${shared.prefix}url:once01`);
    assert.equal(await a.cache.get('once01'), undefined, 'the far tier decides');
  });

  test('while the subscription is down the near tier is off and emptied; it comes back by itself', async () => {
    const a = await replica('drop');
    await a.cache.set('drop01', link(5), 60);
    await a.cache.get('drop01');
    // Kill only this replica's subscriber connection on the shared server.
    const clients = String(await shared.redis.client('LIST'));
    const id = clients.split('\n').find((line) => line.includes(`name=${a.name}-invalidations`))?.match(/id=(\d+)/)?.[1];
    assert.ok(id, 'subscriber connection found');
    await shared.redis.client('KILL', 'ID', id);
    await until(() => !a.bus.subscribed(), 'the subscription to drop');
    // Changed while a could not hear about it: "no such code" under the current cache epoch.
    const epoch = (await shared.redis.get(`${shared.prefix}cache_epoch`)) ?? '0';
    await shared.redis.set(`${shared.prefix}url:drop01`, `${epoch}|-`);
    assert.equal(await a.cache.get('drop01'), null, 'not the stale near entry');
    await until(() => a.bus.subscribed(), 'the subscription to come back');
    assert.equal(await a.cache.get('drop01'), null);
  });
});
