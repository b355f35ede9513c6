// Issue 10 (friction): how a short link is spelled. Codes and aliases are case-sensitive, reserved
// words are not; `/{code}/` redirects like `/{code}`; a query string on the short link is not forwarded.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';
import { PERSON } from '../support/visitors.ts';

let svc: TestUrlService;
before(async () => {
  svc = await buildTestUrlService('url-aliases');
});
after(() => svc.close());

async function create(url: string, alias?: string): Promise<{ status: number; code: string; problem: string }> {
  const res = await svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload: { url, ...(alias === undefined ? {} : { alias }) } });
  const body = res.json<{ short_code?: string; code?: string }>();
  return { status: res.statusCode, code: body.short_code ?? '', problem: body.code ?? '' };
}

// From a person's browser: inject's own User-Agent is a bot's.
const get = (path: string, method: 'GET' | 'HEAD' = 'GET') => svc.app.inject({ method, url: path, headers: PERSON });

test('/{code}/ with a trailing slash redirects like /{code}, for GET and HEAD, and counts the GET', async () => {
  const { code } = await create('https://example.com/slash');
  for (const method of ['GET', 'HEAD'] as const) {
    const res = await get(`/${code}/`, method);
    assert.equal(res.statusCode, 302, `${method} /${code}/: ${res.body}`);
    assert.equal(res.headers.location, 'https://example.com/slash');
  }
  await svc.clicks.flush();
  const link = await svc.app.inject({ method: 'GET', url: `/urls/${code}`, headers: svc.admin });
  assert.equal(link.json<{ clicks: number }>().clicks, 1, 'the GET counted, the HEAD did not');
  const unknown = await get('/NoSuchCd/');
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json<{ code: string }>().code, 'link_not_found');
});

test('a query string on the short link is not forwarded: Location is the stored URL, its own query kept', async () => {
  const { code } = await create('https://example.com/page?ref=curt#top');
  for (const path of [`/${code}?utm_source=mail&x=1`, `/${code}/?utm_source=mail`, `/${code}?`]) {
    const res = await get(path);
    assert.equal(res.statusCode, 302, path);
    assert.equal(res.headers.location, 'https://example.com/page?ref=curt#top', path);
  }
});

test('aliases are case-sensitive: Launch and launch are two links, LAUNCH is neither', async () => {
  const upper = await create('https://example.com/upper', 'CaseLink');
  const lower = await create('https://example.com/lower', 'caselink');
  assert.deepEqual([upper.status, lower.status], [201, 201]);
  assert.equal((await get('/CaseLink')).headers.location, 'https://example.com/upper');
  assert.equal((await get('/caselink')).headers.location, 'https://example.com/lower');
  assert.equal((await get('/CASELINK')).statusCode, 404);
  assert.equal((await create('https://example.com/again', 'CaseLink')).problem, 'alias_taken');
});

test('reserved words are refused in any letter case', async () => {
  for (const alias of ['health', 'HEALTH', 'Docs', 'uRLs', 'Metrics']) {
    const res = await create('https://example.com/r', alias);
    assert.equal(res.status, 409, alias);
    assert.equal(res.problem, 'alias_reserved', alias);
  }
});
