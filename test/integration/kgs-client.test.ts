// The KGS client library against real KGS processes on the real Redis: its local buffer, the return
// of unused codes on close, alias claims, failover, a replica killed mid-run, a full outage and the
// recovery from it, a wrong token and request-id propagation.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, Conflict, DependencyDown, InvalidRequest } from '../../src/core/errors.ts';
import { createRegistry, type Registry } from '../../src/core/metrics.ts';
import { createKgsClient, type KgsClient, type KgsClientOptions } from '../../src/kgs-client/kgs-client.ts';
import { redisKeyNames } from '../../src/storage/redis/redis-key-store.ts';
import { inParallel, until } from '../support/fault-probes.ts';
import { testLogger } from '../support/log.ts';
import { freePort, startKgs, type ServiceProcess } from '../support/processes.ts';
import { openTestRedis, REDIS_URL, type TestRedis } from '../support/redis.ts';

const TOKEN = 'test-token';



/** How a promise settles, or a failure if it does not settle within `timeoutMs`. */
async function settled<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<{ value: T } | { err: unknown }> {
  const stopTimer = new AbortController();
  const timeout = sleep(timeoutMs, 'timeout' as const, { signal: stopTimer.signal }).catch(() => 'timeout' as const);
  const outcome = await Promise.race([promise.then((value) => ({ value }), (err: unknown) => ({ err })), timeout]);
  stopTimer.abort();
  if (outcome === 'timeout') assert.fail(`${what}: did not settle within ${timeoutMs} ms`);
  return outcome;
}

/** The error a promise rejects with; fails if it resolves or does not settle within `timeoutMs`. */
async function rejectionOf(promise: Promise<unknown>, timeoutMs: number, what: string): Promise<AppError> {
  const outcome = await settled(promise, timeoutMs, what);
  if (!('err' in outcome)) assert.fail(`${what}: resolved, expected a rejection`);
  assert.ok(outcome.err instanceof AppError, `${what}: expected an AppError, got ${String(outcome.err)}`);
  return outcome.err;
}

async function metricValues(registry: Registry, name: string): Promise<{ labels: Record<string, string | number | undefined>; value: number }[]> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `metric ${name} is registered`);
  return (await metric.get()).values;
}

async function metricSum(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const values = await metricValues(registry, name);
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((total, v) => total + v.value, 0);
}

/** Which of `codes` are members of a Redis set, checked in chunks. */
async function membersOf(redis: TestRedis, key: string, codes: readonly string[]): Promise<boolean[]> {
  const flags: boolean[] = [];
  for (let i = 0; i < codes.length; i += 5000) {
    const chunk = codes.slice(i, i + 5000);
    flags.push(...(await redis.redis.smismember(key, ...chunk)).map((f) => f === 1));
  }
  return flags;
}

function kgsEnv(redis: TestRedis, extra: Record<string, string> = {}): Record<string, string> {
  return { REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, KGS_REUSE_COOLDOWN_S: '0', ...extra };
}

/**
 * What one test creates: clients, KGS processes and a Redis prefix, torn down in that order when the
 * test ends however it ends (clients first, so their pools close; processes before the prefix, so
 * no upkeep loop writes the keys again).
 */
interface Scope {
  redis: TestRedis;
  kgs(env?: Record<string, string>): Promise<ServiceProcess>;
  client(options: Partial<KgsClientOptions> & { urls: readonly string[] }): KgsClient;
}

async function openScope(t: TestContext, label: string): Promise<Scope> {
  const redis = await openTestRedis(label);
  const clients: KgsClient[] = [];
  const processes: ServiceProcess[] = [];
  t.after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(processes.map((p) => p.stop('SIGKILL')));
    await redis.cleanup();
  });
  return {
    redis,
    async kgs(env = {}) {
      const started = await startKgs(kgsEnv(redis, env));
      processes.push(started);
      return started;
    },
    client(options) {
      const client = createKgsClient({ token: TOKEN, log: testLogger('kgs-client'), ...options });
      clients.push(client);
      return client;
    },
  };
}

/** One KGS (and Redis prefix) shared by the tests that do not kill it. */
describe('KGS client against one live KGS', () => {
  let redis: TestRedis;
  let kgs: ServiceProcess;
  const TARGET = 20_000;
  const clients: KgsClient[] = [];
  const client = (options: Partial<KgsClientOptions>): KgsClient => {
    const c = createKgsClient({ urls: [kgs.url], token: TOKEN, log: testLogger('kgs-client'), ...options });
    clients.push(c);
    return c;
  };

  before(async () => {
    redis = await openTestRedis('kgs-client');
    // Debug logs carry one line per request with its request_id (the propagation test reads them).
    kgs = await startKgs(kgsEnv(redis, { KGS_POOL_TARGET: String(TARGET), KGS_POOL_LOW_WATERMARK: '5000', LOG_LEVEL: 'debug' }));
    const { available } = redisKeyNames(redis.prefix);
    await until(async () => (await redis.redis.scard(available)) >= TARGET, 10_000, 'the KGS to fill its pool');
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await kgs?.stop('SIGKILL');
    await redis?.cleanup();
  });

  test('pre-fills its buffer, then serves 5,000 concurrent takes with distinct codes from a few dozen KGS requests', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const c = client({ batchSize: 200, registry });
    await until(() => c.buffered() === 200, 5000, 'the initial fill');
    assert.equal(await metricSum(registry, 'kgs_client_requests_total', { outcome: 'ok' }), 1, 'one request fills the buffer');

    const codes = await Promise.all(Array.from({ length: 5000 }, () => c.takeCode()));
    assert.equal(new Set(codes).size, 5000, 'every take got its own code');
    const requests = await metricSum(registry, 'kgs_client_requests_total', {});
    assert.ok(requests < 50, `5,000 takes cost ${requests} KGS requests; the buffer should make that a few dozen at most`);
    const used = await membersOf(redis, redisKeyNames(redis.prefix).used, codes);
    assert.ok(
      used.every((u) => u),
      'every code handed out is marked used in Redis',
    );
  });

  test('claimCode: a free alias is claimed; taken, reserved and malformed ones are refused with the right error', async () => {
    const c = client({ batchSize: 10 });
    const alias = `cl${Date.now().toString(36).slice(-6)}`;
    assert.equal(await c.claimCode(alias), alias);

    const taken = await rejectionOf(c.claimCode(alias), 3000, 'claiming it again');
    assert.ok(taken instanceof Conflict);
    assert.equal(taken.status, 409);
    assert.equal(taken.code, 'alias_taken');

    const generated = await c.takeCode();
    const handedOut = await rejectionOf(c.claimCode(generated), 3000, 'claiming a code the KGS handed out');
    assert.equal(handedOut.code, 'alias_taken');

    for (const word of ['admin', 'API', 'Docs', 'HEALTH']) {
      const reserved = await rejectionOf(c.claimCode(word), 3000, `claiming ${word}`);
      assert.ok(reserved instanceof Conflict, word);
      assert.equal(reserved.status, 409, word);
      assert.equal(reserved.code, 'alias_reserved', word);
    }

    for (const bad of ['a b', 'ab', 'x'.repeat(11), 'y'.repeat(65), 'a/b', '']) {
      const invalid = await rejectionOf(c.claimCode(bad), 3000, `claiming ${JSON.stringify(bad)}`);
      assert.ok(invalid instanceof InvalidRequest, `${JSON.stringify(bad)} gave ${invalid.name} ${invalid.status}`);
      assert.equal(invalid.status, 400, JSON.stringify(bad));
    }
    assert.ok(c.healthy(), 'refusals are answers, not failures: the breaker stays closed');
  });

  test('fails over from a URL where nothing listens: every take succeeds', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const registry = createRegistry({ defaultMetrics: false });
    const c = client({ urls: [dead, kgs.url], batchSize: 20, registry });
    const codes = await inParallel(1000, 8, () => c.takeCode());
    assert.equal(new Set(codes).size, 1000);
    assert.ok((await metricSum(registry, 'kgs_client_requests_total', { kgs: '0', outcome: 'error' })) >= 1, 'the dead URL was tried');
    assert.ok(c.healthy());
  });

  test('fails over from a URL that answers 200 with something other than JSON, and opens its breaker', async (t) => {
    const impostor = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Welcome to nginx</h1>'));
    impostor.listen(0, '127.0.0.1');
    await once(impostor, 'listening');
    t.after(() => impostor.close());
    const address = impostor.address();
    assert.ok(address !== null && typeof address === 'object');
    const wrong = `http://127.0.0.1:${address.port}`;
    const registry = createRegistry({ defaultMetrics: false });
    const c = client({ urls: [wrong, kgs.url], batchSize: 20, registry });
    const codes = await inParallel(1000, 8, () => c.takeCode());
    assert.equal(new Set(codes).size, 1000);
    assert.ok((await metricSum(registry, 'kgs_client_requests_total', { kgs: '0', outcome: 'error' })) >= 1, 'the impostor was tried');
    // 2 open, or 1 half-open once its reset time has passed: either way it was opened.
    assert.ok((await metricSum(registry, 'kgs_client_breaker_state', { kgs: '0' })) >= 1, 'its breaker opened');
  });

  test('a return whose answer was lost is not sent again: had it landed, its codes may be handed out already', async (t) => {
    // Hands out codes of its own, and takes a return in, then drops the connection unanswered.
    const returns: string[] = [];
    const lossy = createServer((req, res) => {
      if (req.url?.startsWith('/codes?') === true || req.url === '/codes') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ codes: Array.from({ length: 10 }, (_, i) => `qlost${i}`) }));
        return;
      }
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        returns.push(body);
        res.socket?.destroy();
      });
    });
    lossy.listen(0, '127.0.0.1');
    await once(lossy, 'listening');
    t.after(() => lossy.close());
    const address = lossy.address();
    assert.ok(address !== null && typeof address === 'object');
    // One replica and two retries: a replay would go to it again (with two, to whichever is next).
    const c = client({ urls: [`http://127.0.0.1:${address.port}`], batchSize: 10, retries: 2 });
    const code = await c.takeCode();
    assert.match(code, /^qlost\d$/);
    const refused = await rejectionOf(c.returnCodes([code]), 5000, 'the return');
    assert.equal(refused.status, 503);
    assert.equal(returns.length, 1, 'sent once; its answer was lost');
  });

  test('a wrong token fails takes and claims with a generic 503 whose cause names KGS_TOKEN, without opening the breaker', async () => {
    const c = client({ token: 'not-the-token', batchSize: 10 });
    const take = await rejectionOf(c.takeCode(), 5000, 'a take with a wrong token');
    assert.ok(take instanceof DependencyDown);
    assert.equal(take.status, 503);
    // The client of the URL service sees neither the hint nor the address; the operator's log does.
    assert.doesNotMatch(take.detail ?? '', /KGS_TOKEN|401|127\.0\.0\.1/);
    assert.match(String((take.cause as Error | undefined)?.message), /KGS_TOKEN/);
    assert.match(String((take.cause as Error | undefined)?.message), /401/);

    const claim = await rejectionOf(c.claimCode('wrongtok1'), 5000, 'a claim with a wrong token');
    assert.equal(claim.status, 503);
    assert.doesNotMatch(claim.detail ?? '', /KGS_TOKEN|127\.0\.0\.1/);
    assert.match(String((claim.cause as Error | undefined)?.message), /KGS_TOKEN/);
    assert.ok(c.healthy(), 'a 401 is the KGS answering: its breaker stays closed');
  });

  test('takes made the moment a refill completes are served, not left waiting on the refill that just ended', async () => {
    // A low watermark under half a batch lets a refill end with fewer codes buffered than callers
    // about to take one.
    const c = client({ batchSize: 20, lowWater: 1 });
    await until(() => c.buffered() === 20, 5000, 'the initial fill');
    // These empty the buffer; the last of them starts a refill of 20.
    const first = Array.from({ length: 20 }, () => c.takeCode());
    // 15 callers wait for that refill, and each takes a second code as soon as it has its first.
    const second = Array.from({ length: 15 }, () => c.takeCode().then(() => c.takeCode()));
    const outcome = await settled(Promise.all([...first, ...second]), 5000, '35 takes');
    assert.ok('value' in outcome, `a take failed: ${'err' in outcome ? String(outcome.err) : ''}`);
    assert.equal(new Set(outcome.value).size, 35);
  });

  test("a take's request id travels to the KGS on the refill it triggers", async () => {
    const c = client({ batchSize: 1 });
    await until(() => c.buffered() === 1, 5000, 'the initial fill');
    // Taking the only buffered code empties the buffer: the refill that follows is this take's.
    await c.takeCode({ requestId: 'req-abc' });
    const line = (): { url?: string; status?: number } | undefined => {
      const found = kgs
        .output()
        .split('\n')
        .find((l) => l.includes('"request_id":"req-abc"'));
      return found === undefined ? undefined : (JSON.parse(found) as { url?: string; status?: number });
    };
    await until(() => line() !== undefined, 5000, 'a KGS log line with request_id req-abc');
    assert.match(line()?.url ?? '', /^\/codes\?count=1$/);
    assert.equal(line()?.status, 200);
  });
});

test('close() gives every buffered code back at once despite the cool-down, including a refill still in flight, and later takes fail with 503', async (t) => {
  const scope = await openScope(t, 'kgs-client-close');
  const TARGET = 2000;
  // A low watermark far below what this test takes: the KGS must not replenish behind our backs.
  // An hour's cool-down: the codes are available again at once only because they go back as unused.
  const kgs = await scope.kgs({ KGS_POOL_TARGET: String(TARGET), KGS_POOL_LOW_WATERMARK: '100', KGS_REUSE_COOLDOWN_S: '3600' });
  const keys = redisKeyNames(scope.redis.prefix);
  const r = scope.redis.redis;
  await until(async () => (await r.scard(keys.available)) === TARGET, 10_000, 'the KGS to fill its pool');

  const c = scope.client({ urls: [kgs.url], batchSize: 50, lowWater: 25 });
  await until(() => c.buffered() === 50, 5000, 'the initial fill');
  const taken: string[] = [];
  for (let i = 0; i < 5; i++) taken.push(await c.takeCode());
  // 45 left, above the low watermark: no refill runs, so used_keys minus what we took is the buffer.
  const buffered = (await r.smembers(keys.used)).filter((code) => !taken.includes(code));
  assert.equal(buffered.length, c.buffered());
  assert.equal(buffered.length, 45);

  // Now go under the low watermark so a refill is in flight when close() is called.
  for (let i = 0; i < 25; i++) taken.push(await c.takeCode());
  await c.close();

  assert.deepEqual((await r.smembers(keys.used)).sort(), [...taken].sort(), 'only the codes taken stay used');
  assert.equal(await r.scard(keys.available), TARGET - taken.length, 'every other code the client fetched is available again');
  const untouched = buffered.filter((code) => !taken.includes(code));
  assert.equal(untouched.length, 20);
  assert.ok(
    (await membersOf(scope.redis, keys.available, untouched)).every((a) => a),
    'the codes that were buffered and never taken are back in available_keys',
  );
  assert.equal(c.buffered(), 0);

  const afterClose = await rejectionOf(c.takeCode(), 1000, 'a take after close');
  assert.ok(afterClose instanceof DependencyDown);
  assert.equal(afterClose.status, 503);
});

test('one of two KGS killed with SIGKILL mid-run: 20,000 takes all succeed, distinct, every one marked used', async (t) => {
  const scope = await openScope(t, 'kgs-client-kill');
  const env = { KGS_POOL_TARGET: '30000', KGS_POOL_LOW_WATERMARK: '10000' };
  const [victim, survivor] = await Promise.all([scope.kgs(env), scope.kgs(env)]);
  const keys = redisKeyNames(scope.redis.prefix);
  await until(async () => (await scope.redis.redis.scard(keys.available)) >= 30_000, 10_000, 'the KGS to fill the pool');

  const registry = createRegistry({ defaultMetrics: false });
  const c = scope.client({ urls: [victim.url, survivor.url], batchSize: 20, registry });
  const TOTAL = 20_000;
  const victimExit = once(victim.child, 'exit');
  let killedAt = -1;
  const codes = await inParallel(TOTAL, 16, async (i) => {
    if (i === TOTAL / 4) {
      killedAt = i;
      victim.child.kill('SIGKILL');
    }
    return c.takeCode();
  });

  assert.equal(killedAt, TOTAL / 4);
  assert.equal((await victimExit)[1], 'SIGKILL');
  assert.equal(codes.length, TOTAL);
  assert.equal(new Set(codes).size, TOTAL, 'no code was handed out twice');
  const used = await membersOf(scope.redis, keys.used, codes);
  assert.equal(used.filter((u) => !u).length, 0, 'every code handed out is in used_keys');
  assert.ok((await metricSum(registry, 'kgs_client_requests_total', { kgs: '0', outcome: 'ok' })) > 0, 'the victim served before it died');
  const failedOnVictim = (await metricSum(registry, 'kgs_client_requests_total', { kgs: '0' })) - (await metricSum(registry, 'kgs_client_requests_total', { kgs: '0', outcome: 'ok' }));
  assert.ok(failedOnVictim > 0, 'calls to the dead KGS failed (or were skipped) and were served elsewhere');
});

test('all KGS down: the buffer drains, takes fail fast with 503, then the client recovers by itself when a KGS returns on the same port', async (t) => {
  const scope = await openScope(t, 'kgs-client-outage');
  const env = { KGS_POOL_TARGET: '2000', KGS_POOL_LOW_WATERMARK: '100' };
  const [first, second] = await Promise.all([scope.kgs(env), scope.kgs(env)]);
  const registry = createRegistry({ defaultMetrics: false });
  const c = scope.client({ urls: [first.url, second.url], batchSize: 10, breaker: { failureThreshold: 3, resetTimeoutMs: 1500 }, registry });
  await until(() => c.buffered() === 10, 5000, 'the initial fill');

  await Promise.all([first.stop('SIGKILL'), second.stop('SIGKILL')]);
  // The buffer keeps serving while the KGS is gone.
  const buffered = [];
  for (let i = 0; i < 10; i++) buffered.push(await c.takeCode());
  assert.equal(new Set(buffered).size, 10);

  let started = performance.now();
  const down = await rejectionOf(c.takeCode(), 3000, 'the first take after the buffer ran dry');
  assert.ok(down instanceof DependencyDown, `got ${down.name}`);
  assert.equal(down.status, 503);
  assert.equal(c.healthy(), false, 'every breaker is open');
  const states = await metricValues(registry, 'kgs_client_breaker_state');
  // Series name a replica by its place in KGS_URL, never by its address.
  for (const [place, url] of [first.url, second.url].entries()) {
    assert.equal(states.find((s) => s.labels.kgs === String(place))?.value, 2, `breaker of ${url} (kgs="${place}") shows open`);
  }

  started = performance.now();
  const fast = await rejectionOf(c.takeCode(), 1000, 'a take while the breakers are open');
  assert.equal(fast.status, 503);
  assert.ok(performance.now() - started < 1000);

  const back = await scope.kgs({ ...env, PORT: String(first.port) });
  assert.equal(back.url, first.url);
  started = performance.now();
  let code: string | undefined;
  while (code === undefined) {
    assert.ok(performance.now() - started < 10_000, 'the client did not recover within 10 s of the KGS returning');
    code = await c.takeCode().catch(async () => {
      await sleep(100);
      return undefined;
    });
  }
  assert.match(code, /^[A-Za-z]{6}$/);
  assert.ok(!buffered.includes(code));
  assert.equal(c.healthy(), true);
  const recovered = await metricValues(registry, 'kgs_client_breaker_state');
  assert.equal(recovered.find((s) => s.labels.kgs === '0')?.value, 0, 'the returned KGS has its breaker closed again');
});

test('a take retried the moment a refill fails settles too, instead of waiting for a refill that has already ended', async (t) => {
  const scope = await openScope(t, 'kgs-client-retry');
  const dead = `http://127.0.0.1:${await freePort()}`;
  const c = scope.client({ urls: [dead], batchSize: 10, breaker: { failureThreshold: 3, resetTimeoutMs: 60_000 } });
  // A caller that retries once, straight from its rejection handler.
  const retried = c.takeCode().catch(() => c.takeCode());
  const err = await rejectionOf(retried, 3000, 'the retried take');
  assert.equal(err.status, 503);
});
