// What every LinkCache adapter must do (Redis, in-process, and the two tiers the services run: an
// in-process tier in front of Redis): entries and "no such code" entries with a lifetime that reading
// them never extends, fills that never overwrite a newer state, tombstones that do, and a change made
// through one replica read by every other one. Run by test/integration/link-cache-contract.test.ts
// once per adapter.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CachedLink, LinkCache } from '../../src/storage/link-cache.ts';
import { cachedLink as link } from '../support/cached-link.ts';

export interface LinkCacheSubject {
  cache: LinkCache;
  /** Another replica's cache over the same shared state; the same cache where one process is all there is. */
  peer: LinkCache;
  close(): Promise<void>;
}


export function linkCacheContract(adapter: string, open: () => Promise<LinkCacheSubject>): void {
  describe(`LinkCache contract: ${adapter}`, () => {
    let subject: LinkCacheSubject;
    let cache: LinkCache;
    let peer: LinkCache;
    const run = randomBytes(3).toString('hex');
    let n = 0;
    const code = () => `c${run}${n++}`;

    before(async () => {
      subject = await open();
      cache = subject.cache;
      peer = subject.peer;
    });
    after(() => subject.close());

    test('a miss is undefined; a stored link comes back equal, and a later set replaces it', async () => {
      const c = code();
      assert.equal(await cache.get(c), undefined);
      const stored = link(1, { expiresAt: Date.now() + 60_000, limited: true, consumed: true });
      await cache.set(c, stored, 60);
      assert.deepEqual(await cache.get(c), stored);
      await cache.set(c, link(1, { isActive: false }), 60);
      assert.deepEqual(await cache.get(c), link(1, { isActive: false }));
      const copy = await cache.get(c);
      // A cache hands out a copy (Redis) or a frozen entry (in-process): changing it either changes
      // nothing the cache holds or is refused.
      try {
        if (copy) copy.url = 'https://changed.example/';
      } catch (err) {
        assert.ok(err instanceof TypeError && Object.isFrozen(copy), 'only a frozen entry refuses a change');
      }
      assert.equal((await cache.get(c))?.url, 'https://example.com/1', 'what a caller does to what it read never changes the cache');
    });

    test('a link behind a password is cached as one (the flag, never a hash)', async () => {
      const c = code();
      await cache.set(c, link(7, { hasPassword: true }), 60);
      assert.equal((await cache.get(c))?.hasPassword, true);
      await cache.set(c, link(7, { hasPassword: false }), 60);
      assert.equal((await cache.get(c))?.hasPassword, false);
    });

    test('a limited, forwarding link behind a password keeps every flag, each apart from the others', async () => {
      const c = code();
      const all = link(8, { limited: true, forwardQuery: true, hasPassword: true });
      await cache.set(c, all, 60);
      assert.deepEqual(await cache.get(c), all);
      await cache.set(c, link(8, { forwardQuery: true }), 60);
      assert.deepEqual(await cache.get(c), link(8, { forwardQuery: true }), 'forwarding alone is no password');
      await cache.set(c, link(8, { hasPassword: true }), 60);
      assert.deepEqual(await cache.get(c), link(8, { hasPassword: true }), 'a password alone forwards nothing');
    });

    test('"no such code" is null, and never covers a real entry unless it is a tombstone', async () => {
      const missing = code();
      await cache.setMissing(missing, 60);
      assert.equal(await cache.get(missing), null);
      const raced = code();
      await cache.set(raced, link(2), 60);
      await cache.setMissing(raced, 60);
      assert.deepEqual(await cache.get(raced), link(2), 'a creation racing with a miss wins');
      await cache.setMissing(raced, 60, { overwrite: true });
      assert.equal(await cache.get(raced), null, 'a deletion leaves a tombstone over the entry');
      await cache.set(raced, link(3), 60);
      assert.deepEqual(await cache.get(raced), link(3), 'a new link on the code replaces the tombstone');
    });

    test('a fill (ifAbsent) never replaces an entry, a tombstone included', async () => {
      const c = code();
      await cache.set(c, link(4), 60, { ifAbsent: true });
      assert.deepEqual(await cache.get(c), link(4), 'fills an absent entry');
      await cache.set(c, link(4, { isActive: true, url: 'https://stale.example/' }), 60, { ifAbsent: true });
      assert.deepEqual(await cache.get(c), link(4));
      await cache.setMissing(c, 60, { overwrite: true });
      await cache.set(c, link(4), 60, { ifAbsent: true });
      assert.equal(await cache.get(c), null, 'a lookup that read the row before the deletion cannot bring it back');
    });

    test('delete forgets an entry; a lifetime of 0 stores nothing', async () => {
      const c = code();
      await cache.set(c, link(5), 60);
      await cache.delete(c);
      assert.equal(await cache.get(c), undefined);
      await cache.delete(code());
      const zero = code();
      await cache.set(zero, link(6), 0);
      await cache.setMissing(zero, 0);
      assert.equal(await cache.get(zero), undefined);
    });

    test('entries end with their lifetime', async () => {
      const [short, shortMissing, long] = [code(), code(), code()];
      await cache.set(short, link(7), 1);
      await cache.setMissing(shortMissing, 1);
      await cache.set(long, link(8), 60);
      await sleep(1100);
      assert.equal(await cache.get(short), undefined);
      assert.equal(await cache.get(shortMissing), undefined);
      assert.deepEqual(await cache.get(long), link(8));
    });

    test('reading an entry never extends its lifetime, on any replica', async () => {
      // The reads must fall inside the one-second lifetime. On a loaded machine they can take longer:
      // such a round shows nothing either way, and is played again with new codes (at most 5 times).
      let short: string;
      let shortMissing: string;
      for (let round = 1; ; round++) {
        [short, shortMissing] = [code(), code()];
        const started = Date.now();
        await cache.set(short, link(9), 1);
        await cache.setMissing(shortMissing, 1);
        const read: [CachedLink | null | undefined, CachedLink | null | undefined][] = [];
        for (const reader of [cache, peer, cache, peer]) read.push([await reader.get(short), await reader.get(shortMissing)]);
        if (Date.now() - started > 900 && round < 5) continue;
        for (const [entry, missing] of read) {
          assert.deepEqual(entry, link(9));
          assert.equal(missing, null);
        }
        break;
      }
      await sleep(1100);
      for (const reader of [cache, peer]) {
        assert.equal(await reader.get(short), undefined, 'an entry read while it lived is gone after its lifetime');
        assert.equal(await reader.get(shortMissing), undefined, '"no such code" read while it lived is gone after its lifetime');
      }
    });

    test('an update, a one-time use, a tombstone and a deletion made through one replica are what the other reads once the write returns', async () => {
      const c = code();
      const warm = async (expected: CachedLink | null) => {
        assert.deepEqual(await peer.get(c), expected);
        assert.deepEqual(await peer.get(c), expected, 'read again, from wherever the other replica keeps it');
      };
      await cache.set(c, link(10), 60);
      await warm(link(10));
      await cache.set(c, link(10, { isActive: false }), 60);
      assert.deepEqual(await peer.get(c), link(10, { isActive: false }), 'an update');
      await cache.setMissing(c, 60, { overwrite: true });
      assert.equal(await peer.get(c), null, 'a deletion tombstone');
      await cache.set(c, link(11), 60);
      await warm(link(11));
      await cache.delete(c);
      assert.equal(await peer.get(c), undefined, 'a forgotten entry');

      const once = code();
      await cache.set(once, link(12, { limited: true }), 60, { created: true });
      assert.deepEqual(await peer.get(once), link(12, { limited: true }));
      await cache.set(once, link(12, { limited: true, consumed: true }), 60);
      assert.deepEqual(await peer.get(once), link(12, { limited: true, consumed: true }), 'a limited link used up');
    });

    test('a link created through one replica replaces the other\'s "no such code" entry', async () => {
      const c = code();
      await cache.setMissing(c, 60);
      assert.equal(await peer.get(c), null);
      assert.equal(await peer.get(c), null);
      await cache.set(c, link(13), 60, { created: true });
      // A creation does not wait for the other replicas (see src/storage/link-cache.ts): wait for it.
      const deadline = Date.now() + 5000;
      while ((await peer.get(c)) === null && Date.now() < deadline) await sleep(10);
      assert.deepEqual(await peer.get(c), link(13));
    });
  });
}
