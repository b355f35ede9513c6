// within(work, ms) (src/core/within.ts): a stop's wait for work under way, bounded by its deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { within } from '../../src/core/within.ts';

/** Whether `promise` has settled after the turns already queued have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await sleep(20);
  return done;
}

test('work done before the deadline ends the wait; work still going at it does not hold it', async () => {
  await within(Promise.resolve('done'), 1000);
  const never = new Promise(() => undefined);
  const started = performance.now();
  await within(never, 30);
  assert.ok(performance.now() - started >= 25, 'waited for the deadline');
});

test('a failure of the work before the deadline is the wait\'s failure', async () => {
  await assert.rejects(within(Promise.reject(new Error('hung up')), 1000), /hung up/);
});

test('no deadline (Infinity) waits for the work alone, not the 1 ms setTimeout would make of it', async () => {
  let finish: () => void = () => undefined;
  const work = new Promise<void>((resolve) => (finish = resolve));
  const wait = within(work, Number.POSITIVE_INFINITY);
  assert.equal(await settled(wait), false, 'still waiting after 20 ms');
  finish();
  assert.equal(await settled(wait), true);
});
