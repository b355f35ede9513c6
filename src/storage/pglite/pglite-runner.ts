// PGlite — PostgreSQL compiled to WebAssembly, running inside this process — as the stores' runner:
// the PostgreSQL adapters (pg-link-store, pg-key-store) and the migrations run on it unchanged, same
// SQL, same schema. One process owns the data folder; PGlite runs one statement at a time.
import { mkdir } from 'node:fs/promises';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { transactionSetup, type SqlRunner, type TransactionalRunner, type TransactionOptions } from '../../core/sql.ts';

export type { PGlite };

/**
 * The contrib extensions the migrations create: PGlite ships them apart and loads only those given at
 * start, so `CREATE EXTENSION` finds them (pg_trgm: the text search of GET /urls, migration 010).
 */
const EXTENSIONS = { pg_trgm };

const TIMESTAMPTZ_OID = 1184;
const PG_TIMESTAMPTZ = /^(\d{4})-(\d\d)-(\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d)(?::?(\d\d))?$/;

/**
 * A timestamptz as PostgreSQL writes it (`0050-06-01 00:00:00+00`), read as the ISO 8601 string it
 * stands for. PGlite hands the text to `new Date`, which reads that form of the years 0001-0099 as
 * 1901-2049 (or not at all), while the API stores any year from 0001 (src/core/storable-dates.ts):
 * an expiry of 0050 read back as 1950, or as an invalid date that failed every answer showing the
 * link. Anything else (infinity, BC) goes to `new Date` as before.
 */
export function parseTimestamptz(text: string): Date {
  const m = PG_TIMESTAMPTZ.exec(text);
  if (m === null) return new Date(text);
  const [, year, month, day, time, hours, minutes = '00'] = m;
  return new Date(`${year}-${month}-${day}T${time}${hours}:${minutes}`);
}

const PARSERS = { [TIMESTAMPTZ_OID]: parseTimestamptz };

/** Opens the database kept in `dir`, creating it on first use; `null` keeps it in memory (tests). */
export async function openPglite(dir: string | null): Promise<PGlite> {
  if (dir === null) return PGlite.create({ extensions: EXTENSIONS, parsers: PARSERS });
  await mkdir(dir, { recursive: true });
  return PGlite.create(dir, { extensions: EXTENSIONS, parsers: PARSERS });
}

type Session = Pick<PGlite | Transaction, 'query' | 'exec'>;

/**
 * Like node-postgres: a query without parameters goes through the simple protocol, so a migration file
 * of several statements runs as one call; with parameters, through the extended protocol.
 */
export async function runStatement<R>(session: Session, text: string, params?: unknown[]): Promise<{ rows: R[] }> {
  if (params === undefined || params.length === 0) {
    const results = await session.exec(text);
    return { rows: (results.at(-1)?.rows ?? []) as R[] };
  }
  const result = await session.query<R>(text, params);
  return { rows: result.rows };
}

export function pgliteRunner(db: PGlite): TransactionalRunner {
  return {
    query: <R>(text: string, params?: unknown[]) => runStatement<R>(db, text, params),
    // PGlite holds its one connection for the whole callback: other queries wait, none interleaves.
    transaction: <T>(work: (tx: SqlRunner) => Promise<T>, options?: TransactionOptions) => {
      const setup = transactionSetup(options);
      return db.transaction(async (tx) => {
        if (setup !== null) await tx.exec(setup);
        return work({ query: <R>(text: string, params?: unknown[]) => runStatement<R>(tx, text, params) });
      });
    },
  };
}
