// An import compares the rows of a batch by targetUrlKey (src/url/link-import.ts) and the database's
// links by normaliseTargetUrl (findImportMatches): if the two spelled a URL differently, rows of one
// batch would be two links where rows of two batches are one (docs/import-export.md, Idempotency).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { targetUrlKey } from '../../src/url/link-import.ts';
import { normaliseTargetUrl } from '../../src/url/target-url.ts';

// No own hosts, no blocked domains: those checks only refuse, they never change the spelling.
const policy = { ownHosts: [], blockedDomains: [] };

test('an import keys each target URL as the link service stores it: host case, default ports, dot segments, IDN, IPv4 forms, spaces around', () => {
  const spellings = [
    'https://Example.com/dup1',
    'https://example.com:443/dup1',
    'HTTPS://EXAMPLE.COM/dup1',
    '  https://example.com/dup1\t',
    'https://example.com/a/../dup1',
    'http://example.com:80/p?q=1#f',
    'https://example.com',
    'https://example.com./x',
    'https://B\u00fccher.example/\u00e4 b',
    'http://3232235777/x',
    'http://0xc0.0xa8.1.1/x',
    'https://[2001:DB8::1]:443/x',
    'https://example.com/Dup1',
  ];
  for (const raw of spellings) assert.equal(targetUrlKey(raw), normaliseTargetUrl(raw, policy), JSON.stringify(raw));
  assert.equal(new Set(spellings.slice(0, 5).map(targetUrlKey)).size, 1, 'the first five are one URL');
  assert.notEqual(targetUrlKey('https://example.com/Dup1'), targetUrlKey('https://example.com/dup1'), 'a path keeps its case');
});

test('a URL creation refuses keeps its own spelling as its key', () => {
  assert.equal(targetUrlKey('not a url'), 'not a url');
  assert.equal(targetUrlKey('https://'), 'https://');
});
