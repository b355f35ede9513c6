// Versioned migrations: numbered SQL files applied in order, each in its own transaction, recorded
// in schema_migrations. An advisory lock makes concurrent runs (two pods, a Job and a pod) safe: the
// second waits, then finds nothing left to do.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from './logger.ts';
import { checkOut, createPgPool } from './postgres.ts';
import type { SqlRunner } from './sql.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
const LOCK_ID = 727_274_001; // arbitrary, fixed: "curt migrations"
const FILE = /^(\d{3,})_[\w-]+\.sql$/;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => FILE.test(f)).sort();
  const migrations: Migration[] = [];
  for (const name of files) {
    const version = Number(FILE.exec(name)?.[1]);
    if (migrations.some((m) => m.version === version)) throw new Error(`two migrations share version ${version}`);
    migrations.push({ version, name, sql: await readFile(`${dir}/${name}`, 'utf8') });
  }
  return migrations;
}

/**
 * Applies pending migrations. `session` must be ONE connection (a checked-out pool client or PGlite),
 * because the advisory lock and the transactions belong to a session. Returns the names applied.
 */
export async function migrate(session: SqlRunner, log: Logger, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await loadMigrations(dir);
  await session.query('SELECT pg_advisory_lock($1)', [LOCK_ID]);
  try {
    await session.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await session.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const applied: string[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      await session.query('BEGIN');
      try {
        await session.query(migration.sql);
        await session.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
        await session.query('COMMIT');
      } catch (err) {
        await session.query('ROLLBACK');
        throw new Error(`migration ${migration.name} failed: ${(err as Error).message}`, { cause: err });
      }
      log.info({ migration: migration.name }, 'migration applied');
      applied.push(migration.name);
    }
    return applied;
  } finally {
    await session.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]);
  }
}

/** Versions in the migrations folder that the database has not applied (for a start-up check). */
/**
 * Migrates the PostgreSQL at `url` on one connection of its own, without statement timeouts: the
 * advisory lock may wait for another migrator, and a migration may take long. Returns what it applied.
 */
export async function migrateDatabase(options: { url: string; log: Logger; applicationName: string }): Promise<string[]> {
  const pool = createPgPool({ url: options.url, log: options.log, max: 1, statementTimeoutMs: 0, applicationName: options.applicationName });
  try {
    const { client, release } = await checkOut(pool);
    try {
      return await migrate(client, options.log);
    } finally {
      release();
    }
  } finally {
    await pool.end();
  }
}

export async function pendingMigrations(db: SqlRunner, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await loadMigrations(dir);
  const table = await db.query<{ exists: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS exists");
  if (!table.rows[0]?.exists) return migrations.map((m) => m.name);
  const done = new Set((await db.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
  return migrations.filter((m) => !done.has(m.version)).map((m) => m.name);
}
