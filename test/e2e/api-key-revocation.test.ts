// A leaked key is revoked on one URL service and refused at once by another that had it cached:
// two URL service processes on one PostgreSQL and one Redis, as in production.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCurtClient, CurtApiError } from '../../src/client/curt-client.ts';
import { E2E_ADMIN_KEY, startKgs, startUrlService, type ServiceProcess } from '../support/processes.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { openTestRedis, REDIS_URL, type TestRedis } from '../support/redis.ts';

let database: TestDatabase;
let redis: TestRedis;
const processes: ServiceProcess[] = [];

before(async () => {
  database = await createTestDatabase('e2e_key_revocation');
  redis = await openTestRedis('e2e-key-revocation');
  const kgs = await startKgs({ REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, KGS_POOL_TARGET: '2000', KGS_POOL_LOW_WATERMARK: '500' });
  processes.push(kgs);
  const env = { DATABASE_URL: database.url, REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, KGS_URL: kgs.url };
  processes.push(await startUrlService(env), await startUrlService(env));
});

after(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await database?.drop();
  await redis?.cleanup();
});

/** Resolves once the process answers /ready with its Redis subscriptions up (it caches keys only then). */
async function subscribed(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const clients = (await redis.redis.call('PUBSUB', 'NUMSUB', `${redis.prefix}api-keys:invalidate`)) as [string, number];
    if (Number(clients[1]) >= 2 && (await fetch(`${url}/ready`)).ok) return;
    if (Date.now() > deadline) throw new Error('the URL services did not subscribe to API key revocations');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('a key revoked through one URL service is refused by the other at once, though it had the key cached', async () => {
  const [, a, b] = processes as [ServiceProcess, ServiceProcess, ServiceProcess];
  await subscribed(b.url);
  const admin = createCurtClient({ baseUrl: a.url, apiKey: E2E_ADMIN_KEY });
  const leaked = await admin.createApiKey({ name: 'leaked' });
  const onB = createCurtClient({ baseUrl: b.url, apiKey: leaked.key });
  // Used on B twice: the second answer comes from B's in-process key cache.
  await onB.list();
  await onB.shorten('https://example.com/before-revocation');

  await admin.revokeApiKey(leaked.id);

  await assert.rejects(onB.shorten('https://example.com/after-revocation'), (err: unknown) => err instanceof CurtApiError && err.status === 401);
  const listed = await admin.listApiKeys();
  assert.ok(listed.find((k) => k.id === leaked.id)?.revoked_at, 'listed as revoked');
});
