// The KGS never holds codes for a caller that has left: on an empty pool it waits less than the
// caller's timeout (which the client sends with each call), and codes taken for a request that was
// aborted before its answer was written go back to the pool as unused.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRegistry } from '../../src/core/metrics.ts';
import { buildKgsApp } from '../../src/kgs/app.ts';
import { createCodeGenerator } from '../../src/kgs/code-generator.ts';
import { createKeyPool } from '../../src/kgs/key-pool.ts';
import { createKgsClient } from '../../src/kgs-client/kgs-client.ts';
import type { KeyStore } from '../../src/storage/key-store.ts';
import { createRedisKeyStore, redisKeyNames } from '../../src/storage/redis/redis-key-store.ts';
import { until } from '../support/fault-probes.ts';
import { auth, buildTestKgs, LETTERS, TOKEN } from '../support/kgs.ts';
import { testLogger } from '../support/log.ts';
import { openTestRedis } from '../support/redis.ts';

describe('KGS calls and the caller that gave up', () => {
  test('on an empty pool the KGS answers 503 before the client times out, even when KGS_EMPTY_WAIT_MS is longer', async (t) => {
    const kgs = await buildTestKgs('caller-timeout', { emptyWaitMs: 5000, lowWatermark: 10, target: 50 });
    // Another replica "holds" the replenish lock and adds nothing: the pool stays empty.
    const releaseLock = await kgs.store.tryLock('replenish', 60_000);
    assert.ok(releaseLock);
    const url = await kgs.app.listen({ port: 0, host: '127.0.0.1' });
    const registry = createRegistry({ defaultMetrics: false });
    const client = createKgsClient({ urls: [url], token: TOKEN, log: testLogger('kgs-client'), timeoutMs: 2000, retries: 0, batchSize: 5, registry });
    t.after(async () => {
      await client.close();
      await releaseLock();
      await kgs.close();
    });
    await assert.rejects(client.takeCode());
    const outcomes = async (outcome: string) =>
      (await registry.getSingleMetric('kgs_client_requests_total')?.get())?.values.filter((v) => v.labels.outcome === outcome).reduce((n, v) => n + v.value, 0) ?? 0;
    await until(async () => (await outcomes('unavailable')) + (await outcomes('timeout')) > 0, 10_000, 'the first attempt to end');
    assert.equal(await outcomes('timeout'), 0, 'no attempt timed out: the KGS answered first');
    assert.ok((await outcomes('unavailable')) > 0, 'the KGS answered 503 pool_empty');
  });

  test('codes taken for a request aborted before its answer was written go back to the pool, unused', async (t) => {
    const redis = await openTestRedis('caller-gone');
    t.after(() => redis.cleanup());
    const store = createRedisKeyStore(redis.redis, redis.prefix);
    const codes = ['goneAA', 'goneBB', 'goneCC', 'goneDD', 'goneEE'];
    assert.equal(await store.offer(codes), 5);
    // The take is held until the caller has gone: the codes are taken for a request nobody waits for.
    let takeStarted = false;
    let taken = 0;
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const gated: KeyStore = {
      ...store,
      take: async (count) => {
        takeStarted = true;
        await gate;
        const result = await store.take(count);
        taken += result.codes.length;
        return result;
      },
    };
    const log = testLogger('kgs');
    const pool = createKeyPool({ store: gated, generator: createCodeGenerator({ length: 6, alphabet: LETTERS }), log, lowWatermark: 0, target: 10, reuseCooldownS: 3600, emptyWaitMs: 500 });
    const app = await buildKgsApp({ pool, token: TOKEN, log, registry: createRegistry({ defaultMetrics: false }), checkReady: () => store.ping() });
    t.after(() => app.close());
    const url = await app.listen({ port: 0, host: '127.0.0.1' });

    const caller = new AbortController();
    const answer = fetch(`${url}/codes?count=5`, { headers: auth, signal: caller.signal });
    await until(() => takeStarted, 5000, 'the KGS to start taking codes');
    caller.abort();
    await assert.rejects(answer);
    await until(() => new Promise<boolean>((resolve) => app.server.getConnections((_err, n) => resolve(n === 0))), 5000, 'the KGS to see the caller leave');
    openGate();
    await until(() => taken === 5, 5000, 'the KGS to take the five codes');

    const keys = redisKeyNames(redis.prefix);
    await until(async () => (await redis.redis.scard(keys.used)) === 0, 5000, 'the taken codes to leave used_keys');
    assert.deepEqual((await redis.redis.smembers(keys.available)).sort(), [...codes].sort(), 'all five are available again, without the cool-down');
  });
});
