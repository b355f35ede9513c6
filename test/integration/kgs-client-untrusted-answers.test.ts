// The KGS client checks what the KGS answers before the URL service uses it: a fake KGS (a small
// node:http server answering what each test chooses) hands out reserved words, values that are no
// code, duplicates and answers of the wrong shape. Bad codes are dropped and counted, good ones used;
// a refill with nothing usable fails as a KGS that cannot be reached does (503 kgs_unavailable), never
// a 500 and never a link with a reserved word for a code.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { DependencyDown } from '../../src/core/errors.ts';
import { createRegistry, type Registry } from '../../src/core/metrics.ts';
import { createKgsClient, type KgsClient, type KgsClientOptions } from '../../src/kgs-client/kgs-client.ts';
import { until } from '../support/fault-probes.ts';
import { captureLogger, testLogger } from '../support/log.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';

const TOKEN = 'fake-kgs-secret-token';
const RESERVED = ['health', 'urls', 'docs', 'assets'];

/** What the fake KGS answers to one request: a status and the body text, written as it is. */
interface Reply {
  status: number;
  text: string;
}
interface SeenRequest {
  method: string;
  path: string;
  body: string;
}
type Script = (request: SeenRequest) => Reply;

interface FakeKgs {
  url: string;
  requests: SeenRequest[];
  /** How many GET /codes it has answered. */
  takes(): number;
  close(): Promise<void>;
}

const json = (value: unknown, status = 200): Reply => ({ status, text: JSON.stringify(value) });

let fresh = 0;
/** Codes no other call of this file has had: shaped like the KGS's, never reserved. */
function freshCodes(count: number): string[] {
  return Array.from({ length: count }, () => `q${(fresh++).toString(36).padStart(5, '0')}`);
}

/**
 * Answers GET /codes with `codes(count)`, a claim with `claim`, a return with `returned`; by default
 * a well-behaved KGS (fresh codes, the alias claimed, every code returned).
 */
function kgsScript(parts: { codes?: (count: number) => Reply; claim?: (code: string) => Reply; returned?: (codes: unknown[]) => Reply }): Script {
  return ({ method, path, body }) => {
    if (method === 'GET' && path.startsWith('/codes?')) {
      const count = Number(new URL(path, 'http://kgs').searchParams.get('count'));
      return (parts.codes ?? ((n) => json({ codes: freshCodes(n) })))(count);
    }
    const parsed = JSON.parse(body || '{}') as { code?: string; codes?: unknown[] };
    if (path === '/codes/claim') return (parts.claim ?? ((code) => json({ code })))(parsed.code ?? '');
    if (path === '/codes/return') return (parts.returned ?? ((codes) => json({ returned: codes.length })))(parsed.codes ?? []);
    return json({ code: 'not_found' }, 404);
  };
}

/** A batch the first time, well-behaved fresh codes after that. */
function firstThen(first: unknown): (count: number) => Reply {
  let answered = false;
  return (count) => {
    if (answered) return json({ codes: freshCodes(count) });
    answered = true;
    return json(first);
  };
}

async function startFakeKgs(script: Script): Promise<FakeKgs> {
  const requests: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const seen = { method: req.method ?? '', path: req.url ?? '', body: Buffer.concat(chunks).toString() };
      requests.push(seen);
      const reply = script(seen);
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.text);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    takes: () => requests.filter((r) => r.method === 'GET').length,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A fake KGS and clients of it, torn down (clients first) when the test ends. */
async function openScope(t: TestContext, script: Script) {
  const kgs = await startFakeKgs(script);
  const clients: KgsClient[] = [];
  t.after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await kgs.close();
  });
  return {
    kgs,
    client(options: Partial<KgsClientOptions> = {}): KgsClient {
      const client = createKgsClient({ urls: [kgs.url], token: TOKEN, log: testLogger('kgs-client'), batchSize: 4, ...options });
      clients.push(client);
      return client;
    },
  };
}

/** The take (or claim, or return) failed as with a KGS that cannot be reached: 503 kgs_unavailable, Retry-After. */
async function assertKgsUnavailable(promise: Promise<unknown>, what: string): Promise<DependencyDown> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (err: unknown) => ({ err }),
  );
  if (!('err' in outcome)) assert.fail(`${what}: resolved with ${JSON.stringify(outcome.value)?.slice(0, 80)}, expected 503 kgs_unavailable`);
  assert.ok(outcome.err instanceof DependencyDown, `${what}: expected DependencyDown, got ${String(outcome.err)}`);
  assert.equal(outcome.err.status, 503, what);
  assert.equal(outcome.err.code, 'kgs_unavailable', what);
  assert.ok(outcome.err.headers['retry-after'], `${what}: Retry-After`);
  return outcome.err;
}

async function dropCount(registry: Registry, reason: string): Promise<number> {
  const metric = registry.getSingleMetric('kgs_client_codes_dropped_total');
  assert.ok(metric, 'kgs_client_codes_dropped_total is registered');
  return (await metric.get()).values.filter((v) => v.labels.reason === reason).reduce((n, v) => n + v.value, 0);
}

/** The client's warnings about dropped codes, parsed. */
function dropWarnings(logText: string): { dropped: number; reasons: Record<string, number>; kept: number }[] {
  return logText
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string; dropped: number; reasons: Record<string, number>; kept: number })
    .filter((l) => l.msg === 'dropped codes from the KGS that the URL service cannot use');
}

describe('KGS client: codes it cannot use are dropped', () => {
  test('a batch of reserved words (in any letter case) fails the take with 503 kgs_unavailable, and each batch is logged once with its counts', async (t) => {
    const capture = captureLogger('kgs-client');
    const registry = createRegistry({ defaultMetrics: false });
    const scope = await openScope(t, kgsScript({ codes: () => json({ codes: ['health', 'URLS', 'Docs', 'assets'] }) }));
    const c = scope.client({ log: capture.log, registry, maxTakeWaitMs: 10_000 });
    await assertKgsUnavailable(c.takeCode(), 'a take from a KGS that hands out only reserved words');
    assert.equal(c.buffered(), 0, 'no reserved word was buffered');
    const warnings = dropWarnings(capture.text());
    assert.ok(warnings.length >= 1, 'the drop was logged');
    assert.equal(warnings.length, scope.kgs.takes(), 'one warning per batch');
    for (const w of warnings) assert.deepEqual({ dropped: w.dropped, reasons: w.reasons, kept: w.kept }, { dropped: 4, reasons: { reserved: 4 }, kept: 0 });
    assert.equal(await dropCount(registry, 'reserved'), 4 * scope.kgs.takes());
    assert.doesNotMatch(capture.text(), new RegExp(TOKEN), 'the token is never logged');
  });

  test('values that are no string fail the take with 503, not a TypeError', async (t) => {
    const registry = createRegistry({ defaultMetrics: false });
    const scope = await openScope(t, kgsScript({ codes: () => json({ codes: [1, 2, null, {}] }) }));
    const c = scope.client({ registry, maxTakeWaitMs: 10_000 });
    await assertKgsUnavailable(c.takeCode(), 'a take from a KGS that hands out [1, 2, null, {}]');
    assert.equal(await dropCount(registry, 'not_a_string'), 4 * scope.kgs.takes());
  });

  test('a code too long or with characters no code has fails the take with 503; the log does not carry it', async (t) => {
    const capture = captureLogger('kgs-client');
    const registry = createRegistry({ defaultMetrics: false });
    const long = 'a'.repeat(5000);
    const scope = await openScope(t, kgsScript({ codes: () => json({ codes: [long, 'abcdefghijk', 'abc/de', ''] }) }));
    const c = scope.client({ log: capture.log, registry, maxTakeWaitMs: 10_000 });
    const err = await assertKgsUnavailable(c.takeCode(), 'a take from a KGS that hands out codes of the wrong shape');
    assert.equal(await dropCount(registry, 'not_a_code'), 4 * scope.kgs.takes());
    assert.doesNotMatch(capture.text(), /a{100}/, 'the log does not repeat the value');
    assert.doesNotMatch(String((err.cause as Error | undefined)?.message), /a{100}/, 'nor does the cause');
    assert.match(String((err.cause as Error | undefined)?.message), /none of its 4 codes usable/, 'the cause says why');
  });

  test('duplicates within a batch and with codes already buffered are dropped: every take gets its own code', async (t) => {
    const registry = createRegistry({ defaultMetrics: false });
    const batches = [
      ['abcdef', 'abcdef', 'ghijkl', 'ghijkl'],
      // Two of these are in the buffer already (the first batch left it under the low watermark).
      ['ghijkl', 'mnopqr', 'abcdef', 'stuvwx'],
    ];
    const scope = await openScope(t, kgsScript({ codes: (count) => json({ codes: batches.shift() ?? freshCodes(count) }) }));
    const c = scope.client({ registry, lowWater: 3 });
    await until(() => c.buffered() >= 4, 5000, 'the initial fill');
    const taken = await Promise.all(Array.from({ length: 4 }, () => c.takeCode()));
    assert.deepEqual([...taken].sort(), ['abcdef', 'ghijkl', 'mnopqr', 'stuvwx']);
    assert.equal(await dropCount(registry, 'duplicate'), 4);
  });

  test('a batch with some good codes: the good ones are used, the others dropped and counted by reason', async (t) => {
    const capture = captureLogger('kgs-client');
    const registry = createRegistry({ defaultMetrics: false });
    const mixed = ['health', 'good01', 42, 'x'.repeat(11), 'good02', 'good01', null, 'Admin'];
    const scope = await openScope(t, kgsScript({ codes: firstThen({ codes: mixed }) }));
    // One refill only (the low watermark is met by the two good codes).
    const c = scope.client({ log: capture.log, registry, batchSize: 8, lowWater: 1 });
    await until(() => c.buffered() === 2, 5000, 'the two good codes to be buffered');
    const taken = [await c.takeCode(), await c.takeCode()];
    assert.deepEqual(taken.sort(), ['good01', 'good02']);
    for (const [reason, n] of Object.entries({ reserved: 2, not_a_string: 2, not_a_code: 1, duplicate: 1 })) {
      assert.equal(await dropCount(registry, reason), n, reason);
    }
    const [warning] = dropWarnings(capture.text());
    assert.deepEqual(warning && { dropped: warning.dropped, kept: warning.kept }, { dropped: 6, kept: 2 });
  });

  test('an answer of the wrong shape fails the take with 503, as a body that is not JSON does', async (t) => {
    const answers: [string, Reply][] = [
      ['an array', json(['abcdef', 'ghijkl'])],
      ['no codes field', json({ code: 'abcdef' })],
      ['codes not an array', json({ codes: 'abcdef' })],
      ['null', json(null)],
      ['a string', json('abcdef')],
      ['an empty batch', json({ codes: [] })],
      ['not JSON', { status: 200, text: '<h1>Welcome to nginx</h1>' }],
    ];
    for (const [what, reply] of answers) {
      const scope = await openScope(t, kgsScript({ codes: () => reply }));
      const c = scope.client({ maxTakeWaitMs: 10_000 });
      await assertKgsUnavailable(c.takeCode(), `a take from a KGS that answers ${what}`);
    }
  });

  test('a replica that hands out garbage is failed over: the takes are served by the next one', async (t) => {
    const bad = await startFakeKgs(kgsScript({ codes: () => json({ codes: RESERVED }) }));
    const good = await startFakeKgs(kgsScript({}));
    const c = createKgsClient({ urls: [bad.url, good.url], token: TOKEN, log: testLogger('kgs-client'), batchSize: 4 });
    t.after(async () => {
      await c.close();
      await Promise.all([bad.close(), good.close()]);
    });
    const taken = await Promise.all(Array.from({ length: 10 }, () => c.takeCode()));
    assert.equal(new Set(taken).size, 10);
    assert.ok(taken.every((code) => /^q[0-9a-z]{5}$/.test(code)), `only the good replica's codes: ${taken.join(' ')}`);
  });
});

describe('KGS client: claims and returns whose answer is not the KGS confirming them', () => {
  for (const [what, reply] of [
    ['{}', json({})],
    ['another alias', json({ code: 'someone' })],
    ['a code that is not a string', json({ code: 7 })],
  ] as const) {
    test(`a claim answered with ${what} fails with 503, not a claim of nothing`, async (t) => {
      const scope = await openScope(t, kgsScript({ claim: () => reply }));
      const c = scope.client();
      await assertKgsUnavailable(c.claimCode('my-alias'), `a claim answered with ${what}`);
    });
  }

  test('a well-formed claim answer still gives the alias', async (t) => {
    const scope = await openScope(t, kgsScript({}));
    assert.equal(await scope.client().claimCode('my-alias'), 'my-alias');
  });

  for (const [what, reply] of [
    ['{}', json({})],
    ['a count that is a string', json({ returned: 'lots' })],
    ['more than were sent', json({ returned: 99 })],
  ] as const) {
    test(`a return answered with ${what} fails with 503, not a count of nonsense`, async (t) => {
      const scope = await openScope(t, kgsScript({ returned: () => reply }));
      const c = scope.client();
      await assertKgsUnavailable(c.returnCodes(['abcdef', 'ghijkl']), `a return answered with ${what}`);
    });
  }
});

describe('POST /urls with a KGS that hands out garbage', () => {
  let svc: TestUrlService;
  let kgs: FakeKgs;
  // What the fake KGS hands out now: each test sets it.
  let batch: unknown = { codes: [] };

  before(async () => {
    kgs = await startFakeKgs(kgsScript({ codes: () => json(batch) }));
    // No retry and a breaker that never opens: every creation asks the KGS, so each test sees its own batch.
    const codes = createKgsClient({ urls: [kgs.url], token: TOKEN, log: testLogger('kgs-client'), batchSize: 4, retries: 0, breaker: { failureThreshold: 1_000_000, resetTimeoutMs: 1 } });
    svc = await buildTestUrlService('kgs-garbage', { codes });
  });
  after(async () => {
    await svc?.close();
    await kgs?.close();
  });

  const create = () => svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload: { url: 'https://example.com/garbage' } });

  for (const [what, codes] of [
    ['reserved words', RESERVED],
    ['values that are no string', [1, 2, null, {}]],
    ['a 5000-character code', ['a'.repeat(5000)]],
  ] as const) {
    test(`${what}: 503 kgs_unavailable with Retry-After, not a 201 or a 500`, async () => {
      batch = { codes };
      const asked = kgs.takes();
      const res = await create();
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(res.json<{ code: string }>().code, 'kgs_unavailable');
      assert.ok(res.headers['retry-after'], 'Retry-After');
      assert.ok(kgs.takes() > asked, 'the KGS was asked');
      for (const word of RESERVED) assert.equal(await svc.store.findByCode(word), null, `no link has "${word}"`);
    });
  }

  test('an answer that is not an object of codes: 503 kgs_unavailable', async () => {
    batch = ['abcdef'];
    const res = await create();
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.json<{ code: string }>().code, 'kgs_unavailable');
  });

  test('a batch with a reserved word first and a good code after: the link gets the good code', async () => {
    batch = { codes: ['health', 'okcode'] };
    const res = await create();
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json<{ short_code: string }>().short_code, 'okcode');
    assert.equal(await svc.store.findByCode('health'), null);
  });
});
