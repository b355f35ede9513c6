import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DIRECT, referrerHost } from '../../src/analytics/visitor.ts';

test('referrerHost: a host spelled with the root\'s trailing dot, or in capitals, counts as the same site', () => {
  for (const referer of ['https://evil.com/a', 'https://EVIL.COM./b', 'http://evil.com.:8080/', 'https://Evil.Com.']) assert.equal(referrerHost(referer), 'evil.com', referer);
  // A dot alone is no host.
  assert.equal(referrerHost('http://./'), DIRECT);
});
