// The LinkStore contract on both of its adapters: PostgreSQL (the services) and PGlite on a thread of
// its own, as `curt serve` runs it (pglite-thread.ts, over the runner of pglite-runner.ts). Both are
// the same SQL (pg-link-store.ts) over a different runner, after the same migrations.
import { migrate } from '../../src/core/migrate.ts';
import { openPgliteThread } from '../../src/storage/pglite/pglite-thread.ts';
import { createPgApiKeyStore, createPgLinkStore } from '../../src/storage/postgres/pg-link-store.ts';
import { linkListContract } from '../contract/link-list.contract.ts';
import { linkStoreContract, type LinkStoreSubject } from '../contract/link-store.contract.ts';
import { testLogger } from '../support/log.ts';
import { createTestDatabase } from '../support/postgres.ts';

async function onPostgres(name: string): Promise<LinkStoreSubject> {
  const database = await createTestDatabase(name);
  return { store: createPgLinkStore(database.db), apiKeys: createPgApiKeyStore(database.db), db: database.db, close: () => database.drop() };
}

async function onPgliteThread(): Promise<LinkStoreSubject> {
  const thread = await openPgliteThread(null);
  await migrate(thread.runner, testLogger('pglite'));
  return { store: createPgLinkStore(thread.runner), apiKeys: createPgApiKeyStore(thread.runner), db: thread.runner, close: () => thread.close() };
}

linkStoreContract('PostgreSQL', () => onPostgres('link_store_contract'));
linkStoreContract('PGlite on its own thread', onPgliteThread);
linkListContract('PostgreSQL', () => onPostgres('link_list_contract'));
linkListContract('PGlite on its own thread', onPgliteThread);
