// Query strings GET /urls must refuse with 400 problem+json, shared by its tests on PostgreSQL
// (test/integration/url-list-api.test.ts) and on PGlite (test/integration/link-features-pglite.test.ts).
export const BAD_LIST_QUERIES: readonly string[] = [
  '?sort=popular',
  '?order=up',
  '?sort=',
  '?created_after=yesterday',
  '?created_before=2026-13-01T00:00:00Z',
  '?expires_after=2026-01-01',
  '?expires_before=2026-06-30T23:59:60Z',
  '?tag=a%20b',
  `?tag=${'x'.repeat(33)}`,
  `?tag=${Array.from({ length: 21 }, (_, i) => `t${i}`).join(',')}`,
  `?${Array.from({ length: 21 }, (_, i) => `tag=t${i}`).join('&')}`,
  '?cursor=bm90IGEgY3Vyc29y',
  `?cursor=${'a'.repeat(201)}`,
  `?sort=clicks&cursor=${Buffer.from('v1.clicks.desc.-.5').toString('base64url')}`,
  '?limit=0',
  '?limit=101',
  '?q=ab',
  '?q=%C3%A9',
];

/** Commas alone name no tag: no filter, 200. */
export const EMPTY_TAG_QUERY = '?tag=,';
