import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunksOf } from '../../src/core/chunks.ts';

test('chunksOf: runs of at most the size, in order; one run is the array itself', () => {
  const items = [1, 2, 3, 4, 5];
  assert.deepEqual(chunksOf(items, 2), [[1, 2], [3, 4], [5]]);
  const [only] = chunksOf(items, 5);
  assert.equal(only, items, 'not copied');
  assert.deepEqual(chunksOf([], 3), [[]]);
});
