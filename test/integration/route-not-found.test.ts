// What a path no route answers gets (src/core/problem.ts, README "Errors"): `405` with an `Allow` that
// lists only what the path really answers, or `404 not_found`. A reserved word is no short code, so
// the redirect's and the password form's routes (`/:short_code`) never count for it; a collection's
// path with a trailing slash (`/urls/`) is no link either, and the 404 names the path without it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { RESERVED_WORDS } from '../../src/core/reserved.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';

const PROBLEM = 'application/problem+json; charset=utf-8';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** The methods the URL service answers at `/{word}`, for the reserved words it has a route for; none for the others. */
const SERVED: Readonly<Record<string, string>> = {
  health: 'GET, HEAD',
  ready: 'GET, HEAD',
  docs: 'GET, HEAD',
  urls: 'GET, HEAD, POST',
  'api-keys': 'GET, HEAD, POST',
  webhooks: 'GET, HEAD, POST',
  app: 'GET, HEAD',
  'favicon.ico': 'GET, HEAD',
  'robots.txt': 'GET, HEAD',
};

function problemOf(res: LightMyRequestResponse, what: string): { code: string; detail: string } {
  assert.equal(res.headers['content-type'], PROBLEM, what);
  return res.json<{ code: string; detail: string }>();
}

describe('paths no route answers', () => {
  let svc: TestUrlService;
  let base: string;
  const call = (method: (typeof METHODS)[number], url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
    svc.app.inject({ method, url, headers } satisfies InjectOptions);

  before(async () => {
    svc = await buildTestUrlService('route-not-found');
    base = await svc.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => svc.close());

  test("a reserved word's path lists in Allow only the methods its own routes answer, never the password form's POST", async () => {
    for (const word of RESERVED_WORDS) {
      const path = `/${word}`;
      const served = SERVED[word];
      for (const method of METHODS) {
        const what = `${method} ${path}`;
        const res = await call(method, path, svc.admin);
        if (served === undefined) {
          // No route of its own: not found, whatever the method (not "no such link": it is no code).
          assert.equal(res.statusCode, 404, `${what}: ${res.body}`);
          if (method === 'HEAD') continue;
          const problem = problemOf(res, what);
          assert.equal(problem.code, 'not_found', what);
          assert.equal(problem.detail, `No route for ${method} ${path}.`, what);
        } else if (served.split(', ').includes(method)) {
          // What Allow lists is answered: not refused as a method, and not taken for a short code.
          assert.notEqual(res.statusCode, 405, `${what}: ${res.body}`);
          if (res.statusCode >= 400 && method !== 'HEAD') assert.notEqual(problemOf(res, what).code, 'link_not_found', what);
        } else {
          assert.equal(res.statusCode, 405, `${what}: ${res.body}`);
          assert.equal(res.headers.allow, served, what);
          if (method !== 'HEAD') assert.equal(problemOf(res, what).detail, `${path} does not answer ${method}; it answers ${served}.`);
        }
      }
    }
  });

  test('the fast path leaves reserved words to their routes: a GET of one over a socket is not_found, not link_not_found', async () => {
    for (const path of ['/metrics', '/admin', '/health/', '/API']) {
      const res = await fetch(`${base}${path}`, { redirect: 'manual', headers: { accept: 'application/json' } });
      assert.equal(res.status, 404, path);
      assert.equal(res.headers.get('content-type'), PROBLEM, path);
      assert.equal(((await res.json()) as { code: string }).code, 'not_found', path);
    }
    const post = await fetch(`${base}/health`, { method: 'POST', body: 'password=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(post.status, 405, 'POST /health is refused before its body is read');
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  test("a short code's path (a real one or not) still lists GET, HEAD and POST, and its password form answers", async () => {
    const created = await svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload: { url: 'https://example.com/locked', password: 'hunter22' } });
    assert.equal(created.statusCode, 201, created.body);
    const code = created.json<{ short_code: string }>().short_code;
    for (const path of [`/${code}`, `/${code}/`, '/nosuch']) {
      for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
        const res = await call(method, path);
        assert.equal(res.statusCode, 405, `${method} ${path}: ${res.body}`);
        assert.equal(res.headers.allow, 'GET, HEAD, POST', `${method} ${path}`);
      }
    }
    const form = await svc.app.inject({ method: 'POST', url: `/${code}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'password=hunter22' });
    assert.equal(form.statusCode, 302, form.body);
    assert.equal(form.headers.location, 'https://example.com/locked');
    assert.equal(problemOf(await call('GET', '/nosuch'), 'GET /nosuch').code, 'link_not_found', 'an unknown code is still no such link');
  });

  test("a collection's path with a trailing slash is 404 not_found naming the path without it, for every method, with a key or without", async () => {
    for (const collection of ['/urls', '/api-keys', '/webhooks']) {
      const path = `${collection}/`;
      for (const headers of [svc.admin, {}]) {
        for (const method of METHODS) {
          const what = `${method} ${path}${headers === svc.admin ? '' : ' (no key)'}`;
          const res = await call(method, path, headers);
          assert.equal(res.statusCode, 404, `${what}: ${res.body}`);
          assert.equal(res.headers.allow, undefined, what);
          if (method === 'HEAD') continue;
          const problem = problemOf(res, what);
          assert.equal(problem.code, 'not_found', what);
          assert.equal(problem.detail, `No route for ${method} ${path}; ${collection}, without the trailing slash, answers GET, HEAD, POST.`, what);
        }
      }
    }
    const health = problemOf(await call('GET', '/health/'), 'GET /health/');
    assert.equal(health.code, 'not_found');
    assert.equal(health.detail, 'No route for GET /health/; /health, without the trailing slash, answers GET, HEAD.');
  });

  test('an empty segment where a code or an id goes is no route: 404 not_found', async () => {
    for (const [method, path] of [
      ['GET', '/urls//analytics'],
      ['GET', '/urls//qr'],
      ['GET', '/webhooks//deliveries'],
      ['PATCH', '/webhooks/'],
      ['GET', '/assets/'],
    ] as const) {
      const res = await call(method, path, svc.admin);
      assert.equal(res.statusCode, 404, `${method} ${path}: ${res.body}`);
      assert.equal(problemOf(res, path).code, 'not_found', `${method} ${path}`);
    }
    assert.notEqual((await call('GET', '/app/')).statusCode, 404, "a wildcard's empty rest is still its route's (the web app)");
  });
});
