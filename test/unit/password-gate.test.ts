// The gate in front of a protected link: wrong guesses limited per link and per client, right ones
// not counted, and limits that still hold (per process) while the shared limiter is down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkPasswordWrong, RateLimited } from '../../src/core/errors.ts';
import { createMemoryRateLimiter } from '../../src/storage/memory/memory-rate-limiter.ts';
import type { RateLimiter } from '../../src/storage/rate-limiter.ts';
import { hashLinkPassword } from '../../src/url/link-password.ts';
import { createPasswordGate } from '../../src/url/password-gate.ts';
import { testLogger } from '../support/log.ts';

const stored = await hashLinkPassword('the right one');
const store = { findPasswordHash: async (id: number) => (id === 1 || id === 2 ? stored : null) };
const limits = { perLink: 2, perClient: 3, windowMs: 60_000 };
// A fixed clock: each guess costs a ~150 ms scrypt hash, and a minute turning between them would
// start the fixed window afresh and let a guess through that the test expects refused.
const now = () => 1_800_000_000_000 + 30_000;

test('wrong guesses: 401 up to the per-link limit, then 429 for the right password too; right ones before that are not counted', async () => {
  const gate = createPasswordGate({ store, limiter: createMemoryRateLimiter(now), limits, log: testLogger('gate') });
  for (let i = 0; i < 5; i++) await gate.check(1, { password: 'the right one', client: `c${i}` });
  await assert.rejects(gate.check(1, { password: 'wrong guess', client: 'a' }), LinkPasswordWrong);
  await assert.rejects(gate.check(1, { password: 'wrong guess', client: 'b' }), LinkPasswordWrong);
  await assert.rejects(gate.check(1, { password: 'the right one', client: 'c' }), (err: unknown) => err instanceof RateLimited && Number(err.headers['retry-after']) >= 1);
});

test('per client: a client past its limit over several links is refused; a link with no password any more passes', async () => {
  const gate = createPasswordGate({ store, limiter: createMemoryRateLimiter(now), limits, log: testLogger('gate') });
  await assert.rejects(gate.check(1, { password: 'wrong guess', client: 'x' }), LinkPasswordWrong);
  await assert.rejects(gate.check(2, { password: 'wrong guess', client: 'x' }), LinkPasswordWrong);
  await assert.rejects(gate.check(2, { password: 'wrong guess', client: 'x' }), LinkPasswordWrong);
  await assert.rejects(gate.check(3, { password: 'anything at all', client: 'x' }), RateLimited);
  await gate.check(3, { password: 'anything at all', client: 'y' });
});

test('with the shared limiter down, each process still limits (and a right password still opens)', async () => {
  const down: RateLimiter = { hit: () => Promise.reject(new Error('ECONNREFUSED')), refund: () => Promise.reject(new Error('ECONNREFUSED')) };
  const gate = createPasswordGate({ store, limiter: down, limits, now, log: testLogger('gate') });
  await gate.check(1, { password: 'the right one', client: 'a' });
  await assert.rejects(gate.check(1, { password: 'wrong guess', client: 'a' }), LinkPasswordWrong);
  await assert.rejects(gate.check(1, { password: 'wrong guess', client: 'b' }), LinkPasswordWrong);
  await assert.rejects(gate.check(1, { password: 'wrong guess', client: 'c' }), RateLimited);
});

test('per client: an IPv6 client is counted by its /64, so guessing from fresh addresses of it is limited too', async () => {
  const gate = createPasswordGate({ store, limiter: createMemoryRateLimiter(now), limits, log: testLogger('gate') });
  await assert.rejects(gate.check(1, { password: 'wrong guess', client: '2001:db8:1:2::1' }), LinkPasswordWrong);
  await assert.rejects(gate.check(2, { password: 'wrong guess', client: '2001:db8:1:2::2' }), LinkPasswordWrong);
  await assert.rejects(gate.check(2, { password: 'wrong guess', client: '2001:0DB8:0001:0002:ffff::3' }), LinkPasswordWrong);
  await assert.rejects(gate.check(3, { password: 'anything at all', client: '2001:db8:1:2::4' }), RateLimited);
  await gate.check(3, { password: 'anything at all', client: '2001:db8:1:3::1' });
});

test('per client: an IPv4 client counts the same by its IPv4-mapped address', async () => {
  const gate = createPasswordGate({ store, limiter: createMemoryRateLimiter(now), limits, log: testLogger('gate') });
  await assert.rejects(gate.check(1, { password: 'wrong guess', client: '203.0.113.7' }), LinkPasswordWrong);
  await assert.rejects(gate.check(2, { password: 'wrong guess', client: '::ffff:203.0.113.7' }), LinkPasswordWrong);
  await assert.rejects(gate.check(2, { password: 'wrong guess', client: '203.0.113.7' }), LinkPasswordWrong);
  await assert.rejects(gate.check(3, { password: 'anything at all', client: '::ffff:203.0.113.7' }), RateLimited);
});
