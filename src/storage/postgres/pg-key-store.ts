// KeyStore in SQL (table key_pool, migrations/002_key_pool.sql): the key pool of `curt serve` when
// there is no Redis, on PGlite or on PostgreSQL.
//
// Why the database and not memory plus a file: a code must never be handed out twice, even after a
// SIGKILL, so every hand-out has to be durable before the code is used. A file would have to be
// rewritten (or journalled and compacted) on every take; the database already makes each statement
// atomic and durable, keeps the pool beside the links it guards (one folder to back up), and, being
// plain SQL, also serves several processes sharing one PostgreSQL. Each statement is atomic on its
// own, as each Redis Lua script is; take, offer and releaseDue may run several (each one atomic),
// see take for why.
import type { SqlRunner } from '../../core/sql.ts';
import { tryTableLease } from './table-lease.ts';
import type { KeyStore, PoolSizes } from '../key-store.ts';

/** Codes per statement: bounds one statement's work, as the Redis adapter bounds one script's. */
const CHUNK = 1000;
const RELEASE_BATCH = 1000;
/** Take statements in a row that get nothing while the pool is not empty before take settles for fewer. */
const IDLE_TAKES = 3;

// Hands out up to $1 available codes, oldest first. FOR UPDATE without SKIP LOCKED on purpose: with
// SKIP LOCKED two concurrent takers split the last codes between them (asked 40 and 40 with 40 left,
// they got 23 and 17), and a taker skipped codes that another statement had locked but then did not
// take. Waiting instead makes concurrent takers queue on the oldest available code, like SPOP calls
// on Redis: one gets the codes, the next gets what it left. Every taker locks in seq order, so they
// cannot deadlock. Under READ COMMITTED a waiter re-checks each row it waited for against its latest
// version and passes over the ones the other taker marked used; the re-check of is_used in the
// UPDATE is what makes a code change hands exactly once.
const TAKE = `WITH picked AS (
    SELECT code FROM key_pool WHERE NOT is_used ORDER BY seq LIMIT $1 FOR UPDATE
  )
  UPDATE key_pool AS k SET is_used = true FROM picked
   WHERE k.code = picked.code AND NOT k.is_used
  RETURNING k.code`;

const count = (rows: { n: number }[]): number => Number(rows[0]?.n ?? 0);

export function createPgKeyStore(db: SqlRunner): KeyStore {
  return {
    async take(n) {
      // One statement sees the pool as it was when it started: codes offered or given back while it
      // ran, or while it waited for another taker, are not in it, so it can come back short while the
      // pool is not empty. So take again, with a fresh statement, until it has n or the pool is empty.
      // Each statement moves its codes atomically and durably; a failure after some were moved hands
      // those out rather than losing them (never twice either way).
      const codes: string[] = [];
      for (let idle = 0; ; ) {
        let got: number;
        let remaining: number;
        try {
          const { rows } = await db.query<{ code: string }>(TAKE, [n - codes.length]);
          for (const row of rows) codes.push(row.code);
          got = rows.length;
          remaining = count((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM key_pool WHERE NOT is_used')).rows);
        } catch (err) {
          if (codes.length === 0) throw err;
          return { codes, remaining: 0 };
        }
        if (codes.length >= n || remaining === 0) return { codes, remaining };
        // Nothing taken although codes remain: other takers got there first. Bounded, not a spin.
        idle = got === 0 ? idle + 1 : 0;
        if (idle >= IDLE_TAKES) return { codes, remaining };
      }
    },

    async offer(candidates) {
      let added = 0;
      for (let i = 0; i < candidates.length; i += CHUNK) {
        // A code with a row is available or used (cooling down and claimed included): never added twice.
        const { rows } = await db.query<{ n: number }>(
          `WITH added AS (
             INSERT INTO key_pool (code, is_used) SELECT DISTINCT c, false FROM unnest($1::text[]) AS c
             ON CONFLICT (code) DO NOTHING RETURNING 1
           ) SELECT count(*)::int AS n FROM added`,
          [candidates.slice(i, i + CHUNK)],
        );
        added += count(rows);
      }
      return added;
    },

    async giveBack(recycle, release, releaseAtMs) {
      if (recycle.length + release.length === 0) return 0;
      if (releaseAtMs !== null) {
        // Cooling codes stay used, so nothing can hand them out or claim them until released.
        const { rows } = await db.query<{ n: number }>(
          `WITH cooling AS (
             UPDATE key_pool SET release_at = $3, recycle = (code = ANY($1::text[]))
              WHERE code = ANY($1::text[] || $2::text[]) AND is_used AND release_at IS NULL
             RETURNING 1
           ) SELECT count(*)::int AS n FROM cooling`,
          [recycle, release, releaseAtMs],
        );
        return count(rows);
      }
      const { rows } = await db.query<{ n: number }>(
        `WITH back AS (
           UPDATE key_pool SET is_used = false WHERE code = ANY($1::text[]) AND is_used AND release_at IS NULL RETURNING 1
         ), gone AS (
           DELETE FROM key_pool WHERE code = ANY($2::text[]) AND is_used AND release_at IS NULL RETURNING 1
         ) SELECT ((SELECT count(*) FROM back) + (SELECT count(*) FROM gone))::int AS n`,
        [recycle, release],
      );
      return count(rows);
    },

    async claim(code) {
      // Upsert: a new code is inserted as used; an available one becomes used; a used one is refused.
      const { rows } = await db.query(
        `INSERT INTO key_pool (code, is_used) VALUES ($1, true)
         ON CONFLICT (code) DO UPDATE SET is_used = true WHERE NOT key_pool.is_used
         RETURNING code`,
        [code],
      );
      return rows.length === 1;
    },

    async coolingUntil(code) {
      const { rows } = await db.query<{ release_at: string | number }>('SELECT release_at FROM key_pool WHERE code = $1 AND release_at IS NOT NULL', [code]);
      const releaseAt = rows[0]?.release_at;
      return releaseAt === undefined ? null : Number(releaseAt);
    },

    async releaseDue(nowMs) {
      let total = 0;
      for (;;) {
        const { rows } = await db.query<{ n: number }>(
          `WITH due AS (
             SELECT code, recycle FROM key_pool WHERE release_at <= $1 ORDER BY release_at LIMIT $2 FOR UPDATE SKIP LOCKED
           ), back AS (
             UPDATE key_pool AS k SET is_used = false, release_at = NULL, recycle = NULL FROM due
              WHERE k.code = due.code AND due.recycle RETURNING 1
           ), gone AS (
             DELETE FROM key_pool AS k USING due WHERE k.code = due.code AND NOT due.recycle RETURNING 1
           ) SELECT ((SELECT count(*) FROM back) + (SELECT count(*) FROM gone))::int AS n`,
          [nowMs, RELEASE_BATCH],
        );
        const released = count(rows);
        total += released;
        if (released < RELEASE_BATCH) return total;
      }
    },

    async sizes(): Promise<PoolSizes> {
      const { rows } = await db.query<{ available: number; used: number; cooling: number }>(
        `SELECT count(*) FILTER (WHERE NOT is_used)::int AS available,
                count(*) FILTER (WHERE is_used)::int AS used,
                count(*) FILTER (WHERE release_at IS NOT NULL)::int AS cooling
           FROM key_pool`,
      );
      const row = rows[0];
      return { available: Number(row?.available ?? 0), used: Number(row?.used ?? 0), coolingDown: Number(row?.cooling ?? 0) };
    },

    async tryLock(name, ttlMs) {
      const lease = await tryTableLease(db, { table: 'key_pool_locks', key: 'name' }, name, ttlMs);
      return lease === null ? null : () => lease.release();
    },

    async ping() {
      await db.query('SELECT 1');
    },
  };
}
