// My links' filters as its address's query string, and back, without a browser (src/web/links-address.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyPrefixOf } from '../../src/client/api-key.ts';
import { filtersFromSearch, filtersSearch, listFilter, NO_FILTERS, pagesOf } from '../../src/web/links-address.ts';

test('only what is not the default is written, with the names of GET /urls, a tag per parameter', () => {
  assert.equal(filtersSearch(NO_FILTERS), '');
  assert.equal(filtersSearch({ q: 'shop now', state: 'active', tags: ['launch', 'web'], sort: 'clicks', order: 'desc' }), '?q=shop+now&state=active&tag=launch&tag=web&sort=clicks');
  assert.equal(filtersSearch({ ...NO_FILTERS, order: 'asc' }), '?order=asc');
  assert.deepEqual(listFilter({ ...NO_FILTERS, sort: 'last_click', order: 'asc' }), { sort: 'last_click', order: 'asc' });
  assert.deepEqual(listFilter(NO_FILTERS), {});
});

test('an address gives back the filters it was written from', () => {
  const filters = { q: 'a&b=c', state: 'disabled', tags: ['x/y', 'z'], sort: 'last_click', order: 'asc' } as const;
  assert.deepEqual(filtersFromSearch(filtersSearch({ ...filters, tags: [...filters.tags] })), { filters: { ...filters, tags: ['x/y', 'z'] }, tagProblem: null });
  assert.deepEqual(filtersFromSearch(''), { filters: NO_FILTERS, tagProblem: null });
});

test('tags are read as the API reads them: repeated or comma-separated, each once', () => {
  assert.deepEqual(filtersFromSearch('?tag=a,b&tag=c&tag=A').filters.tags, ['a', 'b', 'c']);
  assert.equal(filtersFromSearch('?q=%20%20shop%20').filters.q, 'shop');
});

test('a state, sort or order the API does not know is left out; a bad tag is kept for the form to say', () => {
  assert.deepEqual(filtersFromSearch('?state=gone&sort=random&order=sideways&cursor=abc'), { filters: NO_FILTERS, tagProblem: null });
  assert.deepEqual(filtersFromSearch('?sort=clicks&order=asc').filters, { ...NO_FILTERS, sort: 'clicks', order: 'asc' });
  const { filters, tagProblem } = filtersFromSearch('?tag=b@d&state=used');
  assert.deepEqual(filters, { ...NO_FILTERS, state: 'used', tags: ['b@d'] });
  assert.equal(tagProblem, 'The tag "b@d" has characters a tag cannot have: 1 to 32 of letters, digits and - _ . : /');
  assert.equal(filtersFromSearch(`?tag=${Array.from({ length: 21 }, (_, i) => `t${i}`).join(',')}`).tagProblem, 'At most 20 tags.');
});

test("a history entry's pages are read only when they are a list of cursors in the same key's list", () => {
  const keyPrefix = keyPrefixOf('curt_abcdefg-the-rest-of-the-key');
  assert.equal(keyPrefix, 'curt_abcdefg');
  assert.deepEqual(pagesOf({ pages: ['c1', 'c2'], keyPrefix }, keyPrefix), ['c1', 'c2']);
  // Signed out and in with another key since: its list has other cursors.
  assert.deepEqual(pagesOf({ pages: ['c1', 'c2'], keyPrefix: 'curt_otherke' }, keyPrefix), []);
  for (const state of [null, undefined, 'pages', 7, {}, { pages: ['c1'] }, { pages: 'c1', keyPrefix }, { pages: ['c1', 2], keyPrefix }]) assert.deepEqual(pagesOf(state, keyPrefix), []);
});
