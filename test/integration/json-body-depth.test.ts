// Deeply nested JSON through the real apps: every route that parses a JSON body answers a body
// 5,000 arrays deep (10 KB, under the 16 KiB limit) with a 400 problem+json, never a 500 with a
// stack trace logged per request; the parser (src/core/json-body.ts) is reachable without a key.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { buildTestKgs, TOKEN, type TestKgs } from '../support/kgs.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';

const PROBLEM = 'application/problem+json; charset=utf-8';
const json = { 'content-type': 'application/json' };

const nestedArrays = (depth: number, inner: string): string => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
/** 10 KB: 5,000 arrays around a lone half of a surrogate pair. */
const DEEP_LONE_HALF = nestedArrays(5000, '"\\ud800"');
/** As deep, around a whole pair: the parser takes it, and the route's own rules answer. */
const DEEP_PAIR = nestedArrays(5000, '"\\ud83d\\ude00"');

function assertProblem(res: LightMyRequestResponse, code: string, what: string): void {
  assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
  assert.equal(res.headers['content-type'], PROBLEM, what);
  assert.equal(res.json<{ code: string }>().code, code, what);
}

function assertHalfCharacter(res: LightMyRequestResponse, what: string): void {
  assertProblem(res, 'invalid_request', what);
  assert.match(res.json<{ detail: string }>().detail, /not half of a pair/, what);
}

describe('a JSON body nested 5,000 deep', () => {
  let svc: TestUrlService;
  let kgs: TestKgs;
  before(async () => {
    assert.ok(DEEP_LONE_HALF.length > 10_000 && DEEP_LONE_HALF.length < 10_100);
    svc = await buildTestUrlService('json_body_depth');
    kgs = await buildTestKgs('json_body_depth');
  });
  after(async () => {
    await svc.close();
    await kgs.close();
  });

  test('POST /urls: a lone surrogate deep down is 400 invalid_request, with or without a key', async () => {
    for (const [what, headers] of [['admin key', { ...svc.admin, ...json }], ['no key', json]] as const) {
      assertHalfCharacter(await svc.app.inject({ method: 'POST', url: '/urls', headers, payload: DEEP_LONE_HALF }), what);
    }
    // Parsed, then refused by the route's schema: a body must be an object.
    const deep = await svc.app.inject({ method: 'POST', url: '/urls', headers: { ...svc.admin, ...json }, payload: DEEP_PAIR });
    assertProblem(deep, 'invalid_request', 'a deep pair');
    assert.match(deep.json<{ detail: string }>().detail, /must be an object/);
  });

  test('the password form POST /{short_code}: a lone surrogate deep down is 400 invalid_request', async () => {
    const made = await svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload: { url: 'https://example.com/deep', password: 'correct horse battery' } });
    assert.equal(made.statusCode, 201, made.body);
    const code = made.json<{ short_code: string }>().short_code;
    assertHalfCharacter(await svc.app.inject({ method: 'POST', url: `/${code}`, headers: json, payload: DEEP_LONE_HALF }), 'password form');
    const deep = await svc.app.inject({ method: 'POST', url: `/${code}`, headers: json, payload: DEEP_PAIR });
    assert.ok(deep.statusCode < 500, `a deep pair: ${deep.statusCode} ${deep.body}`);
  });

  test("the KGS's POST /codes/return: a lone surrogate deep down is 400 invalid_request", async () => {
    const headers = { authorization: `Bearer ${TOKEN}`, ...json };
    assertHalfCharacter(await kgs.app.inject({ method: 'POST', url: '/codes/return', headers, payload: DEEP_LONE_HALF }), '/codes/return');
    assertProblem(await kgs.app.inject({ method: 'POST', url: '/codes/return', headers, payload: DEEP_PAIR }), 'invalid_request', 'a deep pair');
  });
});
