// The subject a per-client rate limit counts: an IPv4 address, or an IPv6 client's /64 however its
// address is spelt, so that rotating through one's own /64 does not escape the limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientSubject } from '../../src/core/client-subject.ts';

test('an IPv4 address is its own subject', () => {
  assert.equal(clientSubject('203.0.113.7'), '203.0.113.7');
  assert.equal(clientSubject('127.0.0.1'), '127.0.0.1');
  assert.notEqual(clientSubject('203.0.113.7'), clientSubject('203.0.113.8'));
});

test('an IPv4-mapped IPv6 address (a dual-stack socket\'s IPv4 peer) counts as its IPv4 address, however it is spelt', () => {
  for (const mapped of ['::ffff:203.0.113.7', '::FFFF:203.0.113.7', '0:0:0:0:0:ffff:203.0.113.7', '::ffff:cb00:7107', '0000:0000:0000:0000:0000:FFFF:CB00:7107']) {
    assert.equal(clientSubject(mapped), '203.0.113.7', mapped);
  }
  assert.equal(clientSubject('::ffff:0.0.0.0'), '0.0.0.0');
  assert.equal(clientSubject('::ffff:255.255.255.255'), '255.255.255.255');
});

test('every address of one /64, in every spelling, is one subject: the /64 in one canonical spelling', () => {
  const spellings = [
    '2001:db8:1:2::1',
    '2001:db8:1:2::7',
    '2001:db8:1:2:ffff:ffff:ffff:ffff',
    '2001:0db8:0001:0002:0000:0000:0000:0001',
    '2001:DB8:1:2:A:B:C:D',
    '2001:db8:1:2:0:0:0:0',
    '2001:db8:1:2::',
    '2001:db8:1:2::192.0.2.1',
    '2001:db8:1:2:dead:beef::',
  ];
  for (const address of spellings) assert.equal(clientSubject(address), '2001:db8:1:2::/64', address);
});

test('different /64s are different subjects, and zeros in the prefix are compressed the RFC 5952 way', () => {
  assert.notEqual(clientSubject('2001:db8:1:2::1'), clientSubject('2001:db8:1:3::1'));
  assert.notEqual(clientSubject('2001:db8:1:2::1'), clientSubject('2001:db9:1:2::1'));
  assert.equal(clientSubject('2001:db8::1'), '2001:db8::/64');
  assert.equal(clientSubject('2001:db8:0:1::5'), '2001:db8:0:1::/64');
  assert.equal(clientSubject('2001:0:0:1::5'), '2001:0:0:1::/64');
  assert.equal(clientSubject('0:0:0:1::5'), '0:0:0:1::/64');
  assert.equal(clientSubject('2600:1f18:abcd:ef01:2:3:4:5'), '2600:1f18:abcd:ef01::/64');
});

test('::1 and :: are the /64 of zeros; an IPv4-compatible (not mapped) address is IPv6 too', () => {
  assert.equal(clientSubject('::1'), '::/64');
  assert.equal(clientSubject('::'), '::/64');
  assert.equal(clientSubject('0:0:0:0:0:0:0:1'), '::/64');
  assert.equal(clientSubject('::203.0.113.7'), '::/64');
});

test('a zone id is dropped: it names a local interface, and its free text must not make subjects', () => {
  assert.equal(clientSubject('fe80::1%eth0'), 'fe80::/64');
  assert.equal(clientSubject('fe80::2%eth1'), 'fe80::/64');
  assert.equal(clientSubject('fe80::a:b:c:d%25'), 'fe80::/64');
  assert.equal(clientSubject('fe80::3%'), 'fe80::/64', 'an empty zone too');
  assert.equal(clientSubject('::ffff:203.0.113.7%eth0'), '203.0.113.7');
});

test('something that is not an address is left as it is', () => {
  for (const text of ['', 'unknown', 'not:an:address', '1.2.3.04', '2001:db8::1::2', '%eth0']) assert.equal(clientSubject(text), text, text);
});
