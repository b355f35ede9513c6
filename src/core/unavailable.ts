// Which errors of a dependency are an outage (503 + Retry-After, counted by its circuit breaker) and
// which are an answer or a bug (passed on: a domain error, or a 500 `internal_error` with its cause
// logged). Only an error that says the dependency could not be reached, refused the connection, or
// refused work for the time being, is an outage: a mistake in a statement or script must never look
// like one (docs/operations.md).

/** Node's own socket and DNS errors (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, EHOSTUNREACH, EAI_AGAIN, ...). */
const SOCKET_ERROR = /^E[A-Z]+(_[A-Z]+)?$/;
const isSocketError = (code: string): boolean => SOCKET_ERROR.test(code) && !code.startsWith('ERR_');

// PostgreSQL SQLSTATE classes that mean the server cannot serve now, not that the statement was wrong:
// 08 connection exception, 53 insufficient resources (too many connections), 57 operator
// intervention (admin shutdown, starting up, statement timeout), 58 system error, XX internal error.
// Everything else (42 syntax or undefined object, 22 data, 23 constraint, ...) is an answer.
const PG_UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '58', 'XX']);
// What node-postgres and pg-pool throw, without a code, when no answer came: connection lost or
// refused, connect or query timeout, a client already broken.
const PG_UNAVAILABLE_MESSAGE = /^(Connection terminated|Query read timeout|timeout expired|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|connect E[A-Z]+ |read ECONNRESET|write EPIPE)/;

// Errors PostgreSQL sent while a connection was being opened (src/core/postgres.ts marks them). Each
// is the server refusing the connection, whatever its SQLSTATE: no such database (3D000), role or
// password refused (28000, 28P01), no CONNECT privilege (42501), too many connections (53300),
// starting up (57P03). The code alone cannot say so: 42501 from a statement is a missing grant, a bug
// of the deployment that must stay a 500. The set holds the error objects only while they live.
const refusedConnections = new WeakSet<Error>();

/** Marks an error the server sent before the connection was ready: no connection could be had. */
export function markConnectionRefused(err: Error): void {
  refusedConnections.add(err);
}

/** Whether PostgreSQL refused to open the connection this error came from (see markConnectionRefused). */
export function isConnectionRefused(err: unknown): boolean {
  return err instanceof Error && refusedConnections.has(err);
}

/**
 * Whether an error means PostgreSQL is unreachable, hung or refusing work (true), rather than having
 * answered that a statement failed, or our own code having failed (false).
 */
export function isPostgresUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (refusedConnections.has(err)) return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return PG_UNAVAILABLE_CLASSES.has(code.slice(0, 2));
  if (typeof code === 'string' && isSocketError(code)) return true;
  // A TypeError or RangeError is our bug, whatever its message says.
  if (err.constructor !== Error) return false;
  return PG_UNAVAILABLE_MESSAGE.test(err.message);
}

// Redis replies that mean "not now" rather than "wrong command": loading its data set, busy with a
// script, a replica without its primary, cluster down or resharding, out of memory.
const REDIS_UNAVAILABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|OOM)\b/;
// What ioredis throws, without a reply, when no answer came.
const REDIS_UNAVAILABLE_MESSAGE = /^(Connection is closed|Stream isn't writeable|Command timed out|Reached the max retries per request limit)/;

/**
 * Whether an error means Redis is unreachable or refusing work for now (true), rather than having
 * answered that a command or script was wrong (`ERR ...`, `WRONGTYPE`, `NOSCRIPT`: false).
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  // AbortError and its MaxRetriesPerRequestError: commands dropped with a connection that went away.
  if (err.name === 'MaxRetriesPerRequestError' || err.name === 'AbortError' || err.name === 'InterruptError') return true;
  if (err.name === 'ReplyError') return REDIS_UNAVAILABLE_REPLY.test(err.message);
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && isSocketError(code)) return true;
  if (err.constructor !== Error) return false;
  return REDIS_UNAVAILABLE_MESSAGE.test(err.message);
}
