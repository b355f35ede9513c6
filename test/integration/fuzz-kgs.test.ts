// Bad-input fuzzing of every KGS route (README, "KGS API" and "Errors"): generated bodies, headers, paths and query
// strings, with and without the service token. Whatever arrives, the answer comes in time, is never
// a 5xx, and every 4xx is problem+json. fast-check prints the seed and the shrunk request on failure.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_CODES_PER_REQUEST } from '../../src/kgs/key-pool.ts';
import {
  accept,
  anyJsonText,
  assertWellFormed,
  authorization,
  contentType,
  framingHeaders,
  headers,
  injectWithin,
  listeningPort,
  METHODS,
  nastyString,
  nearValidBody,
  notJsonText,
  pathSegment,
  queryString,
  queryValue,
  rawExchange,
  rawRequest,
  RAW_RUNS,
  RUNS,
  sideHeaders,
  wrongValue,
  type FuzzRequest,
} from '../support/fuzz.ts';
import { auth, buildTestKgs, type TestKgs } from '../support/kgs.ts';

const code = fc.stringMatching(/^[A-Za-z0-9_-]{1,10}$/);
const alias = fc.stringMatching(/^[A-Za-z0-9_-]{3,10}$/);

describe('bad-input fuzzing: KGS', () => {
  let kgs: TestKgs;
  const send = async (request: FuzzRequest) => {
    const res = await injectWithin(kgs.app, request);
    assertWellFormed(res, request);
    return res;
  };
  const body = (near: fc.Arbitrary<string>) =>
    fc.oneof({ weight: 6, arbitrary: near }, { weight: 1, arbitrary: anyJsonText }, { weight: 1, arbitrary: notJsonText });
  const credentials = () => authorization([auth.authorization]);

  before(async () => {
    // A pool deep enough that random counts up to 1000 never wait for a refill.
    kgs = await buildTestKgs('fuzz-kgs', { target: 5000, lowWatermark: 2000 });
    await kgs.pool.replenish();
  });
  after(() => kgs.close());

  test('GET /codes: any count and credentials; a 200 holds 1..count codes', async () => {
    const count = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: MAX_CODES_PER_REQUEST }).map(String) }, { weight: 2, arbitrary: queryValue });
    const query = fc.oneof(
      { weight: 3, arbitrary: fc.option(count, { nil: undefined }).map((n) => (n === undefined ? '' : `?${new URLSearchParams({ count: n }).toString()}`)) },
      { weight: 1, arbitrary: queryString(['count']) },
    );
    await fc.assert(
      fc.asyncProperty(query, credentials(), accept(false), sideHeaders, async (qs, authz, acc, side) => {
        const res = await send({ method: 'GET', url: `/codes${qs}`, headers: headers({ ...side, authorization: authz, accept: acc }) });
        if (res.statusCode === 200) {
          const asked = Number(new URLSearchParams(qs).get('count') ?? 1);
          const { codes } = res.json<{ codes: string[] }>();
          assert.ok(codes.length >= 1 && codes.length <= asked, `${codes.length} codes for count=${asked}`);
        }
      }),
      RUNS,
    );
  });

  test('POST /codes/return: any body, media type and credentials', async () => {
    const returnBody = nearValidBody(fc.record({ codes: fc.array(code, { minLength: 1, maxLength: 20 }) }), {
      codes: fc.oneof(
        fc.array(fc.oneof(code, nastyString), { minLength: 1, maxLength: 5 }),
        fc.constantFrom([], ['x'.repeat(11)], [''], ['a b'], ['日本'], [null], [1]),
        fc.integer({ min: MAX_CODES_PER_REQUEST - 1, max: MAX_CODES_PER_REQUEST + 2 }).map((n) => Array.from({ length: n }, (_, i) => `c${i}`)),
        wrongValue,
      ),
    });
    await fc.assert(
      fc.asyncProperty(body(returnBody), contentType, credentials(), async (payload, type, authz) => {
        await send({ method: 'POST', url: '/codes/return', headers: headers({ 'content-type': type, authorization: authz }), payload });
      }),
      RUNS,
    );
  });

  test('POST /codes/claim: any body, media type and credentials', async () => {
    const claimBody = nearValidBody(fc.record({ code: alias }), {
      code: fc.oneof(fc.constantFrom('health', 'HEALTH', 'codes', 'api-keys', 'ab', 'abcdefghijk', 'a b', 'a/b', '日本語テキスト'), nastyString),
    });
    await fc.assert(
      fc.asyncProperty(body(claimBody), contentType, credentials(), async (payload, type, authz) => {
        await send({ method: 'POST', url: '/codes/claim', headers: headers({ 'content-type': type, authorization: authz }), payload });
      }),
      RUNS,
    );
  });

  test('every route, every method: any path, query, body and credentials', async () => {
    const templates = ['/codes', '/codes/return', '/codes/claim', '/codes/{c}', '/{c}', '/{c}/{c}', '/health', '/ready', '/metrics', '/docs', '/docs/json', '/docs/static/{c}'];
    const path = fc.oneof(
      { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...templates), pathSegment(), pathSegment()).map(([t, a, b]) => t.replace('{c}', a).replace('{c}', b)) },
      { weight: 1, arbitrary: fc.array(pathSegment(['codes', 'return', 'claim']), { minLength: 0, maxLength: 4 }).map((segments) => `/${segments.join('/')}`) },
      { weight: 1, arbitrary: fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)) },
    );
    const payload = fc.option(fc.oneof(anyJsonText, notJsonText), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...METHODS), path, queryString(['count']), payload, contentType, credentials(), accept(false), framingHeaders, async (method, p, qs, content, type, authz, acc, framing) => {
        const request: FuzzRequest = {
          method,
          url: `${p}${qs}`,
          headers: headers({ ...framing, authorization: authz, accept: acc, 'content-type': content === undefined ? undefined : type }),
        };
        if (content !== undefined) request.payload = content;
        await send(request);
      }),
      RUNS,
    );
  });

  test('raw HTTP on a real port: malformed request lines, headers and framing', async () => {
    const port = await listeningPort(kgs.app);
    const targets = fc.oneof(
      fc.array(pathSegment(['codes', 'return', 'claim']), { minLength: 1, maxLength: 3 }).map((segments) => `/${segments.join('/')}`),
      fc.tuple(fc.constantFrom('/codes?count=', '/codes/', '/'), fc.string({ unit: 'grapheme', maxLength: 10 })).map(([a, b]) => `${a}${b.replace(/\s/g, '')}`),
    );
    await fc.assert(
      fc.asyncProperty(rawRequest(targets, [auth.authorization]), async ({ method, bytes }) => {
        const res = await rawExchange(port, bytes);
        // Node closes a CONNECT it has no 'connect' listener for: no tunnel, no answer, by design.
        if (res === null && method === 'CONNECT') return;
        assert.ok(res !== null, `closed without an answer: ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`);
        assertWellFormed(res, { method, url: bytes.toString('latin1').split('\r\n')[0] ?? '' });
      }),
      RAW_RUNS,
    );
  });
  // The fuzzer's finds, shrunk, kept as plain cases (the clientError handler is shared with the URL service).
  test("regression: a request Node's HTTP parser rejects gets a 400 problem+json, an odd Expect a 417 one", async () => {
    const port = await listeningPort(kgs.app);
    for (const [head, status, problemCode] of [
      ['GET /codes?count=1 x HTTP/1.1', 400, 'malformed_request'],
      ['POST /codes/claim HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5', 400, 'malformed_request'],
      ['GET /health HTTP/1.1\r\nExpect: nonsense', 417, 'expectation_failed'],
    ] as const) {
      const res = await rawExchange(port, Buffer.from(`${head}\r\nHost: kgs\r\nConnection: close\r\n\r\n`));
      assert.ok(res, head);
      assertWellFormed(res, { method: 'GET', url: head });
      assert.equal(res.statusCode, status, res.body);
      assert.equal((JSON.parse(res.body) as { code: string }).code, problemCode);
    }
  });
});
