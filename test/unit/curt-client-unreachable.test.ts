// The SDK says "no answer came" as CurtUnreachableError, naming the server and why, whichever call
// failed: fetch's own bare TypeError('fetch failed') or TimeoutError told a caller neither. A fake
// fetch fails as Node's does; no server needed. An answer, even a refusal, is not unreachable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCurtClient, CurtApiError, CurtUnreachableError, NotCurtError, retryAfterSeconds } from '../../src/client/curt-client.ts';

const refused = (): never => {
  throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
};

/** A client whose server sends a 200 of this type and then no body, until the client's 20 ms are up. */
function stalledBody(contentType: string) {
  return createCurtClient({
    baseUrl: 'http://cu.rt',
    timeoutMs: 20,
    fetch: async (_input, init) => {
      const body = new ReadableStream<Uint8Array>({ start: (controller) => init?.signal?.addEventListener('abort', () => controller.error(init.signal?.reason), { once: true }) });
      return new Response(body, { status: 200, headers: { 'content-type': contentType } });
    },
  });
}

test('a refused connection is CurtUnreachableError with the socket error code, on every kind of call', async () => {
  const client = createCurtClient({ baseUrl: 'http://127.0.0.1:9/', fetch: async () => refused() });
  const calls: [string, () => Promise<unknown>][] = [
    ['get', () => client.get('abc')],
    ['qr', () => client.qr('abc')],
    ['exportFile', () => client.exportFile()],
    ['exportText', async () => { for await (const chunk of client.exportText()) void chunk; }],
  ];
  for (const [name, call] of calls) {
    await assert.rejects(call(), (err: unknown) => {
      assert.ok(err instanceof CurtUnreachableError, `${name}: ${String(err)}`);
      assert.equal(err.reason, 'ECONNREFUSED');
      assert.equal(err.server, 'http://127.0.0.1:9');
      assert.equal(err.message, 'cannot reach the Curt server at http://127.0.0.1:9 (ECONNREFUSED)');
      assert.ok(err.cause instanceof TypeError, 'the platform error is kept as the cause');
      return true;
    });
  }
});

test('no answer within timeoutMs is CurtUnreachableError with reason timeout, also when the body stops coming', async (t) => {
  // AbortSignal.timeout's timer does not hold the process open; the test's must.
  const alive = setInterval(() => undefined, 1000);
  t.after(() => clearInterval(alive));
  const hang = (signal: AbortSignal | null | undefined): Promise<never> =>
    new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
  const noHeaders = createCurtClient({ baseUrl: 'http://cu.rt', timeoutMs: 20, fetch: async (_input, init) => hang(init?.signal) });
  await assert.rejects(noHeaders.get('abc'), (err: unknown) => err instanceof CurtUnreachableError && err.reason === 'timeout' && /no answer in time/.test(err.message));
  await assert.rejects(stalledBody('application/json').get('abc'), (err: unknown) => err instanceof CurtUnreachableError && err.reason === 'timeout');
});

test('a browser says a failed connection in its own words: those are unreachable too', async () => {
  for (const words of ['Failed to fetch', 'NetworkError when attempting to fetch resource.', 'Load failed']) {
    const client = createCurtClient({ baseUrl: 'https://cu.rt', fetch: async () => { throw new TypeError(words); } });
    await assert.rejects(client.get('abc'), (err: unknown) => err instanceof CurtUnreachableError && err.reason === words, words);
  }
});

test('an answer is not unreachable, nor is a bad argument or a bug: they are thrown as they are', async () => {
  const problem = { type: 'urn:curt:problem:link_not_found', title: 'Not Found', status: 404, code: 'link_not_found', detail: 'No link.' };
  const answered = createCurtClient({ baseUrl: 'http://cu.rt', fetch: async () => Response.json(problem, { status: 404, headers: { 'content-type': 'application/problem+json' } }) });
  await assert.rejects(answered.get('abc'), (err: unknown) => err instanceof CurtApiError && err.code === 'link_not_found');
  const thrown: [string, Error][] = [
    ['a bug in a fetch given to the client', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['a header fetch cannot send', new TypeError('Headers.append: "Bearer a\nb" is an invalid header value.')],
    ['a redirect loop', new TypeError('fetch failed', { cause: new Error('redirect count exceeded') })],
    ['an upload file that failed to read', new TypeError('fetch failed', { cause: Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }) })],
    ['another kind of error', new RangeError('a bug')],
  ];
  for (const [what, error] of thrown) {
    const client = createCurtClient({ baseUrl: 'http://cu.rt', fetch: async () => { throw error; } });
    await assert.rejects(client.get('abc'), (err: unknown) => err === error, what);
  }
});

test("a QR code is a picture: another server's 200 is NotCurtError, and a picture that stops coming is no answer in time", async (t) => {
  const page = createCurtClient({ baseUrl: 'http://cu.rt', fetch: async () => new Response('<html>hello</html>', { headers: { 'content-type': 'text/html' } }) });
  await assert.rejects(page.qr('abc'), (err: unknown) => err instanceof NotCurtError && /text\/html/.test(err.message));
  const svg = createCurtClient({ baseUrl: 'http://cu.rt', fetch: async () => new Response('<svg/>', { headers: { 'content-type': 'image/svg+xml' } }) });
  assert.equal(await (await svg.qr('abc')).text(), '<svg/>');
  const alive = setInterval(() => undefined, 1000);
  t.after(() => clearInterval(alive));
  await assert.rejects(stalledBody('image/png').qr('abc', { format: 'png' }), (err: unknown) => err instanceof CurtUnreachableError && err.reason === 'timeout');
});

test('Retry-After: seconds as Curt sends them, an HTTP-date as a proxy may, and nothing else', () => {
  const now = Date.parse('2026-12-07T10:00:00Z');
  assert.equal(retryAfterSeconds('5', now), 5);
  assert.equal(retryAfterSeconds(' 30 ', now), 30);
  assert.equal(retryAfterSeconds('Mon, 07 Dec 2026 10:01:30 GMT', now), 90);
  assert.equal(retryAfterSeconds('Mon, 07 Dec 2026 09:59:00 GMT', now), 0, 'a date past is now');
  assert.equal(retryAfterSeconds('soon', now), null);
  for (const odd of ['1.5', '-1', '2026-12-07']) assert.equal(retryAfterSeconds(odd, now), null, `${odd}: neither seconds nor an HTTP-date`);
  assert.equal(retryAfterSeconds(null, now), null);
});
