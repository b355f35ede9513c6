// Each test file gets its own database on the shared PostgreSQL, migrated, and dropped afterwards.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { migrateDatabase } from '../../src/core/migrate.ts';
import { createPgPool, pgRunner, type Pool } from '../../src/core/postgres.ts';
import type { TransactionalRunner } from '../../src/core/sql.ts';
import { testLogger } from './log.ts';

export const PG_ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url: string;
  pool: Pool;
  db: TransactionalRunner;
  drop(): Promise<void>;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh database; migrated unless `migrated: false`. */
export async function createTestDatabase(label: string, options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const name = `curt_test_${label.replace(/\W/g, '_')}_${randomUUID().slice(0, 8)}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const log = testLogger('db');
  if (options.migrated !== false) await migrateDatabase({ url: url.toString(), log, applicationName: 'curt-test-migrate' });
  const pool = createPgPool({ url: url.toString(), log, max: 5 });
  return {
    name,
    url: url.toString(),
    pool,
    db: pgRunner(pool),
    async drop() {
      await pool.end();
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
