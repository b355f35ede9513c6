// Issue 10, defect 4: load alone must not open the PostgreSQL breaker. More concurrent work than
// the request pool holds makes requests wait for a connection; a wait that runs out is back-pressure
// for that one request (503 server_busy), never a sign that the database is down, and the database,
// healthy all along, keeps answering everyone else.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../src/core/errors.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { openPostgresLinkStorage, type PostgresLinkStorage } from '../../src/storage/postgres/postgres-link-storage.ts';
import { testLogger } from '../support/log.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

let database: TestDatabase;
let storage: PostgresLinkStorage;
const registry = createRegistry({ defaultMetrics: false });

before(async () => {
  database = await createTestDatabase('pool_saturation');
  storage = openPostgresLinkStorage({ url: database.url, log: testLogger('url'), registry, applicationName: 'curt-test-saturation' });
});
after(async () => {
  await storage.close();
  await database.drop();
});

async function breakerState(): Promise<number | undefined> {
  const metric = registry.getSingleMetric('dependency_breaker_state');
  return (await metric?.get())?.values.find((v) => v.labels.dependency === 'postgres')?.value;
}

test('a saturated pool against a healthy database answers server_busy to the requests that waited too long, and never opens the breaker', async () => {
  // 60 statements of 250 ms on a pool of 10: they run in waves of ten, so whatever waits behind the
  // third wave has waited at least 750 ms for a connection, past the request path's 500 ms.
  const outcomes = await Promise.allSettled(Array.from({ length: 60 }, () => storage.requests.query('SELECT pg_sleep(0.25)')));
  const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => o.reason as unknown);
  assert.ok(refused.length > 0, 'some requests waited past the checkout timeout (otherwise the test saturated nothing)');
  for (const err of refused) {
    assert.ok(err instanceof AppError, `an AppError, not ${String(err)}`);
    assert.equal(err.code, 'server_busy');
    assert.equal(err.status, 503);
  }
  assert.equal(await breakerState(), 0, 'the breaker is still closed');
  // The next request is served at once, not refused for the breaker's reset time.
  assert.equal(await storage.links.findByCode('nosuch'), null);
});

test('a burst of lookups larger than the pool is served in batches, with no request refused', async () => {
  const found = await Promise.all(Array.from({ length: 3000 }, (_, i) => storage.links.findByCode(`c${i}`)));
  assert.equal(found.length, 3000);
  assert.ok(found.every((link) => link === null));
  assert.equal(await breakerState(), 0);
});
