// The public HTTP edge as the internet meets it: slow clients are cut off, the home page, favicon and
// robots.txt answer as themselves, /docs renders over plain HTTP from another host, and a KGS with a
// guessable token says so.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { get, request } from 'node:http';
import { connect } from 'node:net';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { ERROR_CODES } from '../../src/core/errors.ts';
import { createHttpApp, DEFAULT_HTTP_TIMEOUTS, HTML_SECURITY_HEADERS } from '../../src/core/http-app.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { startMetricsServer } from '../../src/core/metrics-server.ts';
import { weakTokenReason } from '../../src/kgs/auth.ts';
import { createKgsClient } from '../../src/kgs-client/kgs-client.ts';
import { testLogger } from '../support/log.ts';
import { until } from '../support/fault-probes.ts';
import { RawConnection, type RawResponse } from '../support/raw-http.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';

describe('request timeouts', () => {
  test('a body trickled slower than the request timeout gets 408 problem+json and the socket is closed', async (t) => {
    const app = await createHttpApp({
      log: testLogger(),
      registry: createRegistry({ defaultMetrics: false }),
      title: 't',
      description: 't',
      version: '0',
      timeouts: { requestMs: 1000, headersMs: 500, keepAliveMs: 5000 },
    });
    app.post('/echo', async (request) => request.body);
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    t.after(() => app.close());
    const { port } = new URL(address);
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    let received = '';
    let closed = false;
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => (closed = true));
    socket.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":"');
    // One byte at a time, far slower than 1000 bytes in a second: the slow-loris body.
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write('x');
    }, 100);
    t.after(() => clearInterval(trickle));
    // A bound for a failure to show, not a timing claim: without timeouts this never ends.
    await until(async () => closed, 20_000, 'the server to close the slow connection');
    clearInterval(trickle);
    assert.match(received, /^HTTP\/1\.1 408 /);
    assert.match(received, /content-type: application\/problem\+json/i);
    assert.match(received, /"code":"request_timeout"/);
  });
});

/** Writes `bytes` on a new connection to `port` and gives back all that came before the server closed it. */
async function exchange(port: number, bytes: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  socket.write(bytes);
  await once(socket, 'close');
  return received;
}

test('CONNECT gets 405 problem+json with Allow and the connection closed, not a connection closed without a word', async (t) => {
  const app = await createHttpApp({ log: testLogger(), registry: createRegistry({ defaultMetrics: false }), title: 't', description: 't', version: '0', timeouts: { requestMs: 1000, headersMs: 500, keepAliveMs: 5000 } });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  for (const target of ['example.com:443', '/urls']) {
    const received = await exchange(Number(new URL(address).port), `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\nX-Request-Id: my-connect-1\r\n\r\n`);
    assert.match(received, /^HTTP\/1\.1 405 /, target);
    assert.match(received, /\r\nX-Request-Id: my-connect-1\r\n[\s\S]*"request_id":"my-connect-1"/, `${target}: the caller's request id, in the header and the body`);
    assert.match(received, /\r\nContent-Type: application\/problem\+json/i, target);
    assert.match(received, /\r\nAllow: GET, HEAD, POST, PATCH, DELETE\r\n/, target);
    assert.match(received, /"code":"method_not_allowed"/, target);
  }
});

test('an HTTP/1.1 request without Host, any with two, or a target of * other than OPTIONS gets 400 problem+json and the connection closed (with and without a fast path); HTTP/1.0 needs none; OPTIONS * is 204 with Allow', async (t) => {
  for (const fastPath of [undefined, () => false]) {
    const app = await createHttpApp({ log: testLogger(), registry: createRegistry({ defaultMetrics: false }), title: 't', description: 't', version: '0', timeouts: { requestMs: 1000, headersMs: 500, keepAliveMs: 5000 }, ...(fastPath === undefined ? {} : { fastPath }) });
    app.get('/plain', async () => ({ ok: true }));
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    t.after(() => app.close());
    const send = (request: string): Promise<string> => exchange(Number(new URL(address).port), request);
    const what = fastPath === undefined ? 'no fast path' : 'a fast path';
    const missing = await send('GET /plain HTTP/1.1\r\n\r\n');
    assert.match(missing, /^HTTP\/1\.1 400 /, what);
    assert.match(missing, /\r\ncontent-type: application\/problem\+json/i, what);
    assert.match(missing, /\r\nconnection: close\r\n/i, what);
    assert.match(missing, /"code":"malformed_request".*"detail":"An HTTP\/1\.1 request needs a Host header\."/, what);
    const old = await send('GET /plain HTTP/1.0\r\n\r\n');
    assert.match(old, /^HTTP\/1\.1 200 /, `${what}: HTTP/1.0`);
    // Two Host fields (RFC 9112 §3.2): Node keeps the first; a proxy may have read the other.
    for (const twice of ['Host: a.example\r\nHost: b.example', 'Host: a.example\r\nX-Other: 1\r\nhOsT: a.example']) {
      const repeated = await send(`GET /plain HTTP/1.1\r\n${twice}\r\nConnection: keep-alive\r\n\r\n`);
      assert.match(repeated, /^HTTP\/1\.1 400 /, `${what}: ${twice}`);
      assert.match(repeated, /\r\nconnection: close\r\n/i, what);
      assert.match(repeated, /"code":"malformed_request".*"detail":"A request has one Host header, not several\."/, what);
    }
    // Two Authorization fields: whose key would depend on which one a proxy and Node each read.
    const twoKeys = await send('GET /plain HTTP/1.1\r\nHost: a.example\r\nAuthorization: Bearer one\r\nauthorization: Bearer two\r\nConnection: keep-alive\r\n\r\n');
    assert.match(twoKeys, /^HTTP\/1\.1 400 /, `${what}: two Authorization`);
    assert.match(twoKeys, /"code":"malformed_request".*"detail":"A request has one Authorization header, not several\."/, what);
    // A method HTTP's parser does not know: 501 (RFC 9110 §9.1), not "could not be parsed".
    const unknown = await send('FOO /plain HTTP/1.1\r\nHost: a.example\r\n\r\n');
    assert.match(unknown, /^HTTP\/1\.1 501 /, `${what}: FOO`);
    assert.match(unknown, /\r\ncontent-type: application\/problem\+json/i, what);
    assert.match(unknown, /"code":"method_not_implemented"/, what);
    const single = await send('GET /plain HTTP/1.1\r\nHost: a.example\r\nX-Host: b\r\nConnection: close\r\n\r\n');
    assert.match(single, /^HTTP\/1\.1 200 /, `${what}: one Host`);
    // The asterisk is for OPTIONS alone (RFC 9112 §3.2.4); GET * got the web app's page.
    for (const method of ['GET', 'HEAD', 'POST']) {
      const star = await send(`${method} * HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n`);
      assert.match(star, /^HTTP\/1\.1 400 /, `${what}: ${method} *`);
      if (method !== 'HEAD') assert.match(star, /"code":"malformed_request".*"detail":"The request target must be a path/, what);
    }
    const options = await send('OPTIONS * HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n');
    assert.match(options, /^HTTP\/1\.1 204 /, `${what}: OPTIONS *`);
    assert.match(options, /\r\nallow: GET, HEAD, POST, PATCH, DELETE, OPTIONS\r\n/i);
    const absolute = await send('GET http://a.example/plain HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n');
    assert.match(absolute, /^HTTP\/1\.1 200 /, `${what}: absolute-form`);
  }
});

/** Sends `bytes` on a new connection and reads the one answer. */
async function answerTo(port: number, bytes: string): Promise<RawResponse> {
  const connection = await RawConnection.open(port);
  try {
    connection.send([bytes]);
    const answer = await connection.read();
    assert.ok(answer !== null, `no answer to ${JSON.stringify(bytes.slice(0, 40))}: ${connection.ended ?? '?'}`);
    return answer;
  } finally {
    connection.close();
  }
}

/** A problem+json answer whose X-Request-Id is its body's request_id, and the caller's id when `given`. */
function assertProblemWithId(answer: RawResponse, given: string | null, what: string): { code: string } {
  assert.match(answer.headers['content-type'] ?? '', /^application\/problem\+json/, what);
  const header = answer.headers['x-request-id'];
  assert.ok(header !== undefined && header !== '', `${what}: no x-request-id header`);
  const problem = JSON.parse(answer.body) as { code: string; request_id?: string };
  assert.equal(problem.request_id, header, `${what}: the body's request_id is the header's`);
  if (given !== null) assert.equal(header, given, `${what}: the caller's id`);
  return problem;
}

test("every problem answered outside the app's hooks (the router's, the parser's, Node's own refusals) carries X-Request-Id, the same as its request_id, with and without a fast path", async (t) => {
  for (const fastPath of [undefined, () => false]) {
    const app = await createHttpApp({ log: testLogger(), registry: createRegistry({ defaultMetrics: false }), title: 't', description: 't', version: '0', timeouts: { requestMs: 5000, headersMs: 2000, keepAliveMs: 5000 }, ...(fastPath === undefined ? {} : { fastPath }) });
    app.get('/urls/:short_code', async () => ({ ok: true }));
    const port = Number(new URL(await app.listen({ host: '127.0.0.1', port: 0 })).port);
    t.after(() => app.close());
    const cases: [string, string, number, string, string | null][] = [
      // frameworkErrors: the router refuses these before the onRequest hook that sets the header runs.
      ['bad percent-encoding', 'GET /urls/%zz HTTP/1.1\r\nHost: a\r\nX-Request-Id: given-1\r\n\r\n', 400, 'invalid_path', 'given-1'],
      ['bad percent-encoding, an id not kept', 'GET /urls/%zz HTTP/1.1\r\nHost: a\r\nX-Request-Id: not kept!\r\n\r\n', 400, 'invalid_path', null],
      ['an over-long segment', `GET /urls/${'a'.repeat(200)} HTTP/1.1\r\nHost: a\r\nX-Request-Id: given-2\r\n\r\n`, 414, 'path_too_long', 'given-2'],
      ['no Host', 'GET /urls/x HTTP/1.1\r\nX-Request-Id: given-3\r\n\r\n', 400, 'malformed_request', 'given-3'],
      ['Expect: foo', 'GET /urls/x HTTP/1.1\r\nHost: a\r\nExpect: foo\r\nX-Request-Id: given-4\r\n\r\n', 417, 'expectation_failed', 'given-4'],
      ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nX-Request-Id: given-5\r\n\r\n', 405, 'method_not_allowed', 'given-5'],
      // The parser gave up before any header was read: a new id.
      ['a Content-Length that is no number', 'GET /urls/x HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\nX-Request-Id: given-6\r\n\r\n', 400, 'malformed_request', null],
    ];
    for (const [name, bytes, status, code, given] of cases) {
      const what = `${name} (${fastPath === undefined ? 'no fast path' : 'a fast path'})`;
      const answer = await answerTo(port, bytes);
      assert.equal(answer.status, status, `${what}: ${answer.body}`);
      assert.equal(assertProblemWithId(answer, given, what).code, code, what);
    }
  }
});

test('the metrics port answers what Node would refuse on its own (no Host, an Expect it cannot meet, CONNECT) as problem+json with the request id, as the main port does', async (t) => {
  const listener = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: createRegistry({ defaultMetrics: false }), log: testLogger('metrics'), timeouts: DEFAULT_HTTP_TIMEOUTS });
  t.after(() => listener.close());
  const port = Number(new URL(listener.address).port);
  const noHost = await answerTo(port, 'GET /metrics HTTP/1.1\r\nX-Request-Id: m-1\r\n\r\n');
  assert.equal(noHost.status, 400, 'no Host');
  assert.equal(assertProblemWithId(noHost, 'm-1', 'no Host').code, 'malformed_request');
  assert.equal(noHost.headers.connection, 'close');
  const expectation = await answerTo(port, 'GET /metrics HTTP/1.1\r\nHost: a\r\nExpect: foo\r\nX-Request-Id: m-2\r\n\r\n');
  assert.equal(expectation.status, 417, 'Expect: foo');
  assert.equal(assertProblemWithId(expectation, 'm-2', 'Expect: foo').code, 'expectation_failed');
  // Not a connection closed without a word; Allow names what this port answers, not the main port's methods.
  const tunnel = await answerTo(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nX-Request-Id: m-3\r\n\r\n');
  assert.equal(tunnel.status, 405, 'CONNECT');
  assert.equal(assertProblemWithId(tunnel, 'm-3', 'CONNECT').code, 'method_not_allowed');
  assert.equal(tunnel.headers.allow, 'GET, HEAD');
  const star = await answerTo(port, 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(star.status, 204, 'OPTIONS *');
  assert.equal(star.headers.allow, 'GET, HEAD');
  const old = await answerTo(port, 'GET /metrics HTTP/1.0\r\n\r\n');
  assert.equal(old.status, 200, 'HTTP/1.0 needs no Host');
});

test('every HTML answer under /docs, the files swagger-ui serves from its folder included, carries the HTML security headers', async (t) => {
  const app = await createHttpApp({ log: testLogger(), registry: createRegistry({ defaultMetrics: false }), title: 't', description: 't', version: '0' });
  t.after(() => app.close());
  const folder = join(dirname(fileURLToPath(import.meta.resolve('@fastify/swagger-ui'))), 'static');
  const files = readdirSync(folder).filter((name) => name.endsWith('.html'));
  let html = 0;
  for (const url of ['/docs', '/docs/', '/docs/static/', ...files.map((name) => `/docs/static/${name}`)]) {
    const res = await app.inject({ url });
    if (!String(res.headers['content-type']).startsWith('text/html')) continue;
    html++;
    for (const [name, value] of Object.entries(HTML_SECURITY_HEADERS)) assert.equal(res.headers[name], value, `${url}: ${name}`);
  }
  assert.ok(html >= 4, `${html} HTML answers: /docs, /docs/, /docs/static/ and oauth2-redirect.html at least`);
});

describe('what a browser finds at the root', () => {
  let svc: TestUrlService;
  before(async () => {
    svc = await buildTestUrlService('http_edge');
  });
  after(() => svc.close());

  test('/favicon.ico and /robots.txt are not "short link does not exist"', async () => {
    const icon = await svc.app.inject({ url: '/favicon.ico' });
    assert.equal(icon.statusCode, 204);
    const robots = await svc.app.inject({ url: '/robots.txt' });
    assert.equal(robots.statusCode, 200);
    assert.match(String(robots.headers['content-type']), /^text\/plain/);
    assert.match(robots.body, /^User-agent: \*$/m);
    assert.match(robots.body, /^Disallow: \/urls\/$/m);
    assert.match(robots.body, /^Disallow: \/docs\/$/m);
    assert.match(robots.body, /^Allow: \/$/m, 'short links may be followed');
  });

  test('/docs carries a CSP without upgrade-insecure-requests, so it renders over plain HTTP from another host', async () => {
    const page = await svc.app.inject({ url: '/docs/', headers: { host: '192.168.1.20:8080' } });
    assert.equal(page.statusCode, 200);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'/, 'still a strict policy');
    assert.doesNotMatch(csp, /upgrade-insecure-requests/);
    // Framed by no one, as X-Frame-Options: DENY says too (the two disagreed: 'self').
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    const asset = await svc.app.inject({ url: '/docs/static/swagger-ui.css' });
    assert.doesNotMatch(String(asset.headers['content-security-policy']), /upgrade-insecure-requests/);
  });
});

test('the KGS calls placeholder and short tokens weak, and a long random one fine', () => {
  for (const token of ['change-me', 'changeme', 'CHANGE_ME', 'secret', 'token', 'replace-me', 'secret123', 'test-token']) {
    assert.match(weakTokenReason(token) ?? '', /placeholder/, token);
  }
  assert.match(weakTokenReason('k9Xq2mVb7Lw') ?? '', /shorter than 24/);
  assert.equal(weakTokenReason('3f9c1a7e5b2d48c6a0e1f7b9d3c5a8e2'), null);
});

describe('metrics stay off the public port', () => {
  test('GET /metrics on the public port is a 404 problem', async (t) => {
    const svc = await buildTestUrlService('http_edge_metrics');
    t.after(() => svc.close());
    const res = await svc.app.inject({ url: '/metrics' });
    assert.equal(res.statusCode, 404);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  });

  test("the KGS client's series name each replica by its place in KGS_URL, never its address", async (t) => {
    const registry = createRegistry({ defaultMetrics: false });
    const client = createKgsClient({ urls: ['http://10.1.2.3:7001', 'http://kgs-b.internal:7001'], token: 't', log: testLogger(), registry });
    t.after(() => client.close().catch(() => undefined));
    const exposition = await registry.metrics();
    assert.match(exposition, /^kgs_client_breaker_state\{kgs="0"\} 0$/m);
    assert.match(exposition, /^kgs_client_breaker_state\{kgs="1"\} 0$/m);
    assert.doesNotMatch(exposition, /10\.1\.2\.3|kgs-b\.internal/);
  });
});

test("a HEAD the parser refuses (headers too large, a bad Content-Length) is answered without a body, which Node's own client reads; a GET of the same gets the problem", async (t) => {
  const app = await createHttpApp({ log: testLogger(), registry: createRegistry({ defaultMetrics: false }), title: 't', description: 't', version: '0', timeouts: { requestMs: 5000, headersMs: 2000, keepAliveMs: 5000 } });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const port = Number(new URL(address).port);
  const send = (bytes: string): Promise<string> => exchange(port, bytes);
  const long = `/${'x'.repeat(20_000)}`;
  for (const [request, status] of [
    [`${long} HTTP/1.1\r\nHost: a\r\n\r\n`, 431],
    ['/ HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n', 400],
  ] as const) {
    const [headers = '', body] = (await send(`HEAD ${request}`)).split('\r\n\r\n');
    assert.match(headers, new RegExp(`^HTTP/1\\.1 ${status} `));
    assert.match(headers, /\r\nContent-Length: \d+\r\n/i, 'the length a GET would get');
    assert.equal(body, '', 'no content after the headers');
    const got = (await send(`GET ${request}`)).split('\r\n\r\n')[1] ?? '';
    assert.match(got, /"status":\d{3}/, 'a GET gets the problem');
  }
  const answered = await new Promise<number>((resolve, reject) => {
    request({ host: '127.0.0.1', port, method: 'HEAD', path: long }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
  assert.equal(answered, 431);
});

describe("the URL service on a socket: /docs's files, compressed bodies, Expect: 100-continue", () => {
  let service: TestUrlService;
  let port = 0;
  before(async () => {
    service = await buildTestUrlService('http_edge_socket');
    port = Number(new URL(await service.app.listen({ host: '127.0.0.1', port: 0 })).port);
  });
  after(async () => service.close());

  test('a path out of the folder is 403 forbidden, a range past the end 416 range_not_satisfiable, a failed If-Match 412 precondition_failed: each code with the status the README gives it', async () => {
    const cases: [string, Record<string, string>, number, string][] = [
      ['/docs/static/..', {}, 403, 'forbidden'],
      ['/docs/static/a%5c..%5c..%5cx', {}, 403, 'forbidden'],
      ['/docs/static/swagger-ui.css', { range: 'bytes=999999999-' }, 416, 'range_not_satisfiable'],
      ['/docs/static/swagger-ui.css', { 'if-match': '"not-its-etag"' }, 412, 'precondition_failed'],
    ];
    // Over a socket: inject, like fetch, resolves the dots before sending.
    for (const [url, headers, status, code] of cases) {
      const res = await new Promise<{ statusCode: number; contentType: string; contentRange: string | undefined; body: string }>((resolve, reject) => {
        get({ host: '127.0.0.1', port, path: url, headers }, (answer) => {
          let body = '';
          answer.setEncoding('utf8');
          answer.on('data', (chunk: string) => (body += chunk));
          answer.on('end', () => resolve({ statusCode: answer.statusCode ?? 0, contentType: String(answer.headers['content-type']), contentRange: answer.headers['content-range'], body }));
        }).on('error', reject);
      });
      assert.equal(res.statusCode, status, `${url} ${JSON.stringify(headers)}: ${res.body.slice(0, 200)}`);
      assert.match(res.contentType, /^application\/problem\+json/);
      const problem = JSON.parse(res.body) as { code: string; status: number };
      assert.equal(problem.code, code, url);
      assert.equal(problem.status, status);
      assert.equal(ERROR_CODES[problem.code as keyof typeof ERROR_CODES], status, 'the code table agrees');
      if (status === 416) assert.match(res.contentRange ?? '', /^bytes \*\/\d+$/, "a 416 says the file's length");
    }
  });

  test('a compressed body is 415 unsupported_media_type with Accept-Encoding: identity, for a link and for an import, and nothing is made; identity passes, and a coding without a body is no matter', async () => {
    const json = JSON.stringify({ url: 'https://example.com/zipped' });
    for (const [url, type, body] of [
      ['/urls', 'application/json', json],
      ['/urls/import', 'text/csv', 'url\nhttps://example.com/zipped\n'],
    ] as const) {
      for (const coding of ['gzip', 'br', 'deflate, gzip']) {
        const res = await service.app.inject({ method: 'POST', url, headers: { ...service.admin, 'content-type': type, 'content-encoding': coding }, payload: coding === 'br' ? body : gzipSync(body) });
        assert.equal(res.statusCode, 415, `${url} ${coding}: ${res.body}`);
        assert.equal(res.json<{ code: string }>().code, 'unsupported_media_type');
        assert.match(res.json<{ detail: string }>().detail, /Content-Encoding .* is not supported: send the body uncompressed/);
        assert.equal(res.headers['accept-encoding'], 'identity');
      }
    }
    // A path or a method no route has: what is wrong is the path (404) or the method (405), not the
    // coding, nor a body that is not JSON (it is never read).
    for (const [method, url, status, code] of [
      ['POST', '/no/such/route', 404, 'not_found'],
      ['PUT', '/urls', 405, 'method_not_allowed'],
    ] as const) {
      for (const [headers, payload] of [
        [{ 'content-encoding': 'gzip' }, gzipSync(json)],
        [{}, '{not json'],
      ] as const) {
        const unrouted = await service.app.inject({ method, url, headers: { ...service.admin, 'content-type': 'application/json', ...headers }, payload });
        assert.equal(unrouted.statusCode, status, `${method} ${url}: ${unrouted.body}`);
        assert.equal(unrouted.json<{ code: string }>().code, code);
        assert.match(unrouted.headers['x-request-id'] as string, /./, 'the request id is sent');
        if (status === 405) assert.match(unrouted.headers.allow as string, /POST/);
      }
    }
    const listed = await service.app.inject({ method: 'GET', url: '/urls', headers: { ...service.admin, 'content-encoding': 'gzip' } });
    assert.equal(listed.statusCode, 200, 'no body, nothing to decode');
    assert.ok(!listed.json<{ items: { url: string }[] }>().items.some((item) => item.url.endsWith('/zipped')), 'nothing was made');
    for (const coding of ['identity', ' Identity ', '']) {
      const plain = await service.app.inject({ method: 'POST', url: '/urls', headers: { ...service.admin, 'content-type': 'application/json', 'content-encoding': coding }, payload: json });
      assert.equal(plain.statusCode, 201, `${JSON.stringify(coding)}: ${plain.body}`);
    }
  });

  /** Sends the head, waits for the first answer; sends `body` after a 100, and reads on to the final answer. */
  async function expecting(head: string, body: string): Promise<{ first: string; all: string }> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    let all = '';
    socket.on('error', () => undefined);
    socket.write(head);
    const first = await new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
    all = first;
    if (first.startsWith('HTTP/1.1 100 ')) {
      let closed = false;
      socket.on('data', (chunk: Buffer) => (all += chunk.toString('latin1')));
      socket.on('close', () => (closed = true));
      socket.write(body);
      await until(async () => /\r\n\r\n[\s\S]*HTTP\/1\.1 [2-5]\d\d /.test(all) || closed, 10_000, 'the final answer');
    }
    socket.destroy();
    return { first, all };
  }

  test('Expect: 100-continue: a body refused before it is read (over the limit, no key, a type import does not read) is refused without "100 Continue"; one read is asked for, then answered', async () => {
    const auth = `Authorization: ${service.admin.authorization}\r\n`;
    const json = JSON.stringify({ url: 'https://example.com/continued' });
    const tooLarge = await expecting(`POST /urls HTTP/1.1\r\nHost: a\r\n${auth}Content-Type: application/json\r\nContent-Length: 300000000\r\nExpect: 100-continue\r\n\r\n`, '');
    assert.match(tooLarge.first, /^HTTP\/1\.1 413 /, 'no 100 first');
    // An import's route reads its body itself, after the key and the type are checked.
    const anonymous = await expecting(`POST /urls/import HTTP/1.1\r\nHost: a\r\nContent-Type: text/csv\r\nContent-Length: 300000\r\nExpect: 100-continue\r\n\r\n`, '');
    assert.match(anonymous.first, /^HTTP\/1\.1 401 /, 'no 100 first');
    const wrongType = await expecting(`POST /urls/import HTTP/1.1\r\nHost: a\r\n${auth}Content-Type: application/pdf\r\nContent-Length: 300000\r\nExpect: 100-continue\r\n\r\n`, '');
    assert.match(wrongType.first, /^HTTP\/1\.1 415 /, 'no 100 first');
    const created = await expecting(`POST /urls HTTP/1.1\r\nHost: a\r\n${auth}Content-Type: application/json\r\nContent-Length: ${json.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`, json);
    assert.match(created.first, /^HTTP\/1\.1 100 Continue\r\n/);
    assert.match(created.all, /HTTP\/1\.1 201 /);
    const csv = 'url\nhttps://example.com/continued-import\n';
    const imported = await expecting(`POST /urls/import HTTP/1.1\r\nHost: a\r\n${auth}Content-Type: text/csv\r\nContent-Length: ${csv.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`, csv);
    assert.match(imported.first, /^HTTP\/1\.1 100 Continue\r\n/);
    assert.match(imported.all, /HTTP\/1\.1 200 /);
  });
});
