// Visit limits, query forwarding, tags, search, filters and sorting through HTTP on `curt serve` over
// PGlite (real socket, fetch, in-process cache and limiter): the same expectations as
// visit-limits.test.ts and url-list-api.test.ts, which run on PostgreSQL and Redis. On PGlite every
// statement runs one at a time on its one connection, so the races below are decided there.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServeConfig } from '../../src/core/config.ts';
import { startServe, type Served } from '../../src/serve/serve.ts';
import { untilValue } from '../support/fault-probes.ts';
import { testLogger } from '../support/log.ts';
import { BAD_LIST_QUERIES, EMPTY_TAG_QUERY } from '../support/list-queries.ts';
import { PERSON, PREVIEW_BOT_UA } from '../support/user-agents.ts';

type Headers = Record<string, string>;

interface LinkJson {
  short_code: string;
  is_one_time: boolean;
  max_visits: number | null;
  visits: number;
  forward_query: boolean;
  state: string;
  tags: string[];
  clicks: number;
  bot_hits: number;
  last_clicked_at: string | null;
  created_at: string;
  expires_at: string | null;
}
interface Page {
  items: LinkJson[];
  next_cursor: string | null;
}

let served: Served;
let admin: Headers;
const dataDir = join(tmpdir(), `curt-features-${process.pid}-${Date.now()}`);

const call = (path: string, init: { method?: string; headers?: Headers; body?: unknown } = {}): Promise<Response> =>
  fetch(`${served.address}${path}`, {
    method: init.method ?? 'GET',
    redirect: 'manual',
    headers: { ...init.headers, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
const visit = (path: string, headers: Headers = PERSON, method: 'GET' | 'HEAD' = 'GET'): Promise<Response> => call(path, { method, headers });

async function create(payload: Record<string, unknown>, key: Headers = admin): Promise<LinkJson> {
  const res = await call('/urls', { method: 'POST', headers: key, body: payload });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as LinkJson;
}
async function patch(code: string, payload: Record<string, unknown>, key: Headers = admin): Promise<LinkJson> {
  const res = await call(`/urls/${code}`, { method: 'PATCH', headers: key, body: payload });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as LinkJson;
}
const view = async (code: string, key: Headers = admin): Promise<LinkJson> => (await (await call(`/urls/${code}`, { headers: key })).json()) as LinkJson;

async function userKey(name: string): Promise<Headers> {
  const res = await call('/api-keys', { method: 'POST', headers: admin, body: { name } });
  assert.equal(res.status, 201, await res.clone().text());
  return { authorization: `Bearer ${((await res.json()) as { key: string }).key}` };
}

/** The problem's code of a refusal, checking it is problem+json. */
async function problemCode(res: Response): Promise<string> {
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  return ((await res.json()) as { code: string }).code;
}

/**
 * The link's counts once every click made before this call is written. A barrier instead of a wait:
 * a click on a link of its own is counted after those (the counter's queue is in order and a flush
 * takes the whole buffer), so once it shows, anything else would show too, one click too many as well.
 */
let barrier: string;
async function settledCounts(code: string): Promise<LinkJson> {
  const before = (await view(barrier)).clicks;
  assert.equal((await visit(`/${barrier}`)).status, 302);
  await untilValue('the barrier click to be written', async () => ((await view(barrier)).clicks > before ? true : undefined), 10_000);
  return view(code);
}

/** Clicks by a person on a link of `key`, then the wait until the link shows them all. */
async function clickAndWait(code: string, times: number, key: Headers): Promise<void> {
  const had = (await view(code, key)).clicks;
  for (let i = 0; i < times; i++) assert.equal((await visit(`/${code}`)).status, 302);
  await untilValue(`${times} clicks on ${code}`, async () => ((await view(code, key)).clicks >= had + times ? true : undefined), 10_000);
}

before(async () => {
  // Clicks written every 50 ms, so that the sorts by clicks see them soon.
  const env = { PORT: '0', METRICS_PORT: 'off', LOG_LEVEL: 'silent', CLICK_FLUSH_INTERVAL_MS: '50' };
  served = await startServe(loadServeConfig(env), dataDir, testLogger('serve'));
  admin = { authorization: `Bearer ${served.createdAdminKey ?? ''}` };
  barrier = (await create({ url: 'https://example.com/barrier' })).short_code;
});
after(async () => {
  await served.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('visit limits and query forwarding on curt serve (pglite)', () => {
  test('a link with 7 visits left, under 200 concurrent GETs by people: exactly 7 redirects, the rest 410 link_used', async () => {
    const { short_code: code } = await create({ url: 'https://example.com/ten', max_visits: 10 });
    for (let i = 0; i < 3; i++) assert.equal((await visit(`/${code}`)).status, 302);
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const res = await visit(`/${code}`);
        return `${res.status} ${res.status === 302 ? (res.headers.get('location') ?? '') : ((await res.json()) as { code: string }).code}`;
      }),
    );
    const tally = new Map<string, number>();
    for (const o of outcomes) tally.set(o, (tally.get(o) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(tally), { '302 https://example.com/ten': 7, '410 link_used': 193 });
    const read = await view(code);
    assert.deepEqual([read.visits, read.max_visits, read.state], [10, 10, 'used']);
    assert.equal((await settledCounts(code)).clicks, 10, 'a click per redirect, none for a refusal');
    const again = await visit(`/${code}`);
    assert.equal(again.status, 410);
    assert.equal(await problemCode(again), 'link_used');
  });

  test('bots get the preview page and use no visit, HEAD uses none either; people use them up', async () => {
    const { short_code: code } = await create({ url: 'https://example.com/two', max_visits: 2 });
    for (let i = 0; i < 3; i++) {
      const preview = await visit(`/${code}`, { 'user-agent': PREVIEW_BOT_UA, accept: 'text/html' });
      assert.equal(preview.status, 200);
      assert.equal(preview.headers.get('location'), null, 'the page does not redirect');
      await preview.body?.cancel();
      const head = await visit(`/${code}`, PERSON, 'HEAD');
      assert.equal(head.status, 302);
      assert.equal(head.headers.get('location'), 'https://example.com/two');
    }
    assert.equal((await visit(`/${code}`, { 'user-agent': 'curl/8.5.0' })).status, 200, 'an HTTP library is a bot too');
    assert.equal((await view(code)).visits, 0);
    assert.equal((await visit(`/${code}`)).status, 302);
    assert.equal((await visit(`/${code}`)).status, 302);
    assert.equal((await visit(`/${code}`)).status, 410);
    assert.equal((await visit(`/${code}`, { 'user-agent': PREVIEW_BOT_UA })).status, 410, 'once used up, 410 for bots too');
    const counted = await settledCounts(code);
    assert.deepEqual([counted.clicks, counted.bot_hits, counted.visits, counted.state], [2, 4, 2, 'used']);
  });

  test('PATCH max_visits holds at once: lowered to the visits made, used; raised, active; null, no limit', async () => {
    const { short_code: code } = await create({ url: 'https://example.com/patched', max_visits: 5 });
    assert.equal((await visit(`/${code}`)).status, 302);
    assert.equal((await visit(`/${code}`)).status, 302);
    assert.equal((await patch(code, { max_visits: 2 })).state, 'used');
    assert.equal((await visit(`/${code}`)).status, 410);
    const raised = await patch(code, { max_visits: 3 });
    assert.deepEqual([raised.state, raised.visits], ['active', 2]);
    assert.equal((await visit(`/${code}`)).status, 302);
    assert.equal((await visit(`/${code}`)).status, 410);
    assert.equal((await view(code)).state, 'used');
    const removed = await patch(code, { max_visits: null });
    assert.deepEqual([removed.state, removed.max_visits, removed.visits, removed.is_one_time], ['active', null, 3, false]);
    for (let i = 0; i < 3; i++) assert.equal((await visit(`/${code}`)).status, 302);
    assert.equal((await view(code)).visits, 3, 'without a limit, visits are not counted');
  });

  test('one_time is max_visits 1: one redirect, then 410 link_used and state used; a plain link has no limit', async () => {
    const once = await create({ url: 'https://example.com/o', one_time: true });
    assert.deepEqual([once.is_one_time, once.max_visits, once.visits, once.forward_query], [true, 1, 0, false]);
    const plain = await create({ url: 'https://example.com/p' });
    assert.deepEqual([plain.is_one_time, plain.max_visits, plain.visits, plain.forward_query], [false, null, 0, false]);
    const both = await create({ url: 'https://example.com/b', max_visits: 3, forward_query: true });
    assert.deepEqual([both.is_one_time, both.max_visits, both.forward_query], [false, 3, true]);
    assert.equal((await visit(`/${once.short_code}`)).status, 302);
    const gone = await visit(`/${once.short_code}`);
    assert.equal(gone.status, 410);
    assert.equal(await problemCode(gone), 'link_used');
    const read = await view(once.short_code);
    assert.deepEqual([read.visits, read.state], [1, 'used']);
  });

  test("forward_query merges the request's query into the target's (the short link's values replace, in its order), on GET, HEAD and with a trailing slash; other links ignore it", async () => {
    const { short_code: code } = await create({ url: 'https://target.example/page?ref=1&utm_source=old#top', forward_query: true });
    const location = async (path: string, method: 'GET' | 'HEAD' = 'GET') => (await visit(path, PERSON, method)).headers.get('location');
    assert.equal(await location(`/${code}?utm_source=x`), 'https://target.example/page?ref=1&utm_source=x#top');
    assert.equal(await location(`/${code}/?utm_source=x&utm_medium=mail`, 'HEAD'), 'https://target.example/page?ref=1&utm_source=x&utm_medium=mail#top');
    assert.equal(await location(`/${code}`), 'https://target.example/page?ref=1&utm_source=old#top', 'no query: the target as it is');
    assert.equal(await location(`/${code}?a=${'x'.repeat(2100)}`), 'https://target.example/page?ref=1&utm_source=old#top', 'too long: the target as it is');

    // Every occurrence of a name the request has goes; the request's pairs come last, in its order,
    // each spelled as it came; names compare decoded.
    const { short_code: repeated } = await create({ url: 'https://target.example/r?x=1&y=2&x=3&utm_source=old', forward_query: true });
    assert.equal(await location(`/${repeated}?x=9&z=0&x=8&utm%5Fsource=new`), 'https://target.example/r?y=2&x=9&z=0&x=8&utm%5Fsource=new');

    const { short_code: plain } = await create({ url: 'https://target.example/page?ref=1' });
    assert.equal(await location(`/${plain}?utm_source=x`), 'https://target.example/page?ref=1');
    const { short_code: limited } = await create({ url: 'https://target.example/l', forward_query: true, max_visits: 1 });
    assert.equal(await location(`/${limited}?utm_source=x`), 'https://target.example/l?utm_source=x', 'a limited link forwards too');
    // Turned on and off by PATCH, at once (the in-process cache holds both links by now).
    await patch(plain, { forward_query: true });
    assert.equal(await location(`/${plain}?utm_source=x`), 'https://target.example/page?ref=1&utm_source=x');
    await patch(code, { forward_query: false });
    assert.equal(await location(`/${code}?utm_source=x`), 'https://target.example/page?ref=1&utm_source=old#top');
  });
});

async function assertBadRequest(res: Response, what: string, detail?: RegExp): Promise<void> {
  const body = await res.text();
  assert.equal(res.status, 400, `${what}: ${body}`);
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8', what);
  const problem = JSON.parse(body) as { code: string; detail: string };
  if (detail) assert.match(problem.detail, detail, what);
}

describe('tags, filters, search and sorting of GET /urls on curt serve (pglite)', () => {
  let user: Headers;
  const codes: Record<string, string> = {};
  const list = (query: string, key: Headers = user) => call(`/urls${query}`, { headers: key });
  const listCodes = async (query: string, key: Headers = user): Promise<string[]> => {
    const res = await list(query, key);
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as Page).items.map((l) => l.short_code);
  };
  const names = (list: string[]) => list.map((c) => Object.keys(codes).find((k) => codes[k] === c) ?? c);
  before(async () => {
    user = await userKey('lister');
    // Four links, oldest first: a (2 clicks), b (never), c (1 click, after a's), d (never).
    for (const [name, tags] of [
      ['a', ['Launch', 'web']],
      ['b', ['web']],
      ['c', ['launch', 'q3/2026']],
      ['d', []],
    ] as const) {
      codes[name] = (await create({ url: `https://example.com/${name}`, tags }, user)).short_code;
    }
    // In two flushes, so that c's last click is later than a's whatever a flush stamps.
    await clickAndWait(codes.a ?? '', 2, user);
    await clickAndWait(codes.c ?? '', 1, user);
  });

  test('tags are stored lower case, each once, sorted; PATCH replaces the list, [] empties it; bad tags are 400', async () => {
    const link = await create({ url: 'https://example.com/t', tags: ['Zeta', 'alpha', 'ZETA', 'team:web/x_1.2'] }, user);
    assert.deepEqual(link.tags, ['alpha', 'team:web/x_1.2', 'zeta']);
    assert.deepEqual((await view(link.short_code, user)).tags, ['alpha', 'team:web/x_1.2', 'zeta']);
    assert.deepEqual((await patch(link.short_code, { tags: ['New'] }, user)).tags, ['new']);
    assert.deepEqual((await patch(link.short_code, { is_active: false }, user)).tags, ['new'], 'a PATCH without tags keeps them');
    assert.deepEqual((await patch(link.short_code, { tags: [] }, user)).tags, []);
    assert.equal((await call(`/urls/${link.short_code}`, { method: 'DELETE', headers: user })).status, 204);
    for (const tags of [['a b'], ['é'], [''], ['x'.repeat(33)], Array.from({ length: 21 }, (_, i) => `t${i}`), 'web', [1]]) {
      await assertBadRequest(await call('/urls', { method: 'POST', headers: user, body: { url: 'https://example.com/bad', tags } }), `create ${JSON.stringify(tags).slice(0, 40)}`);
    }
    await assertBadRequest(await call(`/urls/${codes.a}`, { method: 'PATCH', headers: user, body: { tags: ['no,comma'] } }), 'patch');
    assert.deepEqual((await view(codes.a ?? '', user)).tags, ['launch', 'web'], 'unchanged');
  });

  test('tag filters: one tag, several (repeated or comma-separated, any letter case) meaning all of them', async () => {
    assert.deepEqual(names(await listCodes('?tag=launch')), ['c', 'a']);
    assert.deepEqual(names(await listCodes('?tag=web')), ['b', 'a']);
    assert.deepEqual(names(await listCodes('?tag=LAUNCH&tag=web')), ['a']);
    assert.deepEqual(names(await listCodes('?tag=launch,web')), ['a']);
    assert.deepEqual(names(await listCodes('?tag=launch,q3/2026&tag=web')), []);
    assert.deepEqual(names(await listCodes('?tag=web&q=example.com/b')), ['b']);
  });

  test('sorts: created (default newest first), clicks and last click in both orders, never-clicked last in both', async () => {
    assert.deepEqual(names(await listCodes('')), ['d', 'c', 'b', 'a']);
    assert.deepEqual(names(await listCodes('?order=asc')), ['a', 'b', 'c', 'd']);
    assert.deepEqual(names(await listCodes('?sort=created&order=desc')), ['d', 'c', 'b', 'a']);
    assert.deepEqual(names(await listCodes('?sort=clicks')), ['a', 'c', 'd', 'b']);
    assert.deepEqual(names(await listCodes('?sort=clicks&order=asc')), ['b', 'd', 'c', 'a']);
    assert.deepEqual(names(await listCodes('?sort=last_click')), ['c', 'a', 'd', 'b']);
    assert.deepEqual(names(await listCodes('?sort=last_click&order=asc')), ['a', 'c', 'b', 'd']);
    const a = await view(codes.a ?? '', user);
    assert.equal(a.clicks, 2);
    assert.ok(a.last_clicked_at !== null && a.last_clicked_at < ((await view(codes.c ?? '', user)).last_clicked_at ?? ''));
  });

  test('text search over the code and the target, any letter case, wildcards taken literally; q of 1 or 2 characters is 400 invalid_request', async () => {
    const key = await userKey('searcher');
    const found = async (q: string) => new Set(await listCodes(`?q=${encodeURIComponent(q)}`, key));
    const needle = await create({ url: 'https://example.com/needle-in-a-haystack' }, key);
    const shout = await create({ url: 'https://other.example/NEEDLE' }, key);
    const plain = await create({ url: 'https://example.com/plain' }, key);
    const underscore = await create({ url: 'https://example.com/a_b' }, key);
    const anyChar = await create({ url: 'https://example.com/axb' }, key);
    assert.deepEqual(await found('needle'), new Set([needle.short_code, shout.short_code]));
    assert.deepEqual(await found('NeEdLe'), new Set([needle.short_code, shout.short_code]));
    assert.deepEqual(await found(plain.short_code.toLowerCase()), new Set([plain.short_code]), 'the code, in another letter case');
    assert.deepEqual(await found('a_b'), new Set([underscore.short_code]), '_ is no wildcard');
    assert.deepEqual(await found('a%b'), new Set(), '% is no wildcard');
    assert.deepEqual(await found('axb'), new Set([anyChar.short_code]));
    assert.equal((await listCodes('?q=', key)).length, 5, 'an empty q is no filter');
    assert.deepEqual(await found('needle'), new Set([needle.short_code, shout.short_code]));
    assert.deepEqual(await listCodes('?q=needle'), [], "another key's links are not searched");
    for (const q of ['ne', 'n', 'é', '%']) {
      const res = await list(`?q=${encodeURIComponent(q)}`, key);
      assert.equal(res.status, 400, q);
      assert.equal(await problemCode(res), 'invalid_request', q);
    }
    await assertBadRequest(await list('?q=ab', key), 'q=ab', /q needs at least 3 characters/);
    await assertBadRequest(await list('?q=%00ab', key), 'q with a NUL', /q must not contain control characters/);
    await assertBadRequest(await list('?q=a%09bc', key), 'q with a tab', /q must not contain control characters/);
  });

  test('state filter at the time of the request: active, used, disabled, expired; expiry and creation ranges', async () => {
    const key = await userKey('states');
    const active = await create({ url: 'https://example.com/active', expires_in: 3600 }, key);
    const used = await create({ url: 'https://example.com/used', one_time: true }, key);
    assert.equal((await visit(`/${used.short_code}`)).status, 302);
    const disabled = await create({ url: 'https://example.com/disabled' }, key);
    assert.equal((await patch(disabled.short_code, { is_active: false }, key)).state, 'disabled');
    const expired = await create({ url: 'https://example.com/expired' }, key);
    assert.equal((await patch(expired.short_code, { expires_at: new Date(Date.now() - 60_000).toISOString() }, key)).state, 'expired');
    assert.equal((await visit(`/${expired.short_code}`)).status, 410);
    const never = await create({ url: 'https://example.com/never' }, key);
    assert.deepEqual(await listCodes('?state=active', key), [never.short_code, active.short_code]);
    assert.deepEqual(await listCodes('?state=used', key), [used.short_code]);
    assert.deepEqual(await listCodes('?state=disabled', key), [disabled.short_code]);
    assert.deepEqual(await listCodes('?state=expired', key), [expired.short_code]);
    await assertBadRequest(await list('?state=gone', key), 'an unknown state');

    const now = encodeURIComponent(new Date().toISOString());
    assert.deepEqual(await listCodes(`?expires_after=${now}`, key), [active.short_code]);
    assert.deepEqual(await listCodes(`?expires_before=${now}`, key), [expired.short_code]);
    assert.deepEqual(await listCodes('?expires_after=2000-01-01T00:00:00Z&order=asc', key), [active.short_code, expired.short_code], 'a link that never expires matches no bound');

    const all = ((await (await list('?order=asc', key)).json()) as Page).items;
    const third = encodeURIComponent(all[2]?.created_at ?? '');
    assert.deepEqual(await listCodes(`?created_after=${third}&order=asc`, key), all.slice(2).map((l) => l.short_code), 'after: included');
    assert.deepEqual(await listCodes(`?created_before=${third}&order=asc`, key), all.slice(0, 2).map((l) => l.short_code), 'before: not included');
    await assertBadRequest(await list(`?created_after=${third}&created_before=${third}`, key), 'empty range', /created_after must be before/);
    await assertBadRequest(await list('?expires_after=2030-01-01T00:00:00Z&expires_before=2029-01-01T00:00:00Z', key), 'reversed expiry range');
  });

  test('the cursor walks every sort page by page; used with another sort or order it is 400', async () => {
    for (const query of ['', '?order=asc', '?sort=clicks', '?sort=clicks&order=asc', '?sort=last_click', '?sort=last_click&order=asc']) {
      const whole = await listCodes(query);
      const walked: string[] = [];
      let cursor: string | null = null;
      do {
        const sep = query === '' ? '?' : `${query}&`;
        const page = (await (await list(`${sep}limit=1${cursor === null ? '' : `&cursor=${cursor}`}`)).json()) as Page;
        walked.push(...page.items.map((l) => l.short_code));
        cursor = page.next_cursor;
      } while (cursor !== null && walked.length < 20);
      assert.deepEqual(walked, whole, `walk of ${query || 'the default'}`);
    }
    const cursor = ((await (await list('?sort=clicks&limit=1')).json()) as Page).next_cursor;
    assert.ok(cursor);
    await assertBadRequest(await list(`?sort=last_click&limit=1&cursor=${cursor}`), 'another sort', /sort=clicks/);
    await assertBadRequest(await list(`?sort=clicks&order=asc&limit=1&cursor=${cursor}`), 'another order', /order=desc/);
    await assertBadRequest(await list(`?limit=1&cursor=${cursor}`), 'the default sort');
  });

  test('a walk of several pages while links are created between them: no link twice, none left out', async () => {
    const key = await userKey('walker');
    const made: string[] = [];
    const make = async () => {
      const code = (await create({ url: `https://example.com/w${made.length}` }, key)).short_code;
      made.push(code);
      return code;
    };
    for (let i = 0; i < 7; i++) await make();
    /** Pages of 2; a link created after each of the first three. */
    async function walk(query: string): Promise<{ walked: string[]; inserted: string[] }> {
      const walked: string[] = [];
      const inserted: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await list(`?limit=2${query}${cursor === null ? '' : `&cursor=${cursor}`}`, key);
        assert.equal(res.status, 200);
        const page = (await res.json()) as Page;
        walked.push(...page.items.map((l) => l.short_code));
        cursor = page.next_cursor;
        if (inserted.length < 3) inserted.push(await make());
      } while (cursor !== null && walked.length < 40);
      return { walked, inserted };
    }

    // created desc: the new links sort before the cursor; the walk is exactly the links at its start.
    const atStart = await listCodes('?limit=100', key);
    assert.deepEqual((await walk('')).walked, atStart);

    // created asc: the new links land after the cursor, so they follow, in order.
    const ascStart = await listCodes('?order=asc&limit=100', key);
    const asc = await walk('&order=asc');
    assert.deepEqual(asc.walked, [...ascStart, ...asc.inserted]);

    // clicks desc, two links clicked: every link there at the start once, in its place; a new one
    // (no clicks, newest) may show where the zero-click part begins, and never twice.
    await clickAndWait(made[1] ?? '', 2, key);
    await clickAndWait(made[4] ?? '', 1, key);
    const clicksStart = await listCodes('?sort=clicks&limit=100', key);
    assert.deepEqual(clicksStart.slice(0, 2), [made[1], made[4]]);
    const byClicks = await walk('&sort=clicks');
    assert.equal(new Set(byClicks.walked).size, byClicks.walked.length, `no link twice: ${byClicks.walked.join(' ')}`);
    assert.deepEqual(byClicks.walked.filter((c) => clicksStart.includes(c)), clicksStart, 'every link of the start, in order');
    assert.ok(byClicks.walked.every((c) => clicksStart.includes(c) || byClicks.inserted.includes(c)));
  });

  test('bad query values are 400 problem+json', async () => {
    for (const query of BAD_LIST_QUERIES) await assertBadRequest(await list(query), query);
    assert.equal((await list(EMPTY_TAG_QUERY)).status, 200, 'commas alone are no tag: no filter');
  });
});
