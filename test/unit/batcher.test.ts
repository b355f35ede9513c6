// The batcher behind coalesced lookups and inserts: one run per turn of the event loop, results and
// errors routed to the call each belongs to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBatcher } from '../../src/core/batcher.ts';

test('calls made in the same turn share one run, each getting its own result in order', async () => {
  const runs: number[][] = [];
  const double = createBatcher<number, number>(async (inputs) => {
    runs.push([...inputs]);
    return inputs.map((n) => n * 2);
  }, 100);
  assert.deepEqual(await Promise.all([1, 2, 3].map(double)), [2, 4, 6]);
  assert.deepEqual(runs, [[1, 2, 3]]);
  assert.equal(await double(5), 10);
  assert.equal(runs.length, 2, 'a later call is a run of its own');
});

test('batches are split at maxBatch', async () => {
  const sizes: number[] = [];
  const echo = createBatcher<number, number>(async (inputs) => {
    sizes.push(inputs.length);
    return [...inputs];
  }, 4);
  await Promise.all(Array.from({ length: 10 }, (_, i) => echo(i)));
  assert.deepEqual(sizes, [4, 4, 2]);
});

test('an Error result fails only its own call; a failed run fails every call of the batch', async () => {
  const check = createBatcher<number, number>(async (inputs) => inputs.map((n) => (n < 0 ? new Error(`negative ${n}`) : n)), 10);
  const results = await Promise.allSettled([check(1), check(-2), check(3)]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  const broken = createBatcher<number, number>(async () => {
    throw new Error('database down');
  }, 10);
  const all = await Promise.allSettled([broken(1), broken(2)]);
  assert.ok(all.every((r) => r.status === 'rejected' && /database down/.test(String(r.reason))));
});

test('null is a result (a code not found), not a missing one', async () => {
  const find = createBatcher<string, string | null>(async (codes) => codes.map((c) => (c === 'known' ? 'row' : null)), 10);
  assert.deepEqual(await Promise.all([find('known'), find('other')]), ['row', null]);
});

test('at most maxConcurrent runs are in flight; calls that arrive meanwhile go out together in the next run', async () => {
  let inFlight = 0;
  let most = 0;
  const sizes: number[] = [];
  const gates: (() => void)[] = [];
  const slow = createBatcher<number, number>(
    async (inputs) => {
      inFlight++;
      most = Math.max(most, inFlight);
      sizes.push(inputs.length);
      // Each run waits until the test lets it finish: no timing involved.
      await new Promise<void>((resolve) => gates.push(resolve));
      inFlight--;
      return [...inputs];
    },
    2,
    2,
  );
  const first = Array.from({ length: 4 }, (_, i) => slow(i));
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(inFlight, 2, 'two runs of two started');
  // These arrive while both runs are busy.
  const later = Array.from({ length: 4 }, (_, i) => slow(10 + i));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(inFlight, 2, 'no third run while two are in flight');
  while (gates.length > 0 || inFlight > 0) {
    gates.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.deepEqual(await Promise.all([...first, ...later]), [0, 1, 2, 3, 10, 11, 12, 13]);
  assert.equal(most, 2);
  assert.deepEqual(sizes, [2, 2, 2, 2]);
});
