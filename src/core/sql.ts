// What the stores and migrations need from a database: parameterised queries, and transactions on
// one connection. node-postgres (core/postgres.ts) and PGlite both provide it.
export interface SqlRunner {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

export interface TransactionalRunner extends SqlRunner {
  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T>;
}
