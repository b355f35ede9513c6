// The embedded database's own thread: opens PGlite (src/storage/pglite/pglite-runner.ts) and runs the
// statements the service's thread sends (src/storage/pglite/pglite-thread.ts), one message each, in the
// order they arrive. Only statements cross: which of them form a transaction is the sender's business.
import { parentPort, workerData } from 'node:worker_threads';
import { openPglite, runStatement } from './pglite-runner.ts';
import type { StatementReply, StatementRequest } from './pglite-thread.ts';

const port = parentPort;
if (port === null) throw new Error('pglite-worker runs as a worker thread');

/** What of a database error the other thread needs: its message, SQLSTATE and the other fields PostgreSQL sets. */
function plainError(err: unknown): StatementReply['error'] {
  if (!(err instanceof Error)) return { message: String(err), fields: {} };
  const fields: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(err)) if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  return { message: err.message, fields };
}

const { dir } = workerData as { dir: string | null };
try {
  const db = await openPglite(dir);
  port.on('message', (request: StatementRequest) => {
    if (request.close === true) {
      void db.close().then(
        () => port.postMessage({ id: request.id, rows: [] } satisfies StatementReply),
        (err: unknown) => port.postMessage({ id: request.id, error: plainError(err) } satisfies StatementReply),
      );
      return;
    }
    runStatement(db, request.text, request.params).then(
      ({ rows }) => port.postMessage({ id: request.id, rows } satisfies StatementReply),
      (err: unknown) => port.postMessage({ id: request.id, error: plainError(err) } satisfies StatementReply),
    );
  });
  port.postMessage({ id: 0, rows: [] } satisfies StatementReply);
} catch (err) {
  port.postMessage({ id: 0, error: plainError(err) } satisfies StatementReply);
}
