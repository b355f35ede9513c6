// Two URL-service replicas on one database and one Redis whose cache settings differ, as during a
// rolling change of CACHE_TTL_S or CACHE_NEAR_TTL_S: a change made on the replica that reads fewer
// tiers (A) reaches the other (B, the defaults: Redis and an in-process tier) at once. A's own
// settings decide only what A reads; it still writes its changes to Redis and broadcasts them on the
// invalidation bus (src/storage/redis/broadcasting-link-cache.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { CacheConfig } from '../../src/core/config.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { connectRedis, type RedisClient } from '../../src/core/redis.ts';
import { createPgApiKeyStore, createPgLinkStore } from '../../src/storage/postgres/pg-link-store.ts';
import { openRedisLinkCacheStack, type RedisLinkCacheStack } from '../../src/storage/redis/redis-link-cache-stack.ts';
import { hashApiKey } from '../../src/url/api-keys.ts';
import { createLinkService, type LinkService, type Principal } from '../../src/url/link-service.ts';
import { createUrlMetrics } from '../../src/url/metrics.ts';
import { until } from '../support/fault-probes.ts';
import { linkServiceOptions } from '../support/link-service.ts';
import { testLogger } from '../support/log.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { openTestRedis, REDIS_URL, type TestRedis } from '../support/redis.ts';
import { seenFromPerson } from '../support/visitors.ts';

const DEFAULTS: CacheConfig = { ttlS: 3600, negativeTtlS: 30, nearTtlS: 60, nearMax: 1000 };

interface Replica {
  links: LinkService;
  stack: RedisLinkCacheStack;
  redis: RedisClient;
}

describe('a change on a replica with other cache settings reaches the replicas on the defaults at once', () => {
  let database: TestDatabase;
  let shared: TestRedis;
  let admin: Principal;
  const opened: Replica[] = [];
  let n = 0;
  const alias = (): string => `mix${randomBytes(2).toString('hex')}${n++}`;

  async function replica(name: string, cache: CacheConfig): Promise<Replica> {
    const log = testLogger(name);
    const redis = await connectRedis({ url: REDIS_URL, log, name: `curt-test-${name}` });
    const registry = createRegistry({ defaultMetrics: false });
    const stack = openRedisLinkCacheStack({ redis, prefix: shared.prefix, log, registry, metrics: createUrlMetrics(registry), cache });
    const links = createLinkService(
      linkServiceOptions(name, { store: createPgLinkStore(database.db), cache: stack.cache, cacheTtlS: cache.ttlS, negativeCacheTtlS: cache.negativeTtlS, log }),
    );
    const opening = { links, stack, redis };
    opened.push(opening);
    return opening;
  }

  /** What a person's visit gets: the target, or the error's code. */
  async function visit(on: Replica, code: string): Promise<string> {
    return on.links.resolveRedirect(code, seenFromPerson()).then(
      (answer) => ('location' in answer ? answer.location : 'no location'),
      (err: { code?: string }) => String(err.code),
    );
  }

  /** Visits on B until B answers from its in-process tier (subscribed and trusted), as a warm replica does. */
  async function warm(b: Replica, code: string): Promise<void> {
    await until(
      async () => {
        await visit(b, code);
        return b.stack.cache.peek?.(code) !== undefined;
      },
      10_000,
      `B to hold ${code} in memory`,
    );
  }

  before(async () => {
    database = await createTestDatabase('cache_settings_mixed');
    shared = await openTestRedis('cache-settings-mixed');
    const secret = randomBytes(16).toString('hex');
    const key = await createPgApiKeyStore(database.db).insert({ hash: hashApiKey(secret), keyPrefix: secret.slice(0, 12), name: 'admin', isAdmin: true });
    admin = { keyId: key.id, isAdmin: true };
  });

  after(async () => {
    for (const { stack, redis } of opened) {
      await stack.close();
      redis.disconnect();
    }
    await shared.cleanup();
    await database.drop();
  });

  for (const [setting, aCache] of [
    ['CACHE_TTL_S=0', { ...DEFAULTS, ttlS: 0 }],
    ['CACHE_NEAR_TTL_S=0', { ...DEFAULTS, nearTtlS: 0 }],
  ] as const) {
    describe(`A with ${setting}, B with the defaults`, () => {
      let a: Replica;
      let b: Replica;
      before(async () => {
        a = await replica(`a-${setting}`, aCache);
        b = await replica(`b-${setting}`, DEFAULTS);
      });

      test('a link disabled on A answers link_disabled on B at once', async () => {
        const code = alias();
        await b.links.createLink({ url: 'https://example.com/to-disable', alias: code }, admin);
        await warm(b, code);
        await a.links.updateLink(code, { isActive: false }, admin);
        assert.equal(await visit(b, code), 'link_disabled');
        // Long enough to outlive a lookup in flight that read the row before the change.
        assert.ok((await shared.redis.pttl(`${shared.prefix}url:${code}`)) > 20_000, 'the new state stays in Redis');
        assert.equal(await visit(a, code), 'link_disabled');
      });

      test('a link deleted on A answers link_not_found on B at once', async () => {
        const code = alias();
        await b.links.createLink({ url: 'https://example.com/to-delete', alias: code }, admin);
        await warm(b, code);
        await a.links.deleteLink(code, admin);
        assert.equal(await visit(b, code), 'link_not_found');
        assert.equal(await visit(a, code), 'link_not_found');
      });

      test('a link created on A resolves on B that had cached "no such code" (within a moment: creations are not waited for)', async () => {
        const code = alias();
        assert.equal(await visit(b, code), 'link_not_found');
        // B holds "no such code" in Redis and in memory.
        await until(
          async () => {
            await visit(b, code);
            return b.stack.cache.peek?.(code) === null;
          },
          10_000,
          `B to hold "no such code" for ${code} in memory`,
        );
        await a.links.createLink({ url: 'https://example.com/created-on-a', alias: code }, admin);
        await until(async () => (await visit(b, code)) === 'https://example.com/created-on-a', 2000, `B to resolve ${code}`);
      });
    });
  }
});
