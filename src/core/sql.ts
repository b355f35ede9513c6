// What the stores and migrations need from a database: parameterised queries, and transactions on
// one connection. node-postgres (core/postgres.ts) and PGlite both provide it.
export interface SqlRunner {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/** How a transaction runs; none given: read committed, read-write, the connection's statement timeout. */
export interface TransactionOptions {
  /** PostgreSQL refuses any write in it. */
  readOnly?: boolean;
  /** Repeatable read: every statement sees the one snapshot the first one took, whatever commits meanwhile. */
  isolation?: 'repeatable read';
  /**
   * Each statement's server-side limit in it, in place of the connection's (node-postgres's client
   * gives up a little later, as it does on the connection's own). PGlite takes the setting but has no
   * timer to enforce it: a statement there runs to its end on its own thread.
   */
  statementTimeoutMs?: number;
}

export interface TransactionalRunner extends SqlRunner {
  transaction<T>(work: (tx: SqlRunner) => Promise<T>, options?: TransactionOptions): Promise<T>;
}

/**
 * What a runner sends right after BEGIN for these options, as one text for the simple protocol (the
 * modes first: SET TRANSACTION must precede every query of the transaction); null for none. Every
 * runner sends the same, so both storage modes open such a transaction alike.
 */
export function transactionSetup(options: TransactionOptions = {}): string | null {
  const statements: string[] = [];
  const modes = [options.isolation === 'repeatable read' ? 'ISOLATION LEVEL REPEATABLE READ' : null, options.readOnly === true ? 'READ ONLY' : null].filter((m) => m !== null);
  if (modes.length > 0) statements.push(`SET TRANSACTION ${modes.join(', ')}`);
  const ms = options.statementTimeoutMs;
  if (ms !== undefined) {
    // Written into the text (SET takes no parameters): only a whole, positive number gets there.
    if (!Number.isSafeInteger(ms) || ms <= 0) throw new RangeError(`statementTimeoutMs must be a whole number of milliseconds above 0, not ${ms}`);
    statements.push(`SET LOCAL statement_timeout = ${ms}`);
  }
  return statements.length === 0 ? null : statements.join('; ');
}
