// SPEC §5, the `url` field: each rule of normaliseTargetUrl on its own, with the error code a client sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidRequest } from '../../src/core/errors.ts';
import { MAX_URL_LENGTH, normaliseTargetUrl, type TargetUrlPolicy } from '../../src/url/target-url.ts';

const policy: TargetUrlPolicy = { ownHosts: ['sho.rt', 'localhost:8080'], blockedDomains: ['evil.example', 'xn--bcher-kva.example'] };
const ok = (raw: string, p: TargetUrlPolicy = policy): string => normaliseTargetUrl(raw, p);

function rejects(raw: string, code: 'invalid_url' | 'url_blocked', p: TargetUrlPolicy = policy): void {
  assert.throws(
    () => normaliseTargetUrl(raw, p),
    (err: unknown) => err instanceof InvalidRequest && err.status === 400 && err.code === code,
    `${JSON.stringify(raw.slice(0, 80))} should be rejected as ${code}`,
  );
}

test('absolute http and https URLs are accepted and normalised by the WHATWG parser', () => {
  assert.equal(ok('https://example.com'), 'https://example.com/');
  assert.equal(ok('HTTP://EXAMPLE.COM:80/a/../b?x=1#frag'), 'http://example.com/b?x=1#frag');
  assert.equal(ok('https://example.com:8443/p'), 'https://example.com:8443/p');
});

test('surrounding whitespace is trimmed; tabs and newlines inside are dropped', () => {
  assert.equal(ok('  https://example.com/a \n'), 'https://example.com/a');
  assert.equal(ok('https://exa\tmple.com/p\nath'), 'https://example.com/path');
});

test('schemes other than http and https are rejected', () => {
  for (const raw of ['ftp://example.com/f', 'javascript:alert(1)', 'data:text/html,<b>x</b>', 'file:///etc/passwd', 'mailto:a@example.com', 'ws://example.com/'])
    rejects(raw, 'invalid_url');
});

test('relative, empty and unparseable URLs are rejected', () => {
  for (const raw of ['', '   ', '/path/only', '//example.com/x', 'example.com', 'https://', 'http://exa mple.com/', 'https://example.com:99999/', 'https://[::1/'])
    rejects(raw, 'invalid_url');
});

test(`a URL of ${MAX_URL_LENGTH} characters is accepted, one more is rejected`, () => {
  const base = 'https://example.com/';
  const exact = base + 'a'.repeat(MAX_URL_LENGTH - base.length);
  assert.equal(ok(exact), exact);
  rejects(exact + 'a', 'invalid_url');
});

test('the length limit also applies after normalisation (percent-encoding grows the URL)', () => {
  // 400 "ü" → 2400 characters once encoded as %C3%BC, though the input is under 500.
  const raw = `https://example.com/${'ü'.repeat(400)}`;
  assert.ok(raw.length < MAX_URL_LENGTH);
  rejects(raw, 'invalid_url');
});

test('user-info (user:pass@, user@, :pass@) is rejected', () => {
  for (const raw of ['https://user:pass@example.com/', 'https://user@example.com/', 'https://:secret@example.com/', 'http://a%40b:c@example.com/'])
    rejects(raw, 'invalid_url');
});

test("the service's own host is rejected in any case, with a trailing dot, on any port or scheme", () => {
  for (const raw of ['http://sho.rt/abcdef', 'https://SHO.RT/abcdef', 'http://sho.rt./abcdef', 'http://sho.rt:8443/x', 'http://sh%6F.rt/x'])
    rejects(raw, 'invalid_url');
  // An own host configured with a port matches that host and port.
  rejects('http://LOCALHOST:8080/abc', 'invalid_url');
  assert.equal(ok('http://localhost:9090/abc'), 'http://localhost:9090/abc');
  // A host that merely contains the own host is someone else's.
  assert.equal(ok('https://notsho.rt/x'), 'https://notsho.rt/x');
  assert.equal(ok('https://sho.rt.example/x'), 'https://sho.rt.example/x');
});

test('blocked domains are rejected with their subdomains, in any case, with a trailing dot', () => {
  for (const raw of ['https://evil.example/x', 'https://www.EVIL.example/x', 'https://a.b.evil.example/', 'https://evil.example./x', 'http://evil.example:8080/'])
    rejects(raw, 'url_blocked');
});

test('a domain that only ends with a blocked name is not blocked', () => {
  assert.equal(ok('https://notevil.example/'), 'https://notevil.example/');
  assert.equal(ok('https://evil.example.org/'), 'https://evil.example.org/');
});

test('international domain names are accepted as punycode, and blocked by their punycode name', () => {
  assert.equal(ok('https://bücher.de/straße?q=ü'), 'https://xn--bcher-kva.de/stra%C3%9Fe?q=%C3%BC');
  assert.equal(ok('https://例え.jp/パス'), 'https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9');
  rejects('https://www.bücher.example/', 'url_blocked');
});

test('an empty policy blocks nothing but still enforces the URL rules', () => {
  const open: TargetUrlPolicy = { ownHosts: [], blockedDomains: [] };
  assert.equal(ok('http://sho.rt/x', open), 'http://sho.rt/x');
  rejects('ftp://sho.rt/x', 'invalid_url', open);
});
