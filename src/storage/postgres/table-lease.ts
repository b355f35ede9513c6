// A lease kept as a row (`key`, `token`, `expires_at`) of a table of its own: the KGS's replenish
// lock (migrations/002_key_pool.sql) and an API key's import (016_import_leases.sql). A row, not
// an advisory lock: the holder's work runs over pooled connections, and a holder that dies frees it
// when the lease lapses. The database's clock decides expiry, as Redis's does for PX: callers'
// clocks may disagree.
import { randomUUID } from 'node:crypto';
import type { SqlRunner } from '../../core/sql.ts';
import type { ImportLease } from '../link-store.ts';

/** Where a kind of lease lives: fixed names from this codebase, never input. */
export interface LeaseTable {
  table: 'key_pool_locks' | 'import_leases';
  key: 'name' | 'owner_key_id';
}

/** The lease on `key` for `ttlMs`, or null while another holder has it and it has not lapsed. */
export async function tryTableLease(db: SqlRunner, { table, key }: LeaseTable, value: string | number, ttlMs: number): Promise<ImportLease | null> {
  const token = randomUUID();
  const { rows } = await db.query(
    `INSERT INTO ${table} (${key}, token, expires_at) VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
     ON CONFLICT (${key}) DO UPDATE SET token = EXCLUDED.token, expires_at = EXCLUDED.expires_at
      WHERE ${table}.expires_at <= clock_timestamp()
     RETURNING token`,
    [value, token, ttlMs],
  );
  if (rows.length === 0) return null;
  return {
    async renew() {
      const renewed = await db.query(`UPDATE ${table} SET expires_at = clock_timestamp() + $3 * interval '1 millisecond' WHERE ${key} = $1 AND token = $2 RETURNING token`, [value, token, ttlMs]);
      return renewed.rows.length > 0;
    },
    async release() {
      // Only this holder's: it may have lapsed and been taken by another meanwhile.
      await db.query(`DELETE FROM ${table} WHERE ${key} = $1 AND token = $2`, [value, token]);
    },
  };
}
