// createGate: at most `max` calls at once, the next in turn as one ends, and one that finds no turn
// within the wait refused with the gate's own error (src/core/gate.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGate } from '../../src/core/gate.ts';

test('at most max at once; a waiting call runs when one ends; one that waits past maxWaitMs gets the full error; a failing call frees its turn too', async () => {
  const gate = createGate({ max: 2, maxWaitMs: 100, full: () => new Error('full') });
  let running = 0;
  let most = 0;
  const releases: (() => void)[] = [];
  const held = () =>
    gate.run(
      () =>
        new Promise<string>((resolve) => {
          running += 1;
          most = Math.max(most, running);
          releases.push(() => {
            running -= 1;
            resolve('done');
          });
        }),
    );
  const first = held();
  const second = held();
  const third = held();
  const fourth = held();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(running, 2);
  releases.shift()?.();
  assert.equal(await first, 'done');
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(running, 2, 'the third got the turn the first left');
  await assert.rejects(fourth, /full/, 'the fourth found no turn within 100 ms');
  releases.shift()?.();
  releases.shift()?.();
  assert.deepEqual(await Promise.all([second, third]), ['done', 'done']);
  assert.equal(most, 2);
  await assert.rejects(gate.run(() => Promise.reject(new Error('broken'))), /broken/);
  assert.equal(await gate.run(() => { throw new Error('thrown'); }).catch((err: Error) => err.message), 'thrown');
  assert.deepEqual(await Promise.all([gate.run(async () => 1), gate.run(async () => 2)]), [1, 2], 'the failed calls left their turns');
});
