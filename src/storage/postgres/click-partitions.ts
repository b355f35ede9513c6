// The partitions of the per-day click tables (migrations 011–013, docs/scaling.md "Partitioned click
// data"): one per UTC month, created ahead by the service and dropped by the retention. Works on
// PostgreSQL and PGlite alike.
import type { SqlRunner, TransactionalRunner } from '../../core/sql.ts';

export const CLICK_TABLES = ['url_daily_clicks', 'url_daily_values'] as const;
export type ClickTable = (typeof CLICK_TABLES)[number];

/** Months created ahead of the current one: a sweep that fails for weeks still leaves flushes a place. */
export const MONTHS_AHEAD = 2;

// Replicas creating the same month at once take turns (arbitrary, fixed: "curt click partitions").
const CREATE_LOCK_ID = 727_274_013;

export interface ClickPartition {
  parent: ClickTable;
  name: string;
  /** First day held (YYYY-MM-DD), or null for MINVALUE (the legacy partition: every day before `to`). */
  from: string | null;
  /** First day no longer held, or null for MAXVALUE. */
  to: string | null;
  /** A DETACH ... CONCURRENTLY that was interrupted: it must be finished before anything else. */
  detachPending: boolean;
}

/** A year and a month as the first 7 characters of a day: all monthOf reads of it. */
const YEAR_MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** The first day of the UTC month of a day (YYYY-MM-DD), `months` months on. */
export function monthOf(day: string, months = 0): string {
  // Every flush asks this of every day it writes: no Date for the month a day is in. Anything else
  // goes through Date, which refuses what is no month (the month is written into DDL).
  const month = day.slice(0, 7);
  if (months === 0 && YEAR_MONTH.test(month)) return `${month}-01`;
  const date = new Date(`${month}-01T00:00:00Z`);
  date.setUTCMonth(date.getUTCMonth() + months);
  return date.toISOString().slice(0, 10);
}

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** The monthly partition of `parent` holding the month that begins on `month` (YYYY-MM-01). */
const partitionOf = (parent: ClickTable, month: string): string => `${parent}_${month.slice(0, 4)}_${month.slice(5, 7)}`;

/** A bound as pg_get_expr prints it: '2026-12-01' or MINVALUE / MAXVALUE. */
function boundDay(text: string): string | null {
  const day = /'(\d{4}-\d{2}-\d{2})'/.exec(text);
  return day ? (day[1] as string) : null;
}

export async function listClickPartitions(db: SqlRunner): Promise<ClickPartition[]> {
  // pg_get_expr without the relation (0): a bound holds only constants, and naming the partition
  // would take a lock on it, waiting behind whatever holds it exclusively.
  const { rows } = await db.query<{ parent: ClickTable; name: string; bound: string; pending: boolean }>(
    `SELECT p.relname AS parent, c.relname AS name, pg_get_expr(c.relpartbound, 0) AS bound, i.inhdetachpending AS pending
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
      WHERE i.inhparent = ANY (ARRAY['url_daily_clicks'::regclass, 'url_daily_values'::regclass])
      ORDER BY 1, 2`,
  );
  return rows.map((r) => {
    const range = /FROM \((.+)\) TO \((.+)\)/.exec(r.bound);
    return { parent: r.parent, name: r.name, from: boundDay(range?.[1] ?? ''), to: boundDay(range?.[2] ?? ''), detachPending: r.pending };
  });
}

const holds = (p: ClickPartition, day: string): boolean => !p.detachPending && (p.from === null || p.from <= day) && (p.to === null || day < p.to);

/**
 * Creates, for both tables, the monthly partition of each month of `days` that no partition holds.
 * Returns the names created. Each is made apart and then attached: CREATE TABLE ... PARTITION OF
 * would take ACCESS EXCLUSIVE on the parent, ATTACH of an empty table only SHARE UPDATE EXCLUSIVE,
 * which flushes and reads do not wait for. An advisory lock and a second look inside it let replicas
 * doing the same at once all succeed.
 */
export async function ensureClickPartitions(db: TransactionalRunner, days: Iterable<string>): Promise<string[]> {
  const months = [...new Set([...days].map((d) => monthOf(d)))].sort();
  const missing = (partitions: ClickPartition[]): { parent: ClickTable; month: string }[] =>
    CLICK_TABLES.flatMap((parent) => months.filter((m) => !partitions.some((p) => p.parent === parent && holds(p, m))).map((month) => ({ parent, month })));
  if (missing(await listClickPartitions(db)).length === 0) return [];
  const create = (): Promise<string[]> =>
    db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [CREATE_LOCK_ID]);
      const created: string[] = [];
      for (const { parent, month } of missing(await listClickPartitions(tx))) {
        const name = partitionOf(parent, month);
        // LIKE copies the CHECK constraints ATTACH requires; ATTACH adds the parent's indexes.
        await tx.query(`CREATE TABLE ${quote(name)} (LIKE ${quote(parent)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
        await tx.query(`ALTER TABLE ${quote(parent)} ATTACH PARTITION ${quote(name)} FOR VALUES FROM ('${month}') TO ('${monthOf(month, 1)}')`);
        created.push(name);
      }
      return created;
    });
  // Another replica's DETACH ... FINALIZE holds the parent while it waits for every older snapshot,
  // this transaction's among them, and the ATTACH waits for the parent: PostgreSQL breaks the cycle
  // by aborting one of the two (40P01). This transaction, rolled back whole, is then run again: it
  // looks again under the lock, so it makes only what is still missing.
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (err) {
      if (!isDeadlock(err) || attempt >= CREATE_ATTEMPTS) throw err;
      await pause(attempt);
    }
  }
}

/**
 * ANALYZE of the monthly partitions of `months` that hold rows but have no size in their statistics
 * (pg_class.relpages 0: never analysed or vacuumed, or only while empty). The planner then takes them
 * for nearly empty and rates the lookup of a flush's value rows (url_id, day, dimension) by the day
 * index as cheap as by the primary key, and takes the day index: each of a batch's 25,000 lookups
 * walked every row of that day. After a first flush of 409 links (2,045 value rows) into a new
 * month, the next flush of 5,000 took 9.0 s (8.4 s with the partition analysed while empty), past
 * the statement timeout, on every retry until autovacuum analysed it, while the buffered clicks grew
 * past CLICK_BUFFER_MAX; analysed after the first flush, 0.44 s (docs/operations.md, "Click data
 * partitions"). A flush calls it until its month's partitions have statistics. SKIP_LOCKED: a
 * partition autovacuum holds is left to it, and the flush does not wait. Returns the months whose
 * partitions all had statistics already (or that have no monthly partitions).
 */
export async function analyseFilledPartitions(db: SqlRunner, months: readonly string[]): Promise<string[]> {
  const names = months.flatMap((month) => CLICK_TABLES.map((parent) => partitionOf(parent, month)));
  const { rows } = await db.query<{ name: string; sized: boolean; filled: boolean }>(
    `SELECT n AS name, c.relpages > 0 AS sized, pg_relation_size(c.oid) > 0 AS filled
       FROM unnest($1::text[]) AS n JOIN pg_class c ON c.oid = to_regclass(quote_ident(n))`,
    [names],
  );
  const due = rows.filter((r) => !r.sized && r.filled).map((r) => r.name);
  if (due.length > 0) await db.query(`ANALYZE (SKIP_LOCKED) ${due.map(quote).join(', ')}`);
  // A month is done once a look finds every partition it has sized. One analysed just now (or skipped
  // as locked) is looked at again by the next flush. A month without partitions of its own (its days
  // in the legacy partition) has nothing to analyse.
  const unsized = new Set(rows.filter((r) => !r.sized).map((r) => r.name));
  return months.filter((month) => CLICK_TABLES.every((parent) => !unsized.has(partitionOf(parent, month))));
}

/**
 * Detaches and drops every partition whose days all come before `firstKeptDay`, the legacy one
 * included once its last day has passed. DETACH ... CONCURRENTLY takes SHARE UPDATE EXCLUSIVE on
 * the parent, so flushes and reads never wait for it (a plain DETACH or DROP TABLE takes ACCESS
 * EXCLUSIVE); it cannot run in a transaction, and one that is interrupted (a statement timeout, a
 * lost connection) leaves the partition "pending", finished here by FINALIZE on the next sweep.
 * Returns the names dropped.
 *
 * Replicas sweeping at once get in each other's way in two ways, and neither fails the sweep: a
 * parent has at most one partition pending at a time (a DETACH while another replica's is pending
 * fails, 55000), and a FINALIZE holds the parent while it waits for every older snapshot, among
 * them those of the sessions queued for the parent (another replica's DETACH or FINALIZE: PostgreSQL
 * aborts one of them, 40P01). A partition whose detach lost that way, still attached, is tried again
 * in a later round, once the other replica's detach is through; pending partitions go first, since
 * no other partition of their parent can be detached before they are finished.
 */
export async function dropClickPartitionsBefore(db: SqlRunner, firstKeptDay: string): Promise<string[]> {
  const dropped: string[] = [];
  // A partition detached by a sweep that then failed to drop it (a lost connection) is a table of
  // the partitions' names that belongs to no parent any more: nothing else makes one (a partition
  // is created and attached in one transaction, 013 renames and attaches in one).
  const { rows: strays } = await db.query<{ name: string }>(
    `SELECT relname AS name FROM pg_class
      WHERE relkind = 'r' AND NOT relispartition AND relnamespace = current_schema()::regnamespace
        AND relname ~ '^url_daily_(clicks|values)_(legacy|\\d{4}_\\d{2})$'`,
  );
  for (const { name } of strays) {
    await db.query(`DROP TABLE IF EXISTS ${quote(name)}`);
    dropped.push(name);
  }
  for (let round = 1; ; round++) {
    const due = (await listClickPartitions(db)).filter((p) => p.detachPending || (p.to !== null && p.to <= firstKeptDay));
    due.sort((a, b) => Number(b.detachPending) - Number(a.detachPending));
    let contended = false;
    for (const p of due) {
      try {
        await db.query(`ALTER TABLE ${quote(p.parent)} DETACH PARTITION ${quote(p.name)} ${p.detachPending ? 'FINALIZE' : 'CONCURRENTLY'}`);
      } catch (err) {
        // Another replica's sweep got there first. Detached already: dropped below, by whichever gets
        // there (IF EXISTS). Pending: that replica is detaching it (or was interrupted, and the next
        // sweep finishes it). Still attached and not pending: lost to another replica's detach of this
        // parent (tried again in the next round), or a real failure.
        const now = (await listClickPartitions(db)).find((q) => q.name === p.name);
        if (now !== undefined && !now.detachPending) {
          if (!isContention(err) || round >= DETACH_ROUNDS) throw err;
          contended = true;
          continue;
        }
        if (now !== undefined) continue;
      }
      await db.query(`DROP TABLE IF EXISTS ${quote(p.name)}`);
      dropped.push(p.name);
    }
    if (!contended) return dropped;
    await pause(round);
  }
}

/** Rounds of a sweep whose detaches lose to other replicas' (about 10 s of pauses in all). */
const DETACH_ROUNDS = 10;
/** Runs of the creating transaction when it is the one PostgreSQL aborts in a deadlock. */
const CREATE_ATTEMPTS = 5;

const isDeadlock = (err: unknown): boolean => (err as { code?: unknown }).code === '40P01';

/**
 * A DETACH that failed because of another session's partition DDL on the same parent, not because
 * the database is unwell: a deadlock (40P01), a lock_timeout (55P03), or another partition of the
 * parent pending (55000, "already pending detach"). A statement timeout is none of them.
 */
function isContention(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return isDeadlock(err) || code === '55P03' || (code === '55000' && /already pending detach/.test((err as Error).message));
}

/** Before another try: 100 ms doubling to 2 s, jittered so that replicas do not meet again in step. */
const pause = (attempt: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** (attempt - 1), 2000) * (0.5 + Math.random())));

/**
 * Deletes up to `limit` rows of days before `beforeDay` from the partitions that hold such days, one
 * partition at a time: a ctid names a row only within one table (a DELETE ... WHERE ctid IN (...) on
 * the parent would also delete the rows at the same place in every other partition).
 */
export async function deleteClickDaysBefore(db: SqlRunner, beforeDay: string, limit: number): Promise<number> {
  let deleted = 0;
  // url_daily_values first, as before partitioning: a day being deleted may lose its breakdowns
  // before its series, never show breakdowns without a series.
  const partitions = (await listClickPartitions(db)).filter((p) => !p.detachPending && (p.from === null || p.from < beforeDay));
  partitions.sort((a, b) => CLICK_TABLES.indexOf(b.parent) - CLICK_TABLES.indexOf(a.parent));
  for (const p of partitions) {
    const table = quote(p.name);
    const { rows } = await db.query<{ n: number }>(
      `WITH gone AS (DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} WHERE day < $1::date LIMIT $2) RETURNING 1)
       SELECT count(*) AS n FROM gone`,
      [beforeDay, limit - deleted],
    );
    deleted += Number(rows[0]?.n ?? 0);
    if (deleted >= limit) break;
  }
  return deleted;
}

/** Whether an error is PostgreSQL finding no partition for a row (SQLSTATE 23514, like a CHECK). */
export function isMissingPartition(err: unknown): boolean {
  return (err as { code?: unknown }).code === '23514' && /^no partition of relation/.test((err as Error).message);
}
