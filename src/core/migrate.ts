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
  const files = (await readdir(dir)).filter((f) => FILE.test(f));
  const migrations: Migration[] = [];
  for (const name of files) {
    const version = Number(FILE.exec(name)?.[1]);
    if (migrations.some((m) => m.version === version)) throw new Error(`two migrations share version ${version}`);
    migrations.push({ version, name, sql: await readFile(`${dir}/${name}`, 'utf8') });
  }
  // By number, not by name: `1000_x.sql` sorts before `101_x.sql` as text.
  return migrations.sort((a, b) => a.version - b.version);
}

/**
 * How long a migration waits for a lock on a table before it gives up and tries again: a long
 * transaction (a report, a backup) holding the table would otherwise keep it waiting, and every
 * query of the table queued behind its wait, for as long as it runs. Below the request path's
 * statement timeout (600 ms, REQUEST_PATH_TIMEOUTS in postgres.ts): requests queued behind the wait
 * are held up, not failed.
 */
export const MIGRATION_LOCK_TIMEOUT_MS = 500;
/** The waits between attempts of a migration that could not have its locks: about five minutes in all. */
export const MIGRATION_LOCK_RETRIES_MS: readonly number[] = [1000, 2000, 4000, 8000, ...Array.from({ length: 28 }, () => 10_000)];

export interface MigrateOptions {
  lockTimeoutMs?: number;
  lockRetriesMs?: readonly number[];
}

/** PostgreSQL's lock_not_available: a lock_timeout ran out. */
const isLockTimeout = (err: unknown): boolean => (err as { code?: unknown } | null)?.code === '55P03';

/**
 * Applies pending migrations. `session` must be ONE connection (a checked-out pool client or PGlite),
 * because the advisory lock and the transactions belong to a session. Returns the names applied.
 */
export async function migrate(session: SqlRunner, log: Logger, dir = MIGRATIONS_DIR, options: MigrateOptions = {}): Promise<string[]> {
  const migrations = await loadMigrations(dir);
  const lockTimeoutMs = options.lockTimeoutMs ?? MIGRATION_LOCK_TIMEOUT_MS;
  const retries = options.lockRetriesMs ?? MIGRATION_LOCK_RETRIES_MS;
  // node-postgres sends no statement_timeout of 0 (it sends only a truthy one), so a role's or a
  // database's own (ALTER ROLE … SET statement_timeout, common on managed PostgreSQL) would cut the
  // wait for another migrator's lock, and a long migration, which then failed on every retry. Reset
  // at the end: the session may be a pool's client.
  await session.query('SET statement_timeout = 0');
  await session.query('SET lock_timeout = 0');
  try {
    await session.query('SELECT pg_advisory_lock($1)', [LOCK_ID]);
    try {
      await session.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const done = new Set((await session.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      const applied: string[] = [];
      for (const migration of migrations) {
        if (done.has(migration.version)) continue;
        for (let attempt = 0; ; attempt++) {
          try {
            await applyOne(session, migration, lockTimeoutMs);
            break;
          } catch (err) {
            const wait = retries[attempt];
            if (!isLockTimeout(err) || wait === undefined) throw new Error(`migration ${migration.name} failed: ${(err as Error).message}`, { cause: err });
            log.warn({ migration: migration.name, attempt: attempt + 1, retryInMs: wait }, `migration ${migration.name} waited ${lockTimeoutMs} ms for a table another transaction holds (a long query, a backup?): rolled back, trying again`);
            await new Promise((resolve) => setTimeout(resolve, wait));
          }
        }
        log.info({ migration: migration.name }, 'migration applied');
        applied.push(migration.name);
      }
      return applied;
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]);
    }
  } finally {
    await session.query('RESET statement_timeout');
    await session.query('RESET lock_timeout');
  }
}

/** One migration in its own transaction, whose every lock waits at most `lockTimeoutMs`. */
async function applyOne(session: SqlRunner, migration: Migration, lockTimeoutMs: number): Promise<void> {
  await session.query('BEGIN');
  try {
    await session.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`);
    await session.query(migration.sql);
    await session.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
    await session.query('COMMIT');
  } catch (err) {
    await session.query('ROLLBACK');
    throw err;
  }
}

/** Versions in the migrations folder that the database has not applied (for a start-up check). */
/**
 * Migrates the PostgreSQL at `url` on one connection of its own, without statement timeouts (migrate
 * sets none, whatever the role or database says): the advisory lock may wait for another migrator,
 * and a migration may take long. Returns what it applied.
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
