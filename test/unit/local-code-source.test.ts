// The in-process code source of `curt serve`: codes taken from the key pool a batch at a time,
// one take in flight, unused codes given back on close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalCodeSource } from '../../src/kgs/local-code-source.ts';
import type { KeyPool } from '../../src/kgs/key-pool.ts';

function fakePool() {
  let next = 0;
  const calls: number[] = [];
  const returned: string[] = [];
  const pool = {
    takeCodes: async (count: number) => {
      calls.push(count);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return Array.from({ length: count }, () => `c${next++}`);
    },
    returnCodes: async (codes: readonly string[]) => {
      returned.push(...codes);
      return codes.length;
    },
    claimCode: async (code: string) => code,
  } as unknown as KeyPool;
  return { pool, calls, returned };
}

test('concurrent takes share one batch from the pool and get distinct codes', async () => {
  const { pool, calls } = fakePool();
  const source = createLocalCodeSource(pool, { batchSize: 50 });
  const codes = await Promise.all(Array.from({ length: 120 }, () => source.takeCode()));
  assert.equal(new Set(codes).size, 120);
  assert.deepEqual(calls, [50, 50, 50]);
  assert.equal(source.buffered(), 30);
});

test('close() gives every unused code back, and takes after it fail with 503', async () => {
  const { pool, returned } = fakePool();
  const source = createLocalCodeSource(pool, { batchSize: 10 });
  const taken = await source.takeCode();
  await source.close();
  assert.equal(returned.length, 9);
  assert.ok(!returned.includes(taken));
  await assert.rejects(source.takeCode(), (err: { status?: number }) => err.status === 503);
});
