// LinkStore and ApiKeyStore in plain, parameterised SQL. Works on node-postgres and on PGlite: both
// are given as a SqlRunner (query with $n parameters).
import { createHash } from 'node:crypto';
import { createBatcher, type BatcherLimits } from '../../core/batcher.ts';
import { createGate } from '../../core/gate.ts';
import { ServerBusy } from '../../core/errors.ts';
import { ANALYTICS_STATEMENT_TIMEOUT_MS, REQUEST_PATH_TIMEOUTS } from '../../core/postgres.ts';
import type { SqlRunner, TransactionalRunner } from '../../core/sql.ts';
import { listSegments, runListSegments } from './pg-link-list.ts';
import { readLinkAnalytics } from './pg-link-analytics.ts';
import { bool, literal, numberOrNull, quoted, quotedOrNull, timestampOrNull } from './array-literal.ts';
import { clickColumns } from './click-columns.ts';
import { tryTableLease } from './table-lease.ts';
import { analyseFilledPartitions, deleteClickDaysBefore, dropClickPartitionsBefore, ensureClickPartitions, isMissingPartition, MONTHS_AHEAD, monthOf } from './click-partitions.ts';
import {
  CodeExists,
  OTHER,
  type ApiKeyRecord,
  type ApiKeyStore,
  type LinkRecord,
  type LinkStore,
  type NewLink,
} from '../link-store.ts';
import type { CachedLink } from '../link-cache.ts';
import { LINK_COLUMNS, LINKS, NEW_URL_COLUMNS, REDIRECT_COLUMNS, toLink, toRedirect, URL_COLUMNS, type RedirectRow, type UrlRow } from './pg-link-row.ts';
import { ANY_CLICK_SUBSCRIBER_SQL, CLICKED_EVENTS_SQL, linkEventCte } from './pg-webhook-store.ts';


/**
 * Most values one link keeps per UTC day and dimension; a new value past it is counted as OTHER.
 * Referrer hosts, bot names and even browser names (a parser's generic fallback) come from request
 * headers, so without a bound one link could be made to grow a row per request.
 */
export const VALUES_PER_DAY = 100;

/** A new link's limit: a given maxVisits, else 1 for the one-time shorthand, else none. */
function maxVisitsOf(link: NewLink): number | null {
  return link.maxVisits !== undefined ? link.maxVisits : link.isOneTime === true ? 1 : null;
}

/** What an insert reads back: what the database gave the row; the rest is what was sent. */
interface InsertedRow {
  id: number | string;
  short_code: string;
  original_url: string;
  /** created_at in whole epoch milliseconds, as a Date from the row would hold it. */
  created_ms: number;
}

/**
 * A link just inserted, from what was sent and what the database gave it (id, created_at): the rest
 * is the columns' defaults, which the contract tests compare with the row read back
 * (test/contract/link-store.contract.ts). Reading the whole row back had node-postgres parse
 * nineteen columns a creation, dates and a text array among them (docs/performance.md, "Creation path").
 */
function insertedRecord(link: NewLink, row: InsertedRow): LinkRecord {
  const maxVisits = maxVisitsOf(link);
  return {
    id: Number(row.id),
    code: row.short_code,
    url: row.original_url,
    createdAt: new Date(row.created_ms),
    expiresAt: link.expiresAt === null ? null : new Date(link.expiresAt.getTime()),
    isOneTime: maxVisits === 1,
    maxVisits,
    visits: 0,
    forwardQuery: link.forwardQuery === true,
    isActive: true,
    isExpired: false,
    isCustomAlias: link.isCustomAlias,
    ownerKeyId: link.ownerKeyId,
    clicks: 0,
    botHits: 0,
    lastClickedAt: null,
    consumedAt: null,
    hasPassword: link.passwordHash != null,
    tags: [...(link.tags ?? [])],
    version: 1,
  };
}

/** Most rows one coalesced lookup or insert carries. */
const MAX_BATCH = 256;
/**
 * Coalesced calls in flight at once, per lookup batcher (the redirect's lookups, reads of whole
 * records; inserts: MAX_CONCURRENT_INSERTS). More concurrent calls make larger batches instead of a
 * queue at the pool (see src/core/batcher.ts). The redirect's lookups and inserts at their limit hold
 * 8 of the request pool's 10 connections; with reads of whole records busy too, up to 12 batches want
 * one, and a wait past the pool's connect timeout is answered 503 server_busy, as any wait for a
 * connection is (src/core/postgres.ts). One bound of 4 split between the two lookups refused a burst of 3,000
 * record reads and answered a hung database's lookups server_busy instead of postgres_unavailable.
 */
export const MAX_CONCURRENT_BATCHES = 4;
/**
 * Coalesced inserts in flight at once: as many as lookups, but while one runs another (a third, a
 * fourth) starts only INSERT_SPARE_AFTER_MS after the last one started. An insert takes a few milliseconds, so
 * creations that arrive during one wait for it and go out together in the next: fewer, larger
 * statements, whose own cost (the pool, the protocol, parsing and planning, the event CTE, the tick's
 * cache write) more creations share. One insert in flight and no spare saved 5.7 % of a creation's
 * CPU and 17 % of PostgreSQL's and Redis's (docs/performance.md, "2026-12-06, evening"), but a hung
 * database's second creation then waited behind the first until the batcher refused it, 503
 * server_busy, not postgres_unavailable (test/e2e/faults-postgres.test.ts). With the spare it gets an
 * insert of its own 50 ms later, which meets the hung database itself.
 */
export const MAX_CONCURRENT_INSERTS = MAX_CONCURRENT_BATCHES;
/** See MAX_CONCURRENT_INSERTS: well above an insert's few milliseconds, well below the 500 ms a creation may wait. */
export const INSERT_SPARE_AFTER_MS = 50;

export interface PgLinkStoreOptions {
  maxConcurrentBatches?: number;
  /**
   * Longest a lookup or insert waits for a batch to take it, then 503 `server_busy`: the wait that
   * replaced the one for a pool connection keeps its limit, the pool's connect timeout (by default
   * the request path's, REQUEST_PATH_TIMEOUTS in src/core/postgres.ts).
   */
  maxWaitMs?: number;
  /** Most calls waiting per batcher beyond what free batches take at once; one more answers 503 `server_busy` at once. */
  maxQueued?: number;
  /** How long an insert runs before another may start beside it (default INSERT_SPARE_AFTER_MS). */
  insertSpareAfterMs?: number;
  /** Each statement's limit in an analytics read (default ANALYTICS_STATEMENT_TIMEOUT_MS). */
  analyticsTimeoutMs?: number;
  /** Most analytics reads at once (default ANALYTICS_AT_ONCE); the next waits at most `maxWaitMs` for a turn. */
  analyticsAtOnce?: number;
}

/**
 * Analytics reads at once per process: each may hold a connection for up to three times its budget
 * (seconds, not the request path's 600 ms), and ten at once took the request pool's every connection,
 * so cold redirects and writes answered 503. Two leave eight of the ten to them.
 */
export const ANALYTICS_AT_ONCE = 2;

/**
 * Two full rounds of runs (4 × 256 × 2) beyond what free batches take at once: when runs are slow,
 * more would not leave before its deadline anyway, so it is refused at once instead of holding memory
 * and a socket to find out.
 */
export const MAX_QUEUED = MAX_BATCH * MAX_CONCURRENT_BATCHES * 2;

/**
 * The bounds of a lookup or insert batcher. A refusal is the same answer a wait for a pool connection
 * gives (src/core/postgres.ts): back-pressure, which no breaker counts, not an outage.
 */
export function lookupLimits(maxWaitMs: number = REQUEST_PATH_TIMEOUTS.connectTimeoutMs, maxQueued: number = MAX_QUEUED): BatcherLimits {
  return {
    maxQueued,
    maxWaitMs,
    overloaded: (reason) =>
      new ServerBusy(
        reason === 'queue_full'
          ? 'Too many database queries are waiting; try again shortly.'
          : 'Every database connection is busy; try again shortly.',
      ),
  };
}

export function createPgLinkStore(db: TransactionalRunner, options: PgLinkStoreOptions = {}): LinkStore {
  const concurrency = options.maxConcurrentBatches ?? MAX_CONCURRENT_BATCHES;
  const limits = lookupLimits(options.maxWaitMs, options.maxQueued);
  const analyticsBudgetMs = options.analyticsTimeoutMs ?? ANALYTICS_STATEMENT_TIMEOUT_MS;
  const analyticsTurns = createGate({
    max: options.analyticsAtOnce ?? ANALYTICS_AT_ONCE,
    maxWaitMs: options.maxWaitMs ?? REQUEST_PATH_TIMEOUTS.connectTimeoutMs,
    full: () => new ServerBusy('Other analytics are being added up; try again shortly.'),
  });
  /**
   * One statement for any number of links. A code already taken (or twice in the list) is left out by
   * ON CONFLICT and answered CodeExists. Each column is sent as one array literal (array-literal.ts).
   */
  async function insertRows(links: readonly NewLink[]): Promise<(LinkRecord | Error)[]> {
    const { rows } = await db.query<InsertedRow>(
      // Each link's tags travel as a JSON array: unnest would flatten an array of arrays.
      `WITH inserted AS (
         INSERT INTO urls (short_code, original_url, expiry_date, max_visits, is_one_time, forward_query, is_custom_alias, owner_key_id, tags, password_hash)
         SELECT v.code, v.url, v.expiry, v.max_visits, v.max_visits IS NOT DISTINCT FROM 1, v.forward_query, v.alias, v.owner,
                ARRAY(SELECT jsonb_array_elements_text(v.tags)), v.password_hash
           FROM unnest($1::varchar[], $2::varchar[], $3::timestamptz[], $4::integer[], $5::bool[], $6::bool[], $7::bigint[], $8::jsonb[], $9::text[])
             AS v(code, url, expiry, max_visits, forward_query, alias, owner, tags, password_hash)
         ON CONFLICT (short_code) DO NOTHING RETURNING ${NEW_URL_COLUMNS}
       ), ${linkEventCte('link.created', 'inserted')}
       SELECT id, short_code, original_url, floor(extract(epoch FROM created_at) * 1000)::float8 AS created_ms FROM inserted`,
      [
        literal(links.map((l) => quoted(l.code))),
        literal(links.map((l) => quoted(l.url))),
        literal(links.map((l) => timestampOrNull(l.expiresAt))),
        literal(links.map((l) => numberOrNull(maxVisitsOf(l)))),
        literal(links.map((l) => bool(l.forwardQuery === true))),
        literal(links.map((l) => bool(l.isCustomAlias))),
        literal(links.map((l) => numberOrNull(l.ownerKeyId))),
        literal(links.map((l) => quoted(JSON.stringify(l.tags ?? [])))),
        literal(links.map((l) => quotedOrNull(l.passwordHash ?? null))),
      ],
    );
    const inserted = new Map(rows.map((row) => [row.short_code, row]));
    return links.map((link) => {
      const row = inserted.get(link.code);
      // The first link of a code in the batch got the row; a second one with the same code did not.
      if (row === undefined || row.original_url !== link.url) return new CodeExists(link.code);
      inserted.delete(link.code);
      return insertedRecord(link, row);
    });
  }

  // Concurrent creations in one statement.
  const insert = createBatcher<NewLink, LinkRecord>(async (links) => {
    try {
      return await insertRows(links);
    } catch (err) {
      // A row the database refuses (SQLSTATE class 22 data, 23 constraint) must not fail the others:
      // retry them one by one. Anything else (a timeout, a lost connection) fails the batch at once,
      // or a hung database would cost every creation two timeouts.
      const sqlState = (err as { code?: unknown }).code;
      if (links.length === 1 || typeof sqlState !== 'string' || !/^2[23]/.test(sqlState)) throw err;
      const alone = async (link: NewLink): Promise<LinkRecord | Error> => {
        try {
          const [result] = await insertRows([link]);
          return result as LinkRecord | Error;
        } catch (e) {
          return e instanceof Error ? e : new Error(String(e));
        }
      };
      // One after another: this run holds one place of the batcher's bound, so one connection.
      const results: (LinkRecord | Error)[] = [];
      for (const link of links) results.push(await alone(link));
      return results;
    }
  }, MAX_BATCH, MAX_CONCURRENT_INSERTS, limits, { spareAfterMs: options.insertSpareAfterMs ?? INSERT_SPARE_AFTER_MS });

  /** Concurrent lookups by code in one indexed query; `select` is the statement up to its WHERE. */
  function lookupByCode<R extends { short_code: string }, T>(select: string, toValue: (row: R) => T): (code: string) => Promise<T | null> {
    return createBatcher<string, T | null>(async (codes) => {
      const { rows } = await db.query<R>(`${select} WHERE urls.short_code = ANY($1::varchar[])`, [[...new Set(codes)]]);
      const found = new Map(rows.map((row) => [row.short_code, row]));
      return codes.map((code) => {
        const row = found.get(code);
        return row === undefined ? null : toValue(row);
      });
    }, MAX_BATCH, concurrency, limits);
  }
  // Whole records (the API, ownership checks); and the cold redirect's, only what its cache entry holds.
  const findByCode = lookupByCode<UrlRow, LinkRecord>(`SELECT ${LINK_COLUMNS} FROM ${LINKS}`, toLink);
  const findRedirect = lookupByCode<RedirectRow, CachedLink>(`SELECT ${REDIRECT_COLUMNS} FROM urls`, toRedirect);

  /** Months whose click partitions a flush of this store has seen with statistics (applyClicks). */
  const sizedMonths = new Set<string>();

  return {
    insert,
    findByCode,
    findRedirect,

    async findPasswordHash(id) {
      const { rows } = await db.query<{ password_hash: string | null }>('SELECT password_hash FROM urls WHERE id = $1', [id]);
      return rows[0]?.password_hash ?? null;
    },

    async countVisit(id, now) {
      // The row lock taken by UPDATE serialises concurrent callers, here and on every other replica;
      // a caller that waited re-checks the WHERE clause against the row its predecessor left, so with
      // k visits left exactly k pass. `visits` in SET is the value before this visit. consumed_at IS
      // NULL also keeps out a link the previous version used up (it set consumed_at alone).
      // The visit that uses the link up changes its state (active to used), as a PATCH can: its
      // link.updated goes out in the same statement. The visits before it only count (no event:
      // visits are clicks, which link.clicked reports in batches).
      const { rows } = await db.query<UrlRow>(
        `WITH counted AS (
           UPDATE urls SET visits = visits + 1, consumed_at = CASE WHEN visits + 1 >= max_visits THEN $2 ELSE consumed_at END, version = version + 1
            WHERE id = $1 AND max_visits IS NOT NULL AND visits < max_visits AND consumed_at IS NULL AND is_active
              AND (expiry_date IS NULL OR expiry_date > $2)
            RETURNING ${URL_COLUMNS}
         ), ${linkEventCte('link.updated', '(SELECT * FROM counted WHERE consumed_at IS NOT NULL)')}
         SELECT * FROM counted`,
        [id, now],
      );
      return rows[0] ? toLink(rows[0]) : null;
    },

    async deleteById(id) {
      const { rows } = await db.query<UrlRow>(
        // The per-day tables have no foreign key (migrations/004_click_dimensions.sql, 013): their rows go here.
        `WITH deleted AS (DELETE FROM urls WHERE id = $1 RETURNING ${URL_COLUMNS}),
              detail AS (DELETE FROM url_daily_values WHERE url_id = $1),
              series AS (DELETE FROM url_daily_clicks WHERE url_id = $1),
              ${linkEventCte('link.deleted', 'deleted')} SELECT * FROM deleted`,
        [id],
      );
      return rows[0] ? toLink(rows[0]) : null;
    },

    async updateById(id, patch) {
      const sets: string[] = [];
      const params: unknown[] = [id];
      if (patch.isActive !== undefined) {
        params.push(patch.isActive);
        sets.push(`is_active = $${params.length}`);
      }
      if (patch.url !== undefined) {
        params.push(patch.url);
        sets.push(`original_url = $${params.length}`);
      }
      if (patch.expiresAt !== undefined) {
        params.push(patch.expiresAt);
        sets.push(`expiry_date = $${params.length}`);
        // A new expiry re-derives the sweep's flag; the sweep will set it again when due.
        sets.push(`is_expired = ($${params.length}::timestamptz IS NOT NULL AND $${params.length}::timestamptz <= now())`);
      }
      if (patch.passwordHash !== undefined) {
        params.push(patch.passwordHash);
        sets.push(`password_hash = $${params.length}`);
      }
      if (patch.tags !== undefined) {
        params.push([...patch.tags]);
        sets.push(`tags = $${params.length}::text[]`);
      }
      if (patch.maxVisits !== undefined) {
        params.push(patch.maxVisits);
        const limit = `$${params.length}::integer`;
        sets.push(`max_visits = ${limit}`, `is_one_time = (${limit} IS NOT DISTINCT FROM 1)`);
        // "Used" follows the new limit at once: no visit left is used (kept from when it was first
        // used), a visit left or no limit is not. The row lock orders this against countVisit.
        sets.push(`consumed_at = CASE WHEN ${limit} IS NOT NULL AND visits >= ${limit} THEN coalesce(consumed_at, now()) END`);
      }
      if (patch.forwardQuery !== undefined) {
        params.push(patch.forwardQuery);
        sets.push(`forward_query = $${params.length}`);
      }
      if (sets.length === 0) {
        const { rows } = await db.query<UrlRow>(`SELECT ${LINK_COLUMNS} FROM ${LINKS} WHERE urls.id = $1`, params);
        return rows[0] ? toLink(rows[0]) : null;
      }
      // Every change raises the version: the cache keeps the newest state by it (migration 017).
      sets.push('version = version + 1');
      const { rows } = await db.query<UrlRow>(
        `WITH updated AS (UPDATE urls SET ${sets.join(', ')} WHERE id = $1 RETURNING ${URL_COLUMNS}), ${linkEventCte('link.updated', 'updated')}
         SELECT * FROM updated`,
        params,
      );
      return rows[0] ? toLink(rows[0]) : null;
    },

    async list(options) {
      const rows = await runListSegments<UrlRow>(db, listSegments(options), options.limit);
      return rows.map(toLink);
    },

    async findByOwnerUrls(ownerKeyId, urls) {
      if (urls.length === 0) return [];
      // md5 in SQL is of the UTF-8 bytes, as here: the expression index answers, the exact text decides.
      const hashes = [...new Set(urls)].map((url) => createHash('md5').update(url, 'utf8').digest('hex'));
      const { rows } = await db.query<UrlRow>(
        `SELECT ${LINK_COLUMNS} FROM ${LINKS} WHERE urls.owner_key_id = $1 AND md5(urls.original_url) = ANY($2::text[]) AND urls.original_url = ANY($3::varchar[]) ORDER BY urls.id`,
        [ownerKeyId, hashes, [...new Set(urls)]],
      );
      return rows.map(toLink);
    },

    tryImportLease(ownerKeyId, ttlMs) {
      return tryTableLease(db, { table: 'import_leases', key: 'owner_key_id' }, ownerKeyId, ttlMs);
    },

    analytics(linkId, query) {
      return analyticsTurns.run(() => readLinkAnalytics(db, linkId, query, analyticsBudgetMs));
    },

    async applyClicks(batch, batchId) {
      if (batch.length === 0) return;
      // Sorted by id so that concurrent flushes from several replicas lock rows in the same order.
      const columns = clickColumns([...batch].sort((a, b) => a.linkId - b.linkId));
      const write = (): Promise<void> => db.transaction(async (tx) => {
        if (batchId !== undefined) {
          const { rows } = await tx.query<{ id: string }>('INSERT INTO click_batches (id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id', [batchId]);
          if (rows.length === 0) return; // applied already: this is a retry whose first COMMIT went through
        }
        // From about 14,000 links per batch the planner joins the batch to `urls` by a merge join that
        // reads the whole primary key index in each statement; at a million links that made a flush
        // take seconds (docs/performance.md, "Clicks at scale"). One index lookup per link is what a
        // batch of distinct ids wants at any size.
        await tx.query('SET LOCAL enable_mergejoin = off');
        await tx.query('SET LOCAL enable_hashjoin = off');
        // The per-day tables are partitioned (migration 013): the planner adds up the cost of every
        // month a statement may touch, which lifts a large batch's estimate past jit_inline_above_cost
        // and jit_optimize_above_cost, and compiling the plan then took longer than it saved. These
        // statements are index lookups by the row, never the long scans JIT pays off for.
        await tx.query('SET LOCAL jit = off');
        await tx.query(
          // url_totals, not urls: an update of urls here was never HOT (migrations/014_url_totals.sql).
          `UPDATE url_totals AS t SET clicks = t.clicks + v.clicks, bot_hits = t.bot_hits + v.bot_hits,
                  last_clicked_at = GREATEST(t.last_clicked_at, v.last_at)
             FROM (SELECT id, clicks, bot_hits, timestamptz 'epoch' + last_ms * interval '1 millisecond' AS last_at
                     FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) AS v(id, clicks, bot_hits, last_ms)) AS v
            WHERE t.url_id = v.id`,
          columns.totals,
        );
        await tx.query(
          `INSERT INTO url_daily_clicks (url_id, day, clicks, bot_hits)
           SELECT v.id, v.day, v.clicks, v.bot_hits FROM unnest($1::bigint[], $2::date[], $3::bigint[], $4::bigint[]) AS v(id, day, clicks, bot_hits)
             JOIN urls u ON u.id = v.id ORDER BY v.id, v.day
           ON CONFLICT (url_id, day) DO UPDATE SET clicks = url_daily_clicks.clicks + EXCLUDED.clicks, bot_hits = url_daily_clicks.bot_hits + EXCLUDED.bot_hits`,
          columns.days,
        );
        if (columns.values !== null) {
          // A value the link already has on that day adds to it; a new one takes a free place of the
          // day's VALUES_PER_DAY (the largest counts first), else counts as OTHER. Several replicas
          // flushing the same link and day at once can each take the last places, so the bound holds
          // to within a batch of one replica. The places a (link, day, dimension) holds are counted per
          // row, by the primary key: with hash and merge joins off (above), joining them in as a second
          // CTE made a nested loop over both CTEs, quadratic in the batch (4,000 links: 4.5 s), and past
          // the statement timeout a batch failed on every retry. One walk of those (at most 100) rows
          // answers both how many places are taken and whether this value holds one.
          await tx.query(
            `WITH v AS (
               SELECT v.id, v.day, v.dimension, v.value, v.n
                 FROM unnest($1::bigint[], $2::date[], $3::text[], $4::text[], $5::bigint[]) AS v(id, day, dimension, value, n)
                 JOIN urls u ON u.id = v.id
             ), judged AS (
               SELECT v.*, s.places, v.value = '${OTHER}' OR coalesce(s.has_value, false) AS known
                 FROM v CROSS JOIN LATERAL (SELECT count(*) AS places, bool_or(e.value = v.value) AS has_value FROM url_daily_values e
                        WHERE e.url_id = v.id AND e.day = v.day AND e.dimension = v.dimension) AS s
             ), ranked AS (
               SELECT j.*, row_number() OVER (PARTITION BY j.id, j.day, j.dimension, j.known ORDER BY j.n DESC, j.value) AS rank FROM judged j
             )
             INSERT INTO url_daily_values (url_id, day, dimension, value, clicks)
             SELECT id, day, dimension, CASE WHEN known OR places + rank <= $6 THEN value ELSE '${OTHER}' END AS kept, sum(n)
               FROM ranked GROUP BY id, day, dimension, kept ORDER BY id, day, dimension, kept
             ON CONFLICT (url_id, day, dimension, value) DO UPDATE SET clicks = url_daily_values.clicks + EXCLUDED.clicks`,
            [...columns.values, VALUES_PER_DAY],
          );
        }
        // link.clicked events commit with the clicks they report: a retried batch (above) adds neither twice.
        // The totals' ids and clicks: CLICKED_EVENTS_SQL leaves out the links with bot hits only.
        if (batch.some((a) => a.clicks > 0)) {
          const { rows } = await tx.query<{ found: boolean }>(ANY_CLICK_SUBSCRIBER_SQL);
          if (rows[0]?.found === true) await tx.query(CLICKED_EVENTS_SQL, [columns.totals[0], columns.totals[1]]);
        }
      });
      try {
        await write();
      } catch (err) {
        // A day no partition holds (the sweep creates months ahead, but clicks can be dated before
        // the oldest partition, or the sweep may not have run): the whole transaction rolled back, so
        // create the months and write it again, batch id and all.
        if (!isMissingPartition(err)) throw err;
        await ensureClickPartitions(db, batch.flatMap((a) => [...a.days.keys()]));
        await write();
      }
      // A new month's partitions get statistics as soon as they hold rows; then the month is done with.
      // The clicks are written by now: a failure here (the database gone meanwhile) must not make the
      // flush look failed and hold the next batches back. The next flush tries again, and autovacuum
      // analyses the partitions in the end anyway.
      const months = [...new Set(batch.flatMap((a) => [...a.days.keys()].map((day) => monthOf(day))))].filter((month) => !sizedMonths.has(month));
      if (months.length > 0) {
        const sized = await analyseFilledPartitions(db, months).catch(() => []);
        for (const month of sized) sizedMonths.add(month);
      }
    },

    async pruneDailyDetail(beforeDay, limit) {
      // In slices by ctid, so that a first run over years of detail never holds one long lock.
      return deleteClickDaysBefore(db, beforeDay, limit);
    },

    async maintainClickPartitions(today, firstKeptDay) {
      // Months ahead are made even when dropping fails (a drop that keeps failing must not leave
      // flushes without partitions); the failure is still reported.
      let dropped: string[] = [];
      let failure: Error | null = null;
      try {
        if (firstKeptDay !== null) dropped = await dropClickPartitionsBefore(db, firstKeptDay);
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
      }
      const created = await ensureClickPartitions(db, Array.from({ length: MONTHS_AHEAD + 1 }, (_, i) => monthOf(today, i)));
      if (failure !== null) throw failure;
      return { created, dropped };
    },

    async pruneClickBatches(before) {
      const { rows } = await db.query<{ id: string }>('DELETE FROM click_batches WHERE applied_at < $1 RETURNING id', [before]);
      return rows.length;
    },

    async markExpired(now, limit) {
      const { rows } = await db.query<{ id: number }>(
        // The condition again outside the subquery: a row a PATCH changed meanwhile is re-checked as
        // it now is (READ COMMITTED re-reads the updated row, not the subquery's copy of it), so an
        // expiry just moved ahead is not marked expired.
        `UPDATE urls SET is_expired = true WHERE id IN (
           SELECT id FROM urls WHERE is_expired = false AND expiry_date IS NOT NULL AND expiry_date <= $1 LIMIT $2
         ) AND is_expired = false AND expiry_date <= $1 RETURNING id`,
        [now, limit],
      );
      return rows.length;
    },

    async ping() {
      await db.query('SELECT 1');
    },
  };
}

interface ApiKeyRow {
  id: number;
  key_prefix: string;
  name: string | null;
  is_admin: boolean;
  created_at: Date;
  revoked_at: Date | null;
}

const toApiKey = (row: ApiKeyRow): ApiKeyRecord => ({
  id: Number(row.id),
  keyPrefix: row.key_prefix,
  name: row.name,
  isAdmin: row.is_admin,
  createdAt: new Date(row.created_at),
  revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
});

const KEY_COLUMNS = 'id, key_prefix, name, is_admin, created_at, revoked_at';

export function createPgApiKeyStore(db: SqlRunner): ApiKeyStore {
  return {
    async findByHash(hash) {
      const { rows } = await db.query<ApiKeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE key_hash = $1`, [hash]);
      return rows[0] ? toApiKey(rows[0]) : null;
    },
    async insert(key) {
      const { rows } = await db.query<ApiKeyRow>(
        `INSERT INTO api_keys (key_hash, key_prefix, name, is_admin) VALUES ($1, $2, $3, $4) RETURNING ${KEY_COLUMNS}`,
        [key.hash, key.keyPrefix, key.name, key.isAdmin],
      );
      return toApiKey(rows[0] as ApiKeyRow);
    },
    async ensure(key) {
      await db.query(
        `INSERT INTO api_keys (key_hash, key_prefix, name, is_admin) VALUES ($1, $2, $3, $4) ON CONFLICT (key_hash) DO NOTHING`,
        [key.hash, key.keyPrefix, key.name, key.isAdmin],
      );
      const found = await this.findByHash(key.hash);
      if (!found) throw new Error('api key vanished after insert');
      return found;
    },
    async hasAdminKey() {
      const { rows } = await db.query<{ found: boolean }>('SELECT EXISTS (SELECT 1 FROM api_keys WHERE is_admin AND revoked_at IS NULL) AS found');
      return rows[0]?.found === true;
    },
    async findById(id) {
      const { rows } = await db.query<ApiKeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = $1`, [id]);
      return rows[0] ? toApiKey(rows[0]) : null;
    },
    async list() {
      const { rows } = await db.query<ApiKeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY id`, []);
      return rows.map(toApiKey);
    },
    async revoke(id) {
      const { rows } = await db.query<ApiKeyRow>(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${KEY_COLUMNS}`, [id]);
      return rows[0] ? toApiKey(rows[0]) : null;
    },
  };
}
