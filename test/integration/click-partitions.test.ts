// The per-day click tables partitioned by month (migrations 011–013), on PostgreSQL and PGlite: a new
// install and an upgrade with data both end partitioned with every row kept; the upgrade's scan
// (VALIDATE) lets a flush write while it runs and the swap adopts the old table without reading it;
// partitions are made ahead, on demand by a flush that meets a day without one (no click lost), and
// by replicas at once; the retention drops whole months, the legacy partition included once its days
// are past, and deletes exactly up to the cutoff inside the month that straddles it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import pg from 'pg';
import { migrate } from '../../src/core/migrate.ts';
import { createPgPool, pgRunner } from '../../src/core/postgres.ts';
import type { TransactionalRunner } from '../../src/core/sql.ts';
import { eachDayValue, type ClickAggregate, type LinkStore } from '../../src/storage/link-store.ts';
import { listClickPartitions, monthOf, type ClickPartition } from '../../src/storage/postgres/click-partitions.ts';
import { createPgLinkStore } from '../../src/storage/postgres/pg-link-store.ts';
import { until } from '../support/fault-probes.ts';
import { testLogger } from '../support/log.ts';
import { insertLinks, migrationsUpTo, onPglite, onPostgres, type Subject } from '../support/schema-versions.ts';

const log = testLogger('click-partitions');
const DAY_MS = 24 * 3600_000;
const today = (): string => new Date().toISOString().slice(0, 10);
const daysFrom = (day: string, n: number): string => new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
const monthName = (table: string, month: string): string => `${table}_${month.slice(0, 4)}_${month.slice(5, 7)}`;

/** One link's flush: one click per day given, from Germany. */
function hits(linkId: number, days: string[]): ClickAggregate {
  return {
    linkId,
    clicks: days.length,
    botHits: 0,
    lastClickedAt: new Date(),
    days: new Map(days.map((d) => [d, { clicks: 1, botHits: 0, values: new Map([['country' as const, new Map([['DE', 1]])]]) }])),
  };
}

/**
 * Clicks as a version before migration 014 wrote them, for a database stopped before it: the totals
 * in `urls` itself, the days and values in the per-day tables (the current store writes url_totals).
 */
async function clicksBefore014(db: TransactionalRunner, batch: ClickAggregate[]): Promise<void> {
  for (const a of batch) {
    await db.query('UPDATE urls SET clicks = clicks + $2, last_clicked_at = $3 WHERE id = $1', [a.linkId, a.clicks, a.lastClickedAt]);
    for (const [day, d] of a.days) {
      await db.query('INSERT INTO url_daily_clicks (url_id, day, clicks) VALUES ($1, $2, $3)', [a.linkId, day, d.clicks]);
      const rows: [string, string, number][] = [];
      eachDayValue(d.values, (dimension, value, n) => rows.push([dimension, value, n]));
      for (const [dimension, value, n] of rows) await db.query('INSERT INTO url_daily_values (url_id, day, dimension, value, clicks) VALUES ($1, $2, $3, $4, $5)', [a.linkId, day, dimension, value, n]);
    }
  }
}

async function reported(store: LinkStore, linkId: number): Promise<{ days: string[]; countryClicks: number }> {
  const a = await store.analytics(linkId, { from: '2000-01-01', to: '2099-12-31', top: 10 });
  return { days: a.daily.map((d) => d.date), countryClicks: a.dimensions.country.reduce((n, c) => n + c.count, 0) };
}

const partitionsOf = async (db: TransactionalRunner, table: string): Promise<ClickPartition[]> => (await listClickPartitions(db)).filter((p) => p.parent === table);

for (const adapter of ['PostgreSQL', 'PGlite'] as const) {
  const open = (label: string): Promise<Subject> => (adapter === 'PostgreSQL' ? onPostgres(label, log) : onPglite(log));

  describe(`click partitions: ${adapter}`, () => {
    test('a new install: monthly partitions from this month to two ahead, no legacy, no default, no foreign key', async () => {
      const subject = await open('partitions_fresh');
      try {
        await subject.migrate();
        const month = monthOf(today());
        for (const table of ['url_daily_clicks', 'url_daily_values']) {
          const partitions = await partitionsOf(subject.db, table);
          assert.deepEqual(
            partitions.map((p) => [p.name, p.from, p.to]),
            [0, 1, 2].map((i) => [monthName(table, monthOf(month, i)), monthOf(month, i), monthOf(month, i + 1)]),
            table,
          );
        }
        const { rows } = await subject.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f' AND conrelid IN (SELECT oid FROM pg_class WHERE relname LIKE 'url_daily%')`,
        );
        assert.equal(rows[0]?.n, 0, 'no foreign key on the click tables or their partitions');
        const store = createPgLinkStore(subject.db);
        const [id] = (await insertLinks(subject.db, 1)) as [number];
        await store.applyClicks([hits(id, [today()])]);
        assert.deepEqual(await reported(store, id), { days: [today()], countryClicks: 1 });
      } finally {
        await subject.close();
      }
    });

    test('an upgrade with data: the old tables become the legacy partitions, every row kept, their indexes adopted', async () => {
      const subject = await open('partitions_upgrade');
      try {
        await subject.migrate(10);
        const ids = await insertLinks(subject.db, 50);
        const oldDays = ['2025-03-10', '2025-11-20', '2026-06-01', today()];
        const store = createPgLinkStore(subject.db);
        await clicksBefore014(subject.db, ids.map((id) => hits(id, oldDays)));
        const indexes = async (): Promise<Record<string, number>> => {
          const { rows } = await subject.db.query<{ relname: string; oid: number }>(
            `SELECT relname, oid::int AS oid FROM pg_class WHERE relname IN ('url_daily_clicks_pkey', 'url_daily_values_pkey', 'url_daily_clicks_legacy_pkey', 'url_daily_values_legacy_pkey')`,
          );
          return Object.fromEntries(rows.map((r) => [r.relname, r.oid]));
        };
        const before = await indexes();
        await subject.migrate();
        const after = await indexes();
        assert.equal(after.url_daily_clicks_legacy_pkey, before.url_daily_clicks_pkey, 'the old primary key index is the legacy partition’s, not rebuilt');
        assert.equal(after.url_daily_values_legacy_pkey, before.url_daily_values_pkey);

        // The bound: the first month start at least 7 days ahead and past every stored day.
        const bound = monthOf(daysFrom(today(), 7), 1);
        for (const table of ['url_daily_clicks', 'url_daily_values']) {
          const partitions = await partitionsOf(subject.db, table);
          assert.deepEqual(partitions.find((p) => p.name === `${table}_legacy`), { parent: table, name: `${table}_legacy`, from: null, to: bound, detachPending: false });
          const months = partitions.filter((p) => p.from !== null).map((p) => p.from);
          assert.equal(months[0], bound, 'monthly partitions start where the legacy one ends');
          assert.equal(months.at(-1), monthOf(today(), 2), 'up to two months ahead');
        }
        for (const id of ids.slice(0, 3)) assert.deepEqual(await reported(store, id), { days: oldDays, countryClicks: oldDays.length });
        const { rows } = await subject.db.query<{ n: number }>('SELECT count(*)::int AS n FROM url_daily_clicks');
        assert.equal(rows[0]?.n, ids.length * oldDays.length);

        // Still written after the swap (today's day goes to the legacy partition, a day past its bound to a monthly one).
        const [a, b] = ids as [number, number];
        await store.applyClicks([hits(a, [today(), bound])]);
        assert.deepEqual(await reported(store, a), { days: [...oldDays, bound], countryClicks: oldDays.length + 2 });
        const series = await store.analytics(a, { from: today(), to: today(), top: 1 });
        assert.equal(series.daily[0]?.clicks, 2);
        // The previous version's retention statement, verbatim (it deleted by ctid on the table by
        // name): refused on the partitioned tables, where it would delete the rows at the same places
        // of every other partition. Its statement for deleting a link (rows by url_id) still runs.
        for (const table of ['url_daily_values', 'url_daily_clicks']) {
          await assert.rejects(
            subject.db.query(`WITH gone AS (DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} WHERE day < $1::date LIMIT $2) RETURNING 1) SELECT count(*) AS n FROM gone`, ['2025-12-01', 10]),
            /not safe on a partitioned table/,
          );
        }
        assert.deepEqual(await reported(store, a), { days: [...oldDays, bound], countryClicks: oldDays.length + 2 }, 'nothing deleted');
        // Deleting a link deletes its rows of both tables, every partition (there is no cascade any more).
        await store.deleteById(a);
        const left = await subject.db.query<{ n: number }>(
          'SELECT (SELECT count(*) FROM url_daily_clicks WHERE url_id = $1) + (SELECT count(*) FROM url_daily_values WHERE url_id = $1) AS n',
          [a],
        );
        assert.equal(Number(left.rows[0]?.n), 0);
        assert.equal((await reported(store, b)).days.length, oldDays.length, 'another link keeps its rows');
      } finally {
        await subject.close();
      }
    });

    test('partitions are made ahead, and a flush with days no partition holds creates them and loses nothing', async () => {
      const subject = await open('partitions_ahead');
      try {
        await subject.migrate();
        const store = createPgLinkStore(subject.db);
        assert.deepEqual(await store.maintainClickPartitions(today(), null), { created: [], dropped: [] }, 'the migration made them already');
        const later = await store.maintainClickPartitions('2030-05-15', null);
        assert.deepEqual(later.created.sort(), ['url_daily_clicks_2030_05', 'url_daily_clicks_2030_06', 'url_daily_clicks_2030_07', 'url_daily_values_2030_05', 'url_daily_values_2030_06', 'url_daily_values_2030_07']);
        // The attached partitions have the parent's keys and checks.
        await assert.rejects(
          subject.db.query(`INSERT INTO url_daily_values (url_id, day, dimension, value, clicks) VALUES (1, '2030-05-02', 'nonsense', 'x', 1)`),
          /url_daily_values_dimension_check/,
        );

        const [id] = (await insertLinks(subject.db, 1)) as [number];
        const days = ['2019-02-03', today(), '2031-03-10'];
        const batchId = randomUUID();
        await store.applyClicks([hits(id, days)], batchId);
        await store.applyClicks([hits(id, days)], batchId); // a retry of the same batch: counted once
        assert.deepEqual(await reported(store, id), { days, countryClicks: 3 });
        assert.equal((await store.findByCode((await subject.db.query<{ short_code: string }>('SELECT short_code FROM urls WHERE id = $1', [id])).rows[0]?.short_code ?? ''))?.clicks, 3);
        const names = (await listClickPartitions(subject.db)).map((p) => p.name);
        for (const made of ['url_daily_clicks_2019_02', 'url_daily_values_2019_02', 'url_daily_clicks_2031_03', 'url_daily_values_2031_03']) assert.ok(names.includes(made), made);
      } finally {
        await subject.close();
      }
    });

    test('retention: whole months dropped, the straddling month and the legacy partition deleted exactly to the cutoff, then the legacy dropped', async () => {
      const subject = await open('partitions_retention');
      try {
        await subject.migrate(10);
        const store = createPgLinkStore(subject.db);
        const [id, other] = (await insertLinks(subject.db, 2)) as [number, number];
        await clicksBefore014(subject.db, [hits(id, ['2025-03-10', '2025-11-20', '2026-06-01', today()])]);
        await subject.migrate();
        const bound = monthOf(daysFrom(today(), 7), 1);
        await store.applyClicks([hits(id, [bound, '2031-01-15', '2031-02-05', '2031-02-15']), hits(other, [bound])]);

        // A cutoff inside the legacy partition's range: nothing is dropped, its old days go in slices.
        assert.deepEqual(await store.maintainClickPartitions(today(), '2025-12-01'), { created: [], dropped: [] });
        let slices = 0;
        for (let n = await store.pruneDailyDetail('2025-12-01', 1); n > 0; n = await store.pruneDailyDetail('2025-12-01', 1)) {
          assert.equal(n, 1, 'at most the limit per call');
          slices += 1;
        }
        assert.equal(slices, 4, 'two days of series and two of breakdowns');
        assert.deepEqual((await reported(store, id)).days, ['2026-06-01', today(), bound, '2031-01-15', '2031-02-05', '2031-02-15']);
        assert.deepEqual((await reported(store, other)).days, [bound], 'rows at the same places in other partitions are untouched');

        // Years on: every partition before the cutoff month goes whole, the legacy one too.
        const upkeep = await store.maintainClickPartitions('2031-02-20', '2031-02-10');
        for (const table of ['url_daily_clicks', 'url_daily_values']) {
          assert.ok(upkeep.dropped.includes(`${table}_legacy`), 'the legacy partition, its last day past');
          assert.ok(upkeep.dropped.includes(monthName(table, '2031-01-01')));
          assert.ok(upkeep.created.includes(monthName(table, '2031-04-01')), 'and two months ahead of that day');
          const left = await partitionsOf(subject.db, table);
          assert.deepEqual(left.map((p) => p.from), ['2031-02-01', '2031-03-01', '2031-04-01']);
        }
        const { rows } = await subject.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'url_daily%legacy%' OR relname LIKE 'url_daily%2031_01%'`);
        assert.equal(rows[0]?.n, 0, 'dropped, not only detached');
        for (let n = await store.pruneDailyDetail('2031-02-10', 100); n > 0; n = await store.pruneDailyDetail('2031-02-10', 100));
        assert.deepEqual(await reported(store, id), { days: ['2031-02-15'], countryClicks: 1 }, 'no day before the cutoff is reported');
        assert.deepEqual(await reported(store, other), { days: [], countryClicks: 0 });
      } finally {
        await subject.close();
      }
    });
  });
}

describe('click partitions: PostgreSQL, concurrently', () => {
  let subject: Awaited<ReturnType<typeof onPostgres>>;
  before(async () => {
    subject = await onPostgres('partitions_locks', log);
  });
  after(() => subject.close());

  const client = async (): Promise<pg.Client> => {
    const c = new pg.Client({ connectionString: subject.database.url });
    await c.connect();
    return c;
  };

  test('VALIDATE (012) lets a flush write both tables while it runs; the swap (013) attaches without reading the old rows', async () => {
    await subject.migrate(10);
    const ids = await insertLinks(subject.db, 200);
    // Big enough that a scan of it is not nothing: 200 links × 500 days.
    await subject.db.query(`INSERT INTO url_daily_clicks (url_id, day, clicks) SELECT u, DATE '2025-01-01' + d, 1 FROM unnest($1::bigint[]) u, generate_series(0, 499) d`, [ids]);
    await subject.db.query(
      `INSERT INTO url_daily_values (url_id, day, dimension, value, clicks) SELECT u, DATE '2025-01-01' + d, 'country', 'DE', 1 FROM unnest($1::bigint[]) u, generate_series(0, 499) d`,
      [ids],
    );
    await subject.migrate(11);

    // Hold url_daily_values in the mode VALIDATE takes: 012 validates url_daily_clicks, then waits
    // here, its transaction open, while holding url_daily_clicks the way it does for the whole scan.
    const holder = await client();
    const migrator = await client();
    const watcher = await client();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE url_daily_values IN SHARE UPDATE EXCLUSIVE MODE');
      const { rows: pidRows } = await migrator.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const pid = pidRows[0]?.pid;
      const dir = await migrationsUpTo(12);
      const migrating = migrate(migrator, log, dir);
      const locksOf = async (): Promise<{ relation: string; mode: string; granted: boolean }[]> =>
        (
          await watcher.query<{ relation: string; mode: string; granted: boolean }>(
            `SELECT relation::regclass::text AS relation, mode, granted FROM pg_locks WHERE pid = $1 AND locktype = 'relation' AND relation::regclass::text LIKE 'url_daily%' ORDER BY 1, 2`,
            [pid],
          )
        ).rows;
      let locks = await locksOf();
      while (!locks.some((l) => l.relation === 'url_daily_values' && !l.granted)) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        locks = await locksOf();
      }
      assert.deepEqual(locks, [
        { relation: 'url_daily_clicks', mode: 'ShareUpdateExclusiveLock', granted: true },
        { relation: 'url_daily_values', mode: 'ShareUpdateExclusiveLock', granted: false },
      ]);
      // A flush of both tables (as the versions of that time wrote it) completes while 012 is still under way.
      await clicksBefore014(subject.db, [hits(ids[0] as number, [today()])]);
      assert.ok((await locksOf()).some((l) => !l.granted), 'the migration is still waiting: the flush did not wait for it');
      await holder.query('COMMIT');
      await migrating;
      await rm(dir, { recursive: true, force: true });
      const { rows } = await watcher.query<{ conname: string; convalidated: boolean }>(`SELECT conname, convalidated FROM pg_constraint WHERE conname LIKE '%legacy_range' ORDER BY 1`);
      assert.deepEqual(rows, [
        { conname: 'url_daily_clicks_legacy_range', convalidated: true },
        { conname: 'url_daily_values_legacy_range', convalidated: true },
      ]);

      // 013: PostgreSQL says (at DEBUG1) when the partition constraint is implied by a validated
      // CHECK, i.e. when ATTACH skips its scan of the table.
      const notices: string[] = [];
      migrator.on('notice', (n) => notices.push(n.message ?? ''));
      await migrator.query('SET client_min_messages = debug1');
      await migrate(migrator, log);
      await migrator.query('RESET client_min_messages');
      for (const table of ['url_daily_clicks_legacy', 'url_daily_values_legacy']) {
        assert.ok(notices.includes(`partition constraint for table "${table}" is implied by existing constraints`), `${table}: ${notices.join(' | ')}`);
      }
      const store2 = createPgLinkStore(subject.db);
      assert.equal((await reported(store2, ids[1] as number)).days.length, 500);
    } finally {
      await Promise.all([holder.end(), migrator.end(), watcher.end()]);
    }
  });

  /** Leaves `partition` of url_daily_clicks "detach pending", as a DETACH ... CONCURRENTLY interrupted while it waited. */
  const interruptedDetach = async (partition: string): Promise<void> => {
    const reader = await client();
    const detacher = await client();
    try {
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await reader.query('SELECT count(*) FROM url_daily_clicks');
      await detacher.query("SET statement_timeout = '300ms'");
      await assert.rejects(detacher.query(`ALTER TABLE url_daily_clicks DETACH PARTITION ${partition} CONCURRENTLY`), /statement timeout/);
      await reader.query('COMMIT');
    } finally {
      await Promise.all([reader.end(), detacher.end()]);
    }
    assert.equal((await listClickPartitions(subject.db)).find((p) => p.name === partition)?.detachPending, true);
  };

  /** Waits until a session of `who` (its application_name, or its pid) waits for a lock of `locktype`. */
  const waitingFor = (watcher: pg.Client, who: string | number, locktype: string): Promise<void> =>
    until(
      async () => {
        const { rows } = await watcher.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE (a.application_name = $1 OR a.pid = $2) AND a.datname = current_database() AND l.locktype = $3 AND NOT l.granted`,
          [typeof who === 'string' ? who : null, typeof who === 'number' ? who : null, locktype],
        );
        return (rows[0]?.n ?? 0) > 0;
      },
      30_000,
      `${who} to wait for a ${locktype} lock`,
    );

  test('replicas creating and dropping the same partitions at once all succeed; an interrupted detach is finished later', async () => {
    await subject.migrate(); // done already when the test before ran
    const pools = [createPgPool({ url: subject.database.url, log, max: 2 }), createPgPool({ url: subject.database.url, log, max: 2 })];
    try {
      const stores = pools.map((p) => createPgLinkStore(pgRunner(p)));
      const made = await Promise.all([...stores, ...stores].map((s) => s.maintainClickPartitions('2032-01-10', null)));
      assert.equal(made.flatMap((m) => m.created).length, 6, 'each partition made once, by one of them');
      const before = (await listClickPartitions(subject.db)).filter((p) => p.to !== null && p.to <= '2031-12-20').map((p) => p.name);
      assert.ok(before.length >= 6, 'this month and two ahead, of both tables, are past that cutoff');
      const dropped = await Promise.all([...stores, ...stores].map((s) => s.maintainClickPartitions('2032-01-10', '2031-12-20')));
      assert.deepEqual((await listClickPartitions(subject.db)).filter((p) => p.to !== null && p.to <= '2031-12-20'), [], 'every month before the cutoff gone');
      const { rows } = await subject.db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_class WHERE relname = ANY($1)', [before]);
      assert.equal(rows[0]?.n, 0, 'and dropped, by one replica or another');
      assert.ok(dropped.flatMap((d) => d.dropped).length >= before.length);

      // A DETACH ... CONCURRENTLY cancelled while it waits for an older transaction leaves the
      // partition pending; the next upkeep finishes it and drops it.
      await interruptedDetach('url_daily_clicks_2032_01');
      const upkeep = await stores[0]?.maintainClickPartitions('2032-01-10', '2031-12-20');
      assert.deepEqual(upkeep, { created: ['url_daily_clicks_2032_01'], dropped: ['url_daily_clicks_2032_01'] }, 'finished, dropped, and made again: it is this month');
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  test('a sweep whose detach loses to another replica’s (a deadlock with its FINALIZE, or its partition pending) tries again and drops every month', async () => {
    await subject.migrate();
    const plain = createPgPool({ url: subject.database.url, log, max: 2 });
    const pool = createPgPool({ url: subject.database.url, log, max: 2, applicationName: 'curt-test-sweeper' });
    const other = await client();
    const watcher = await client();
    try {
      await createPgLinkStore(pgRunner(plain)).maintainClickPartitions('2035-03-10', null);
      // The sweep lists the partitions, then stops before its first DETACH until released: meanwhile
      // another replica's detach of a later month is interrupted (pending, which allows no other
      // detach of the parent), and that replica, holding the parent, finishes it.
      const runner = pgRunner(pool);
      let reached!: () => void;
      const atDetach = new Promise<void>((resolve) => (reached = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const store = createPgLinkStore({
        query: async <R,>(text: string, params?: unknown[]) => {
          if (/DETACH PARTITION/.test(text)) {
            reached();
            await released;
          }
          return runner.query<R>(text, params);
        },
        transaction: (work) => runner.transaction(work),
      });
      const sweeping = store.maintainClickPartitions('2035-05-10', '2035-05-01');
      await atDetach;
      await interruptedDetach('url_daily_clicks_2035_04');
      await other.query('BEGIN');
      await other.query('LOCK TABLE url_daily_clicks IN SHARE UPDATE EXCLUSIVE MODE');
      release();
      // The sweep's DETACH waits for the parent, its snapshot taken; the FINALIZE, holding the parent,
      // waits for every older snapshot: PostgreSQL aborts one of the two (the sweep's, whose wait began
      // first, unless this machine is slow). Either way the sweep must finish the job.
      await waitingFor(watcher, 'curt-test-sweeper', 'relation');
      const finalized = await other.query('ALTER TABLE url_daily_clicks DETACH PARTITION url_daily_clicks_2035_04 FINALIZE').then(
        () => true,
        (err: { code?: string }) => {
          assert.equal(err.code, '40P01');
          return false;
        },
      );
      if (finalized) {
        await other.query('COMMIT');
        await other.query('DROP TABLE url_daily_clicks_2035_04'); // as that replica's sweep goes on to
      } else {
        await other.query('ROLLBACK');
      }
      const upkeep = await sweeping;
      assert.deepEqual((await listClickPartitions(subject.db)).filter((p) => p.detachPending || (p.to !== null && p.to <= '2035-05-01')), [], 'every month before the cutoff gone');
      const gone = ['url_daily_clicks_2035_03', 'url_daily_clicks_2035_04', 'url_daily_values_2035_03', 'url_daily_values_2035_04'];
      const { rows } = await subject.db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_class WHERE relname = ANY($1)', [gone]);
      assert.equal(rows[0]?.n, 0, 'and dropped');
      for (const name of gone.filter((n) => !finalized || n !== 'url_daily_clicks_2035_04')) assert.ok(upkeep.dropped.includes(name), name);
    } finally {
      await Promise.all([other.end(), watcher.end(), plain.end(), pool.end()]);
    }
  });

  test('creating a month while another replica finalizes a detach: the creation PostgreSQL aborts to break the deadlock is made again', async () => {
    await subject.migrate();
    const plain = createPgPool({ url: subject.database.url, log, max: 2 });
    const pool = createPgPool({ url: subject.database.url, log, max: 2, applicationName: 'curt-test-creator' });
    const holder = await client();
    const finalizer = await client();
    const watcher = await client();
    try {
      await createPgLinkStore(pgRunner(plain)).maintainClickPartitions('2036-01-10', null);
      await interruptedDetach('url_daily_clicks_2036_01');
      // A replica creating months waits for the creators' lock (held here, as by a third replica), its
      // snapshot taken; another replica's FINALIZE, holding the parent, waits for that snapshot. Once
      // the FINALIZE's deadlock check has passed (nothing waits for it yet), the creator gets its lock
      // and its ATTACH waits for the parent: a cycle, which the creator's own check finds.
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(727274013)');
      const creating = createPgLinkStore(pgRunner(pool)).maintainClickPartitions('2036-06-10', null);
      await waitingFor(watcher, 'curt-test-creator', 'advisory');
      const { rows: pid } = await finalizer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const finalizing = finalizer.query('ALTER TABLE url_daily_clicks DETACH PARTITION url_daily_clicks_2036_01 FINALIZE');
      await waitingFor(watcher, pid[0]?.pid ?? 0, 'virtualxid');
      const { rows: timeout } = await watcher.query<{ ms: string }>("SELECT setting AS ms FROM pg_settings WHERE name = 'deadlock_timeout'");
      await new Promise((resolve) => setTimeout(resolve, Number(timeout[0]?.ms) + 300));
      await holder.query('COMMIT');
      await finalizing;
      const made = await creating;
      assert.deepEqual(made.created.sort(), ['url_daily_clicks_2036_06', 'url_daily_clicks_2036_07', 'url_daily_clicks_2036_08', 'url_daily_values_2036_06', 'url_daily_values_2036_07', 'url_daily_values_2036_08']);
      const names = (await listClickPartitions(subject.db)).map((p) => p.name);
      for (const name of made.created) assert.ok(names.includes(name), name);
      assert.ok(!names.includes('url_daily_clicks_2036_01'), 'and the FINALIZE went through');
    } finally {
      await Promise.all([holder.end(), finalizer.end(), watcher.end(), plain.end(), pool.end()]);
    }
  });

  test('a partition that cannot be detached now does not stop the months ahead; a detached one left undropped is dropped later', async () => {
    await subject.migrate();
    // Short statements, so that a detach waiting for a lock gives up at once.
    const pool = createPgPool({ url: subject.database.url, log, max: 2, statementTimeoutMs: 300 });
    const holder = await client();
    try {
      const store = createPgLinkStore(pgRunner(pool));
      await store.maintainClickPartitions('2033-06-10', null);
      // What a sweep that detached a month and lost its connection before the DROP leaves behind.
      await subject.db.query('CREATE TABLE url_daily_values_2020_01 (LIKE url_daily_values)');
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE url_daily_clicks_2033_06 IN ACCESS EXCLUSIVE MODE');
      await assert.rejects(store.maintainClickPartitions('2033-09-15', '2033-07-01'), /statement timeout/);
      const names = (await listClickPartitions(subject.db)).map((p) => p.name);
      for (const made of ['url_daily_clicks_2033_09', 'url_daily_values_2033_11']) assert.ok(names.includes(made), `${made} made all the same`);
      assert.ok(names.includes('url_daily_clicks_2033_06'), 'still attached');
      const stray = await subject.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_class WHERE relname = 'url_daily_values_2020_01'");
      assert.equal(stray.rows[0]?.n, 0, 'the leftover table is gone');
      await holder.query('COMMIT');
      const upkeep = await store.maintainClickPartitions('2033-09-15', '2033-07-01');
      assert.ok(upkeep.dropped.includes('url_daily_clicks_2033_06') && upkeep.dropped.includes('url_daily_values_2033_06'));
    } finally {
      await holder.end();
      await pool.end();
    }
  });
});
