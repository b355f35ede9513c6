// PostgreSQL connections (node-postgres). Timeouts are short on purpose: a request must fail fast
// with 503 when the database is down or hung, never queue behind it.
import pg from 'pg';
import type { Logger } from './logger.ts';
import type { TransactionalRunner } from './sql.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PostgresOptions {
  url: string;
  log: Logger;
  max?: number;
  statementTimeoutMs?: number;
  applicationName?: string;
}

// bigint columns (ids, click counts) come back as numbers: they stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export function createPgPool(options: PostgresOptions): Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 2000,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs ?? 5000,
    query_timeout: (options.statementTimeoutMs ?? 5000) + 1000,
    application_name: options.applicationName ?? 'curt',
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', (err) => options.log.warn({ dependency: 'postgres', err: err.message }, 'idle postgres client error'));
  return pool;
}

/** node-postgres Pool as the stores' runner: plain queries on the pool, transactions on one client. */
export function pgRunner(pool: Pool): TransactionalRunner {
  return {
    query: async <R>(text: string, params?: unknown[]) => {
      const result = await pool.query(text, params);
      return { rows: result.rows as R[] };
    },
    async transaction(work) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await work({
          query: async <R>(text: string, params?: unknown[]) => ({ rows: (await client.query(text, params)).rows as R[] }),
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // If ROLLBACK fails too, the connection is broken: it is destroyed instead of returned to the pool.
        await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken = rollbackErr));
        throw err;
      } finally {
        client.release(broken);
      }
    },
  };
}
