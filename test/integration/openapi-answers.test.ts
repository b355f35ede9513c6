// The OpenAPI document (/docs/json) against what the services send: every error is
// application/problem+json (it said application/json, so a client generated from it matched no
// error by its media type), with the headers those answers carry; the redirect documents its
// redirect, its pages and its errors (it said only "200 Default Response"); the QR code documents
// its images; the answers' own headers (Location of a creation, Content-Disposition of an export).
// Each is checked against a real answer of the same service.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestKgs, type TestKgs } from '../support/kgs.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';

interface Response {
  description?: string;
  content?: Record<string, { schema?: { $ref?: string } }>;
  headers?: Record<string, { schema?: { type?: string } }>;
}
interface Doc {
  paths: Record<string, Record<string, { responses?: Record<string, Response> }>>;
}

const PROBLEM = '#/components/schemas/Problem';

/** Every (path, method, status, response) of the document. */
function* answers(doc: Doc): Generator<[string, string, string, Response]> {
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) yield [path, method, status, response];
    }
  }
}

function checkProblemAnswers(doc: Doc): number {
  let problems = 0;
  for (const [path, method, status, response] of answers(doc)) {
    const where = `${method.toUpperCase()} ${path} ${status}`;
    const types = Object.keys(response.content ?? {});
    assert.ok(!types.some((type) => response.content?.[type]?.schema?.$ref === PROBLEM && type !== 'application/problem+json'), `${where}: a Problem under ${types.join(', ')}`);
    if (response.content?.['application/problem+json'] === undefined) continue;
    problems++;
    if (status === '429' || status === '503') assert.equal(response.headers?.['Retry-After']?.schema?.type, 'integer', `${where}: Retry-After`);
    if (status === '401') assert.equal(response.headers?.['WWW-Authenticate']?.schema?.type, 'string', `${where}: WWW-Authenticate`);
  }
  return problems;
}

describe('the URL service\'s OpenAPI document', () => {
  let service: TestUrlService;
  let doc: Doc;

  before(async () => {
    service = await buildTestUrlService('openapi_answers');
    doc = (await service.app.inject({ method: 'GET', url: '/docs/json' })).json<Doc>();
  });
  after(async () => service?.close());

  test('every error is application/problem+json, as it is sent, with Retry-After on 429 and 503 and WWW-Authenticate on 401', async () => {
    assert.ok(checkProblemAnswers(doc) > 50, 'the routes declare their errors');
    const refused = await service.app.inject({ method: 'POST', url: '/urls', headers: { ...service.admin, 'content-type': 'application/json' }, payload: '{"url":"ftp://x.example"}' });
    assert.equal(refused.statusCode, 400);
    assert.match(refused.headers['content-type'] as string, /^application\/problem\+json/);
    assert.ok(doc.paths['/urls']?.post?.responses?.['400']?.content?.['application/problem+json']);
  });

  test('GET /{short_code} documents the redirect with its Location, the bot page, and its errors as problem+json or an HTML page', async () => {
    const responses = doc.paths['/{short_code}']?.get?.responses ?? {};
    assert.deepEqual(Object.keys(responses).sort(), ['200', '302', '401', '404', '410', '429', '503']);
    assert.equal(responses['302']?.headers?.Location?.schema?.type, 'string', 'Location, a string (an OpenAPI header object: its schema under schema)');
    assert.equal(responses['302']?.content, undefined, 'no body');
    for (const status of ['401', '404', '410', '429', '503']) {
      assert.deepEqual(Object.keys(responses[status]?.content ?? {}).sort(), ['application/problem+json', 'text/html'], status);
    }
    const post = doc.paths['/{short_code}']?.post?.responses ?? {};
    assert.ok(post['302'] && post['401'] && post['429'], 'the password form: 302, 401, 429');

    const link = (await service.app.inject({ method: 'POST', url: '/urls', headers: { ...service.admin, 'content-type': 'application/json' }, payload: '{"url":"https://example.com/openapi"}' })).json<{ short_code: string }>();
    const redirected = await service.app.inject({ method: 'GET', url: `/${link.short_code}` });
    assert.equal(redirected.statusCode, 302);
    assert.equal(redirected.headers.location, 'https://example.com/openapi');
    const missing = await service.app.inject({ method: 'GET', url: '/nOsUcHcOdE' });
    assert.equal(missing.statusCode, 404);
    assert.match(missing.headers['content-type'] as string, /^application\/problem\+json/);
    const page = await service.app.inject({ method: 'GET', url: '/nOsUcHcOdE', headers: { accept: 'text/html' } });
    assert.equal(page.statusCode, 404);
    assert.match(page.headers['content-type'] as string, /^text\/html/);
  });

  test('the QR code documents its two images; a refused size is not cacheable, the image is', async () => {
    const ok = doc.paths['/urls/{short_code}/qr']?.get?.responses?.['200'];
    assert.deepEqual(Object.keys(ok?.content ?? {}).sort(), ['image/png', 'image/svg+xml']);
    const link = (await service.app.inject({ method: 'POST', url: '/urls', headers: { ...service.admin, 'content-type': 'application/json' }, payload: '{"url":"https://example.com/qr-doc"}' })).json<{ short_code: string }>();
    const image = await service.app.inject({ method: 'GET', url: `/urls/${link.short_code}/qr?format=png`, headers: service.admin });
    assert.equal(image.statusCode, 200);
    assert.equal(image.headers['content-type'], 'image/png');
    assert.equal(image.headers['cache-control'], 'private, max-age=86400');
    const refused = await service.app.inject({ method: 'GET', url: `/urls/${link.short_code}/qr?format=png&size=63`, headers: service.admin });
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.headers['cache-control'], undefined, 'a refusal is not kept for a day');
  });

  test('a creation documents its Location, an export its Content-Disposition, and both send them', async () => {
    assert.equal(doc.paths['/urls']?.post?.responses?.['201']?.headers?.Location?.schema?.type, 'string');
    assert.equal(doc.paths['/urls/export']?.get?.responses?.['200']?.headers?.['Content-Disposition']?.schema?.type, 'string');
    const made = await service.app.inject({ method: 'POST', url: '/urls', headers: { ...service.admin, 'content-type': 'application/json' }, payload: '{"url":"https://example.com/located"}' });
    assert.equal(made.headers.location, `/urls/${made.json<{ short_code: string }>().short_code}`);
    const exported = await service.app.inject({ method: 'GET', url: '/urls/export', headers: service.admin });
    assert.match(exported.headers['content-disposition'] as string, /^attachment; filename="curt-links\.(csv|ndjson)"$/);
  });

  test('security says where a key is optional: creating with ALLOW_ANONYMOUS on, reading a link, its analytics and its QR code (anonymous links are public); required elsewhere, and for creating when anonymous creation is off', async () => {
    const security = (d: Doc, path: string, method: string) => (d.paths[path]?.[method] as { security?: unknown } | undefined)?.security;
    const optional = [{ bearer: [] }, {}];
    assert.deepEqual(security(doc, '/urls', 'post'), optional);
    assert.deepEqual(security(doc, '/urls/{short_code}', 'get'), optional);
    assert.deepEqual(security(doc, '/urls/{short_code}/analytics', 'get'), optional);
    assert.deepEqual(security(doc, '/urls/{short_code}/qr', 'get'), optional);
    // Another's link, or an anonymous one with a password, read with a key that is not an admin's.
    for (const path of ['/urls/{short_code}', '/urls/{short_code}/analytics', '/urls/{short_code}/qr']) {
      assert.ok(doc.paths[path]?.get?.responses?.['403'], `${path} documents its 403`);
    }
    assert.deepEqual(security(doc, '/urls', 'get'), [{ bearer: [] }]);
    assert.deepEqual(security(doc, '/urls/{short_code}', 'delete'), [{ bearer: [] }]);
    // What the document says holds: an anonymous link made and read without a key.
    const made = await service.app.inject({ method: 'POST', url: '/urls', headers: { 'content-type': 'application/json' }, payload: '{"url":"https://example.com/openapi-anonymous"}' });
    assert.equal(made.statusCode, 201, made.body);
    const code = made.json<{ short_code: string }>().short_code;
    assert.equal((await service.app.inject({ url: `/urls/${code}` })).statusCode, 200);
    assert.equal((await service.app.inject({ url: `/urls/${code}/analytics` })).statusCode, 200);
    assert.equal((await service.app.inject({ url: `/urls/${code}/qr` })).statusCode, 200);
    const guarded = await service.app.inject({ method: 'POST', url: '/urls', headers: { 'content-type': 'application/json' }, payload: '{"url":"https://example.com/openapi-guarded","password":"correct horse"}' });
    assert.equal(guarded.statusCode, 201, guarded.body);
    const user = await service.userKey('openapi-qr');
    assert.equal((await service.app.inject({ url: `/urls/${guarded.json<{ short_code: string }>().short_code}/qr`, headers: user })).statusCode, 403);
    const closed = await buildTestUrlService('openapi_closed', { allowAnonymous: false });
    try {
      const closedDoc = (await closed.app.inject({ method: 'GET', url: '/docs/json' })).json<Doc>();
      assert.deepEqual(security(closedDoc, '/urls', 'post'), [{ bearer: [] }]);
      assert.equal((await closed.app.inject({ method: 'POST', url: '/urls', headers: { 'content-type': 'application/json' }, payload: '{"url":"https://example.com/x"}' })).statusCode, 401);
    } finally {
      await closed.close();
    }
  });
});

describe('the KGS\'s OpenAPI document', () => {
  let kgs: TestKgs;
  before(async () => {
    kgs = await buildTestKgs('openapi_answers');
  });
  after(async () => kgs?.close());

  test('every error is application/problem+json too', async () => {
    const doc = (await kgs.app.inject({ url: '/docs/json' })).json<Doc>();
    assert.ok(checkProblemAnswers(doc) > 5, 'the routes declare their errors');
  });
});
