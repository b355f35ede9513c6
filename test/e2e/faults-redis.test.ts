// Redis fails under the real processes: a KGS and two URL service replicas on a private redis-server
// (never the shared one) and a real PostgreSQL database. Killed (SIGKILL) and restarted on the same
// port, then hung (SIGSTOP) and thawed (SIGCONT). What must hold (docs/operations.md, "When a dependency fails"):
// redirects keep working from PostgreSQL, without waiting on Redis once the breaker is open; creation
// goes on while the local code buffer lasts, then 503 + Retry-After; rate limits fail open (replica A)
// or closed (replica B) as configured; a link deleted or disabled during the outage is never
// redirected from a stale cache entry, on any replica, during the outage or after; when Redis is back
// caching resumes by itself.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { metricValue, timedFetch, until, type TimedResponse } from '../support/fault-probes.ts';
import { E2E_ADMIN_KEY, startKgs, startUrlService, type ServiceProcess } from '../support/processes.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';

const ADMIN = { authorization: `Bearer ${E2E_ADMIN_KEY}` };
const BREAKER = 'dependency_breaker_state{dependency="redis"}';

describe('URL services while Redis is down or hung', () => {
  let redis: PrivateRedis;
  let inside: Redis;
  let database: TestDatabase;
  let kgs: ServiceProcess;
  let a: ServiceProcess;
  let b: ServiceProcess;

  before(async () => {
    redis = await startPrivateRedis();
    inside = redis.client();
    database = await createTestDatabase('faults_redis');
    kgs = await startKgs({ REDIS_URL: redis.url, KGS_POOL_TARGET: '2000', KGS_POOL_LOW_WATERMARK: '500', KGS_REUSE_COOLDOWN_S: '0' });
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      KGS_URL: kgs.url,
      // A small code buffer, so that running it dry during the outage takes a few requests.
      KGS_CLIENT_BATCH: '10',
      RATE_LIMIT_PER_KEY: '100000',
      RATE_LIMIT_PER_IP: '100000',
      LOG_LEVEL: 'info',
    };
    [a, b] = await Promise.all([startUrlService({ ...env, RATE_LIMIT_ON_REDIS_DOWN: 'open' }), startUrlService({ ...env, RATE_LIMIT_ON_REDIS_DOWN: 'closed' })]);
  });

  after(async () => {
    await Promise.all([a, b, kgs].map((p) => p?.stop('SIGKILL')));
    await redis?.stop();
    await database?.drop();
  });

  const replicas = (): [ServiceProcess, ServiceProcess] => [a, b];
  const redirect = (svc: ServiceProcess, code: string): Promise<TimedResponse> => timedFetch(`${svc.url}/${code}`);
  const breakerOf = (svc: ServiceProcess): Promise<number | null> => metricValue(svc.metricsUrl, BREAKER);

  async function create(svc: ServiceProcess, url: string, headers: Record<string, string> = ADMIN): Promise<TimedResponse> {
    return timedFetch(`${svc.url}/urls`, { method: 'POST', headers, body: { url }, limitMs: 30_000 });
  }

  async function createdCode(url: string): Promise<string> {
    const res = await create(a, url);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return String(res.body.short_code);
  }

  /** Redirects every code twice through both replicas: cached in Redis and in each near tier. */
  async function warm(codes: string[]): Promise<void> {
    for (const svc of replicas()) {
      for (const code of codes) {
        for (let i = 0; i < 2; i++) assert.equal((await redirect(svc, code)).status, 302);
      }
    }
  }

  async function assertAnswers(expected: Record<string, number>, what: string): Promise<void> {
    for (const svc of replicas()) {
      for (const [code, status] of Object.entries(expected)) {
        const res = await redirect(svc, code);
        assert.equal(res.status, status, `${what}: ${code} on ${svc.url} answered ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
  }

  test('killed (SIGKILL): redirects from PostgreSQL, creation until the code buffer runs dry then 503, rate limits open on A and closed on B; restarted, caching resumes', async () => {
    const live = await createdCode('https://example.com/live');
    const doomed = await createdCode('https://example.com/doomed');
    await warm([live, doomed]);
    assert.match(String(await inside.get(`url:${live}`)), /^\d+\|\[/, 'cached in Redis under the epoch');

    await redis.kill();
    await until(async () => (await breakerOf(a)) === 2 && (await breakerOf(b)) === 2, 10_000, 'both Redis breakers to open');

    // Redirects: PostgreSQL answers, and the cache is skipped without a try.
    const skipped = (await metricValue(a.metricsUrl, 'cache_skipped_total{operation="get"}')) ?? 0;
    for (let i = 0; i < 10; i++) await assertAnswers({ [live]: 302 }, 'redirect with Redis down');
    assert.ok(((await metricValue(a.metricsUrl, 'cache_skipped_total{operation="get"}')) ?? 0) - skipped >= 10, 'cache reads skipped, not attempted');

    const deleted = await timedFetch(`${b.url}/urls/${doomed}`, { method: 'DELETE', headers: ADMIN, limitMs: 30_000 });
    assert.equal(deleted.status, 204);
    await assertAnswers({ [doomed]: 404, [live]: 302 }, 'deleted during the outage');

    const ready = await timedFetch(`${a.url}/ready`);
    assert.equal(ready.status, 200, 'still ready: it serves without Redis');
    assert.deepEqual([ready.body.status, (ready.body.checks as Record<string, string>).redis], ['degraded', 'down']);

    // Rate limits: B refuses limited calls, but never an admin key; A lets them through.
    const refused = await create(b, 'https://example.com/anonymous-on-b', {});
    assert.equal(refused.status, 503);
    assert.equal(refused.body.code, 'redis_unavailable');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After');
    assert.equal((await create(b, 'https://example.com/admin-on-b')).status, 201, 'admin keys are never limited');

    // Creation on A: from the local code buffer (the KGS answers 503 without its Redis), then 503.
    const statuses: number[] = [];
    let last: TimedResponse | undefined;
    for (let i = 0; i < 60 && last?.status !== 503; i++) {
      last = await create(a, `https://example.com/anonymous-on-a/${i}`, {});
      statuses.push(last.status);
    }
    assert.ok(statuses[0] === 201, `created from the buffer first: ${statuses.join(',')}`);
    assert.equal(last?.status, 503, `then 503 once it ran dry: ${statuses.join(',')}`);
    assert.ok(Number(last?.headers.get('retry-after')) >= 1, 'Retry-After');
    assert.deepEqual([...new Set(statuses)], [201, 503], 'nothing but created or 503');

    await redis.restart();
    await until(async () => (await breakerOf(a)) === 0 && (await breakerOf(b)) === 0, 15_000, 'both Redis breakers to close');
    // The KGS reconnects and refills its (now empty) pool by itself.
    await until(async () => (await create(a, 'https://example.com/after-restart', {})).status === 201, 30_000, 'creation to work again');
    const fresh = await createdCode('https://example.com/fresh');
    const hits = (await metricValue(b.metricsUrl, 'cache_lookups_total{result="hit"}')) ?? 0;
    await until(
      async () => {
        assert.equal((await redirect(b, fresh)).status, 302);
        return ((await metricValue(b.metricsUrl, 'cache_lookups_total{result="hit"}')) ?? 0) > hits;
      },
      10_000,
      'redirects on B to be cache hits again',
    );
    const epoch = (await inside.get('cache_epoch')) ?? '0';
    assert.ok(String(await inside.get(`url:${fresh}`)).startsWith(`${epoch}|[`), 'cached in the restarted Redis under its epoch');
  });

  test('hung (SIGSTOP): a link deleted and one disabled meanwhile answer 404 and 410 on both replicas during the hang and after SIGCONT, never the stale 302', async () => {
    const gone = await createdCode('https://example.com/gone');
    const off = await createdCode('https://example.com/off');
    const live = await createdCode('https://example.com/still-here');
    await warm([gone, off, live]);
    const staleGone = await inside.get(`url:${gone}`);
    const staleOff = await inside.get(`url:${off}`);
    assert.ok(staleGone?.includes('https://example.com/gone') && staleOff?.includes('https://example.com/off'), 'both cached in Redis');
    const epochBefore = Number((await inside.get('cache_epoch')) ?? 0);

    redis.freeze();
    try {
      await until(async () => (await breakerOf(a)) === 2 && (await breakerOf(b)) === 2, 15_000, 'both Redis breakers to open on the hang');
      // PostgreSQL takes both changes; the cache writes and invalidations are skipped, so Redis keeps the old entries.
      const deleted = await timedFetch(`${a.url}/urls/${gone}`, { method: 'DELETE', headers: ADMIN, limitMs: 30_000 });
      assert.equal(deleted.status, 204);
      const disabled = await timedFetch(`${b.url}/urls/${off}`, { method: 'PATCH', headers: ADMIN, body: { is_active: false }, limitMs: 30_000 });
      assert.equal(disabled.status, 200);
      await assertAnswers({ [gone]: 404, [off]: 410, [live]: 302 }, 'during the hang');
      const refused = await create(b, 'https://example.com/anonymous-on-b', {});
      assert.equal(refused.status, 503, 'rate limits closed on B (refused by the open breaker, not by a timeout)');
    } finally {
      redis.thaw();
    }

    // The stale entries are still in Redis, under the old epoch: only the epoch keeps them out.
    assert.equal(await inside.get(`url:${gone}`), staleGone);
    assert.equal(await inside.get(`url:${off}`), staleOff);
    let rounds = 0;
    await until(
      async () => {
        await assertAnswers({ [gone]: 404, [off]: 410 }, 'after SIGCONT');
        const settled =
          Number((await inside.get('cache_epoch')) ?? 0) > epochBefore &&
          (await metricValue(a.metricsUrl, 'cache_suspect')) === 0 &&
          (await metricValue(b.metricsUrl, 'cache_suspect')) === 0;
        rounds = settled ? rounds + 1 : 0;
        return rounds >= 10;
      },
      20_000,
      'both replicas to bump the epoch, then ten more rounds of answers',
    );
    const hits = (await metricValue(b.metricsUrl, 'cache_lookups_total{result="hit"}')) ?? 0;
    await until(
      async () => {
        assert.equal((await redirect(b, live)).status, 302);
        return ((await metricValue(b.metricsUrl, 'cache_lookups_total{result="hit"}')) ?? 0) > hits;
      },
      10_000,
      'caching to resume after the hang',
    );
    for (const svc of replicas()) {
      assert.match(svc.output(), /redis circuit breaker closed -> open/);
      assert.match(svc.output(), /lookup cache epoch bumped/);
    }
  });
});
