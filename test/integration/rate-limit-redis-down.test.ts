// Rate limits while Redis, which holds the counters, is unreachable: RATE_LIMIT_ON_REDIS_DOWN=open (the
// default) lets limited calls through unlimited; closed answers 503 `redis_unavailable` with
// Retry-After. Admin keys and redirects are never limited either way. The limiter's Redis here is a
// real client pointed at a port where nothing listens; everything else runs on the real servers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createDependencyBreaker } from '../../src/core/dependency-breaker.ts';
import { createRedisRateLimiter } from '../../src/storage/redis/redis-rate-limiter.ts';
import { testLogger } from '../support/log.ts';
import { freePort } from '../support/processes.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';

async function deadRedis(): Promise<Redis> {
  const redis = new Redis(await freePort(), '127.0.0.1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  return redis;
}

describe('rate limits with Redis down', () => {
  let closed: TestUrlService;
  let open: TestUrlService;
  const breaker = createDependencyBreaker({ dependency: 'redis', log: testLogger('breaker'), failureThreshold: 3, resetTimeoutMs: 60_000 });
  const dead: Redis[] = [];

  before(async () => {
    dead.push(await deadRedis(), await deadRedis());
    const [forClosed, forOpen] = dead as [Redis, Redis];
    closed = await buildTestUrlService('rl_down_closed', {
      rateLimit: { perKey: 100, perIp: 100, onRedisDown: 'closed' },
      limiter: createRedisRateLimiter(forClosed, 'unused:', { breaker }),
    });
    // A limit of 1 per minute: anything beyond the first call would be 429 if it were counted.
    open = await buildTestUrlService('rl_down_open', { rateLimit: { perKey: 1, perIp: 1 }, limiter: createRedisRateLimiter(forOpen, 'unused:') });
  });

  after(async () => {
    await closed?.close();
    await open?.close();
    for (const redis of dead) redis.disconnect();
  });

  test('closed: limited calls answer 503 redis_unavailable with Retry-After, also once the breaker is open; admin keys and redirects go through', async () => {
    const user = await closed.userKey();
    for (let i = 0; i < 5; i++) {
      const anonymous = await closed.app.inject({ method: 'POST', url: '/urls', payload: { url: 'https://example.com/anon' } });
      assert.equal(anonymous.statusCode, 503, anonymous.body);
      assert.equal(anonymous.json<{ code: string }>().code, 'redis_unavailable');
      assert.ok(Number(anonymous.headers['retry-after']) >= 1, 'Retry-After');
      const keyed = await closed.app.inject({ method: 'GET', url: '/urls', headers: user });
      assert.equal(keyed.statusCode, 503);
    }
    assert.equal(breaker.state(), 'open', 'repeated failures opened the breaker; the calls above after that were refused without trying');
    const admin = await closed.app.inject({ method: 'POST', url: '/urls', headers: closed.admin, payload: { url: 'https://example.com/by-admin' } });
    assert.equal(admin.statusCode, 201, admin.body);
    const code = admin.json<{ short_code: string }>().short_code;
    assert.equal((await closed.app.inject({ url: `/${code}` })).statusCode, 302, 'redirects are never limited');
  });

  test('open (the default): the same calls go through, unlimited, while the counters cannot be reached', async () => {
    const user = await open.userKey();
    for (let i = 0; i < 3; i++) {
      const anonymous = await open.app.inject({ method: 'POST', url: '/urls', payload: { url: `https://example.com/anon-${i}` } });
      assert.equal(anonymous.statusCode, 201, anonymous.body);
      assert.equal((await open.app.inject({ method: 'GET', url: '/urls', headers: user })).statusCode, 200);
    }
  });
});
