// A database stopped at a given version of the schema, on PostgreSQL or PGlite, then migrated on: for
// the tests of migrations that change data (click-partitions.test.ts, url-totals.test.ts).
import { randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../src/core/logger.ts';
import { migrate, MIGRATIONS_DIR } from '../../src/core/migrate.ts';
import { checkOut } from '../../src/core/postgres.ts';
import type { TransactionalRunner } from '../../src/core/sql.ts';
import { openPglite, pgliteRunner } from '../../src/storage/pglite/pglite-runner.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';

/** A folder holding the migrations up to `last` (inclusive), to stop a database at that version. */
export async function migrationsUpTo(last: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'curt-migrations-'));
  for (const name of await readdir(MIGRATIONS_DIR)) {
    if (/^\d{3,}_/.test(name) && Number.parseInt(name, 10) <= last) await copyFile(join(MIGRATIONS_DIR, name), join(dir, name));
  }
  return dir;
}

export interface Subject {
  db: TransactionalRunner;
  /** Applies the migrations up to `last` (all by default). */
  migrate(last?: number): Promise<void>;
  close(): Promise<void>;
}

export async function onPostgres(label: string, log: Logger): Promise<Subject & { database: TestDatabase }> {
  const database = await createTestDatabase(label, { migrated: false });
  return {
    database,
    db: database.db,
    async migrate(last) {
      const dir = last === undefined ? MIGRATIONS_DIR : await migrationsUpTo(last);
      const { client, release } = await checkOut(database.pool);
      try {
        await migrate(client, log, dir);
      } finally {
        release();
        if (last !== undefined) await rm(dir, { recursive: true, force: true });
      }
    },
    close: () => database.drop(),
  };
}

export async function onPglite(log: Logger): Promise<Subject> {
  const pglite = await openPglite(null);
  const db = pgliteRunner(pglite);
  return {
    db,
    async migrate(last) {
      const dir = last === undefined ? MIGRATIONS_DIR : await migrationsUpTo(last);
      try {
        await migrate(db, log, dir);
      } finally {
        if (last !== undefined) await rm(dir, { recursive: true, force: true });
      }
    },
    close: () => pglite.close(),
  };
}

/** `n` links with generated codes and URLs, inserted by SQL as any version could; their ids. */
export async function insertLinks(db: TransactionalRunner, n: number): Promise<number[]> {
  const run = randomUUID().slice(0, 6);
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO urls (original_url, short_code) SELECT 'https://example.com/' || g, $1 || g FROM generate_series(1, $2::int) g RETURNING id`,
    [`p${run}`, n],
  );
  return rows.map((r) => Number(r.id));
}
