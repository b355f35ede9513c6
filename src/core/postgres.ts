// PostgreSQL connections (node-postgres). Timeouts are short on purpose: a request must fail fast
// with 503 when the database is down or hung, never queue behind it.
import pg from 'pg';
import type { DependencyBreaker } from './dependency-breaker.ts';
import { ServerBusy } from './errors.ts';
import type { Logger } from './logger.ts';
import { transactionSetup, type TransactionalRunner } from './sql.ts';
import { isConnectionRefused, isPostgresUnavailable, markConnectionRefused } from './unavailable.ts';

export { isPostgresUnavailable };

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PostgresOptions {
  url: string;
  log: Logger;
  max?: number;
  /** How long to wait for a connection (a new one, or a free one from a full pool). */
  connectTimeoutMs?: number;
  /** Server-side limit of one statement; the client gives up a little later (a hung server never answers). */
  statementTimeoutMs?: number;
  applicationName?: string;
}

/**
 * Timeouts for the queries a request waits on (lookups, inserts, updates, deletes, listings): all of
 * them are single-row or indexed and take milliseconds, so a query that has not answered by then is a
 * database that is down or hung, and the request must answer 503 within a second instead of waiting
 * for it. A link's analytics are the exception: they add up its days, and have a budget of their own
 * (ANALYTICS_STATEMENT_TIMEOUT_MS). Background work (click flushes, the expiry sweep) keeps the
 * longer defaults.
 */
export const REQUEST_PATH_TIMEOUTS = { connectTimeoutMs: 500, statementTimeoutMs: 600 } as const;

/**
 * A statement of a link's analytics read may take this long (the client waits a quarter more). It
 * sums every day of the range: a popular link asked for years of detail (ANALYTICS_RETENTION_DAYS=0,
 * the web app's "All", 3,660 days) reads a million rows or more, which takes seconds, not the request
 * path's 600 ms; past that it failed every time as an outage and opened the breaker for everyone.
 * Past this budget the read answers 503 `server_busy` (ask for fewer days), which no breaker counts.
 */
export const ANALYTICS_STATEMENT_TIMEOUT_MS = 3000;

/**
 * How long node-postgres waits for a statement's answer: a little longer than the server's own limit,
 * which cancels a slow statement first (the connection stays usable). This one is for a server that
 * answers nothing at all (hung, or the network is gone).
 */
export function clientTimeoutMs(statementTimeoutMs: number): number {
  return Math.ceil(statementTimeoutMs * 1.25);
}

/**
 * Whether PostgreSQL cancelled a statement for running past its statement_timeout: it answered, so
 * the database is up. SQLSTATE 57014 alone also means a cancel by an operator (pg_cancel_backend),
 * which stays an outage (unavailable.ts, class 57).
 */
export function isStatementTimeout(err: unknown): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === '57014' && err.message === 'canceling statement due to statement timeout';
}

/** The connect timeout of a pool given none (background work). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 2000;

// bigint columns (ids, click counts) come back as numbers: they stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

/**
 * node-postgres's client, but an error the server sends before the connection is ready is marked as
 * a refused connection (unavailable.ts): node-postgres hands it over as it would a statement's error.
 */
class RefusalMarkingClient extends pg.Client {
  override connect(): Promise<pg.Client>;
  override connect(callback: (err: Error) => void): void;
  override connect(callback?: (err: Error) => void): Promise<pg.Client> | void {
    if (callback === undefined) {
      return super.connect().catch((err: unknown) => {
        markIfRefused(err);
        throw err;
      });
    }
    // pg-pool's way: the callback gets the error, or null once the connection is ready.
    super.connect((err: Error) => {
      markIfRefused(err);
      callback(err);
    });
  }
}

// What node-postgres throws while connecting when our own code is wrong: never a refused connection.
const PROGRAMMING_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError];

/**
 * Whatever kept the connection from opening is a refused connection: the server's refusal (a
 * DatabaseError), a socket that failed, or the client's own (the server asks for a password that
 * DATABASE_URL does not give, TLS the server does not offer, a certificate it cannot verify). Those
 * last come as plain errors with no SQLSTATE, and were 500s.
 */
function markIfRefused(err: unknown): void {
  if (err instanceof Error && !PROGRAMMING_ERRORS.some((type) => err instanceof type)) markConnectionRefused(err);
}

export function createPgPool(options: PostgresOptions): Pool {
  const pool = new pg.Pool({
    Client: RefusalMarkingClient,
    connectionString: options.url,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs ?? 5000,
    query_timeout: clientTimeoutMs(options.statementTimeoutMs ?? 5000),
    keepAlive: true,
    application_name: options.applicationName ?? 'curt',
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', (err) => options.log.warn({ dependency: 'postgres', err: err.message }, 'idle postgres client error'));
  return pool;
}

// pg-pool's error when every client was checked out for the whole wait: the database answers, we
// are only asking more of it at once than the pool holds. (A connection that cannot be opened fails
// differently: "Connection terminated due to connection timeout".)
const POOL_WAIT_TIMEOUT = 'timeout exceeded when trying to connect';

/**
 * A wait for a free client that ran out is back-pressure, not an outage: that request answers 503
 * `server_busy`, and the circuit breaker does not count it (a healthy database under load must not be
 * cut off for everyone). A database that is really hung fails the queries holding the clients, and
 * those open the breaker.
 */
function poolWait(err: unknown): never {
  if (err instanceof Error && err.constructor === Error && err.message === POOL_WAIT_TIMEOUT) {
    throw new ServerBusy('Every database connection is busy; try again shortly.', { cause: err });
  }
  throw err;
}

// Refusals that waiting will not cure: the configuration names a database, role or password the
// server does not know, or a role without CONNECT on the database. A server starting up, shutting
// down or out of connections (57P03, 57P01, 53300) refuses too, but only for a while.
const MISCONFIGURED = new Set(['3D000', '28000', '28P01', '42501']);

/**
 * When a connection could not be opened because of what DATABASE_URL says (no such database, role or
 * password refused, no CONNECT privilege; no password where the server asks for one, TLS the server
 * does not offer, a certificate not trusted): the reason as one line, for a process to stop on at
 * start-up. Null for anything else, a server that is down or refusing for a while included.
 * Follows `cause` (the breaker wraps what it counts in DependencyDown).
 */
export function configurationRefusal(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (!isConnectionRefused(e)) continue;
    if (!(e instanceof pg.DatabaseError)) return clientRefusal(e);
    const { code, detail } = e;
    if (code === undefined || !MISCONFIGURED.has(code)) return null;
    return detail === undefined ? e.message : `${e.message}: ${detail}`;
  }
  return null;
}

// node-postgres's own messages when the server wants a password (SCRAM) and the URL has none.
const NO_PASSWORD = /^SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a (non-empty )?string$/;
// TLS that cannot work as configured, by its error code (OpenSSL's verify codes, Node's name check,
// a handshake that fails on the protocol), with what to change. A handshake that timed out is not here.
const TLS_MISCONFIGURED: readonly [RegExp, string][] = [
  // No chain to a CA this client trusts: a private CA, a self-signed certificate.
  [/SELF_SIGNED|UNABLE_TO_(VERIFY|GET)|INVALID_CA|UNTRUSTED|CERT_REJECTED|CERT_SIGNATURE_FAILURE/, '; sslrootcert names the CA to trust'],
  [/ALTNAME|HOSTNAME_MISMATCH/, "; the host in DATABASE_URL must be a name the server's certificate holds"],
  [/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/, "; the server's certificate is out of date"],
  [/CERT|^ERR_SSL_/, ''],
];

/** The client's side of configurationRefusal: what in DATABASE_URL (or PGSSLMODE) does not fit the server. */
function clientRefusal(err: Error): string | null {
  if (NO_PASSWORD.test(err.message)) return `the server asks for a password and none is given (${err.message})`;
  if (err.message.startsWith('SASL: ')) return err.message;
  if (err.message === 'The server does not support SSL connections') return `${err.message}, and sslmode asks for TLS`;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return null;
  const known = TLS_MISCONFIGURED.find(([pattern]) => pattern.test(code));
  return known === undefined ? null : `TLS: ${err.message} (${code})${known[1]}`;
}

/** A client of the pool for work over several statements, with its release. */
export interface CheckedOut {
  client: PoolClient;
  /** Back to the pool; with an error (or after the connection was lost) the connection is destroyed. */
  release: (err?: Error) => void;
}

/**
 * Takes a client for work over several statements (a transaction, migrations). node-postgres emits
 * 'error' on a client whose connection ends, and the pool listens only on idle clients: on a
 * checked-out one, unheard, that is an uncaught exception and the process dies. The statement in
 * flight fails on its own; the error is kept so that the connection is destroyed, not pooled.
 */
export async function checkOut(pool: Pool): Promise<CheckedOut> {
  const client = await pool.connect().catch(poolWait);
  let lost: Error | undefined;
  const onError = (err: Error): void => {
    lost = err;
  };
  client.on('error', onError);
  return {
    client,
    release: (err) => {
      const broken = err ?? lost;
      // A connection on its way out may still report its end: keep listening to it.
      if (broken === undefined) client.removeListener('error', onError);
      client.release(broken);
    },
  };
}

/** node-postgres's query config; `query_timeout` (per query, in place of the client's) is missing from its types. */
type TimedQuery = pg.QueryConfig & { query_timeout?: number };

/** node-postgres Pool as the stores' runner: plain queries on the pool, transactions on one client. */
export function pgRunner(pool: Pool): TransactionalRunner {
  return {
    query: async <R>(text: string, params?: unknown[]) => {
      const result = await pool.query(text, params).catch(poolWait);
      return { rows: result.rows as R[] };
    },
    async transaction(work, options) {
      const setup = transactionSetup(options);
      // With a statement budget of its own, the client waits for its statements as much longer.
      const queryTimeout = options?.statementTimeoutMs === undefined ? undefined : clientTimeoutMs(options.statementTimeoutMs);
      const { client, release } = await checkOut(pool);
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        if (setup !== null) await client.query(setup);
        const result = await work({
          query: async <R>(text: string, params?: unknown[]) => {
            const query: TimedQuery = queryTimeout === undefined ? { text, values: params } : { text, values: params, query_timeout: queryTimeout };
            return { rows: (await client.query(query)).rows as R[] };
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // A lost or hung connection is destroyed at once (a ROLLBACK on it would wait for another
        // timeout; the server rolls back when the connection goes). Otherwise roll back, and if that
        // fails too the connection is broken: destroyed instead of returned to the pool.
        if (isPostgresUnavailable(err)) broken = err as Error;
        else await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken = rollbackErr));
        throw err;
      } finally {
        release(broken);
      }
    },
  };
}

/**
 * A runner whose every query and transaction goes through the PostgreSQL circuit breaker: while the
 * database is down or hung, calls fail at once with 503 `postgres_unavailable` + Retry-After.
 */
export function guardedRunner(runner: TransactionalRunner, breaker: DependencyBreaker): TransactionalRunner {
  return {
    query: (text, params) => breaker.run(() => runner.query(text, params)),
    transaction: (work, options) => breaker.run(() => runner.transaction(work, options)),
  };
}
