// What the in-process adapters add to their contracts (test/contract): bounds, and time on a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryLinkCache } from '../../src/storage/memory/memory-link-cache.ts';
import { createMemoryRateLimiter } from '../../src/storage/memory/memory-rate-limiter.ts';

const link = { id: 1, url: 'https://example.com/', expiresAt: null, limited: false, isActive: true, consumed: false, forwardQuery: false, hasPassword: false };

test('the in-process cache holds at most maxEntries, dropping an entry not read since it came round first', async () => {
  const cache = createMemoryLinkCache({ maxEntries: 2 });
  await cache.set('a', link, 60);
  await cache.set('b', link, 60);
  await cache.set('a', link, 60); // rewritten: now the newest
  await cache.setMissing('c', 60);
  assert.equal(await cache.get('b'), undefined);
  assert.deepEqual(await cache.get('a'), link);
  assert.equal(await cache.get('c'), null);
  cache.clear();
  assert.equal(await cache.get('a'), undefined);

  // A read counts as use: the entry read last survives the next eviction, the other goes.
  await cache.set('hot', link, 60);
  await cache.set('cold', link, 60);
  await cache.get('hot');
  await cache.set('new', link, 60);
  assert.deepEqual(await cache.get('hot'), link);
  assert.equal(await cache.get('cold'), undefined);
});

test('evictions keep the second-chance order over many rounds and across clear(): the same entries as a plain list would keep', async () => {
  // The reference: the CLOCK of the class's doc comment on an array, oldest first, walked afresh each time.
  const maxEntries = 50;
  const cache = createMemoryLinkCache({ maxEntries });
  let order: { code: string; read: boolean }[] = [];
  const put = (code: string) => {
    order = order.filter((e) => e.code !== code);
    if (order.length >= maxEntries) {
      for (;;) {
        const oldest = order.shift() as { code: string; read: boolean };
        if (!oldest.read) break;
        order.push({ code: oldest.code, read: false });
      }
    }
    order.push({ code, read: false });
  };
  let seed = 7; // mulberry32: a fixed, well-spread sequence
  const random = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
  for (let step = 0; step < 20_000; step++) {
    const code = `k${random(200)}`;
    if (step === 10_000) {
      cache.clear();
      order = [];
    } else if (random(3) === 0) {
      const held = (await cache.get(code)) !== undefined;
      const mine = order.find((e) => e.code === code);
      assert.equal(held, mine !== undefined, `step ${step}: ${code} held`);
      if (mine) mine.read = true;
    } else {
      await cache.set(code, link, 60);
      put(code);
    }
  }
  const kept = [];
  for (const e of order) if ((await cache.get(e.code)) !== undefined) kept.push(e.code);
  assert.equal(order.length, maxEntries);
  assert.equal(kept.length, maxEntries);
});

test('under a skewed mix over ten times more links than fit, the links read often stay', async () => {
  const cache = createMemoryLinkCache({ maxEntries: 100 });
  const hot = Array.from({ length: 10 }, (_, i) => `hot${i}`);
  for (const code of hot) await cache.set(code, link, 60);
  for (let i = 0; i < 1000; i++) {
    await cache.set(`cold${i}`, link, 60);
    if (i % 20 === 0) for (const code of hot) assert.deepEqual(await cache.get(code), link, `${code} after ${i} cold links`);
  }
  const coldLeft = (await Promise.all(Array.from({ length: 1000 }, (_, i) => cache.get(`cold${i}`)))).filter((x) => x !== undefined).length;
  assert.ok(coldLeft <= 90, `at most maxEntries in all (${coldLeft} cold + 10 hot)`);
  assert.ok(coldLeft >= 80, `the rest of the room holds the newest cold links (${coldLeft})`);
});

test('in-process entries expire on their clock, to the millisecond', async () => {
  const clock = { now: 1_000_000 };
  const cache = createMemoryLinkCache({ now: () => clock.now });
  await cache.set('a', link, 5);
  clock.now += 4999;
  assert.deepEqual(await cache.get('a'), link);
  clock.now += 1;
  assert.equal(await cache.get('a'), undefined);
});

test('an in-process read tells what is left of the entry\'s lifetime, "no such code" included', async () => {
  const clock = { now: 1_000_000 };
  const cache = createMemoryLinkCache({ now: () => clock.now });
  await cache.set('a', link, 5);
  await cache.setMissing('m', 2);
  clock.now += 1500;
  assert.deepEqual(await cache.read('a'), { entry: link, remainingMs: 3500 });
  assert.deepEqual(await cache.read('m'), { entry: null, remainingMs: 500 });
  assert.deepEqual(await cache.read('none'), { entry: undefined, remainingMs: null });
});

test('the in-process rate limit starts afresh each minute and says how long is left in this one', async () => {
  const clock = { now: 60_000 * 1000 + 45_000 };
  const limiter = createMemoryRateLimiter(() => clock.now);
  assert.equal(await limiter.hit('ip:1', 2), null);
  assert.equal(await limiter.hit('ip:1', 2), null);
  assert.equal(await limiter.hit('ip:1', 2), 15);
  clock.now += 15_000;
  assert.equal(await limiter.hit('ip:1', 2), null);
});
