// The input rules of README's "URL service API" through HTTP: every input rule as its own case, and the error model (problem+json with a
// stable code, 400/413/415 for bad bodies, 404 for unknown routes, never a 500).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { RESERVED_WORDS } from '../../src/core/reserved.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';

const PROBLEM = 'application/problem+json; charset=utf-8';

function assertProblem(res: LightMyRequestResponse, status: number, code: string, what = ''): void {
  assert.equal(res.statusCode, status, `${what}: ${res.body}`);
  assert.equal(res.headers['content-type'], PROBLEM, what);
  const body = res.json<{ type: string; status: number; code: string; detail?: string }>();
  assert.equal(body.code, code, what);
  assert.equal(body.status, status, what);
  assert.equal(body.type, `urn:curt:problem:${code}`, what);
  assert.ok(!/node_modules|\.ts:\d+|at async/.test(res.body), `${what}: internal detail leaked`);
}

describe('input validation (README, "Errors")', () => {
  let svc: TestUrlService;
  const create = (payload: unknown) => svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload: payload as object });
  const url = (value: unknown) => create({ url: value });

  before(async () => {
    svc = await buildTestUrlService('url-validation', { blockedDomains: ['evil.example', 'xn--bcher-kva.example'] });
  });
  after(() => svc.close());

  describe('url', () => {
    test('http and https URLs are accepted', async () => {
      assert.equal((await url('http://example.com/a')).statusCode, 201);
      assert.equal((await url('https://example.com/a')).statusCode, 201);
    });

    test('other schemes are 400 invalid_url', async () => {
      for (const raw of ['ftp://example.com/', 'javascript:alert(1)', 'data:text/html,hi', 'file:///etc/passwd', 'mailto:a@example.com']) {
        assertProblem(await url(raw), 400, 'invalid_url', raw);
      }
    });

    test('a relative URL or one without a host is 400 invalid_url', async () => {
      for (const raw of ['/just/a/path', 'example.com', '//example.com/x', 'https://', '']) assertProblem(await url(raw), 400, 'invalid_url', raw);
    });

    test('2048 characters are accepted; anything longer is 400 invalid_url with one and the same sentence', async () => {
      const base = 'https://example.com/';
      const exact = base + 'p'.repeat(2048 - base.length);
      const res = await url(exact);
      assert.equal(res.statusCode, 201);
      assert.equal(res.json<{ original_url: string }>().original_url, exact);
      const SAME = 'url must be at most 2048 characters.';
      for (const [what, long] of [
        ['one over', `${exact}p`],
        ['over the schema bound', `${exact}${'p'.repeat(7000)}`],
        ['over once normalised', `https://example.com/${'é'.repeat(700)}`],
      ] as const) {
        const res = await url(long);
        assertProblem(res, 400, 'invalid_url', what);
        assert.equal(res.json<{ detail: string }>().detail, SAME, what);
      }
      // Past the body limit the field cannot be read, and the 413 names the url's limit too.
      const huge = await url(`${exact}${'p'.repeat(20_000)}`);
      assertProblem(huge, 413, 'payload_too_large');
      assert.match(huge.json<{ detail: string }>().detail, /a url at most 2048 characters/);
    });

    test('user-info (user:pass@) is 400 invalid_url', async () => {
      assertProblem(await url('https://user:pass@example.com/'), 400, 'invalid_url');
      assertProblem(await url('https://user@example.com/'), 400, 'invalid_url');
    });

    test("the service's own host is 400 invalid_url (no redirect loops)", async () => {
      for (const raw of ['http://sho.rt/abcdef', 'https://SHO.RT/x', 'http://sho.rt./x', 'http://sho.rt:8080/x']) {
        assertProblem(await url(raw), 400, 'invalid_url', raw);
      }
    });

    test('a blocked domain and its subdomains are 400 url_blocked; look-alikes are not', async () => {
      for (const raw of ['https://evil.example/', 'https://cdn.EVIL.example/x', 'https://www.bücher.example/']) {
        assertProblem(await url(raw), 400, 'url_blocked', raw);
      }
      assert.equal((await url('https://notevil.example/')).statusCode, 201);
    });

    test('international domain names and paths are accepted, normalised to punycode and percent-encoding', async () => {
      const res = await url('https://пример.рф/путь?q=ü');
      assert.equal(res.statusCode, 201);
      const stored = res.json<{ short_code: string; original_url: string }>();
      assert.equal(stored.original_url, 'https://xn--e1afmkfd.xn--p1ai/%D0%BF%D1%83%D1%82%D1%8C?q=%C3%BC');
      assert.equal((await svc.app.inject({ url: `/${stored.short_code}` })).headers.location, stored.original_url);
    });

    test('a missing url is 400 invalid_request; one of the wrong type 400 invalid_url', async () => {
      assertProblem(await create({}), 400, 'invalid_request');
      for (const value of [42, null, ['https://example.com/'], { href: 'https://example.com/' }, true]) {
        assertProblem(await url(value), 400, 'invalid_url', JSON.stringify(value));
      }
    });
  });

  describe('alias', () => {
    test('3 and 10 characters of A-Z a-z 0-9 _ - are accepted', async () => {
      for (const alias of ['abc', 'A_b-9', 'abcdefghij', '0123456789', '---', '___']) {
        const res = await create({ url: 'https://example.com/', alias });
        assert.equal(res.statusCode, 201, `${alias}: ${res.body}`);
        assert.equal(res.json<{ short_code: string }>().short_code, alias);
      }
    });

    test('shorter than 3 or longer than 10 is 400 invalid_alias', async () => {
      for (const alias of ['', 'a', 'ab', 'abcdefghijk', 'x'.repeat(64)]) {
        assertProblem(await create({ url: 'https://example.com/', alias }), 400, 'invalid_alias', alias);
      }
      assertProblem(await create({ url: 'https://example.com/', alias: 'x'.repeat(65) }), 400, 'invalid_alias', 'over the schema bound');
    });

    test('characters outside A-Z a-z 0-9 _ - are 400 invalid_alias', async () => {
      for (const alias of ['has space', 'dot.ted', 'sl/ash', 'qu?ery', 'pct%41', 'émoji', 'ab😀', 'tab\tx', 'a+b+c']) {
        assertProblem(await create({ url: 'https://example.com/', alias }), 400, 'invalid_alias', alias);
      }
    });

    test('every reserved word is refused as an alias in any letter case', async () => {
      for (const word of RESERVED_WORDS) {
        for (const alias of [word, word.toUpperCase(), word.replace(/^./, (c) => c.toUpperCase())]) {
          const res = await create({ url: 'https://example.com/', alias });
          if (/^[A-Za-z0-9_-]{3,10}$/.test(alias)) assertProblem(res, 409, 'alias_reserved', alias);
          else assert.equal(res.statusCode, 400, alias);
        }
      }
      // None of them was created.
      const listed = await svc.app.inject({ url: '/urls?limit=100', headers: svc.admin });
      const codes = listed.json<{ items: { short_code: string }[] }>().items.map((l) => l.short_code.toLowerCase());
      assert.ok(!codes.some((c) => RESERVED_WORDS.has(c)));
    });

    test('a taken alias is 409 alias_taken; aliases are case-sensitive', async () => {
      assert.equal((await create({ url: 'https://example.com/', alias: 'CaseY' })).statusCode, 201);
      assertProblem(await create({ url: 'https://example.com/', alias: 'CaseY' }), 409, 'alias_taken');
      assert.equal((await create({ url: 'https://example.com/', alias: 'casey' })).statusCode, 201);
    });

    test('an alias of the wrong type is 400 invalid_alias', async () => {
      assertProblem(await create({ url: 'https://example.com/', alias: 12345 }), 400, 'invalid_alias');
    });
  });

  describe('expiry', () => {
    test('expires_at and expires_in together are 400', async () => {
      const res = await create({ url: 'https://example.com/', expires_in: 60, expires_at: new Date(Date.now() + 60_000).toISOString() });
      assertProblem(res, 400, 'invalid_request');
    });

    test('expires_at in the past or now is 400 invalid_expiry', async () => {
      assertProblem(await create({ url: 'https://example.com/', expires_at: new Date(Date.now() - 1000).toISOString() }), 400, 'invalid_expiry');
      assertProblem(await create({ url: 'https://example.com/', expires_at: '2000-01-01T00:00:00Z' }), 400, 'invalid_expiry');
    });

    test('an expiry more than 100 years ahead is 400 invalid_expiry', async () => {
      assertProblem(await create({ url: 'https://example.com/', expires_at: '2999-01-01T00:00:00Z' }), 400, 'invalid_expiry');
    });

    test('expires_at must be an RFC 3339 date-time with a time zone', async () => {
      for (const value of ['tomorrow', '2099-01-01', '2099-01-01T00:00:00', '2099-13-01T00:00:00Z', '2099-02-30T00:00:00Z', 1893456000]) {
        assertProblem(await create({ url: 'https://example.com/', expires_at: value }), 400, 'invalid_expiry', String(value));
      }
    });

    test('expires_in must be a positive whole number of seconds within 100 years', async () => {
      for (const value of [0, -5, 1.5, '60', null, 3_153_600_001]) {
        assertProblem(await create({ url: 'https://example.com/', expires_in: value }), 400, 'invalid_expiry', String(value));
      }
      assert.equal((await create({ url: 'https://example.com/', expires_in: 1 })).statusCode, 201);
    });
  });

  describe('bodies', () => {
    test('one_time must be a boolean', async () => {
      assertProblem(await create({ url: 'https://example.com/', one_time: 'yes' }), 400, 'invalid_request');
      assertProblem(await create({ url: 'https://example.com/', one_time: 1 }), 400, 'invalid_request');
    });

    test('an unknown field is 400, not silently dropped', async () => {
      assertProblem(await create({ url: 'https://example.com/', owner: 'someone-else' }), 400, 'invalid_request');
    });

    test('malformed JSON is 400 malformed_json', async () => {
      for (const payload of ['{"url": ', '{url: "https://example.com/"}', 'not json', '{"url":"https://example.com/"}}']) {
        const res = await svc.app.inject({ method: 'POST', url: '/urls', headers: { ...svc.admin, 'content-type': 'application/json' }, payload });
        assertProblem(res, 400, 'malformed_json', payload);
        assert.equal(res.json<{ detail: string }>().detail, 'The request body is not valid JSON.', 'a sentence, as every detail is');
      }
    });

    test('an empty JSON body is 400; a JSON value that is not an object is 400', async () => {
      const empty = await svc.app.inject({ method: 'POST', url: '/urls', headers: { ...svc.admin, 'content-type': 'application/json' } });
      assertProblem(empty, 400, 'malformed_json');
      assert.equal(empty.json<{ detail: string }>().detail, 'The request body is empty: send a JSON object.');
      for (const payload of ['[]', '"https://example.com/"', 'null', '42']) {
        const res = await svc.app.inject({ method: 'POST', url: '/urls', headers: { ...svc.admin, 'content-type': 'application/json' }, payload });
        assert.equal(res.statusCode, 400, payload);
        assert.equal(res.headers['content-type'], PROBLEM);
      }
    });

    test('a body over 16 KiB is 413 payload_too_large', async () => {
      const payload = JSON.stringify({ url: `https://example.com/${'a'.repeat(17 * 1024)}` });
      const res = await svc.app.inject({ method: 'POST', url: '/urls', headers: { ...svc.admin, 'content-type': 'application/json' }, payload });
      assertProblem(res, 413, 'payload_too_large');
    });

    test('a media type other than JSON is 415, text/plain included, never 500', async () => {
      const xml = await svc.app.inject({ method: 'POST', url: '/urls', headers: { ...svc.admin, 'content-type': 'application/xml' }, payload: '<url/>' });
      assertProblem(xml, 415, 'unsupported_media_type');
      const form = await svc.app.inject({ method: 'POST', url: '/urls', headers: { ...svc.admin, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'url=x' });
      assertProblem(form, 415, 'unsupported_media_type');
      const text = await svc.app.inject({ method: 'POST', url: '/urls', headers: { ...svc.admin, 'content-type': 'text/plain' }, payload: 'https://example.com/' });
      assertProblem(text, 415, 'unsupported_media_type');
    });
  });

  describe('JSON bodies: UTF-8, and a body where none is taken', () => {
    const send = (payload: string | Buffer, contentType = 'application/json', method: 'POST' | 'DELETE' = 'POST', path = '/urls') =>
      svc.app.inject({ method, url: path, headers: { ...svc.admin, 'content-type': contentType }, payload });

    test('a charset other than UTF-8 is 415, not read as UTF-8 and stored with replacement characters', async () => {
      const latin1 = Buffer.from('{"url":"https://example.com/caf\u00e9"}', 'latin1');
      const res = await send(latin1, 'application/json; charset=latin1');
      assertProblem(res, 415, 'unsupported_media_type', 'latin1');
      assert.match(res.json<{ detail: string }>().detail, /charset=latin1/);
      assertProblem(await send(Buffer.from('{"url":"https://example.com/"}', 'utf16le'), 'application/json; charset=UTF-16LE'), 415, 'unsupported_media_type', 'utf-16');
      for (const type of ['application/json; charset=utf-8', 'application/json;charset="UTF-8"', 'application/json; charset=utf8', 'application/json']) {
        const made = await send('{"url":"https://example.com/caf\u00e9"}', type);
        assert.equal(made.statusCode, 201, `${type}: ${made.body}`);
        assert.equal(made.json<{ original_url: string }>().original_url, 'https://example.com/caf%C3%A9', type);
      }
    });

    test('bytes that are not UTF-8 are 400, not stored as U+FFFD', async () => {
      const res = await send(Buffer.from('{"url":"https://example.com/caf\u00e9"}', 'latin1'));
      assertProblem(res, 400, 'malformed_json');
      assert.equal(res.json<{ detail: string }>().detail, 'The request body has bytes that are not UTF-8: JSON is read as UTF-8 only.');
    });

    test('an escaped lone surrogate is 400 invalid_request; an escaped pair is a character like any other', async () => {
      for (const payload of ['{"url":"https://example.com/\\ud800"}', '{"url":"https://example.com/x","tags":["a\\uDFFF"]}', '{"url":"https://example.com/\\ude00\\ud83d"}']) {
        const res = await send(payload);
        assertProblem(res, 400, 'invalid_request', payload);
        assert.match(res.json<{ detail: string }>().detail, /not half of a pair/, payload);
      }
      const pair = await send('{"url":"https://example.com/\\ud83d\\ude00"}');
      assert.equal(pair.statusCode, 201, pair.body);
      assert.equal(pair.json<{ original_url: string }>().original_url, 'https://example.com/%F0%9F%98%80');
    });

    test('a DELETE sent with Content-Type: application/json and no body is done (204), as without the header', async () => {
      const made = await create({ url: 'https://example.com/deleted-with-a-content-type' });
      const code = made.json<{ short_code: string }>().short_code;
      const res = await send('', 'application/json', 'DELETE', `/urls/${code}`);
      assert.equal(res.statusCode, 204, res.body);
      // A route that takes a body still says an empty one is empty.
      assertProblem(await send(''), 400, 'malformed_json');
    });
  });

  describe('routes and the error model', () => {
    test('an unknown route is 404 not_found problem+json', async () => {
      for (const [method, path] of [['GET', '/a/b/c'], ['POST', '/a/b'], ['GET', '/urls/abc/def/ghi']] as const) {
        assertProblem(await svc.app.inject({ method, url: path, headers: svc.admin }), 404, 'not_found', `${method} ${path}`);
      }
    });

    test('a validation error is one sentence naming the field and what is allowed, not the validator’s words', async () => {
      for (const [method, path, payload, detail] of [
        ['GET', '/urls/abc/qr?format=gif', undefined, 'format must be "svg" or "png".'],
        ['GET', '/urls/abc/qr?colour=red', undefined, '"colour" is not a field of the query string: the query string takes only "format", "size".'],
        ['GET', '/urls?limit=abc', undefined, 'limit is not valid: 1..100, default 20.'],
        ['GET', '/urls?limit=1&limit=2', undefined, 'limit is given 2 times in the query string: give it once.'],
        ['GET', '/urls/abc/qr?format=svg&format=png', undefined, 'format is given 2 times in the query string: give it once.'],
        // tag is meant to repeat: its own limits are said, not "give it once".
        ['GET', `/urls?${Array.from({ length: 21 }, (_, i) => `tag=t${i}`).join('&')}`, undefined, 'tag: at most 20 tags (got 21).'],
        ['GET', `/urls?${Array.from({ length: 101 }, () => 'tag=same').join('&')}`, undefined, 'tag must have at most 100 items.'],
        ['GET', `/urls?tag=a&tag=${'b'.repeat(701)}`, undefined, 'tag[1] must be at most 700 characters.'],
        ['GET', `/urls?tag=a&tag=${'b'.repeat(40)}`, undefined, `tag: "${'b'.repeat(40)}" is not a tag: 1 to 32 of letters, digits and - _ . : /`],
        ['POST', '/urls', {}, 'The body needs the field "url".'],
        ['POST', '/urls', { url: 'https://example.com/', owner: 'x' }, '"owner" is not a field of the body: the body takes only "url", "alias", "expires_at", "expires_in", "one_time", "max_visits", "forward_query", "password", "tags".'],
        ['POST', '/urls', { url: 'https://example.com/', expires_in: 0 }, 'expires_in must be at least 1.'],
        ['PATCH', '/urls/abcdef', {}, 'The body must set at least one of "is_active", "url", "expires_at", "max_visits", "forward_query", "password", "tags".'],
        ['PATCH', '/urls/abcdef', { is_active: 'yes' }, 'is_active must be true or false.'],
        ['PATCH', '/urls/abcdef', { expires_at: 'tomorrow' }, 'expires_at must be an ISO 8601 date-time with seconds and a time zone (2030-01-31T12:00:00Z) or null.'],
        ['POST', '/urls', { url: 'https://example.com/', max_visits: 0 }, 'max_visits must be at least 1.'],
        ['POST', '/urls', { url: 'https://example.com/', max_visits: 1_000_000_001 }, 'max_visits must be at most 1000000000.'],
        ['POST', '/urls', { url: 'https://example.com/', max_visits: 2.5 }, 'max_visits must be a whole number.'],
        ['POST', '/urls', { url: 'https://example.com/', forward_query: 'yes' }, 'forward_query must be true or false.'],
        ['POST', '/urls', { url: 'https://example.com/', one_time: true, max_visits: 3 }, 'one_time true and max_visits 3 disagree: a one-time link is max_visits 1. Give one of them.'],
        ['POST', '/urls', { url: 'https://example.com/', one_time: false, max_visits: 1 }, 'one_time false and max_visits 1 disagree: a one-time link is max_visits 1. Give one of them.'],
        ['PATCH', '/urls/abcdef', { max_visits: 'ten' }, 'max_visits must be a whole number or null.'],
        ['PATCH', '/urls/abcdef', { max_visits: 0 }, 'max_visits must be at least 1.'],
        ['DELETE', '/api-keys/abc', undefined, 'id is not valid: the id shown by GET /api-keys.'],
      ] as const) {
        const res = await svc.app.inject({ method, url: path, headers: svc.admin, ...(payload === undefined ? {} : { payload }) });
        assert.equal(res.statusCode, 400, `${method} ${path}: ${res.body}`);
        assert.equal(res.json<{ detail: string }>().detail, detail, `${method} ${path}`);
      }
    });

    test('a method a path does not answer is 405 method_not_allowed with Allow listing those it does', async () => {
      for (const [method, path, allow] of [
        ['PUT', '/urls', 'GET, HEAD, POST'],
        ['DELETE', '/urls', 'GET, HEAD, POST'],
        ['POST', '/urls/abc123', 'DELETE, GET, HEAD, PATCH'],
        ['PUT', '/urls/abc123/analytics', 'GET, HEAD'],
        // POST /{code} is a link's password form.
        ['PUT', '/abc123', 'GET, HEAD, POST'],
        // ...but /health is no code: the form's route leaves a reserved word alone.
        ['DELETE', '/health', 'GET, HEAD'],
        ['POST', '/health', 'GET, HEAD'],
        ['PATCH', '/api-keys', 'GET, HEAD, POST'],
      ] as const) {
        const res = await svc.app.inject({ method, url: path, headers: svc.admin });
        assertProblem(res, 405, 'method_not_allowed', `${method} ${path}`);
        assert.equal(res.headers.allow, allow, `${method} ${path}`);
      }
    });

    test('every error carries the request id, matching the X-Request-Id header', async () => {
      const res = await svc.app.inject({ url: '/nosuch', headers: { 'x-request-id': 'trace-42' } });
      assert.equal(res.headers['x-request-id'], 'trace-42');
      assert.equal(res.json<{ request_id: string }>().request_id, 'trace-42');
    });

    test('odd requests never produce a 500', async () => {
      const json = { ...svc.admin, 'content-type': 'application/json' };
      assert.equal((await create({ url: 'https://example.com/', alias: 'oddlink' })).statusCode, 201);
      const odd: InjectOptions[] = [
        { url: '/%00abc' },
        { url: '/abc%00' },
        { url: '/urls/%00', headers: svc.admin },
        { url: `/urls/${'z'.repeat(100)}`, headers: svc.admin },
        { url: '/urls?limit=99999999999999999999', headers: svc.admin },
        { url: `/urls?cursor=${Buffer.from('id:999999999999999').toString('base64url')}`, headers: svc.admin },
        { url: '/urls?cursor=%FF%FE', headers: svc.admin },
        { method: 'POST', url: '/urls', headers: json, payload: '{"url":"https://example.com/\\u0000"}' },
        { method: 'POST', url: '/urls', headers: json, payload: '{"__proto__":{"x":1},"url":"https://example.com/"}' },
        { method: 'POST', url: '/urls', headers: json, payload: '{"constructor":{"prototype":{"x":1}},"url":"https://example.com/"}' },
        { method: 'POST', url: '/urls', headers: json, payload: `{"url":"https://example.com/","alias":"${'\\u0000'.repeat(5)}"}` },
        { method: 'POST', url: '/urls', headers: json, payload: '{"url":"https://example.com/","expires_at":"0000-01-01T00:00:00Z"}' },
        { method: 'POST', url: '/urls', headers: json, payload: '{"url":"https://example.com/","expires_at":"9999-12-31T23:59:59Z"}' },
        { method: 'POST', url: '/urls', headers: { ...json, 'content-length': '5' }, payload: '{"url":"https://example.com/"}' },
        { method: 'POST', url: '/urls', headers: { ...svc.admin, 'content-type': 'application/json; charset=latin1' }, payload: '{"url":"https://example.com/"}' },
        { method: 'PATCH', url: '/urls/oddlink', headers: json, payload: '{"expires_at":"0001-01-01T00:00:00Z"}' },
        { method: 'PATCH', url: '/urls/oddlink', headers: json, payload: '{"expires_at":"0000-01-01T00:00:00Z"}' },
        { method: 'PATCH', url: '/urls/oddlink', headers: json, payload: '{"expires_at":"1969-12-31T23:59:59.999999999Z"}' },
        { method: 'DELETE', url: '/urls/abc', headers: json, payload: '{}' },
        { method: 'OPTIONS', url: '/urls' },
        { method: 'GET', url: '/urls', headers: { authorization: '\u00ff\u00fe' } },
      ];
      for (const req of odd) {
        const res = await svc.app.inject(req);
        const what = `${req.method ?? 'GET'} ${typeof req.url === 'string' ? req.url.slice(0, 60) : ''}`;
        assert.ok(res.statusCode < 500, `${what} → ${res.statusCode} ${res.body.slice(0, 200)}`);
        if (res.statusCode >= 400) assert.equal(res.headers['content-type'], PROBLEM, what);
      }
    });

    test(
      'a URL the router rejects (broken percent-encoding, a path segment over 100 characters) is still problem+json',

      async () => {
        for (const path of ['/%ZZ', `/${'a'.repeat(101)}`, `/urls/${'a'.repeat(5000)}`]) {
          const res = await svc.app.inject({ url: path, headers: svc.admin });
          assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${path.slice(0, 20)}: ${res.statusCode}`);
          assert.equal(res.headers['content-type'], PROBLEM, path.slice(0, 20));
        }
      },
    );
  });
});
