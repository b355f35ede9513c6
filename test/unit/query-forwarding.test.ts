// The merge rule of query forwarding (src/url/query-forwarding.ts): the short link's parameters after
// the target's, replacing a name the target has too, the fragment last, never past the URL length.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_URL_LENGTH } from '../../src/core/validation-message.ts';
import { forwardQuery, forwardRequestQuery } from '../../src/url/query-forwarding.ts';

test('no query, or an empty one, leaves the target as it is', () => {
  for (const query of ['', '&', '&&&']) assert.equal(forwardQuery('https://example.com/page?ref=1#top', query), 'https://example.com/page?ref=1#top', JSON.stringify(query));
  assert.equal(forwardRequestQuery('https://example.com/page?ref=1', '/abc'), 'https://example.com/page?ref=1');
  assert.equal(forwardRequestQuery('https://example.com/page?ref=1', '/abc?'), 'https://example.com/page?ref=1');
});

test("the short link's parameters come after the target's, in their order", () => {
  assert.equal(forwardQuery('https://target.example/page?ref=1', 'utm_source=x'), 'https://target.example/page?ref=1&utm_source=x');
  assert.equal(forwardQuery('https://target.example/page', 'b=2&a=1'), 'https://target.example/page?b=2&a=1');
  assert.equal(forwardQuery('https://target.example/', 'a=1'), 'https://target.example/?a=1');
  assert.equal(forwardQuery('https://target.example/page?', 'a=1'), 'https://target.example/page?a=1', "a target's empty query");
});

test("a name in both takes the short link's value: every occurrence of the target's goes, the rest keep their order", () => {
  assert.equal(forwardQuery('https://t.example/?a=1&ref=t&b=2&ref=u', 'ref=s'), 'https://t.example/?a=1&b=2&ref=s');
  assert.equal(forwardQuery('https://t.example/?tag=z&x=1', 'tag=a&tag=b'), 'https://t.example/?x=1&tag=a&tag=b', 'repeated keys of the short link all come');
  assert.equal(forwardQuery('https://t.example/?x=1', 'x=1&x=1'), 'https://t.example/?x=1&x=1', 'even the same value twice');
});

test('empty values and bare names are parameters like any other; empty pairs are dropped', () => {
  assert.equal(forwardQuery('https://t.example/?a=1&b=2', 'a=&c'), 'https://t.example/?b=2&a=&c');
  assert.equal(forwardQuery('https://t.example/?a&&b=', 'b'), 'https://t.example/?a&b');
  assert.equal(forwardQuery('https://t.example/?a=1', '=x'), 'https://t.example/?a=1&=x', 'an empty name');
});

test("the target's fragment stays at the end; a ? inside it is the fragment's", () => {
  assert.equal(forwardQuery('https://t.example/page?ref=1#section', 'utm_source=x'), 'https://t.example/page?ref=1&utm_source=x#section');
  assert.equal(forwardQuery('https://t.example/page#frag?notquery=1', 'a=1'), 'https://t.example/page?a=1#frag?notquery=1');
  assert.equal(forwardRequestQuery('https://t.example/page', '/abc?a=1#client-side'), 'https://t.example/page?a=1', "a fragment sent in the request is not the query's");
});

test('names are compared decoded and each pair keeps its own spelling; what a URL cannot hold is percent-encoded', () => {
  assert.equal(forwardQuery('https://t.example/?utm_source=t&q=a+b', 'utm%5Fsource=s'), 'https://t.example/?q=a+b&utm%5Fsource=s');
  assert.equal(forwardQuery('https://t.example/?a+b=1', 'a%20b=2'), 'https://t.example/?a%20b=2', '+ and %20 both name a space');
  assert.equal(forwardQuery('https://t.example/?x=1', 'caf%C3%A9=%E2%9C%93'), 'https://t.example/?x=1&caf%C3%A9=%E2%9C%93', 'escapes kept as sent');
  assert.equal(forwardQuery('https://t.example/', 'q=café "x" <y>'), 'https://t.example/?q=caf%C3%A9%20%22x%22%20%3Cy%3E');
  assert.equal(forwardQuery('https://t.example/?%=1', '%=2'), 'https://t.example/?%25=2', 'a stray % is compared as spelled (and forwarded escaped)');
});

test('a stray % of the forwarded query (not followed by two hex digits) is forwarded as %25; valid escapes are kept', () => {
  assert.equal(forwardRequestQuery('https://example.com/a?b=1', '/fq1?x=%&y=%zz'), 'https://example.com/a?b=1&x=%25&y=%25zz');
  assert.equal(forwardQuery('https://t.example/?a=1', 'b=%ZZ'), 'https://t.example/?a=1&b=%25ZZ', 'a malformed escape');
  assert.equal(forwardQuery('https://t.example/', 'q=100%&r=%4&s=%'), 'https://t.example/?q=100%25&r=%254&s=%25', 'at the end of a pair, and one hex digit only');
  assert.equal(forwardQuery('https://t.example/', 'ok=%41%2f%C3%A9&mixed=%%41%25'), 'https://t.example/?ok=%41%2f%C3%A9&mixed=%25%41%25', 'escapes of either case, and %25 itself, are kept');
  assert.equal(forwardQuery('https://t.example/?%=1&k=2', '%25=3'), 'https://t.example/?k=2&%25=3', 'the name %25 replaces the stray % it now is');
  for (const query of ['x=%', 'y=%zz', 'z=%4', 'w=%%']) {
    const location = forwardQuery('https://t.example/', query);
    assert.doesNotMatch(location, /%(?![0-9A-Fa-f]{2})/, `${query}: every % begins an escape`);
    assert.equal(new URL(location).href, location, `${query}: written as the WHATWG parser writes it`);
  }
});

test('a result longer than MAX_URL_LENGTH is not made: the target as it is', () => {
  const target = `https://t.example/${'p'.repeat(MAX_URL_LENGTH - 40)}?ref=1`;
  const fits = 'x'.repeat(MAX_URL_LENGTH - target.length - 3);
  assert.equal(forwardQuery(target, `a=${fits}`).length, MAX_URL_LENGTH, 'exactly the limit is fine');
  assert.equal(forwardQuery(target, `a=${fits}x`), target);
  assert.equal(forwardQuery(target, `a=${'é'.repeat(20)}`), target, 'measured once encoded');
  assert.equal(forwardQuery(target, `ref=${'y'.repeat(MAX_URL_LENGTH)}`), target);
});
