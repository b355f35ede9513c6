// What every KeyStore adapter must do (Redis, and SQL on PostgreSQL and PGlite): the key pool's guarantees in docs/architecture.md
// at the store — atomic hand-out, no code generated twice, claims, cool-down, locks — and the key pool
// keeping them on top of it. Run by test/integration/key-store-contract.test.ts once per adapter.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { isReservedCode } from '../../src/core/reserved.ts';
import { createCodeGenerator } from '../../src/kgs/code-generator.ts';
import { createKeyPool, MAX_CODES_PER_REQUEST } from '../../src/kgs/key-pool.ts';
import type { KeyStore } from '../../src/storage/key-store.ts';
import { testLogger } from '../support/log.ts';

export interface KeyStoreSubject {
  /** An empty store for one test (the tests of a suite run one after another). */
  fresh(): Promise<KeyStore>;
  close(): Promise<void>;
}

const codes = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);

export function keyStoreContract(adapter: string, open: () => Promise<KeyStoreSubject>): void {
  describe(`KeyStore contract: ${adapter}`, () => {
    let subject: KeyStoreSubject;
    before(async () => {
      subject = await open();
    });
    after(() => subject.close());

    test('offer adds only codes in neither set; take moves them to used and reports what remains', async () => {
      const store = await subject.fresh();
      assert.equal(await store.offer(['aaaaaa', 'bbbbbb', 'aaaaaa']), 2, 'a duplicate in the batch counts once');
      assert.equal(await store.offer(['aaaaaa', 'cccccc']), 1);
      const taken = await store.take(2);
      assert.equal(taken.codes.length, 2);
      assert.equal(taken.remaining, 1);
      assert.deepEqual(await store.sizes(), { available: 1, used: 2, coolingDown: 0 });
      assert.equal(await store.offer(taken.codes), 0, 'a used code is never offered again');
      const last = await store.take(5);
      assert.equal(last.codes.length, 1);
      assert.deepEqual(await store.take(1), { codes: [], remaining: 0 });
      assert.equal(new Set([...taken.codes, ...last.codes]).size, 3);
    });

    test('25 concurrent takers never receive the same code', async () => {
      const store = await subject.fresh();
      await store.offer(codes('t', 500));
      const batches = await Promise.all(Array.from({ length: 25 }, () => store.take(30)));
      const all = batches.flatMap((b) => b.codes);
      assert.equal(all.length, 500);
      assert.equal(new Set(all).size, 500);
      assert.deepEqual(await store.sizes(), { available: 0, used: 500, coolingDown: 0 });
    });

    test('claim: a new or available code becomes used once; a used or cooling code is refused', async () => {
      const store = await subject.fresh();
      await store.offer(['avail1', 'other1']);
      assert.equal(await store.claim('launch'), true);
      assert.equal(await store.claim('avail1'), true, 'an available code can be claimed, and leaves the pool');
      assert.equal(await store.claim('launch'), false);
      const concurrent = await Promise.all(Array.from({ length: 10 }, () => store.claim('racey')));
      assert.equal(concurrent.filter(Boolean).length, 1, 'one of ten concurrent claims wins');
      assert.deepEqual(await store.take(10), { codes: ['other1'], remaining: 0 });
      assert.equal(await store.offer(['launch', 'avail1']), 0, 'a claimed code is never generated');
      await store.giveBack(['other1'], [], Date.now() + 60_000);
      assert.equal(await store.claim('other1'), false, 'a cooling code cannot be claimed');
    });

    test('give back with a cool-down: codes stay used until due, then generated ones return and aliases leave', async () => {
      const store = await subject.fresh();
      await store.offer(['gen001', 'gen002']);
      await store.take(2);
      await store.claim('alias1');
      const due = 1_000_000;
      assert.equal(await store.giveBack(['gen001', 'gen001', 'unknwn'], ['alias1'], due), 2, 'only used codes count, once');
      assert.equal(await store.giveBack(['gen001'], [], due), 0, 'a code already cooling is not taken back twice');
      assert.deepEqual(await store.sizes(), { available: 0, used: 3, coolingDown: 2 });
      assert.equal(await store.offer(['gen001', 'alias1']), 0, 'cooling codes are still used');
      assert.equal(await store.releaseDue(due - 1), 0);
      assert.equal(await store.releaseDue(due), 2);
      assert.deepEqual(await store.sizes(), { available: 1, used: 1, coolingDown: 0 });
      assert.deepEqual((await store.take(5)).codes, ['gen001']);
      assert.equal(await store.claim('alias1'), true, 'a released alias can be claimed again');
    });

    test('coolingUntil: when a returned code or alias may be claimed again; null while in use, free, or once released', async () => {
      const store = await subject.fresh();
      await store.offer(['gen101']);
      await store.take(1);
      await store.claim('alias9');
      assert.equal(await store.coolingUntil('alias9'), null, 'in use, not cooling');
      assert.equal(await store.coolingUntil('nosuch'), null, 'never seen');
      const due = 1_900_000_000_000;
      await store.giveBack(['gen101'], ['alias9'], due);
      assert.equal(await store.coolingUntil('gen101'), due, 'a generated code waits to be recycled');
      assert.equal(await store.coolingUntil('alias9'), due, 'an alias waits to be released');
      assert.equal(await store.claim('alias9'), false);
      await store.releaseDue(due);
      assert.equal(await store.coolingUntil('alias9'), null);
      assert.equal(await store.claim('alias9'), true);
    });

    test('give back at once, and releaseDue beyond one batch', async () => {
      const store = await subject.fresh();
      await store.offer(['now001']);
      await store.take(1);
      await store.claim('nowals');
      assert.equal(await store.giveBack(['now001'], ['nowals'], null), 2);
      assert.deepEqual(await store.sizes(), { available: 1, used: 0, coolingDown: 0 });
      const many = codes('r', 1200);
      await store.offer(many);
      await store.take(1000);
      await store.take(1000);
      assert.equal(await store.giveBack(many, [], 5), 1200);
      assert.equal(await store.releaseDue(10), 1200);
      assert.deepEqual(await store.sizes(), { available: 1200, used: 1, coolingDown: 0 });
    });

    test('a lock has one holder until released or expired; a stale holder cannot release the next one', async () => {
      const store = await subject.fresh();
      const release = await store.tryLock('replenish', 60_000);
      assert.ok(release);
      assert.equal(await store.tryLock('replenish', 60_000), null);
      assert.ok(await store.tryLock('another', 60_000), 'locks are by name');
      await release();
      const short = await store.tryLock('replenish', 150);
      assert.ok(short);
      await sleep(250);
      const next = await store.tryLock('replenish', 60_000);
      assert.ok(next, 'an expired lock can be taken');
      await short();
      assert.equal(await store.tryLock('replenish', 60_000), null, 'the expired holder did not release the new lock');
      await next();
      await store.ping();
    });

    test('a replenishment run ends after adding one target of codes, even while takers drain the pool as fast as it fills', { timeout: 20_000 }, async () => {
      const store = await subject.fresh();
      let takenByRacer = 0;
      // Every offer is followed at once by a take of all that is available, so `available` never
      // reaches the target: only the per-run bound can end the run.
      const racing: KeyStore = {
        ...store,
        offer: async (candidates) => {
          const fresh = await store.offer(candidates);
          takenByRacer += (await store.take(MAX_CODES_PER_REQUEST * 10)).codes.length;
          return fresh;
        },
      };
      const target = 12_000;
      const pool = createKeyPool({ store: racing, generator: createCodeGenerator({ length: 6, alphabet: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ' }), log: testLogger('contract'), lowWatermark: 4000, target, reuseCooldownS: 0, emptyWaitMs: 0 });
      const run = await pool.replenish();
      assert.equal(run.added, target, 'one run adds exactly the target, then stops');
      assert.equal(takenByRacer, target, 'the racer took every code the run added');
      assert.deepEqual(await store.sizes(), { available: 0, used: target, coolingDown: 0 });
    });

    test('the key pool on this store hands out unique, unreserved codes across replenishments', async () => {
      const store = await subject.fresh();
      const pool = createKeyPool({
        store,
        generator: createCodeGenerator({ length: 4, alphabet: 'abcdefghijklmnopqrstuvwxyz' }),
        log: testLogger('contract'),
        lowWatermark: 50,
        target: 200,
        reuseCooldownS: 0,
        emptyWaitMs: 2000,
      });
      await pool.claimCode('abcd');
      const handed = (await Promise.all(Array.from({ length: 20 }, () => pool.takeCodes(40)))).flat();
      assert.equal(handed.length, 800);
      assert.equal(new Set(handed).size, 800, 'no code handed out twice');
      assert.ok(!handed.includes('abcd'), 'a claimed alias is never handed out');
      assert.ok(!handed.some(isReservedCode), 'no reserved word (urls, docs...) is ever handed out');
    });
  });
}
