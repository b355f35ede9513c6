// Tags and GET /urls through HTTP: tags at creation and by PATCH, every filter and sort, the opaque
// cursor that pins its sort, and every bad value a 400 problem+json.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { BAD_LIST_QUERIES, EMPTY_TAG_QUERY } from '../support/list-queries.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';
import { PERSON } from '../support/user-agents.ts';

interface LinkJson {
  short_code: string;
  tags: string[];
  clicks: number;
  last_clicked_at: string | null;
  created_at: string;
}
interface Page {
  items: LinkJson[];
  next_cursor: string | null;
}

function assertBadRequest(res: LightMyRequestResponse, what: string, detail?: RegExp): void {
  assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', what);
  if (detail) assert.match(res.json<{ detail: string }>().detail, detail, what);
}

describe('tags and GET /urls sorting and filters', () => {
  let svc: TestUrlService;
  let user: { authorization: string };
  const codes: Record<string, string> = {};

  const create = (payload: object, headers = user) => svc.app.inject({ method: 'POST', url: '/urls', headers, payload });
  const list = (query: string, headers = user) => svc.app.inject({ url: `/urls${query}`, headers });
  const listCodes = async (query: string) => {
    const res = await list(query);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<Page>().items.map((l) => l.short_code);
  };

  before(async () => {
    svc = await buildTestUrlService('url-list-api');
    user = await svc.userKey('lister');
    // Four links, oldest first: a (2 clicks), b (never), c (1 click), d (never).
    for (const [name, tags] of [
      ['a', ['Launch', 'web']],
      ['b', ['web']],
      ['c', ['launch', 'q3/2026']],
      ['d', []],
    ] as const) {
      const res = await create({ url: `https://example.com/${name}`, tags });
      assert.equal(res.statusCode, 201, res.body);
      codes[name] = res.json<LinkJson>().short_code;
    }
    for (const name of ['a', 'a', 'c']) {
      const res = await svc.app.inject({ url: `/${codes[name]}`, headers: PERSON });
      assert.equal(res.statusCode, 302);
    }
    await svc.clicks.flush();
  });
  after(() => svc.close());

  const names = (list: string[]) => list.map((c) => Object.keys(codes).find((k) => codes[k] === c));

  test('tags are stored lower case, each once, sorted; shown in the link view; PATCH replaces the list, [] empties it', async () => {
    const res = await create({ url: 'https://example.com/t', tags: ['Zeta', 'alpha', 'ZETA', 'team:web/x_1.2'] });
    assert.equal(res.statusCode, 201, res.body);
    const code = res.json<LinkJson>().short_code;
    assert.deepEqual(res.json<LinkJson>().tags, ['alpha', 'team:web/x_1.2', 'zeta']);
    assert.deepEqual((await svc.app.inject({ url: `/urls/${code}`, headers: user })).json<LinkJson>().tags, ['alpha', 'team:web/x_1.2', 'zeta']);
    const patched = await svc.app.inject({ method: 'PATCH', url: `/urls/${code}`, headers: user, payload: { tags: ['New'] } });
    assert.deepEqual(patched.json<LinkJson>().tags, ['new']);
    const other = await svc.app.inject({ method: 'PATCH', url: `/urls/${code}`, headers: user, payload: { is_active: false } });
    assert.deepEqual(other.json<LinkJson>().tags, ['new'], 'a PATCH without tags keeps them');
    const cleared = await svc.app.inject({ method: 'PATCH', url: `/urls/${code}`, headers: user, payload: { tags: [] } });
    assert.deepEqual(cleared.json<LinkJson>().tags, []);
    assert.equal((await svc.app.inject({ method: 'DELETE', url: `/urls/${code}`, headers: user })).statusCode, 204);
  });

  test('bad tags are 400: a character outside the rule, empty, over 32 characters, more than 20, not a list', async () => {
    for (const tags of [['a b'], ['é'], [''], ['x'.repeat(33)], Array.from({ length: 21 }, (_, i) => `t${i}`), 'web', [1]]) {
      assertBadRequest(await create({ url: 'https://example.com/bad', tags }), `create ${JSON.stringify(tags).slice(0, 40)}`);
    }
    assertBadRequest(await svc.app.inject({ method: 'PATCH', url: `/urls/${codes.a}`, headers: user, payload: { tags: ['no,comma'] } }), 'patch');
    assert.deepEqual((await svc.app.inject({ url: `/urls/${codes.a}`, headers: user })).json<LinkJson>().tags, ['launch', 'web'], 'unchanged');
  });

  test('the bound of 20 tags counts distinct tags, letter case aside, as the CLI and the web app count them; a request may list repeats', async () => {
    const twenty = Array.from({ length: 20 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    const res = await create({ url: 'https://example.com/repeats', tags: [...twenty, 'T00', 't01'] });
    assert.equal(res.statusCode, 201, res.body);
    const code = res.json<LinkJson>().short_code;
    assert.deepEqual(res.json<LinkJson>().tags, twenty);
    const patched = await svc.app.inject({ method: 'PATCH', url: `/urls/${code}`, headers: user, payload: { tags: [...twenty, ...twenty.map((t) => t.toUpperCase())] } });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.deepEqual(patched.json<LinkJson>().tags, twenty);
    assert.deepEqual(await listCodes(`?tag=${[...twenty, 'T00'].join(',')}`), [code], 'a filter of 21 given, 20 distinct');
    assertBadRequest(await create({ url: 'https://example.com/repeats', tags: [...twenty, 't20', 'T00'] }), '21 distinct', /at most 20 tags \(got 21\)/);
    assertBadRequest(await list(`?tag=${[...twenty, 't20'].join(',')}`), 'a filter of 21 distinct', /at most 20 tags \(got 21\)/);
    assertBadRequest(await create({ url: 'https://example.com/repeats', tags: Array.from({ length: 101 }, () => 'same') }), 'over the request bound');
    assert.equal((await svc.app.inject({ method: 'DELETE', url: `/urls/${code}`, headers: user })).statusCode, 204);
  });

  test('tag filters: repeated or comma-separated, any letter case, links having all of them', async () => {
    assert.deepEqual(names(await listCodes('?tag=launch')), ['c', 'a']);
    assert.deepEqual(names(await listCodes('?tag=LAUNCH&tag=web')), ['a']);
    assert.deepEqual(names(await listCodes('?tag=launch,web')), ['a']);
    assert.deepEqual(names(await listCodes('?tag=launch,q3/2026&tag=web')), []);
    assert.deepEqual(names(await listCodes('?tag=web&q=example.com/b')), ['b']);
  });

  test('sorts: created (default newest first), clicks and last click in both orders, never-clicked last in both', async () => {
    assert.deepEqual(names(await listCodes('')), ['d', 'c', 'b', 'a']);
    assert.deepEqual(names(await listCodes('?order=asc')), ['a', 'b', 'c', 'd']);
    assert.deepEqual(names(await listCodes('?sort=clicks')), ['a', 'c', 'd', 'b']);
    assert.deepEqual(names(await listCodes('?sort=clicks&order=asc')), ['b', 'd', 'c', 'a']);
    const byLastClick = await listCodes('?sort=last_click');
    assert.deepEqual(names(byLastClick).slice(2), ['d', 'b'], 'never clicked: last, newest first');
    assert.deepEqual(names(await listCodes('?sort=last_click&order=asc')).slice(2), ['b', 'd'], 'never clicked: last in asc too');
  });

  test('created and expiry ranges narrow the listing; a range that is no range is 400', async () => {
    const all = (await list('?order=asc')).json<Page>().items;
    const third = all[2]?.created_at ?? '';
    assert.deepEqual(names(await listCodes(`?created_after=${encodeURIComponent(third)}&order=asc`)), ['c', 'd']);
    assert.deepEqual(names(await listCodes(`?created_before=${encodeURIComponent(third)}&order=asc`)), ['a', 'b']);
    assert.deepEqual(await listCodes('?expires_after=2000-01-01T00:00:00Z'), [], 'no link expires');
    assertBadRequest(await list(`?created_after=${encodeURIComponent(third)}&created_before=${encodeURIComponent(third)}`), 'empty range', /created_after must be before/);
    assertBadRequest(await list('?expires_after=2030-01-01T00:00:00Z&expires_before=2029-01-01T00:00:00Z'), 'reversed expiry range');
  });

  test('a date the database cannot hold (year 0000, or 0001 that is year 0 in UTC) and a forged last-click cursor are 400s, not 500s: listing, PATCH, analytics', async () => {
    for (const name of ['created_after', 'created_before', 'expires_after', 'expires_before']) {
      assertBadRequest(await list(`?${name}=0000-01-01T00:00:00Z`), `${name} in year 0000`, new RegExp(`${name} must be a date-time from the year 0001 to 9999`));
    }
    assertBadRequest(await list(`?created_after=${encodeURIComponent('0001-01-01T00:30:00+01:00')}`), 'year 0 once in UTC');
    assert.equal((await list('?created_after=0001-01-01T00:00:00Z')).statusCode, 200, 'the first moment of year 1 is a bound');
    for (const order of ['desc', 'asc']) {
      const forged = Buffer.from(`v1.last_click.${order}.9999999999999999.1`).toString('base64url');
      assertBadRequest(await list(`?sort=last_click&order=${order}&cursor=${forged}`), `forged ${order} cursor`, /cursor is not valid/);
    }
    const code = codes.a ?? '';
    const patched = await svc.app.inject({ method: 'PATCH', url: `/urls/${code}`, headers: user, payload: { expires_at: '0000-01-01T00:00:00Z' } });
    assert.equal(patched.statusCode, 400, patched.body);
    assert.equal(patched.json<{ code: string }>().code, 'invalid_expiry');
    for (const range of ['from=0000-01-01&to=0000-01-02', 'to=0000-01-01', 'to=0001-01-05']) {
      assertBadRequest(await svc.app.inject({ url: `/urls/${code}/analytics?${range}`, headers: user }), `analytics ${range}`, /from and to must be days from the year 0001 to 9999/);
    }
  });

  test('the cursor walks every sort page by page; used with another sort or order it is 400', async () => {
    for (const query of ['', '?order=asc', '?sort=clicks', '?sort=clicks&order=asc', '?sort=last_click', '?sort=last_click&order=asc']) {
      const whole = await listCodes(query);
      const walked: string[] = [];
      let cursor: string | null = null;
      do {
        const sep: string = query === '' ? '?' : `${query}&`;
        const page: Page = (await list(`${sep}limit=1${cursor === null ? '' : `&cursor=${cursor}`}`)).json<Page>();
        walked.push(...page.items.map((l) => l.short_code));
        cursor = page.next_cursor;
      } while (cursor !== null && walked.length < 20);
      assert.deepEqual(walked, whole, `walk of ${query || 'the default'}`);
    }
    const cursor = (await list('?sort=clicks&limit=1')).json<Page>().next_cursor;
    assert.ok(cursor);
    assertBadRequest(await list(`?sort=last_click&limit=1&cursor=${cursor}`), 'another sort', /sort=clicks/);
    assertBadRequest(await list(`?sort=clicks&order=asc&limit=1&cursor=${cursor}`), 'another order', /order=desc/);
    assertBadRequest(await list(`?limit=1&cursor=${cursor}`), 'the default sort');
    // A cursor from before sorting existed still means newest first.
    const old = Buffer.from("id:999999999999999").toString('base64url');
    assert.equal((await list(`?cursor=${old}`)).statusCode, 200);
  });

  test('bad query values are 400 problem+json', async () => {
    for (const query of BAD_LIST_QUERIES) assertBadRequest(await list(query), query);
    assert.equal((await list(EMPTY_TAG_QUERY)).statusCode, 200, 'commas alone are no tag: no filter');
  });

  test('the OpenAPI document lists the query parameters of GET /urls and tags in the bodies and the link', async () => {
    type Operation = { parameters?: { name: string; in: string }[]; requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> } };
    const doc = (await svc.app.inject({ url: '/docs/json' })).json<{ paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, { properties: Record<string, unknown> }> } }>();
    const query = (doc.paths['/urls']?.get?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name).sort();
    assert.deepEqual(query, ['created_after', 'created_before', 'cursor', 'expires_after', 'expires_before', 'limit', 'order', 'q', 'sort', 'state', 'tag']);
    assert.ok(doc.paths['/urls']?.post?.requestBody?.content['application/json']?.schema.properties?.tags, 'POST /urls takes tags');
    assert.ok(doc.paths['/urls/{short_code}']?.patch?.requestBody?.content['application/json']?.schema.properties?.tags, 'PATCH takes tags');
    assert.ok(Object.values(doc.components.schemas).some((schema) => schema.properties.tags !== undefined && schema.properties.short_url !== undefined), 'the Link has tags');
  });

  test("another key's links never show, whatever the filter", async () => {
    const other = await svc.userKey('other-lister');
    assert.equal((await create({ url: 'https://example.com/other', tags: ['launch'] }, other)).statusCode, 201);
    assert.deepEqual(names(await listCodes('?tag=launch')), ['c', 'a']);
  });
});
