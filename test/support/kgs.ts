// Builds a KGS in-process (real Redis, real Fastify app) for tests that drive it with app.inject().
import { createRegistry, type Registry } from '../../src/core/metrics.ts';
import type { HttpApp } from '../../src/core/http-app.ts';
import { buildKgsApp } from '../../src/kgs/app.ts';
import { createCodeGenerator } from '../../src/kgs/code-generator.ts';
import { createKeyPool, type KeyPool, type KeyPoolOptions } from '../../src/kgs/key-pool.ts';
import { createKgsMetrics } from '../../src/kgs/metrics.ts';
import { createRedisKeyStore } from '../../src/storage/redis/redis-key-store.ts';
import type { KeyStore } from '../../src/storage/key-store.ts';
import { testLogger } from './log.ts';
import { openTestRedis, type TestRedis } from './redis.ts';

export const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const TOKEN = 'test-token';

export interface TestKgs {
  app: HttpApp;
  /** What the metrics listener (METRICS_PORT) exposes; the app's public port does not. */
  registry: Registry;
  pool: KeyPool;
  store: KeyStore;
  redis: TestRedis;
  now: { value: number };
  close(): Promise<void>;
}

export async function buildTestKgs(
  label: string,
  overrides: Partial<Pick<KeyPoolOptions, 'lowWatermark' | 'target' | 'reuseCooldownS' | 'emptyWaitMs'>> & { length?: number; alphabet?: string } = {},
): Promise<TestKgs> {
  const redis = await openTestRedis(label);
  const store = createRedisKeyStore(redis.redis, redis.prefix);
  const registry = createRegistry({ defaultMetrics: false });
  const log = testLogger('kgs');
  const now = { value: Date.now() };
  const pool = createKeyPool({
    store,
    generator: createCodeGenerator({ length: overrides.length ?? 6, alphabet: overrides.alphabet ?? LETTERS }),
    log,
    lowWatermark: overrides.lowWatermark ?? 100,
    target: overrides.target ?? 500,
    reuseCooldownS: overrides.reuseCooldownS ?? 0,
    emptyWaitMs: overrides.emptyWaitMs ?? 500,
    now: () => now.value,
    events: createKgsMetrics(registry, () => store.sizes()),
  });
  const app = await buildKgsApp({ pool, token: TOKEN, log, registry, checkReady: () => store.ping() });
  await app.ready();
  return {
    app,
    registry,
    pool,
    store,
    redis,
    now,
    async close() {
      await app.close();
      // A replenishment started in the background by the last take must finish before the prefix is
      // deleted, or it writes its codes back afterwards and leaves them on the shared server.
      await pool.replenish().catch(() => undefined);
      await redis.cleanup();
    },
  };
}

export const auth = { authorization: `Bearer ${TOKEN}` };
