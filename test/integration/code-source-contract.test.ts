// The CodeSource contract on each adapter: the KGS client over HTTP in front of a real KGS app (the
// URL service), and the in-process source over a key pool (`curt serve`) on each store it runs on:
// PGlite (the default), and Redis (with REDIS_URL).
import { after } from 'node:test';
import type { AddressInfo } from 'node:net';
import { migrate } from '../../src/core/migrate.ts';
import { createCodeGenerator } from '../../src/kgs/code-generator.ts';
import { createKeyPool } from '../../src/kgs/key-pool.ts';
import { createLocalCodeSource } from '../../src/kgs/local-code-source.ts';
import { createKgsClient } from '../../src/kgs-client/kgs-client.ts';
import type { CodeSource } from '../../src/kgs-client/types.ts';
import type { KeyStore } from '../../src/storage/key-store.ts';
import { openPglite, pgliteRunner, type PGlite } from '../../src/storage/pglite/pglite-runner.ts';
import { createPgKeyStore } from '../../src/storage/postgres/pg-key-store.ts';
import { createRedisKeyStore } from '../../src/storage/redis/redis-key-store.ts';
import { codeSourceContract, type CodePoolOptions, type CodeSourcePool } from '../contract/code-source.contract.ts';
import { buildTestKgs, TOKEN } from '../support/kgs.ts';
import { testLogger } from '../support/log.ts';
import { openTestRedis } from '../support/redis.ts';

/** Sources are closed before their pool: a KGS client gives its buffer back to a KGS still running. */
function trackSources(open: (batchSize: number) => CodeSource) {
  const sources: CodeSource[] = [];
  return {
    source: (batchSize: number): CodeSource => {
      const source = open(batchSize);
      sources.push(source);
      return source;
    },
    closeAll: async (): Promise<void> => {
      for (const source of sources.splice(0)) await source.close();
    },
  };
}

codeSourceContract('KGS client over HTTP', async (options): Promise<CodeSourcePool> => {
  const kgs = await buildTestKgs('code_source_contract', { ...options, lowWatermark: 100, target: 500, emptyWaitMs: 10_000 });
  await kgs.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = kgs.app.server.address() as AddressInfo;
  // Generous time limits: the contract is about which codes come, not how fast, and a loaded machine
  // must not turn a slow refill into a 503 (the client's own timing is tested in kgs-client.test.ts).
  const sources = trackSources((batchSize) =>
    createKgsClient({ urls: [`http://127.0.0.1:${port}`], token: TOKEN, log: testLogger('kgs-client'), batchSize, timeoutMs: 10_000, maxTakeWaitMs: 60_000 }),
  );
  return {
    source: sources.source,
    sizes: () => kgs.store.sizes(),
    async advance(ms) {
      kgs.now.value += ms;
      await kgs.store.releaseDue(kgs.now.value);
    },
    async close() {
      await sources.closeAll();
      await kgs.close();
    },
  };
});

/** `curt serve`'s own source: a key pool on `store` in this process. */
function localPool(store: KeyStore, options: CodePoolOptions, cleanup: () => Promise<void>): CodeSourcePool {
  const now = { value: Date.now() };
  const pool = createKeyPool({
    store,
    generator: createCodeGenerator({ length: options.length, alphabet: options.alphabet }),
    log: testLogger('pool'),
    lowWatermark: 100,
    target: 500,
    reuseCooldownS: options.reuseCooldownS,
    emptyWaitMs: 10_000,
    now: () => now.value,
  });
  const sources = trackSources((batchSize) => createLocalCodeSource(pool, { batchSize }));
  return {
    source: sources.source,
    sizes: () => store.sizes(),
    async advance(ms) {
      now.value += ms;
      await store.releaseDue(now.value);
    },
    async close() {
      await sources.closeAll();
      // A replenishment started in the background by the last take ends before the store goes.
      await pool.replenish().catch(() => undefined);
      await cleanup();
    },
  };
}

// One PGlite for the suite (opening and migrating one takes seconds), emptied for each pool.
let pglite: Promise<PGlite> | null = null;
after(async () => {
  await (await pglite)?.close();
});

codeSourceContract('in-process key pool on PGlite', async (options) => {
  pglite ??= openPglite(null).then(async (opened) => {
    await migrate(pgliteRunner(opened), testLogger('pglite'));
    return opened;
  });
  const db = pgliteRunner(await pglite);
  await db.query('TRUNCATE key_pool, key_pool_locks');
  return localPool(createPgKeyStore(db), options, async () => undefined);
});

codeSourceContract('in-process key pool on Redis', async (options) => {
  const redis = await openTestRedis('code_source_contract');
  return localPool(createRedisKeyStore(redis.redis, redis.prefix), options, () => redis.cleanup());
});
