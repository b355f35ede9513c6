// The key pool against the real Redis: atomic hand-out, cool-down, claims, replenishment, exhaustion.
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { buildTestKgs, LETTERS } from '../support/kgs.ts';
import { createRedisKeyStore, redisKeyNames } from '../../src/storage/redis/redis-key-store.ts';
import { CodesUnavailable, Conflict, InvalidRequest } from '../../src/core/errors.ts';
import { createCodeGenerator } from '../../src/kgs/code-generator.ts';
import { createKeyPool } from '../../src/kgs/key-pool.ts';
import { testLogger } from '../support/log.ts';
import { openTestRedis } from '../support/redis.ts';

test('codes move atomically from available_keys to used_keys, unique under 50 concurrent takers', async (t) => {
  const kgs = await buildTestKgs('pool-take', { target: 3000, lowWatermark: 1000 });
  t.after(() => kgs.close());
  await kgs.pool.replenish();
  const batches = await Promise.all(Array.from({ length: 50 }, () => kgs.pool.takeCodes(50)));
  const all = batches.flat();
  assert.equal(all.length, 2500);
  assert.equal(new Set(all).size, 2500, 'no code handed out twice');
  const keys = redisKeyNames(kgs.redis.prefix);
  const inUsed = await kgs.redis.redis.smismember(keys.used, ...all);
  const inAvailable = await kgs.redis.redis.smismember(keys.available, ...all);
  assert.ok(inUsed.every((x) => x === 1));
  assert.ok(inAvailable.every((x) => x === 0));
});

test('replenishment fills up to the target and only adds codes in neither set', async (t) => {
  const kgs = await buildTestKgs('pool-fill', { target: 2000, lowWatermark: 500 });
  t.after(() => kgs.close());
  const first = await kgs.pool.replenish();
  assert.ok(first.added >= 2000);
  const taken = await kgs.pool.takeCodes(1000);
  await kgs.pool.replenish();
  const sizes = await kgs.pool.sizes();
  assert.ok(sizes.available >= 2000);
  assert.equal(sizes.used, 1000);
  const keys = redisKeyNames(kgs.redis.prefix);
  const back = await kgs.redis.redis.smismember(keys.available, ...taken);
  assert.ok(back.every((x) => x === 0), 'a used code is never generated again');
});

test('a second replica does not replenish while another holds the lock', async (t) => {
  const kgs = await buildTestKgs('pool-lock', { target: 1000, lowWatermark: 100 });
  t.after(() => kgs.close());
  const release = await kgs.store.tryLock('replenish', 5000);
  assert.ok(release);
  const result = await kgs.pool.replenish();
  assert.deepEqual(result, { added: 0, exhausted: false, skipped: true });
  await release();
  assert.equal((await kgs.pool.replenish()).skipped, false);
});

test('returned codes wait out the cool-down, then become available again', async (t) => {
  const kgs = await buildTestKgs('pool-cooldown', { target: 200, lowWatermark: 10, reuseCooldownS: 3600 });
  t.after(() => kgs.close());
  await kgs.pool.replenish();
  const [code, other] = await kgs.pool.takeCodes(2);
  assert.ok(code && other);
  assert.equal(await kgs.pool.returnCodes([code, code, 'NotUsedX']), 1, 'only codes in used_keys count, once');
  assert.equal(await kgs.pool.returnCodes([code]), 0, 'a code already cooling down is not counted again');
  const keys = redisKeyNames(kgs.redis.prefix);
  assert.equal(await kgs.redis.redis.sismember(keys.used, code), 1, 'still used during the cool-down');
  assert.equal(await kgs.redis.redis.sismember(keys.available, code), 0);
  await assert.rejects(kgs.pool.claimCode(code), Conflict, 'a cooling code cannot be claimed');

  kgs.now.value += 3599_000;
  assert.equal(await kgs.store.releaseDue(kgs.now.value), 0);
  kgs.now.value += 1000;
  assert.equal(await kgs.store.releaseDue(kgs.now.value), 1);
  assert.equal(await kgs.redis.redis.sismember(keys.used, code), 0);
  assert.equal(await kgs.redis.redis.sismember(keys.available, code), 1);
});

test('cool-down 0 returns a code at once; a returned alias is released, never recycled', async (t) => {
  const kgs = await buildTestKgs('pool-return', { target: 100, lowWatermark: 10, reuseCooldownS: 0 });
  t.after(() => kgs.close());
  await kgs.pool.replenish();
  const [code] = await kgs.pool.takeCodes(1);
  assert.ok(code);
  await kgs.pool.claimCode('my-alias');
  assert.equal(await kgs.pool.returnCodes([code, 'my-alias']), 2);
  const keys = redisKeyNames(kgs.redis.prefix);
  assert.equal(await kgs.redis.redis.sismember(keys.available, code), 1);
  assert.equal(await kgs.redis.redis.sismember(keys.available, 'my-alias'), 0, 'an alias is never handed out as a generated code');
  assert.equal(await kgs.redis.redis.sismember(keys.used, 'my-alias'), 0);
  assert.equal(await kgs.pool.claimCode('my-alias'), 'my-alias', 'a released alias can be claimed again');
});

test('claims: free → claimed and never handed out; taken, reserved (any case) and malformed are refused', async (t) => {
  const kgs = await buildTestKgs('pool-claim', { length: 4, alphabet: 'abcd', target: 200, lowWatermark: 10 });
  t.after(() => kgs.close());
  await kgs.pool.replenish(); // 256 codes of 4 from "abcd": the whole space is available
  assert.equal(await kgs.pool.claimCode('abcd'), 'abcd');
  await assert.rejects(kgs.pool.claimCode('abcd'), (err: Conflict) => err.code === 'alias_taken');
  for (const word of ['health', 'HEALTH', 'Metrics', 'urls', 'api-keys']) {
    await assert.rejects(kgs.pool.claimCode(word), (err: Conflict) => err.code === 'alias_reserved', word);
  }
  for (const bad of ['ab', 'a'.repeat(11), 'a b', 'ümlaut', 'a/b', '']) {
    await assert.rejects(kgs.pool.claimCode(bad), InvalidRequest, JSON.stringify(bad));
  }
  const all = await kgs.pool.takeCodes(1000);
  assert.equal(all.includes('abcd'), false, 'a claimed code is never handed out');
});

test('an exhausted code space answers promptly with code_space_exhausted, and recovers when codes return', async (t) => {
  // 2^4 = 16 codes: the whole space fits in the pool.
  const kgs = await buildTestKgs('pool-exhaust', { length: 4, alphabet: 'xy', target: 100, lowWatermark: 5, emptyWaitMs: 5000 });
  t.after(() => kgs.close());
  const all = [];
  for (let i = 0; i < 16; i++) all.push(...(await kgs.pool.takeCodes(1)));
  assert.equal(new Set(all).size, 16);
  const started = Date.now();
  await assert.rejects(kgs.pool.takeCodes(1), (err: CodesUnavailable) => err.code === 'code_space_exhausted' && err.status === 503);
  assert.ok(Date.now() - started < 2000, 'does not wait out the 5 s empty wait');
  await kgs.pool.returnCodes(all.slice(0, 3));
  assert.equal((await kgs.pool.takeCodes(10)).length, 3);
});

test('an empty pool whose replenishment is held elsewhere answers pool_empty after the wait', async (t) => {
  const kgs = await buildTestKgs('pool-empty', { target: 50, lowWatermark: 10, emptyWaitMs: 300 });
  t.after(() => kgs.close());
  const release = await kgs.store.tryLock('replenish', 10_000); // another replica "is replenishing"
  assert.ok(release);
  const started = Date.now();
  await assert.rejects(kgs.pool.takeCodes(1), (err: CodesUnavailable) => err.code === 'pool_empty');
  const waited = Date.now() - started;
  assert.ok(waited >= 250 && waited < 3000, `waited ${waited} ms`);
  await release();
});

test('an empty pool this replica is refilling hands out codes from the refill\'s first batch, without waiting for the whole refill', async (t) => {
  const redis = await openTestRedis('pool-first-batch');
  const real = createRedisKeyStore(redis.redis, redis.prefix);
  // The refill's first batch goes in; the next one waits until the test lets it (a refill to a large
  // target takes seconds, past the half of the caller's timeout that an empty pool may be waited on).
  let offers = 0;
  let letGo = (): void => {};
  const held = new Promise<void>((resolve) => (letGo = resolve));
  const store = { ...real, offer: async (codes: readonly string[]) => (++offers > 1 ? held.then(() => real.offer(codes)) : real.offer(codes)) };
  const pool = createKeyPool({ store, generator: createCodeGenerator({ length: 6, alphabet: LETTERS }), log: testLogger('kgs'), lowWatermark: 10, target: 50_000, reuseCooldownS: 0, emptyWaitMs: null });
  t.after(async () => {
    letGo();
    await pool.replenish().catch(() => undefined);
    await redis.cleanup();
  });
  let refilled = false;
  const refill = pool.replenish().finally(() => (refilled = true));
  // The refill cannot end before letGo(): a take that waited for it would never answer.
  const codes = await Promise.race([pool.takeCodes(1, { callerTimeoutMs: 60_000 }), sleep(10_000, 'still waiting for the whole refill')]);
  assert.equal(codes.length, 1, String(codes));
  assert.equal(refilled, false, 'handed out while the refill was still going');
  letGo();
  assert.ok((await refill).added >= 50_000 - 1);
});
