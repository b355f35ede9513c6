// The tiered cache's near tier against the far entry's own lifetime, on a fake clock: both tiers are
// the in-process adapter here (the tiered stack on Redis runs the same rule through the contract,
// test/integration/link-cache-contract.test.ts), so whole minutes pass without waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CacheRead, LinkCache } from '../../src/storage/link-cache.ts';
import { createMemoryLinkCache, type MemoryLinkCache } from '../../src/storage/memory/memory-link-cache.ts';
import { createTieredLinkCache, type InvalidationBus } from '../../src/storage/tiered-link-cache.ts';

const link = { id: 1, url: 'https://example.com/', expiresAt: null, limited: false, isActive: true, consumed: false, forwardQuery: false, hasPassword: false };

/** One replica alone: always subscribed, nobody else to tell. */
const quietBus: InvalidationBus = {
  publish: () => Promise.resolve({ delivered: true }),
  subscribe: () => undefined,
  subscribed: () => true,
  close: () => Promise.resolve(),
};

function tiers(farOverride?: (far: MemoryLinkCache) => LinkCache) {
  const clock = { now: 1_000_000 };
  const near = createMemoryLinkCache({ now: () => clock.now });
  const far = createMemoryLinkCache({ now: () => clock.now });
  const cache = createTieredLinkCache({ near, far: farOverride ? farOverride(far) : far, bus: quietBus, nearTtlS: 60 });
  return { clock, near, far, cache };
}

test('a far entry read near the end of its lifetime is not served from the near tier after it', async () => {
  const { clock, near, far, cache } = tiers();
  await far.set('a', link, 10);
  await far.setMissing('m', 30);
  clock.now += 7000;
  assert.deepEqual(await cache.get('a'), link);
  assert.deepEqual(await near.read('a'), { entry: link, remainingMs: 3000 }, 'kept near for the 3 s the far entry had left');
  clock.now += 3000;
  assert.equal(await cache.get('a'), undefined, 'a link is gone from both tiers with its far lifetime');
  clock.now += 17_000;
  assert.equal(await cache.get('m'), null);
  assert.deepEqual(await near.read('m'), { entry: null, remainingMs: 3000 }, 'kept near for the 3 s the far entry had left');
  clock.now += 3000;
  assert.equal(await cache.get('m'), undefined, '"no such code" is gone from both tiers with its far lifetime');
});

test('the near tier still keeps a far entry for CACHE_NEAR_TTL_S when the far one lives longer', async () => {
  const { clock, far, cache } = tiers();
  await far.set('a', link, 3600);
  assert.deepEqual(await cache.get('a'), link);
  await far.delete('a'); // behind the tiered cache's back: only the near tier has it now
  clock.now += 59_000;
  assert.deepEqual(await cache.get('a'), link);
  clock.now += 1000;
  assert.equal(await cache.get('a'), undefined);
});

test('a far entry whose remaining lifetime the far tier cannot tell is not kept near', async () => {
  const { far, cache, near } = tiers((far) => ({
    ...far,
    read: async (code): Promise<CacheRead> => ({ entry: (await far.read(code)).entry, remainingMs: null }),
  }));
  await far.set('a', link, 3600);
  await far.setMissing('m', 30);
  assert.deepEqual(await cache.get('a'), link);
  assert.equal(await cache.get('m'), null);
  assert.equal(await near.get('a'), undefined);
  assert.equal(await near.get('m'), undefined);
});

test('peek answers from the near tier alone, without I/O, and only while the near tier may be used', async () => {
  const clock = { now: 1_000_000 };
  const near = createMemoryLinkCache({ now: () => clock.now });
  const far = createMemoryLinkCache({ now: () => clock.now });
  let subscribed = true;
  let onCode: (code: string) => void = () => undefined;
  const bus: InvalidationBus = {
    ...quietBus,
    subscribe: (code) => {
      onCode = code;
    },
    subscribed: () => subscribed,
  };
  const nearResults: string[] = [];
  const cache = createTieredLinkCache({ near, far, bus, nearTtlS: 60, onNearLookup: (result) => nearResults.push(result) });
  await far.set('a', link, 3600);
  assert.equal(cache.peek?.('a'), undefined, 'only in the far tier: peek does not read it');
  assert.deepEqual(await cache.get('a'), link);
  assert.deepEqual(cache.peek?.('a'), link, 'held near after a read');
  assert.deepEqual(nearResults, ['miss', 'hit'], 'a peek hit is counted as a near hit; a peek miss is left to the read');
  assert.throws(() => {
    (cache.peek?.('a') as { url: string }).url = 'https://changed.example/';
  }, TypeError);
  onCode('a');
  assert.equal(cache.peek?.('a'), undefined, 'an invalidation from another replica drops it');
  assert.deepEqual(await cache.get('a'), link);
  subscribed = false;
  assert.equal(cache.peek?.('a'), undefined, 'not subscribed to invalidations: the near tier is bypassed');
  subscribed = true;
  assert.equal(cache.peek?.('a'), undefined, 'and emptied before it is used again');
  await cache.get('a');
  clock.now += 60_000;
  assert.equal(cache.peek?.('a'), undefined, 'and a near entry lives no longer than CACHE_NEAR_TTL_S');
});
