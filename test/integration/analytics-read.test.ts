// A link's analytics as one read (src/storage/postgres/pg-link-analytics.ts): a budget of its own
// beside the request path's 600 ms, past which it is busy, not down; one snapshot for the totals, the
// series and the breakdowns; ties between values in one order whatever the database's collation; and
// no day before the retention's cut-off, deleted or not yet.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { createDependencyBreaker, type DependencyBreaker } from '../../src/core/dependency-breaker.ts';
import { AnalyticsTooSlow, AppError, DependencyDown } from '../../src/core/errors.ts';
import { migrate, migrateDatabase } from '../../src/core/migrate.ts';
import { createPgPool, guardedRunner, isPostgresUnavailable, pgRunner, REQUEST_PATH_TIMEOUTS, type Pool } from '../../src/core/postgres.ts';
import type { SqlRunner, TransactionalRunner } from '../../src/core/sql.ts';
import type { ClickAggregate, Dimension, LinkStore } from '../../src/storage/link-store.ts';
import { openPglite, pgliteRunner } from '../../src/storage/pglite/pglite-runner.ts';
import { openPgliteThread, type PgliteThread } from '../../src/storage/pglite/pglite-thread.ts';
import { createPgLinkStore } from '../../src/storage/postgres/pg-link-store.ts';
import { createLinkService, type LinkService } from '../../src/url/link-service.ts';
import { linkServiceOptions } from '../support/link-service.ts';
import { testLogger } from '../support/log.ts';
import { createTestDatabase, PG_ADMIN_URL, type TestDatabase } from '../support/postgres.ts';

const log = testLogger('analytics-read');
const DAY = '2026-03-10';
const RANGE = { from: '2026-01-01', to: '2026-12-31', top: 10 };

/** `clicks` clicks of one link on `day`, split over the values given per dimension. */
function clicksOn(linkId: number, day: string, clicks: number, values: Partial<Record<Dimension, [string, number][]>>): ClickAggregate {
  const byDimension = new Map(Object.entries(values).map(([dimension, list]) => [dimension as Dimension, new Map(list)]));
  return { linkId, clicks, botHits: 0, lastClickedAt: new Date(`${day}T12:00:00Z`), days: new Map([[day, { clicks, botHits: 0, values: byDimension }]]) };
}

let serial = 0;
const newCode = (): string => `ar${Date.now().toString(36).slice(-5)}${serial++}`;

async function anonymousLink(store: LinkStore): Promise<{ id: number; code: string }> {
  return store.insert({ code: newCode(), url: 'https://example.com/', expiresAt: null, isCustomAlias: true, ownerKeyId: null });
}

/** The request path's PostgreSQL side as openPostgresLinkStorage builds it: its pool's timeouts, its breaker. */
function requestPath(url: string, options: { analyticsTimeoutMs?: number; analyticsAtOnce?: number } = {}): { pool: Pool; breaker: DependencyBreaker; store: LinkStore; links: LinkService } {
  const pool = createPgPool({ url, log, applicationName: 'curt-test-analytics', ...REQUEST_PATH_TIMEOUTS });
  const breaker = createDependencyBreaker({ dependency: 'postgres', log, isFailure: isPostgresUnavailable, failureThreshold: 3, resetTimeoutMs: 60_000 });
  const store = createPgLinkStore(guardedRunner(pgRunner(pool), breaker), { maxWaitMs: REQUEST_PATH_TIMEOUTS.connectTimeoutMs, ...options });
  return { pool, breaker, store, links: createLinkService(linkServiceOptions('analytics-read', { store })) };
}

/** Holds url_daily_clicks from another session: an analytics read waits for it as for a long scan. */
async function lockDailyClicks(pool: Pool): Promise<() => Promise<void>> {
  const client = await pool.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE url_daily_clicks IN ACCESS EXCLUSIVE MODE');
  return async () => {
    await client.query('COMMIT');
    client.release();
  };
}

async function sessionsWaitingForALock(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'curt-test-analytics' AND wait_event_type = 'Lock'",
  );
  return rows[0]?.n ?? 0;
}

async function untilTrue(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A TCP proxy to PostgreSQL that can stop passing the server's answers on: a server hung mid-statement. */
interface FreezableProxy {
  /** The URL of `database` through the proxy. */
  url(database: string): string;
  freeze(): void;
  close(): Promise<void>;
}

async function openFreezableProxy(): Promise<FreezableProxy> {
  const target = new URL(PG_ADMIN_URL);
  let frozen = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (!frozen) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    url: (database: string) => `postgres://${target.username}@127.0.0.1:${address.port}/${database}`,
    freeze: () => void (frozen = true),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('analytics on PostgreSQL: a budget of their own, busy not down past it', () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase('analytics_budget');
  });
  after(() => database.drop());

  test('a read that takes longer than the request path\'s 600 ms, within its own budget, answers; the breaker stays closed', { timeout: 20_000 }, async (t) => {
    const path = requestPath(database.url);
    t.after(() => path.pool.end());
    const link = await anonymousLink(path.store);
    await path.store.applyClicks([clicksOn(link.id, DAY, 3, { country: [['DE', 3]] })]);
    const release = await lockDailyClicks(database.pool);
    const answer = path.links.getAnalytics(link.code, null, RANGE);
    await untilTrue(async () => (await sessionsWaitingForALock(database.pool)) === 1, 'the read to wait');
    // Held past the request path's server (600 ms) and client (750 ms) limits, well within 3 s.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await release();
    const { link: seen, analytics } = await answer;
    assert.deepEqual(analytics.daily, [{ date: DAY, clicks: 3, botHits: 0 }]);
    assert.equal(seen.clicks, 3);
    assert.equal(path.breaker.state(), 'closed');
  });

  test('past its budget: 503 server_busy saying to ask for fewer days, counted by no breaker; other requests go on', { timeout: 20_000 }, async (t) => {
    const path = requestPath(database.url, { analyticsTimeoutMs: 200 });
    t.after(() => path.pool.end());
    const link = await anonymousLink(path.store);
    const other = await anonymousLink(path.store);
    await path.store.applyClicks([clicksOn(link.id, DAY, 2, { country: [['FR', 2]] })]);
    const release = await lockDailyClicks(database.pool);
    try {
      // More than the breaker's threshold (3), at once and one after another.
      const reads = await Promise.allSettled(Array.from({ length: 4 }, () => path.links.getAnalytics(link.code, null, RANGE)));
      reads.push(...(await Promise.allSettled([path.links.getAnalytics(link.code, null, RANGE)])));
      for (const read of reads) {
        assert.equal(read.status, 'rejected');
        const err: unknown = read.status === 'rejected' ? read.reason : null;
        assert.ok(err instanceof AnalyticsTooSlow, `not an outage: ${String(err)}`);
        assert.ok(err instanceof AppError);
        assert.equal(err.status, 503);
        assert.equal(err.code, 'server_busy');
        assert.equal(err.detail, 'Adding up this range took longer than 0.2 s; ask for fewer days.');
        assert.equal(err.headers['retry-after'], '1');
      }
      assert.equal(path.breaker.state(), 'closed', 'no outage counted');
      assert.equal((await path.links.getLink(other.code, null)).code, other.code, 'an unrelated lookup answers');
    } finally {
      await release();
    }
    const { analytics } = await path.links.getAnalytics(link.code, null, RANGE);
    assert.equal(analytics.totals.clicks, 2, 'and the read answers once the table is free');
  });

  test('ten slow reads at once hold at most two connections: the others are told to try again, and lookups and creations go on', { timeout: 20_000 }, async (t) => {
    const path = requestPath(database.url, { analyticsTimeoutMs: 1500 });
    t.after(() => path.pool.end());
    const link = await anonymousLink(path.store);
    const other = await anonymousLink(path.store);
    const release = await lockDailyClicks(database.pool);
    try {
      const reads = Array.from({ length: 10 }, () => path.links.getAnalytics(link.code, null, RANGE).then(() => 'answered', (err: Error) => err.message));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const startedAt = performance.now();
      assert.equal((await path.store.findByCode(other.code))?.id, other.id, 'an unrelated lookup answers');
      assert.ok((await anonymousLink(path.store)).id > other.id, 'a creation answers');
      assert.ok(performance.now() - startedAt < 400, 'without waiting for a connection');
      const outcomes = await Promise.all(reads);
      assert.equal(outcomes.filter((o) => o === 'Adding up this range took longer than 1.5 s; ask for fewer days.').length, 2, outcomes.join(' | '));
      assert.equal(outcomes.filter((o) => o === 'Other analytics are being added up; try again shortly.').length, 8, outcomes.join(' | '));
      assert.equal(path.breaker.state(), 'closed');
    } finally {
      await release();
    }
  });

  test('a server that stops answering during the read is still an outage: 503 postgres_unavailable, and the breaker opens', { timeout: 20_000 }, async (t) => {
    const proxy = await openFreezableProxy();
    t.after(() => proxy.close());
    // Three at once (the breaker's threshold), beyond the two of ANALYTICS_AT_ONCE.
    const path = requestPath(proxy.url(database.name), { analyticsTimeoutMs: 1000, analyticsAtOnce: 3 });
    t.after(() => path.pool.end().catch(() => undefined));
    const link = await anonymousLink(path.store);
    const release = await lockDailyClicks(database.pool);
    t.after(release);
    const reads = Array.from({ length: 3 }, () => path.links.getAnalytics(link.code, null, RANGE));
    await untilTrue(async () => (await sessionsWaitingForALock(database.pool)) === 3, 'three reads to wait');
    // The server's cancel at 1 s never reaches the client, which gives up at 1.25 s.
    proxy.freeze();
    const settled = await Promise.allSettled(reads);
    for (const read of settled) {
      const err: unknown = read.status === 'rejected' ? read.reason : null;
      assert.ok(err instanceof DependencyDown, `an outage: ${String(err)}`);
      assert.equal(err.code, 'postgres_unavailable');
    }
    assert.equal(path.breaker.state(), 'open');
  });
});

describe('analytics on PostgreSQL: one snapshot', () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase('analytics_snapshot');
  });
  after(() => database.drop());

  // Where another session's click flush commits during one GET of a link's analytics: after the
  // lookup of the link (findOwned) and before the analytics' first statement, or between the daily
  // series and the breakdowns.
  const moments = [
    { when: 'after the link was looked up', after: /WHERE urls\.short_code = ANY/, seen: 5 },
    { when: "between the analytics' statements", after: /^\s*SELECT[\s\S]*FROM url_daily_clicks/, seen: 3 },
  ];
  for (const moment of moments) {
    test(`a click flush that commits ${moment.when} changes all of the answer or none of it: all time equals the range, the breakdowns add up to it`, async () => {
      const flusher = createPgLinkStore(database.db);
      let flush: (() => Promise<void>) | null = null;
      const interleave = async <R>(text: string, run: () => Promise<{ rows: R[] }>): Promise<{ rows: R[] }> => {
        const result = await run();
        const pending = flush;
        if (pending !== null && moment.after.test(text)) {
          flush = null;
          await pending();
        }
        return result;
      };
      const racing: TransactionalRunner = {
        query: <R>(text: string, params?: unknown[]) => interleave<R>(text, () => database.db.query<R>(text, params)),
        transaction: (work, options) =>
          database.db.transaction((tx: SqlRunner) => work({ query: <R>(text: string, params?: unknown[]) => interleave<R>(text, () => tx.query<R>(text, params)) }), options),
      };
      const store = createPgLinkStore(racing);
      const links = createLinkService(linkServiceOptions('analytics-snapshot', { store }));
      const link = await anonymousLink(flusher);
      await flusher.applyClicks([clicksOn(link.id, DAY, 3, { referrer: [['news.example', 3]], country: [['DE', 3]] })], randomUUID());
      flush = () => flusher.applyClicks([clicksOn(link.id, '2026-03-11', 2, { referrer: [['(direct)', 2]], country: [['FR', 2]] })], randomUUID());

      const { link: seen, analytics } = await links.getAnalytics(link.code, null, RANGE);
      assert.equal(flush, null, 'the flush ran in the middle of the answer');
      const sum = (list: { count: number }[]): number => list.reduce((n, v) => n + v.count, 0);
      assert.equal(analytics.totals.clicks, moment.seen, 'the range as of one moment');
      assert.equal(seen.clicks, analytics.totals.clicks, 'all time (every click is in the range) equals the range');
      assert.equal(sum(analytics.daily.map((d) => ({ count: d.clicks }))), analytics.totals.clicks, 'the days add up to the range');
      assert.equal(sum(analytics.dimensions.referrer), analytics.totals.clicks, 'referrers add up to the range');
      assert.equal(sum(analytics.dimensions.country), analytics.totals.clicks, 'countries add up to the range');
      assert.equal(seen.lastClickedAt?.toISOString(), moment.seen === 5 ? '2026-03-11T12:00:00.000Z' : `${DAY}T12:00:00.000Z`, 'the last click of the same moment');

      const later = await links.getAnalytics(link.code, null, RANGE);
      assert.equal(later.link.clicks, 5, 'the next answer sees the flush whole');
      assert.equal(later.analytics.totals.clicks, 5);
      assert.equal(sum(later.analytics.dimensions.referrer), 5);
    });
  }

  test('a link deleted before its analytics are read is not found, not an empty answer', async () => {
    const store = createPgLinkStore(database.db);
    const link = await anonymousLink(store);
    const racing: LinkStore = {
      ...store,
      analytics: async (id, query) => {
        await store.deleteById(id);
        return store.analytics(id, query);
      },
    };
    const links = createLinkService(linkServiceOptions('analytics-deleted', { store: racing }));
    await assert.rejects(links.getAnalytics(link.code, null, RANGE), (err: unknown) => err instanceof AppError && err.code === 'link_not_found');
  });
});

interface Subject {
  name: string;
  db: TransactionalRunner;
  close(): Promise<void>;
}

/** A database whose default collation is ICU's en-US (letter case aside): null when the server has no ICU. */
async function onIcuPostgres(): Promise<Subject | null> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    const { rows } = await admin.query("SELECT 1 FROM pg_collation WHERE collprovider = 'i' LIMIT 1");
    if (rows.length === 0) return null;
    const name = `curt_test_analytics_icu_${randomUUID().slice(0, 8)}`;
    await admin.query(`CREATE DATABASE ${name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`);
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${name}`;
    await migrateDatabase({ url: url.toString(), log, applicationName: 'curt-test-migrate' });
    const pool = createPgPool({ url: url.toString(), log, max: 3 });
    return {
      name: 'PostgreSQL (ICU en-US)',
      db: pgRunner(pool),
      async close() {
        await pool.end();
        const drop = new pg.Client({ connectionString: PG_ADMIN_URL });
        await drop.connect();
        await drop.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await drop.end();
      },
    };
  } finally {
    await admin.end();
  }
}

// One migrated PGlite for the tests below: opening and migrating one takes seconds.
let embedded: Promise<PgliteThread> | null = null;
after(async () => {
  if (embedded !== null) await (await embedded).close();
});

async function onPgliteThread(): Promise<Subject> {
  embedded ??= openPgliteThread(null).then(async (thread) => {
    await migrate(thread.runner, log);
    return thread;
  });
  return { name: 'PGlite', db: (await embedded).runner, close: async () => undefined };
}

async function onPostgres(): Promise<Subject> {
  const database = await createTestDatabase('analytics_retention');
  return { name: 'PostgreSQL', db: database.db, close: () => database.drop() };
}

test('values with equal counts are listed in the same order on PostgreSQL with an ICU collation as on PGlite (C), and top 1 lists the first of them', { timeout: 60_000 }, async (t) => {
  const icu = await onIcuPostgres();
  if (icu === null) {
    t.skip('this PostgreSQL has no ICU');
    return;
  }
  const subjects = [icu, await onPgliteThread()];
  t.after(() => Promise.all(subjects.map((s) => s.close())));
  // en-US puts 'chromium' before 'Opera'; byte order the other way. U+FF21 comes before U+1F600 by
  // bytes (and code points), after it by UTF-16 code units.
  const browsers: [string, number][] = [['chromium', 1], ['Opera', 1]];
  const referrers: [string, number][] = [['\u{1F600}.example', 1], ['\uFF21.example', 1]];
  const answers: unknown[] = [];
  for (const subject of subjects) {
    const store = createPgLinkStore(subject.db);
    const link = await anonymousLink(store);
    await store.applyClicks([clicksOn(link.id, DAY, 2, { browser: browsers, referrer: referrers })]);
    const first = await store.analytics(link.id, { ...RANGE, top: 1 });
    const all = await store.analytics(link.id, { ...RANGE, top: 100 });
    assert.deepEqual(first.dimensions.browser, [{ value: 'Opera', count: 1 }, { value: '(other)', count: 1 }], subject.name);
    assert.deepEqual(first.dimensions.referrer, [{ value: '\uFF21.example', count: 1 }, { value: '(other)', count: 1 }], subject.name);
    assert.deepEqual(all.dimensions.browser.map((v) => v.value), ['Opera', 'chromium'], `${subject.name}: top 1 is the first of all`);
    assert.deepEqual(all.dimensions.referrer.map((v) => v.value), ['\uFF21.example', '\u{1F600}.example'], `${subject.name}: top 1 is the first of all`);
    answers.push({ first: first.dimensions, all: all.dimensions });
  }
  assert.deepEqual(answers[0], answers[1], 'both storage modes answer alike');
});

for (const open of [onPostgres, onPgliteThread]) {
  test(`with ANALYTICS_RETENTION_DAYS, no day before the first kept one is reported, before the sweep has deleted it (${open === onPostgres ? 'PostgreSQL' : 'PGlite'})`, { timeout: 60_000 }, async (t) => {
    const subject = await open();
    t.after(() => subject.close());
    const store = createPgLinkStore(subject.db);
    // 30 days kept on 2026-06-30: from 2026-06-01 (firstKeptDay, as the sweep computes it).
    const links = createLinkService(linkServiceOptions('analytics-retention', { store, analyticsRetentionDays: 30, now: () => new Date('2026-06-30T12:00:00Z') }));
    const link = await anonymousLink(store);
    await store.applyClicks([clicksOn(link.id, '2026-05-31', 4, { country: [['DE', 4]] })]);
    await store.applyClicks([clicksOn(link.id, '2026-06-01', 1, { country: [['FR', 1]] })]);
    const { link: seen, analytics } = await links.getAnalytics(link.code, null, { from: '2016-07-05', to: '2026-06-30', top: 10 });
    assert.deepEqual(analytics.daily, [{ date: '2026-06-01', clicks: 1, botHits: 0 }]);
    assert.deepEqual(analytics.totals, { clicks: 1, botHits: 0 });
    assert.deepEqual(analytics.dimensions.country, [{ value: 'FR', count: 1 }]);
    assert.equal(seen.clicks, 5, 'the totals of all time stay');
    const before = await links.getAnalytics(link.code, null, { from: '2026-05-01', to: '2026-05-31', top: 10 });
    assert.deepEqual(before.analytics.daily, [], 'a range wholly before the cut-off is empty');
    assert.deepEqual(before.analytics.dimensions.country, []);
  });
}

test('each runner opens a transaction with the options asked for, and a plain one without', { timeout: 60_000 }, async (t) => {
  const database = await createTestDatabase('analytics_tx_options', { migrated: false });
  const thread = await onPgliteThread();
  const inProcess = await openPglite(null);
  t.after(() => Promise.all([database.drop(), inProcess.close()]));
  const settings = "SELECT current_setting('transaction_isolation') AS isolation, current_setting('transaction_read_only') AS read_only, current_setting('statement_timeout') AS timeout";
  for (const [name, runner] of [['node-postgres', database.db], ['PGlite thread', thread.db], ['PGlite', pgliteRunner(inProcess)]] as const) {
    const asked = await runner.transaction((tx) => tx.query(settings), { readOnly: true, isolation: 'repeatable read', statementTimeoutMs: 2500 });
    assert.deepEqual(asked.rows, [{ isolation: 'repeatable read', read_only: 'on', timeout: '2500ms' }], name);
    const plain = await runner.transaction((tx) => tx.query<{ isolation: string; read_only: string }>(settings));
    assert.deepEqual([plain.rows[0]?.isolation, plain.rows[0]?.read_only], ['read committed', 'off'], name);
    await assert.rejects(runner.transaction((tx) => tx.query('CREATE TABLE refused (a int)'), { readOnly: true }), /read-only/, `${name}: read only`);
  }
});

test('a statement timeout said in another language (lc_messages) is still the budget spent: too slow, not an outage; a quick cancel is not', async () => {
  const translated = (afterMs: number): TransactionalRunner => ({
    query: () => Promise.reject(new Error('unused')),
    transaction: (work) =>
      work({
        query: () =>
          new Promise((_resolve, reject) => {
            setTimeout(() => reject(Object.assign(new Error('annulation de la requête à cause du délai'), { code: '57014' })), afterMs);
          }),
      }),
  });
  const slow = createPgLinkStore(translated(230), { analyticsTimeoutMs: 200 });
  await assert.rejects(slow.analytics(1, RANGE), (err: Error) => err instanceof AnalyticsTooSlow);
  const cancelled = createPgLinkStore(translated(0), { analyticsTimeoutMs: 200 });
  await assert.rejects(cancelled.analytics(1, RANGE), (err: Error) => !(err instanceof AnalyticsTooSlow) && (err as { code?: string }).code === '57014');
});
