// The migrator against what a real database does to it: a role's or database's own statement_timeout
// (common on managed PostgreSQL) must not cut the wait for another migrator or a migration, and a
// migration must not wait for a table behind a long transaction while every query of it queues
// behind that wait (it gives up after MIGRATION_LOCK_TIMEOUT_MS and tries again).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import pg from 'pg';
import { migrate, migrateDatabase } from '../../src/core/migrate.ts';
import { checkOut, createPgPool } from '../../src/core/postgres.ts';
import { captureLogger, testLogger } from '../support/log.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { migrationsUpTo } from '../support/schema-versions.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Cleanups run last-first in one after hook: the database is dropped only once its clients are closed. */
function cleanups(t: { after: (fn: () => Promise<void>) => void }): (fn: () => unknown) => void {
  const all: (() => unknown)[] = [];
  t.after(async () => {
    for (const fn of all.reverse()) await fn();
  });
  return (fn) => void all.push(fn);
}

test('a database whose statement_timeout is short still migrates, also while another migrator holds the lock for longer than it', async (t) => {
  const later = cleanups(t);
  const database = await createTestDatabase('migrate_timeout', { migrated: false });
  later(() => database.drop());
  await database.db.query(`ALTER DATABASE ${database.name} SET statement_timeout = '300ms'`);
  // Another migrator: it holds the migration lock for a second (its own session without the limit).
  const other = new pg.Client({ connectionString: database.url, options: '-c statement_timeout=0' });
  await other.connect();
  later(() => other.end());
  await other.query('SELECT pg_advisory_lock(727274001)');
  const released = sleep(1000).then(() => other.query('SELECT pg_advisory_unlock(727274001)'));
  const applied = await migrateDatabase({ url: database.url, log: testLogger('migrate'), applicationName: 'curt-test-migrate' });
  await released;
  assert.ok(applied.length >= 17, applied.join(', '));
  // The database's own setting is what its other sessions still get.
  const probe = new pg.Client({ connectionString: database.url });
  await probe.connect();
  later(() => probe.end());
  assert.equal((await probe.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]?.statement_timeout, '300ms');
});

test('a migration that cannot lock a table a long transaction reads gives up, lets the queries queued behind it through, and tries again until it can', async (t) => {
  const later = cleanups(t);
  const database = await createTestDatabase('migrate_lock_wait', { migrated: false });
  later(() => database.drop());
  const before = await migrationsUpTo(16);
  later(() => rm(before, { recursive: true, force: true }));
  const session = await checkOut(database.pool);
  later(() => session.release());
  await migrate(session.client, testLogger('migrate'), before);
  await database.db.query("INSERT INTO urls (short_code, original_url) VALUES ('lockwt', 'https://example.com/')");

  // A report (or a backup) reading urls in one transaction for 2.5 s.
  const reader = new pg.Client({ connectionString: database.url });
  await reader.connect();
  later(() => reader.end());
  await reader.query('BEGIN');
  await reader.query('SELECT count(*) FROM urls');
  const readerDone = sleep(2500).then(() => reader.query('COMMIT'));

  // The request path meanwhile: a lookup every 100 ms under its 600 ms statement timeout.
  const requests = createPgPool({ url: database.url, log: testLogger('requests'), max: 2, statementTimeoutMs: 600 });
  later(() => requests.end());
  const failures: string[] = [];
  let lookups = 0;
  let migrating = true;
  const probing = (async () => {
    while (migrating) {
      await requests.query("SELECT id FROM urls WHERE short_code = 'lockwt'").then(
        () => (lookups += 1),
        (err: Error) => failures.push(err.message),
      );
      await sleep(100);
    }
  })();

  const captured = captureLogger('migrate');
  const applied = await migrate(session.client, captured.log, undefined, { lockTimeoutMs: 300, lockRetriesMs: Array.from({ length: 40 }, () => 200) });
  migrating = false;
  await probing;
  await readerDone;
  assert.deepEqual(applied, ['017_link_version.sql']);
  assert.match(captured.text(), /017_link_version\.sql waited 300 ms for a table another transaction holds/);
  assert.deepEqual(failures, [], 'no lookup failed while the migration waited');
  assert.ok(lookups >= 10, `lookups went on meanwhile (${lookups})`);
  assert.equal((await database.db.query<{ version: number }>("SELECT version FROM urls WHERE short_code = 'lockwt'")).rows[0]?.version, 1);
});
