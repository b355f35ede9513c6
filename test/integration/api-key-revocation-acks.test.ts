// DELETE /api-keys/{id} answers 204 only once every subscribed replica confirmed it dropped the key:
// two replicas (A: the app; B: a second API key service with its own Redis connection) on one
// PostgreSQL database and one Redis prefix. When B is subscribed but its ack cannot reach A, or A
// cannot publish at all, the answer is a 503 that says the key is revoked; a retry once acks work is 204.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { LightMyRequestResponse } from 'fastify';
import type { DependencyBreaker } from '../../src/core/dependency-breaker.ts';
import { Unauthorized } from '../../src/core/errors.ts';
import { createPgApiKeyStore } from '../../src/storage/postgres/pg-link-store.ts';
import { createRedisInvalidationBus, type RedisInvalidationBus } from '../../src/storage/redis/redis-invalidation-bus.ts';
import { createApiKeyService, type ApiKeyService } from '../../src/url/api-keys.ts';
import { testLogger } from '../support/log.ts';
import { REDIS_URL } from '../support/redis.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';
import { until } from '../support/fault-probes.ts';

/** A breaker the test opens and closes by hand: A's publish path, as the shared Redis breaker would gate it. */
function switchableBreaker(): DependencyBreaker & { open: boolean } {
  return {
    open: false,
    dependency: 'redis',
    state() {
      return this.open ? 'open' : 'closed';
    },
    run: (call) => call(),
    allows() {
      return !this.open;
    },
    admit() {
      return this.open ? undefined : 'call';
    },
    finish: () => undefined,
    recordSuccess: () => undefined,
    recordFailure: () => undefined,
  };
}


describe('DELETE /api-keys/{id} with a second replica', () => {
  let svc: TestUrlService;
  let busA: RedisInvalidationBus | undefined;
  const breakerA = switchableBreaker();
  let redisB: Redis;
  let busB: RedisInvalidationBus;
  let apiKeysB: ApiKeyService;

  before(async () => {
    svc = await buildTestUrlService('api_key_revocation_acks', {
      // Short, so a missing ack costs the test little; production waits 5 s.
      apiKeyRevocations: (redis, log) => (busA = createRedisInvalidationBus({ redis: redis.redis, prefix: `${redis.prefix}api-keys:`, log, breaker: breakerA, ackTimeoutMs: 300 })),
    });
    redisB = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redisB.connect();
    busB = createRedisInvalidationBus({ redis: redisB, prefix: `${svc.redis.prefix}api-keys:`, log: testLogger('url-b') });
    apiKeysB = createApiKeyService(createPgApiKeyStore(svc.database.db), { revocations: busB });
    await until(() => busA?.subscribed() === true && busB.subscribed(), 20_000, 'both replicas subscribed to API key revocations');
  });

  after(async () => {
    await busB?.close();
    redisB?.disconnect();
    await svc?.close();
  });

  /** A fresh key, used on B twice so that B answers from its key cache. */
  async function keyCachedOnB(name: string): Promise<{ id: number; authorization: string }> {
    const res = await svc.app.inject({ method: 'POST', url: '/api-keys', headers: svc.admin, payload: { name } });
    assert.equal(res.statusCode, 201, res.body);
    const { id, key } = res.json<{ id: number; key: string }>();
    const authorization = `Bearer ${key}`;
    await apiKeysB.authenticate(authorization);
    assert.deepEqual(await apiKeysB.authenticate(authorization), { keyId: id, isAdmin: false });
    assert.deepEqual(apiKeysB.authenticateNow(authorization), { keyId: id, isAdmin: false }, 'held in memory: answered without waiting');
    return { id, authorization };
  }

  const revoke = (id: number): Promise<LightMyRequestResponse> => svc.app.inject({ method: 'DELETE', url: `/api-keys/${id}`, headers: svc.admin });

  function assertUnconfirmed(res: LightMyRequestResponse): void {
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.ok(res.headers['retry-after'], 'Retry-After');
    const problem = res.json<{ code: string; detail: string }>();
    assert.equal(problem.code, 'redis_unavailable');
    assert.match(problem.detail, /revoked, but not every replica has confirmed it/);
  }

  test('a replica that is subscribed but cannot acknowledge makes the revocation a 503; the retry once it can is 204', async () => {
    const { id, authorization } = await keyCachedOnB('no-ack');
    // B's subscription lives on a connection of its own and stays up; its acks go over this one.
    redisB.disconnect();
    try {
      assertUnconfirmed(await revoke(id));
    } finally {
      await redisB.connect();
    }
    await until(() => busB.subscribed(), 20_000, 'B still subscribed');
    assert.equal((await revoke(id)).statusCode, 204, 'the retry, every ack in');
    await assert.rejects(apiKeysB.authenticate(authorization), Unauthorized);
  });

  test('a revocation that cannot be published (Redis breaker open) is a 503; the retry once it closes is 204', async () => {
    const { id, authorization } = await keyCachedOnB('breaker-open');
    breakerA.open = true;
    try {
      assertUnconfirmed(await revoke(id));
    } finally {
      breakerA.open = false;
    }
    const listed = await svc.app.inject({ method: 'GET', url: '/api-keys', headers: svc.admin });
    assert.ok(listed.json<{ items: { id: number; revoked_at: string | null }[] }>().items.find((k) => k.id === id)?.revoked_at, 'stored as revoked all the same');
    assert.equal((await revoke(id)).statusCode, 204, 'the retry');
    await assert.rejects(apiKeysB.authenticate(authorization), Unauthorized);
  });

  test('with every replica acknowledging, a revocation is 204 and the other replica refuses the key', async () => {
    const { id, authorization } = await keyCachedOnB('all-ack');
    assert.equal((await revoke(id)).statusCode, 204);
    assert.equal(apiKeysB.authenticateNow(authorization), undefined, 'dropped from memory: it must be read again');
    await assert.rejects(apiKeysB.authenticate(authorization), Unauthorized);
    assert.throws(() => apiKeysB.authenticateNow(authorization), Unauthorized, 'read again, it is held as refused');
  });
});
