import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTickGroup } from '../../src/core/tick-group.ts';

test('the calls of one tick are sent together and share one promise; the next tick starts a new group', async () => {
  const sent: number[][] = [];
  const add = createTickGroup<number, string>(async (items) => {
    sent.push(items);
    return `sent ${items.join('+')}`;
  });
  const first = add(1);
  const second = add(2);
  assert.equal(first, second, 'one promise for the tick');
  assert.deepEqual(sent, [], 'nothing sent before the tick ends');
  assert.equal(await first, 'sent 1+2');
  const third = add(3);
  assert.notEqual(third, first);
  assert.equal(await third, 'sent 3');
  assert.deepEqual(sent, [[1, 2], [3]]);
});

test('a call made while the group is being sent goes out with the next group', async () => {
  const sent: string[][] = [];
  let later: Promise<void> | undefined;
  const add = createTickGroup<string, void>(async (items) => {
    sent.push(items);
    later ??= add('made during the send');
  });
  await add('first');
  await later;
  assert.deepEqual(sent, [['first'], ['made during the send']]);
});

test("a send that rejects, or throws before returning a promise, rejects the group's promise", async () => {
  const rejecting = createTickGroup<number, void>(() => Promise.reject(new Error('refused')));
  await assert.rejects(Promise.all([rejecting(1), rejecting(2)]), /refused/);
  const throwing = createTickGroup<number, void>(() => {
    throw new Error('thrown');
  });
  await assert.rejects(throwing(1), /thrown/);
  const fine = createTickGroup<number, number>(async (items) => items.length);
  assert.equal(await fine(1), 1, 'a group after a failed one is sent as usual');
});
