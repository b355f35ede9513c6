// The LinkStore contract on both of its adapters: PostgreSQL (the services) and PGlite (`curt serve`).
// Both are the same SQL (pg-link-store.ts) over a different runner, after the same migrations.
import { migrate } from '../../src/core/migrate.ts';
import { openPglite, pgliteRunner } from '../../src/storage/pglite/pglite-runner.ts';
import { createPgApiKeyStore, createPgLinkStore } from '../../src/storage/postgres/pg-link-store.ts';
import { linkStoreContract } from '../contract/link-store.contract.ts';
import { testLogger } from '../support/log.ts';
import { createTestDatabase } from '../support/postgres.ts';

linkStoreContract('PostgreSQL', async () => {
  const database = await createTestDatabase('link_store_contract');
  return { store: createPgLinkStore(database.db), apiKeys: createPgApiKeyStore(database.db), close: () => database.drop() };
});

linkStoreContract('PGlite', async () => {
  const pglite = await openPglite(null);
  const db = pgliteRunner(pglite);
  await migrate(db, testLogger('pglite'));
  return { store: createPgLinkStore(db), apiKeys: createPgApiKeyStore(db), close: () => pglite.close() };
});
