// The embedded database's autovacuum (src/storage/pglite/pglite-upkeep.ts): PGlite runs none of its
// own, so without this pass a table churned by click flushes is never vacuumed nor analysed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openPglite, pgliteRunner } from '../../src/storage/pglite/pglite-runner.ts';
import { startPgliteUpkeep, upkeepOf } from '../../src/storage/pglite/pglite-upkeep.ts';
import { testLogger } from '../support/log.ts';

test("autovacuum's default thresholds: dead rows past 50 + 20 %, inserts past 1,000 + 20 %, changes past 50 + 10 %", () => {
  const quiet = { live: 1000, dead: 0, insertedSinceVacuum: 0, modifiedSinceAnalyze: 0 };
  assert.equal(upkeepOf(quiet), null);
  assert.equal(upkeepOf({ ...quiet, dead: 250 }), null);
  assert.equal(upkeepOf({ ...quiet, dead: 251 }), 'vacuum');
  assert.equal(upkeepOf({ ...quiet, insertedSinceVacuum: 1200 }), null);
  assert.equal(upkeepOf({ ...quiet, insertedSinceVacuum: 1201 }), 'vacuum');
  assert.equal(upkeepOf({ ...quiet, modifiedSinceAnalyze: 150 }), null);
  assert.equal(upkeepOf({ ...quiet, modifiedSinceAnalyze: 151 }), 'analyze');
});

test('PGlite vacuums and analyses nothing by itself; a pass vacuums a churned table, analyses a changed one and leaves a quiet one alone', async () => {
  const pglite = await openPglite(null);
  const db = pgliteRunner(pglite);
  const upkeep = startPgliteUpkeep(db, testLogger('upkeep'), { intervalMs: 3_600_000 });
  try {
    await db.query(`CREATE TABLE churned (id int PRIMARY KEY, n int NOT NULL);
                    CREATE TABLE changed (id int PRIMARY KEY, n int NOT NULL);
                    CREATE TABLE quiet (id int PRIMARY KEY, n int NOT NULL)`);
    await db.query('INSERT INTO churned SELECT g, 0 FROM generate_series(1, 5000) g');
    await db.query('INSERT INTO changed SELECT g, 0 FROM generate_series(1, 500) g');
    await db.query('INSERT INTO quiet SELECT g, 0 FROM generate_series(1, 10) g');
    await db.query('VACUUM (ANALYZE) churned, changed, quiet');
    // The same updates a flush makes to url_totals: a new version of each row, the old one dead.
    for (let i = 0; i < 3; i++) await db.query('UPDATE churned SET n = n + 1');
    await db.query('UPDATE changed SET n = n + 1 WHERE id <= 60');
    await db.query('UPDATE quiet SET n = n + 1 WHERE id <= 5');
    // A backend reports its counters at most once a second; then they are read in the next statement.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await db.query('SELECT 1');
    const stats = async () =>
      new Map(
        (await db.query<{ relname: string; dead: string; vacuums: string; analyses: string }>(
          'SELECT relname, n_dead_tup AS dead, vacuum_count AS vacuums, analyze_count AS analyses FROM pg_stat_user_tables',
        )).rows.map((r) => [r.relname, { dead: Number(r.dead), vacuums: Number(r.vacuums), analyses: Number(r.analyses) }]),
      );
    const before = await stats();
    // 15,000 dead versions; page pruning during the updates may reclaim a few, nothing vacuums the rest.
    assert.ok((before.get('churned')?.dead ?? 0) > 14_000, `nothing vacuumed the dead rows meanwhile (${before.get('churned')?.dead})`);

    const done = await upkeep.runPass();
    assert.deepEqual(done, [
      { table: 'public.churned', upkeep: 'vacuum' },
      { table: 'public.changed', upkeep: 'analyze' },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await db.query('SELECT 1');
    const after = await stats();
    assert.equal(after.get('churned')?.dead, 0, 'the vacuum removed the dead rows');
    assert.equal(after.get('churned')?.vacuums, (before.get('churned')?.vacuums ?? 0) + 1);
    assert.equal(after.get('changed')?.analyses, (before.get('changed')?.analyses ?? 0) + 1);
    assert.equal(after.get('changed')?.vacuums, before.get('changed')?.vacuums, 'an analyse alone for a table with few dead rows');
    assert.deepEqual(after.get('quiet'), before.get('quiet'), 'a table under every threshold is left alone');
    assert.deepEqual(await upkeep.runPass(), [], 'and a second pass finds nothing left to do');
  } finally {
    await upkeep.stop();
    await pglite.close();
  }
});

test('a large table is analysed in parts (each column with a target above the default alone), and whole when an expression index has no statistics or half the table changed since', async () => {
  const pglite = await openPglite(null);
  const runner = pgliteRunner(pglite);
  // What the upkeep asks of the database, in order.
  const statements: string[] = [];
  const db: typeof runner = {
    ...runner,
    query: (text, params) => {
      if (/^(ANALYZE|VACUUM)/.test(text)) statements.push(text);
      return runner.query(text, params);
    },
  };
  const upkeep = startPgliteUpkeep(db, testLogger('upkeep'), { intervalMs: 3_600_000, analyzeInPartsFrom: 1000 });
  // A backend reports its counters at most once a second; then they are read in the next statement.
  const reported = async (): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await runner.query('SELECT 1');
  };
  const counters = async () =>
    (await runner.query<{ modified: string; analyses: string }>("SELECT n_mod_since_analyze AS modified, analyze_count AS analyses FROM pg_stat_user_tables WHERE relname = 'big'")).rows[0];
  try {
    // As urls: a column sampled with a target of 1000 (migration 010), an expression index (the import's md5).
    await runner.query(`CREATE TABLE big (id int PRIMARY KEY, url text NOT NULL, "Note" text, n int NOT NULL);
                        ALTER TABLE big ALTER COLUMN url SET STATISTICS 1000;
                        CREATE INDEX big_url_md5 ON big (md5(url))`);
    await runner.query("INSERT INTO big SELECT g, 'https://example.com/' || g, NULL, 0 FROM generate_series(1, 2000) g");
    await reported();
    assert.deepEqual(await upkeep.runPass(), [{ table: 'public.big', upkeep: 'vacuum' }, { table: 'public.big', upkeep: 'analyze' }], 'its expression index has no statistics: whole');
    assert.deepEqual(statements.splice(0), ['VACUUM public.big', 'ANALYZE public.big']);
    const expression = await runner.query("SELECT 1 FROM pg_stats WHERE tablename = 'big_url_md5'");
    assert.equal(expression.rows.length, 1, "a whole ANALYZE gathers the expression index's statistics");

    await runner.query('UPDATE big SET n = 1 WHERE id <= 300');
    await reported();
    assert.deepEqual(await upkeep.runPass(), [{ table: 'public.big', upkeep: 'analyze', parts: 2 }]);
    assert.deepEqual(statements.splice(0), ['ANALYZE public.big (url)', 'ANALYZE public.big (id, "Note", n)']);
    await reported();
    const afterParts = await counters();
    assert.equal(Number(afterParts?.modified), 300, 'an ANALYZE of a column list leaves the change counter as it was');
    assert.deepEqual(await upkeep.runPass(), [], 'so the upkeep counts from where it analysed, and finds nothing to do');
    assert.deepEqual(statements, []);

    await runner.query('UPDATE big SET n = 2 WHERE id <= 100');
    await reported();
    assert.deepEqual(await upkeep.runPass(), [], '100 changes since the last analyse: under 50 + 10 %');
    await runner.query('UPDATE big SET n = 3 WHERE id <= 200');
    await reported();
    // Their dead versions (600) are past 50 + 20 % too: a vacuum, without an analyse of its own.
    assert.deepEqual(await upkeep.runPass(), [{ table: 'public.big', upkeep: 'vacuum' }, { table: 'public.big', upkeep: 'analyze', parts: 2 }], '300 since: past it');
    assert.deepEqual(statements.splice(0), ['VACUUM public.big', 'ANALYZE public.big (url)', 'ANALYZE public.big (id, "Note", n)']);

    // Doubled since it was analysed whole (changes since: half its rows): whole again, and the counter starts over.
    await runner.query("INSERT INTO big SELECT g, 'https://example.com/' || g, NULL, 0 FROM generate_series(2001, 4000) g");
    await reported();
    assert.deepEqual(await upkeep.runPass(), [{ table: 'public.big', upkeep: 'vacuum' }, { table: 'public.big', upkeep: 'analyze' }]);
    assert.deepEqual(statements.splice(0), ['VACUUM public.big', 'ANALYZE public.big']);
    await reported();
    assert.equal(Number((await counters())?.modified), 0);

    // An expression index without statistics yet (made after that): whole, though little changed.
    await runner.query('CREATE INDEX big_n_twice ON big ((n * 2))');
    await runner.query('UPDATE big SET n = 4 WHERE id <= 500');
    await reported();
    assert.deepEqual(await upkeep.runPass(), [{ table: 'public.big', upkeep: 'analyze' }]);
    assert.deepEqual(statements.splice(0), ['ANALYZE public.big']);
  } finally {
    await upkeep.stop();
    await pglite.close();
  }
});
