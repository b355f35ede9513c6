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
