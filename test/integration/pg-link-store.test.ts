// The PostgreSQL adapter of LinkStore / ApiKeyStore and the migrations, on the real PostgreSQL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMigrations, migrate, MIGRATIONS_DIR, pendingMigrations } from '../../src/core/migrate.ts';
import { hashApiKey } from '../../src/url/api-keys.ts';
import { ServerBusy } from '../../src/core/errors.ts';
import type { TransactionalRunner } from '../../src/core/sql.ts';
import { CodeExists, type ClickAggregate, type Dimension, type LinkStore, type NewLink } from '../../src/storage/link-store.ts';
import { createPgApiKeyStore, createPgLinkStore } from '../../src/storage/postgres/pg-link-store.ts';
import { testLogger } from '../support/log.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

const log = testLogger('migrate');

describe('migrations', () => {
  test('running the migrations twice applies each once; the second run is a no-op', async (t) => {
    const database = await createTestDatabase('mig_twice', { migrated: false });
    t.after(() => database.drop());
    const all = (await loadMigrations()).map((m) => m.name);
    assert.deepEqual(await pendingMigrations(database.db), all);
    const client = await database.pool.connect();
    try {
      assert.deepEqual(await migrate(client, log), all);
      assert.deepEqual(await migrate(client, log), []);
    } finally {
      client.release();
    }
    assert.deepEqual(await pendingMigrations(database.db), []);
    const { rows } = await database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
    assert.equal(rows[0]?.n, all.length);
  });

  test('two runners migrating at once both succeed and the schema is created once', async (t) => {
    const database = await createTestDatabase('mig_race', { migrated: false });
    t.after(() => database.drop());
    const [a, b] = [await database.pool.connect(), await database.pool.connect()];
    try {
      const [first, second] = await Promise.all([migrate(a, log), migrate(b, log)]);
      const all = (await loadMigrations()).map((m) => m.name);
      assert.deepEqual([...first, ...second].sort(), all, 'every migration applied by exactly one runner');
    } finally {
      a.release();
      b.release();
    }
    const { rows } = await database.db.query<{ version: number; n: number }>('SELECT version, count(*)::int AS n FROM schema_migrations GROUP BY version');
    assert.deepEqual(rows.map((r) => r.version).sort((x, y) => x - y), (await loadMigrations()).map((m) => m.version));
    const tables = await database.db.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
    const names = tables.rows.map((r) => r.table_name);
    for (const table of ['api_keys', 'urls', 'url_daily_clicks', 'url_daily_values', 'schema_migrations']) assert.ok(names.includes(table), `${table} exists`);
    assert.ok(!names.includes('url_referrers'), 'the all-time referrer table moved into url_daily_values');
  });

  test('004 moves the all-time referrer counts into the daily values, on the UTC day of the last click (or the creation)', async (t) => {
    const database = await createTestDatabase('mig_referrers', { migrated: false });
    const dir = await mkdtemp(join(tmpdir(), 'curt-migrations-'));
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      await database.drop();
    });
    const before004 = (await loadMigrations()).filter((m) => m.version < 4);
    for (const m of before004) await copyFile(join(MIGRATIONS_DIR, m.name), join(dir, m.name));
    const client = await database.pool.connect();
    try {
      await migrate(client, log, dir);
      const { rows } = await client.query<{ id: number }>(
        `INSERT INTO urls (short_code, original_url, clicks, last_clicked_at, created_at) VALUES
           ('clicked', 'https://example.com/a', 5, '2026-06-01T23:30:00-02:00', '2026-05-01T00:00:00Z'),
           ('never', 'https://example.com/b', 0, NULL, '2026-05-20T10:00:00Z')
         RETURNING id`,
      );
      const [clicked, never] = rows.map((r) => Number(r.id));
      await client.query(`INSERT INTO url_referrers (url_id, host, clicks) VALUES ($1, 'news.example', 3), ($1, '(direct)', 2), ($2, 'zero.example', 0)`, [clicked, never]);
      assert.deepEqual(await migrate(client, log), (await loadMigrations()).filter((m) => m.version >= 4).map((m) => m.name));
      const moved = await client.query<{ url_id: number; day: string; dimension: string; value: string; clicks: number }>(
        "SELECT url_id::int, to_char(day, 'YYYY-MM-DD') AS day, dimension, value, clicks::int FROM url_daily_values ORDER BY url_id, value",
      );
      assert.deepEqual(moved.rows, [
        { url_id: clicked, day: '2026-06-02', dimension: 'referrer', value: '(direct)', clicks: 2 },
        { url_id: clicked, day: '2026-06-02', dimension: 'referrer', value: 'news.example', clicks: 3 },
      ], 'the UTC day of the last click; rows of no clicks are not carried over');
      const link = await client.query<{ clicks: number; bot_hits: number }>('SELECT clicks::int, bot_hits::int FROM url_totals WHERE url_id = $1', [clicked]);
      assert.deepEqual(link.rows[0], { clicks: 5, bot_hits: 0 });
    } finally {
      client.release();
    }
  });

  test('005 gives one-time links a limit of 1 (used: 1 visit), and a one-time link the previous version inserts gets it too', async (t) => {
    const database = await createTestDatabase('mig_visits', { migrated: false });
    const dir = await mkdtemp(join(tmpdir(), 'curt-migrations-'));
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      await database.drop();
    });
    for (const m of (await loadMigrations()).filter((m) => m.version < 5)) await copyFile(join(MIGRATIONS_DIR, m.name), join(dir, m.name));
    const client = await database.pool.connect();
    try {
      await migrate(client, log, dir);
      await client.query(
        `INSERT INTO urls (short_code, original_url, is_one_time, consumed_at) VALUES
           ('fresh', 'https://example.com/a', true, NULL), ('spent', 'https://example.com/b', true, now()), ('plain', 'https://example.com/c', false, NULL)`,
      );
      await migrate(client, log);
      // The previous version's INSERT names only the columns it knows.
      await client.query(`INSERT INTO urls (short_code, original_url, is_one_time) VALUES ('old', 'https://example.com/d', true)`);
      const { rows } = await client.query<{ short_code: string; max_visits: number | null; visits: number; is_one_time: boolean; forward_query: boolean }>(
        'SELECT short_code, max_visits, visits, is_one_time, forward_query FROM urls ORDER BY id',
      );
      assert.deepEqual(rows, [
        { short_code: 'fresh', max_visits: 1, visits: 0, is_one_time: true, forward_query: false },
        { short_code: 'spent', max_visits: 1, visits: 1, is_one_time: true, forward_query: false },
        { short_code: 'plain', max_visits: null, visits: 0, is_one_time: false, forward_query: false },
        { short_code: 'old', max_visits: 1, visits: 0, is_one_time: true, forward_query: false },
      ]);
    } finally {
      client.release();
    }
  });

  test('a failing migration is rolled back whole and the ones before it stay applied', async (t) => {
    const database = await createTestDatabase('mig_fail', { migrated: false });
    const dir = await mkdtemp(join(tmpdir(), 'curt-migrations-'));
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      await database.drop();
    });
    await writeFile(join(dir, '001_one.sql'), 'CREATE TABLE one (id int);');
    await writeFile(join(dir, '002_two.sql'), 'CREATE TABLE two (id int); SELECT no_such_function();');
    const client = await database.pool.connect();
    try {
      await assert.rejects(migrate(client, log, dir), /migration 002_two\.sql failed/);
      const exists = async (name: string) =>
        (await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [name])).rows[0]?.ok;
      assert.equal(await exists('one'), true);
      assert.equal(await exists('two'), false, 'no half-applied migration');
      assert.deepEqual(await pendingMigrations(client, dir), ['002_two.sql']);
      // The advisory lock was released: another run is not blocked.
      await writeFile(join(dir, '002_two.sql'), 'CREATE TABLE two (id int);');
      assert.deepEqual(await migrate(client, log, dir), ['002_two.sql']);
    } finally {
      client.release();
    }
  });
});

describe('PgLinkStore', () => {
  let database: TestDatabase;
  let store: LinkStore;
  let seq = 0;
  /** A code unique within this file's database (at most 10 characters). */
  const code = (): string => `c${(seq++).toString(36)}`;
  const link = (overrides: Partial<NewLink> = {}): NewLink => ({
    code: code(),
    url: 'https://example.com/',
    expiresAt: null,
    isOneTime: false,
    isCustomAlias: false,
    ownerKeyId: null,
    ...overrides,
  });
  const clicksOf = (linkId: number, n: number, at: string, referrers: Record<string, number> = { '(direct)': n }): ClickAggregate => ({
    linkId,
    clicks: n,
    botHits: 0,
    lastClickedAt: new Date(at),
    days: new Map([[at.slice(0, 10), { clicks: n, botHits: 0, values: new Map([['referrer', new Map(Object.entries(referrers))]]) }]]),
  });
  const year = (top = 10) => ({ from: '2026-01-01', to: '2026-12-31', top });

  before(async () => {
    database = await createTestDatabase('pg_link_store');
    store = createPgLinkStore(database.db);
  });
  after(() => database.drop());

  test('insert returns the stored record with defaults', async () => {
    const expiresAt = new Date(Date.now() + 60_000);
    const record = await store.insert(link({ code: 'Ins1', url: 'https://example.com/x', expiresAt, isOneTime: true, isCustomAlias: true }));
    assert.equal(record.code, 'Ins1');
    assert.equal(record.url, 'https://example.com/x');
    assert.equal(record.expiresAt?.getTime(), expiresAt.getTime());
    assert.deepEqual(
      { isOneTime: record.isOneTime, isActive: record.isActive, isExpired: record.isExpired, isCustomAlias: record.isCustomAlias },
      { isOneTime: true, isActive: true, isExpired: false, isCustomAlias: true },
    );
    assert.equal(record.clicks, 0);
    assert.equal(record.lastClickedAt, null);
    assert.equal(record.consumedAt, null);
    assert.ok(Math.abs(record.createdAt.getTime() - Date.now()) < 60_000);
    assert.deepEqual(await store.findByCode('Ins1'), record);
    assert.equal(await store.findByCode('nope'), null);
  });

  test('short_code is unique: a second insert throws CodeExists, even when two race', async () => {
    await store.insert(link({ code: 'Dup1' }));
    await assert.rejects(store.insert(link({ code: 'Dup1' })), (err: unknown) => err instanceof CodeExists && err.code === 'Dup1');
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => store.insert(link({ code: 'Dup2' }))));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    assert.ok(results.every((r) => r.status === 'fulfilled' || r.reason instanceof CodeExists));
  });

  test('short codes are case-sensitive: abcDEF and ABCdef are different links', async () => {
    const a = await store.insert(link({ code: 'abcDEF' }));
    const b = await store.insert(link({ code: 'ABCdef' }));
    assert.notEqual(a.id, b.id);
    assert.equal((await store.findByCode('abcdef')), null);
  });

  test('lookups of one turn share a query: a code holding quotes, a backslash, a comma or braces finds nothing and spoils no neighbour', async () => {
    const a = await store.insert(link({ code: 'lkpOne' }));
    const odd = ['a"b', 'c\\d', 'e,f', '{g}', 'NULL', ''];
    const [found, ...rest] = await Promise.all([store.findRedirect('lkpOne'), ...odd.map((code) => store.findRedirect(code)), store.findByCode('lkpOne')]);
    assert.equal(found?.id, a.id);
    assert.deepEqual(rest.slice(0, odd.length), odd.map(() => null));
    assert.equal((rest.at(-1) as { id: number } | null)?.id, a.id);
  });

  test('the schema refuses a url over 2048 characters and a code over 10 (not as CodeExists)', async () => {
    const long = `https://example.com/${'a'.repeat(2048)}`;
    await assert.rejects(store.insert(link({ url: long })), (err: unknown) => !(err instanceof CodeExists));
    await assert.rejects(store.insert(link({ code: 'elevenchars' })), (err: unknown) => !(err instanceof CodeExists));
  });

  test('countVisit lets exactly 7 of 50 concurrent callers through a link with 7 visits', async () => {
    const record = await store.insert(link({ maxVisits: 7 }));
    const results = await Promise.all(Array.from({ length: 50 }, () => store.countVisit(record.id, new Date())));
    assert.equal(results.filter((r) => r !== null).length, 7);
    assert.equal(await store.countVisit(record.id, new Date()), null, 'and never again');
    const after = await store.findByCode(record.code);
    assert.deepEqual([after?.visits, after?.consumedAt instanceof Date], [7, true]);
  });

  test('the schema refuses a visit limit outside 1..1,000,000,000', async () => {
    for (const maxVisits of [0, -1, 1_000_000_001]) await assert.rejects(store.insert(link({ maxVisits })), /urls_max_visits_range/);
    const record = await store.insert(link({ maxVisits: 1_000_000_000 }));
    await assert.rejects(store.updateById(record.id, { maxVisits: 0 }), /urls_max_visits_range/);
  });

  test('applyClicks adds batches up: clicks, per-day rows, referrer hosts and the latest click time', async () => {
    const a = await store.insert(link());
    const b = await store.insert(link());
    await store.applyClicks([
      clicksOf(a.id, 3, '2026-01-01T10:00:00.000Z', { '(direct)': 1, 'news.example': 2 }),
      clicksOf(b.id, 1, '2026-01-01T11:00:00.000Z'),
    ]);
    await store.applyClicks([clicksOf(a.id, 2, '2026-01-02T09:00:00.000Z', { 'news.example': 1, 'blog.example': 1 })]);
    // A batch that arrives late (older clicks) adds its count but does not move the last click back.
    await store.applyClicks([clicksOf(a.id, 5, '2026-01-01T08:00:00.000Z', { 'blog.example': 5 })]);
    const stored = await store.findByCode(a.code);
    assert.equal(stored?.clicks, 10);
    assert.equal(stored?.lastClickedAt?.toISOString(), '2026-01-02T09:00:00.000Z');
    const analytics = await store.analytics(a.id, year());
    assert.deepEqual(analytics.daily, [
      { date: '2026-01-01', clicks: 8, botHits: 0 },
      { date: '2026-01-02', clicks: 2, botHits: 0 },
    ]);
    assert.deepEqual(analytics.dimensions.referrer, [
      { value: 'blog.example', count: 6 },
      { value: 'news.example', count: 3 },
      { value: '(direct)', count: 1 },
    ]);
    assert.equal((await store.findByCode(b.code))?.clicks, 1);
  });

  test('concurrent applyClicks on the same links lose no update', async () => {
    const a = await store.insert(link());
    const b = await store.insert(link());
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        // Opposite orders in the input: the store sorts, so concurrent flushes cannot deadlock.
        store.applyClicks(i % 2 === 0
          ? [clicksOf(a.id, 1, '2026-02-01T00:00:00.000Z'), clicksOf(b.id, 2, '2026-02-01T00:00:00.000Z')]
          : [clicksOf(b.id, 2, '2026-02-01T00:00:00.000Z'), clicksOf(a.id, 1, '2026-02-01T00:00:00.000Z')]),
      ),
    );
    assert.equal((await store.findByCode(a.code))?.clicks, 20);
    assert.equal((await store.findByCode(b.code))?.clicks, 40);
    assert.deepEqual((await store.analytics(b.id, year())).daily, [{ date: '2026-02-01', clicks: 40, botHits: 0 }]);
  });

  test('applyClicks drops the clicks of a deleted link and still writes the rest of the batch', async () => {
    const kept = await store.insert(link());
    const gone = await store.insert(link());
    await store.deleteById(gone.id);
    await store.applyClicks([clicksOf(kept.id, 1, '2026-03-01T00:00:00.000Z'), clicksOf(gone.id, 4, '2026-03-01T00:00:00.000Z')]);
    assert.equal((await store.findByCode(kept.code))?.clicks, 1);
    const orphans = await database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM url_daily_clicks WHERE url_id = $1', [gone.id]);
    assert.equal(orphans.rows[0]?.n, 0);
    await store.applyClicks([]);
  });

  test('applyClicks writes a busy second (10,000 links, five values each) within the statement timeout, twice the same day', async () => {
    // Each batch has to finish within the pool's statement timeout (5 s) or it fails again on every
    // retry: the per-value statement was once quadratic in the batch and failed from about 5,000 links.
    const { rows } = await database.db.query<{ id: string }>(
      `INSERT INTO urls (short_code, original_url) SELECT 'bulk' || g, 'https://example.com/bulk' FROM generate_series(1, 10000) AS g RETURNING id`,
    );
    const batch = (browser: string): ClickAggregate[] =>
      rows.map(({ id }) => {
        const values = new Map(Object.entries({ referrer: '(direct)', country: 'DE', browser, os: 'Android', device: 'mobile' }).map(([dimension, value]) => [dimension as Dimension, new Map([[value, 1]])]));
        return { linkId: Number(id), clicks: 1, botHits: 0, lastClickedAt: new Date('2026-06-01T12:00:00.000Z'), days: new Map([['2026-06-01', { clicks: 1, botHits: 0, values }]]) };
      });
    await store.applyClicks(batch('Chrome'));
    await store.applyClicks(batch('Safari'));
    const { rows: counts } = await database.db.query<{ clicks: string; values: string }>(
      `SELECT (SELECT sum(t.clicks) FROM urls JOIN url_totals t ON t.url_id = urls.id WHERE urls.short_code LIKE 'bulk%')::text AS clicks,
              (SELECT count(*) FROM url_daily_values v JOIN urls u ON u.id = v.url_id WHERE u.short_code LIKE 'bulk%')::text AS values`,
    );
    assert.deepEqual(counts[0], { clicks: '20000', values: String(10_000 * 6) }, 'two clicks per link; per link four values once and two browsers');
  });

  test('analytics answers the range asked, its days inclusive, and the top values of it', async () => {
    const a = await store.insert(link());
    await store.applyClicks(
      ['2026-04-01', '2026-04-02', '2026-04-03'].map((day, i) => clicksOf(a.id, i + 1, `${day}T12:00:00.000Z`, { [`h${i}.example`]: i + 1 })),
    );
    const analytics = await store.analytics(a.id, { from: '2026-04-02', to: '2026-04-03', top: 1 });
    assert.deepEqual(analytics.daily.map((d) => d.date), ['2026-04-02', '2026-04-03'], 'the last two days, oldest first');
    assert.deepEqual(analytics.totals, { clicks: 5, botHits: 0 });
    assert.deepEqual(analytics.dimensions.referrer, [
      { value: 'h2.example', count: 3 },
      { value: '(other)', count: 2 },
    ]);
  });

  test('deleteById returns the deleted record and takes its click rows with it', async () => {
    const a = await store.insert(link());
    await store.applyClicks([clicksOf(a.id, 2, '2026-05-01T00:00:00.000Z')]);
    const deleted = await store.deleteById(a.id);
    assert.equal(deleted?.id, a.id);
    assert.equal(await store.findByCode(a.code), null);
    assert.equal(await store.deleteById(a.id), null);
    const rows = await database.db.query<{ n: number }>(
      'SELECT (SELECT count(*) FROM url_daily_clicks WHERE url_id = $1) + (SELECT count(*) FROM url_daily_values WHERE url_id = $1) AS n',
      [a.id],
    );
    assert.equal(Number(rows.rows[0]?.n), 0);
  });

  test('update changes is_active and the expiry; a new expiry re-derives is_expired; null removes it', async () => {
    const a = await store.insert(link({ expiresAt: new Date(Date.now() + 60_000) }));
    assert.equal((await store.updateById(a.id, { isActive: false }))?.isActive, false);
    const past = await store.updateById(a.id, { expiresAt: new Date(Date.now() - 1000) });
    assert.equal(past?.isExpired, true);
    const future = await store.updateById(a.id, { expiresAt: new Date(Date.now() + 3_600_000), isActive: true });
    assert.deepEqual([future?.isExpired, future?.isActive], [false, true]);
    const none = await store.updateById(a.id, { expiresAt: null });
    assert.deepEqual([none?.expiresAt, none?.isExpired], [null, false]);
    assert.deepEqual(await store.updateById(a.id, {}), none, 'an empty patch changes nothing');
    assert.equal(await store.updateById(2 ** 52, { isActive: false }), null);
  });

  test('markExpired marks due links only, at most `limit` per call', async () => {
    const now = new Date();
    const due = await Promise.all([1, 2, 3].map(() => store.insert(link({ expiresAt: new Date(now.getTime() + 500) }))));
    const later = await store.insert(link({ expiresAt: new Date(now.getTime() + 3_600_000) }));
    const at = new Date(now.getTime() + 1000);
    let marked = 0;
    for (let n = await store.markExpired(at, 2); n > 0; n = await store.markExpired(at, 2)) {
      assert.ok(n <= 2);
      marked += n;
    }
    assert.ok(marked >= 3);
    for (const d of due) assert.equal((await store.findByCode(d.code))?.isExpired, true);
    assert.equal((await store.findByCode(later.code))?.isExpired, false);
  });

  test('list pages by id, newest first, and filters by owner', async () => {
    const keys = createPgApiKeyStore(database.db);
    const owner = await keys.insert({ hash: hashApiKey('list-owner'), keyPrefix: 'curt_list', name: 'owner', isAdmin: false });
    const mine = [];
    for (let i = 0; i < 7; i++) mine.push(await store.insert(link({ ownerKeyId: owner.id })));
    await store.insert(link());
    const seen: number[] = [];
    let after: { id: number; key: null } | undefined;
    for (;;) {
      const page = await store.list({ ownerKeyId: owner.id, limit: 3, ...(after === undefined ? {} : { after }) });
      seen.push(...page.map((l) => l.id));
      if (page.length < 3) break;
      after = { id: page[page.length - 1]?.id ?? 0, key: null };
    }
    assert.deepEqual(seen, mine.map((l) => l.id).reverse());
    const everything = await store.list({ limit: 1000 });
    assert.ok(everything.length > mine.length, 'no owner: every link');
  });

  test('a lookup that waits for a batch longer than its deadline answers server_busy, without a query', { timeout: 10_000 }, async () => {
    // The database answers, but only when the test says: the one batch in flight holds its place.
    const gates: (() => void)[] = [];
    const queries: string[] = [];
    const slow: TransactionalRunner = {
      query: async (text, params) => {
        queries.push(text);
        await new Promise<void>((resolve) => gates.push(resolve));
        return database.db.query(text, params);
      },
      transaction: (work) => database.db.transaction(work),
    };
    const busyStore = createPgLinkStore(slow, { maxConcurrentBatches: 1, maxWaitMs: 20 });
    const first = busyStore.findByCode('nope1');
    while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(busyStore.findByCode('nope2'), (err: unknown) => err instanceof ServerBusy && err.status === 503 && err.code === 'server_busy');
    gates.shift()?.();
    assert.equal(await first, null);
    assert.equal(queries.length, 1, 'the refused lookup never reached the database');
  });

  test('creations that arrive while an insert runs wait for it and go out together, as one statement; one that runs long no longer holds them back', { timeout: 10_000 }, async () => {
    const gates: (() => void)[] = [];
    const inserts: number[] = [];
    const gated: TransactionalRunner = {
      query: async (text, params) => {
        if (text.includes('INSERT INTO urls')) {
          inserts.push(String(params?.[0]).split(',').length);
          await new Promise<void>((resolve) => gates.push(resolve));
        }
        return database.db.query(text, params);
      },
      transaction: (work) => database.db.transaction(work),
    };
    const stamp = Date.now().toString(36).slice(-6);
    const link = (i: number): NewLink => ({ code: `cw${stamp}${i}`, url: `https://example.com/cw/${i}`, expiresAt: null, isCustomAlias: true, ownerKeyId: null });
    const quick = createPgLinkStore(gated, { insertSpareAfterMs: 60_000 });
    const first = quick.insert(link(0));
    while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
    // Five more, each in a turn of its own: with a run started for each free place, each would go alone.
    const later: Promise<unknown>[] = [];
    for (let i = 1; i <= 5; i++) {
      later.push(quick.insert(link(i)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.deepEqual(inserts, [1], 'one statement in flight, the others wait');
    gates.shift()?.();
    while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
    gates.shift()?.();
    const created = await Promise.all([first, ...later]);
    assert.deepEqual(inserts, [1, 5], 'the five that waited went out in one statement');
    assert.deepEqual(created.map((l) => (l as { code: string }).code), [0, 1, 2, 3, 4, 5].map((i) => link(i).code));

    // An insert that hangs: the next creation gets a statement of its own after the spare delay.
    inserts.length = 0;
    const hung = createPgLinkStore(gated, { insertSpareAfterMs: 20 });
    const since = performance.now();
    const stuck = hung.insert(link(6));
    while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const next = hung.insert(link(7));
    while (gates.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok(performance.now() - since >= 19, 'not before the spare delay: until then it waits for the first');
    assert.deepEqual(inserts, [1, 1], 'a second statement while the first still runs');
    gates.splice(0).forEach((open) => open());
    assert.deepEqual([(await stuck).code, (await next).code], [link(6).code, link(7).code]);
  });

  test("a flush whose partitions' analysis fails still reports its clicks written, and the next flush analyses them", async () => {
    let failing = true;
    const analysing = (text: string): boolean => text.includes('pg_relation_size') || text.startsWith('ANALYZE');
    const flaky: TransactionalRunner = {
      query: async (text, params) => {
        if (failing && analysing(text)) throw new Error('Connection terminated unexpectedly');
        return database.db.query(text, params);
      },
      transaction: (work) => database.db.transaction(work),
    };
    const flakyStore = createPgLinkStore(flaky);
    const link = await flakyStore.insert({ code: `an${Date.now().toString(36).slice(-6)}`, url: 'https://example.com/a', expiresAt: null, isCustomAlias: true, ownerKeyId: null });
    const day = '2034-03-09';
    const click = { linkId: link.id, clicks: 1, botHits: 0, lastClickedAt: new Date(`${day}T12:00:00Z`), days: new Map([[day, { clicks: 1, botHits: 0, values: new Map([['country' as const, new Map([['DE', 1]])]]) }]]) };
    await flakyStore.applyClicks([click]);
    assert.equal((await store.findByCode(link.code))?.clicks, 1, 'written, and the flush did not throw');
    const pages = async () => (await database.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_class WHERE relname IN ('url_daily_clicks_2034_03', 'url_daily_values_2034_03') AND relpages > 0")).rows[0]?.n;
    assert.equal(await pages(), 0, 'not analysed: the analysis failed');
    failing = false;
    await flakyStore.applyClicks([click]);
    assert.equal(await pages(), 2, 'the next flush analysed both');
  });

  test('ping answers while the database is up', async () => {
    await store.ping();
  });
});

describe('PgApiKeyStore', () => {
  test('keys are found by hash only; ensure() is idempotent', async (t) => {
    const database = await createTestDatabase('pg_key_store');
    t.after(() => database.drop());
    const keys = createPgApiKeyStore(database.db);
    const inserted = await keys.insert({ hash: hashApiKey('secret-1'), keyPrefix: 'curt_secret', name: 'one', isAdmin: false });
    assert.deepEqual(await keys.findByHash(hashApiKey('secret-1')), inserted);
    assert.equal(await keys.findByHash(hashApiKey('secret-2')), null);
    const first = await keys.ensure({ hash: hashApiKey('admin-key'), keyPrefix: 'curt_admin', name: 'admin', isAdmin: true });
    const second = await keys.ensure({ hash: hashApiKey('admin-key'), keyPrefix: 'curt_admin', name: 'admin', isAdmin: true });
    assert.equal(first.id, second.id);
    assert.equal(first.isAdmin, true);
    const { rows } = await database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys');
    assert.equal(rows[0]?.n, 2);
  });
});

test('the expiry sweep does not mark a link expired whose expiry a PATCH moved ahead while the sweep waited for its row', async (t) => {
  const database = await createTestDatabase('mark_expired_race');
  t.after(() => database.drop());
  const store = createPgLinkStore(database.db);
  const link = await store.insert({ code: 'race01', url: 'https://example.com/', expiresAt: new Date(Date.now() + 60_000), isOneTime: false, isCustomAlias: true, ownerKeyId: null });
  // The PATCH holds the row: its new expiry is a day ahead, not committed yet.
  const patch = await database.pool.connect();
  try {
    await patch.query('BEGIN');
    await patch.query("UPDATE urls SET expiry_date = now() + interval '1 day', is_expired = false WHERE id = $1", [link.id]);
    // The sweep runs as if past the old expiry: its subquery finds the row, then waits for the lock.
    const sweep = store.markExpired(new Date(Date.now() + 120_000), 100);
    const waiting = async (): Promise<number> =>
      (await database.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rows[0]?.n ?? 0;
    for (let i = 0; i < 200 && (await waiting()) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(await waiting(), 1, 'the sweep waits for the row');
    await patch.query('COMMIT');
    assert.equal(await sweep, 0, 'nothing marked');
  } finally {
    patch.release();
  }
  const after = await store.findByCode('race01');
  assert.deepEqual([after?.isExpired, (after?.expiresAt?.getTime() ?? 0) > Date.now()], [false, true]);
});
