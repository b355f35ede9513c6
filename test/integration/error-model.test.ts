// The error model seen from outside (issue 10, defects 2 and 3): a client gets a stable, generic
// problem and never an internal address or socket error; the operator's log gets the cause. Only a
// dependency that cannot be reached is an outage (503); a bug or a SQL mistake is a 500
// `internal_error` with its cause logged, not "PostgreSQL unavailable".
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createKgsClient, type KgsClient } from '../../src/kgs-client/kgs-client.ts';
import { redisKeyNames } from '../../src/storage/redis/redis-key-store.ts';
import { auth, buildTestKgs, type TestKgs } from '../support/kgs.ts';
import { captureLogger } from '../support/log.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';

const PROBLEM = 'application/problem+json; charset=utf-8';

/** The error the error handler logged for one request (its message carries the whole cause chain). */
function loggedError(logText: string, requestId: string): { type: string; message: string; stack: string } {
  const line = logText
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { request_id?: string; msg?: string; err?: { type: string; message: string; stack: string } })
    .find((l) => l.request_id === requestId && l.err !== undefined && (l.msg === 'dependency problem' || l.msg === 'internal error'));
  assert.ok(line?.err, `no error line logged for request ${requestId}`);
  return line.err;
}
/** What must never reach a client: addresses, socket errors, configuration hints, stack frames. */
const INTERNAL = /127\.0\.0\.1|ECONNREFUSED|KGS_TOKEN|KGS_URL|relation|does not exist|WRONGTYPE|node_modules|\.ts:\d+|\bat async\b/;

describe('a KGS that cannot be reached', () => {
  let svc: TestUrlService;
  let codes: KgsClient;
  const capture = captureLogger('url');

  before(async () => {
    // Port 2: nothing listens there, so every attempt is refused at once.
    codes = createKgsClient({ urls: ['http://127.0.0.1:2'], token: 'test-token', log: capture.log, timeoutMs: 500, retries: 0 });
    svc = await buildTestUrlService('err-kgs-down', { codes, log: capture.log });
  });
  after(() => svc.close());

  test('creation answers 503 kgs_unavailable with a generic detail; the log has the address and the socket error', async () => {
    const res = await svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload: { url: 'https://example.com/' } });
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.headers['content-type'], PROBLEM);
    const body = res.json<{ code: string; detail: string }>();
    assert.equal(body.code, 'kgs_unavailable');
    assert.equal(body.detail, 'No short code can be had right now; try again shortly.');
    assert.doesNotMatch(res.body, INTERNAL, 'internal detail in the public error');
    assert.ok(res.headers['retry-after'], 'Retry-After');
    // The line the error handler wrote for this very request carries the cause chain.
    const logged = loggedError(capture.text(), res.json<{ request_id: string }>().request_id);
    assert.match(logged.message, /127\.0\.0\.1:2/, 'the log names the KGS address');
    assert.match(logged.message, /ECONNREFUSED/, 'the log has the socket error');
  });
});

describe('a KGS that refuses our token', () => {
  let kgs: TestKgs;
  let svc: TestUrlService;
  const capture = captureLogger('url');

  before(async () => {
    kgs = await buildTestKgs('err-kgs-token');
    await kgs.app.listen({ host: '127.0.0.1', port: 0 });
    const address = kgs.app.server.address();
    assert.ok(address !== null && typeof address === 'object');
    const codes = createKgsClient({ urls: [`http://127.0.0.1:${address.port}`], token: 'not-the-token', log: capture.log, retries: 0 });
    svc = await buildTestUrlService('err-kgs-token-url', { codes, log: capture.log });
  });
  after(async () => {
    await svc.close();
    await kgs.close();
  });

  test('creation and alias claims answer a generic 503; the hint to check KGS_TOKEN is in the log only', async () => {
    for (const payload of [{ url: 'https://example.com/' }, { url: 'https://example.com/', alias: 'tokenprob' }]) {
      const res = await svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload });
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(res.json<{ code: string }>().code, 'kgs_unavailable');
      assert.doesNotMatch(res.body, INTERNAL, 'internal detail in the public error');
      const logged = loggedError(capture.text(), res.json<{ request_id: string }>().request_id);
      assert.match(logged.message, /KGS_TOKEN/);
      assert.match(logged.message, /401/);
    }
  });
});

describe('PostgreSQL answering that a statement is wrong', () => {
  let svc: TestUrlService;
  const capture = captureLogger('url');

  before(async () => {
    svc = await buildTestUrlService('err-sql', { log: capture.log });
    // A schema the code does not expect: every statement on urls fails with 42P01, a bug, not an outage.
    await svc.database.db.query('ALTER TABLE urls RENAME TO urls_elsewhere');
  });
  after(() => svc.close());

  test('is a 500 internal_error with the SQL error in the log, not 503 postgres_unavailable', async () => {
    const res = await svc.app.inject({ method: 'GET', url: '/urls/abcdef', headers: svc.admin });
    assert.equal(res.statusCode, 500, res.body);
    assert.equal(res.headers['content-type'], PROBLEM);
    assert.equal(res.json<{ code: string }>().code, 'internal_error');
    assert.equal(res.headers['retry-after'], undefined, 'a bug is no reason to retry');
    assert.doesNotMatch(res.body, INTERNAL, 'internal detail in the public error');
    const logged = loggedError(capture.text(), res.json<{ request_id: string }>().request_id);
    assert.match(logged.message, /relation "urls" does not exist/, 'the log has the SQL error');
    assert.match(logged.stack, /\n\s+at /, 'and where it came from');
  });
});

describe('Redis answering that a key pool script is wrong', () => {
  let kgs: TestKgs;

  before(async () => {
    kgs = await buildTestKgs('err-redis-reply');
    // available_keys as a string instead of a set: the take script gets WRONGTYPE, a bug, not an outage.
    const keys = redisKeyNames(kgs.redis.prefix);
    await kgs.redis.redis.del(keys.available);
    await kgs.redis.redis.set(keys.available, 'not a set');
  });
  after(() => kgs.close());

  test('the key store passes the error on instead of calling it redis_unavailable', async () => {
    const err = await kgs.store.take(1).then(
      () => assert.fail('take succeeded on a corrupt key'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof Error);
    assert.match(err.message, /WRONGTYPE/);
    assert.notEqual((err as { code?: unknown }).code, 'redis_unavailable');
  });

  test('the KGS answers 500 internal_error, not 503 redis_unavailable', async () => {
    const res = await kgs.app.inject({ method: 'GET', url: '/codes?count=1', headers: auth });
    assert.equal(res.statusCode, 500, res.body);
    assert.equal(res.json<{ code: string }>().code, 'internal_error');
    assert.doesNotMatch(res.body, INTERNAL, 'internal detail in the public error');
  });
});
