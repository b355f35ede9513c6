// The LinkStore contract on both of its adapters: PostgreSQL (the services) and PGlite (`curt serve`).
// Both are the same SQL (pg-link-store.ts) over a different runner, after the same migrations.
import { migrate } from '../../src/core/migrate.ts';
import { openPglite, pgliteRunner } from '../../src/storage/pglite/pglite-runner.ts';
import { createPgApiKeyStore, createPgLinkStore } from '../../src/storage/postgres/pg-link-store.ts';
import { linkListContract } from '../contract/link-list.contract.ts';
import { linkStoreContract, type LinkStoreSubject } from '../contract/link-store.contract.ts';
import { testLogger } from '../support/log.ts';
import { createTestDatabase } from '../support/postgres.ts';

async function onPostgres(name: string): Promise<LinkStoreSubject> {
  const database = await createTestDatabase(name);
  return { store: createPgLinkStore(database.db), apiKeys: createPgApiKeyStore(database.db), db: database.db, close: () => database.drop() };
}

async function onPglite(): Promise<LinkStoreSubject> {
  const pglite = await openPglite(null);
  const db = pgliteRunner(pglite);
  await migrate(db, testLogger('pglite'));
  return { store: createPgLinkStore(db), apiKeys: createPgApiKeyStore(db), db, close: () => pglite.close() };
}

linkStoreContract('PostgreSQL', () => onPostgres('link_store_contract'));
linkStoreContract('PGlite', onPglite);
linkListContract('PostgreSQL', () => onPostgres('link_list_contract'));
linkListContract('PGlite', onPglite);
