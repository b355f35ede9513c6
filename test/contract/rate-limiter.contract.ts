// What every RateLimiter adapter must do (Redis, in-process): a fixed one-minute window per subject.
// Run by test/integration/rate-limiter-contract.test.ts once per adapter.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RateLimiter } from '../../src/storage/rate-limiter.ts';

export interface RateLimiterSubject {
  limiter: RateLimiter;
  close(): Promise<void>;
}

/** The window is the clock's minute: a test that straddles its end would see the count reset. */
async function awayFromWindowEnd(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 3000) await sleep(left + 50);
}

export function rateLimiterContract(adapter: string, open: () => Promise<RateLimiterSubject>): void {
  describe(`RateLimiter contract: ${adapter}`, () => {
    let subject: RateLimiterSubject;
    const subject_ = () => `key:${randomBytes(4).toString('hex')}`;
    before(async () => {
      subject = await open();
    });
    after(() => subject.close());

    test('allows the limit, then answers how many seconds to wait, within the minute', async () => {
      await awayFromWindowEnd();
      const who = subject_();
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push(await subject.limiter.hit(who, 3));
      assert.deepEqual(answers.slice(0, 3), [null, null, null]);
      for (const wait of answers.slice(3)) assert.ok(typeof wait === 'number' && wait >= 1 && wait <= 60, `waits ${wait} s`);
    });

    test('a refund takes one hit back, never below zero; windows of another length are counted apart', async () => {
      await awayFromWindowEnd();
      const who = subject_();
      assert.equal(await subject.limiter.hit(who, 2), null);
      assert.equal(await subject.limiter.hit(who, 2), null);
      await subject.limiter.refund(who);
      assert.equal(await subject.limiter.hit(who, 2), null, 'the refunded hit is free again');
      assert.notEqual(await subject.limiter.hit(who, 2), null);
      const fresh = subject_();
      await subject.limiter.refund(fresh);
      await subject.limiter.refund(fresh);
      assert.equal(await subject.limiter.hit(fresh, 1), null);
      assert.notEqual(await subject.limiter.hit(fresh, 1), null, 'refunds before any hit bank nothing');
      const nextSecond = () => sleep(1000 - (Date.now() % 1000) + 20);
      // Both hits must fall in one second. On a loaded machine they may not: such a round shows nothing
      // either way, and is played again with a new subject (at most 5 times).
      let short: string;
      for (let round = 1; ; round++) {
        short = subject_();
        await nextSecond();
        const second = Math.floor(Date.now() / 1000);
        const first = await subject.limiter.hit(short, 1, 1000);
        const wait = await subject.limiter.hit(short, 1, 1000);
        if (Math.floor(Date.now() / 1000) !== second && round < 5) continue;
        assert.equal(first, null);
        assert.ok(wait === 1, `a one-second window waits at most 1 s (got ${wait})`);
        break;
      }
      await nextSecond();
      assert.equal(await subject.limiter.hit(short, 1, 1000), null, 'the next window counts anew');
    });

    test('subjects are counted apart', async () => {
      await awayFromWindowEnd();
      const [a, b] = [subject_(), subject_()];
      assert.equal(await subject.limiter.hit(a, 1), null);
      assert.notEqual(await subject.limiter.hit(a, 1), null);
      assert.equal(await subject.limiter.hit(b, 1), null);
    });
  });
}
