// PGlite on a thread of its own (src/storage/pglite/pglite-worker.ts), given to the stores as the same
// TransactionalRunner. PGlite runs each statement to its end without giving the event loop a turn: on
// the service's thread, a click flush or a vacuum held every request for as long as it ran
// (docs/performance.md). Here the statements run beside the requests, and only their parameters and
// rows cross, by structured clone (dates, arrays, JSON values and bytes keep their types).
//
// The worker runs statements in the order they are sent. A transaction is BEGIN, its statements and
// COMMIT (or ROLLBACK) sent by one caller: a statement from outside waits until it ends, and is sent
// at once while none is open or waiting.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { transactionSetup, type SqlRunner, type TransactionalRunner, type TransactionOptions } from '../../core/sql.ts';

export interface StatementRequest {
  id: number;
  text: string;
  params?: unknown[];
  /** Close the database (the last message). */
  close?: true;
}

export interface StatementReply {
  /** 0: the first message, the database opened (or could not be). */
  id: number;
  rows?: unknown[];
  /** A database error as plain data: its message and its own fields (`code`, `detail`, `constraint`…). */
  error?: { message: string; fields: Record<string, string | number | boolean> };
}

export interface PgliteThread {
  runner: TransactionalRunner;
  close(): Promise<void>;
}

/**
 * The worker's code: dist/'s compiled module, or, running from the sources (bin/curt.mjs through tsx,
 * or the tests), a line that registers tsx in the new thread first. A worker does not inherit loader
 * hooks registered from code, and on Node 20 not those of `--import tsx` either.
 */
function workerScript(): { script: string | URL; eval: boolean } {
  if (!import.meta.url.endsWith('.ts')) return { script: new URL('./pglite-worker.js', import.meta.url), eval: false };
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const worker = JSON.stringify(new URL('./pglite-worker.ts', import.meta.url).href);
  return { script: `import(${tsx}).then((tsx) => { tsx.register(); return import(${worker}); });`, eval: true };
}

function toError(error: NonNullable<StatementReply['error']>): Error {
  return Object.assign(new Error(error.message), error.fields);
}

/** Opens the database kept in `dir` (created on first use; `null`: in memory) on its own thread. */
export async function openPgliteThread(dir: string | null): Promise<PgliteThread> {
  const { script, eval: isCode } = workerScript();
  const worker = new Worker(script, { workerData: { dir }, eval: isCode });
  const pending = new Map<number, { resolve: (rows: unknown[]) => void; reject: (err: Error) => void }>();
  let nextId = 1;
  let stopped: Error | null = null;
  let closing = false;

  // The first message says whether the database opened; `once` rejects if the thread fails first.
  try {
    const [opened] = (await Promise.race([
      once(worker, 'message'),
      once(worker, 'exit').then(([code]) => Promise.reject(new Error(`the embedded database's thread stopped (exit code ${String(code)})`))),
    ])) as [StatementReply];
    if (opened.error !== undefined) throw toError(opened.error);
  } catch (err) {
    await worker.terminate();
    throw err;
  }

  function stop(err: Error): void {
    stopped ??= err;
    for (const waiter of pending.values()) waiter.reject(err);
    pending.clear();
  }
  worker.on('message', (reply: StatementReply) => {
    const waiter = pending.get(reply.id);
    if (waiter === undefined) return;
    pending.delete(reply.id);
    // The thread keeps the process alive only while an answer is awaited, as a socket would; and
    // while it closes (close()).
    if (pending.size === 0 && !closing) worker.unref();
    if (reply.error !== undefined) waiter.reject(toError(reply.error));
    else waiter.resolve(reply.rows ?? []);
  });
  worker.on('error', (err) => stop(new Error(`the embedded database's thread failed: ${err.message}`)));
  worker.on('exit', (code) => stop(new Error(`the embedded database's thread stopped (exit code ${code})`)));

  function send(request: Omit<StatementRequest, 'id'>): Promise<unknown[]> {
    if (stopped !== null) return Promise.reject(stopped);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      if (pending.size === 1) worker.ref();
      worker.postMessage({ ...request, id } satisfies StatementRequest);
    });
  }
  const statement = async <R>(text: string, params?: unknown[]): Promise<{ rows: R[] }> =>
    ({ rows: (await send(params === undefined ? { text } : { text, params })) as R[] });

  // Transactions run one after the other: `tail` settles when the last one begun or waiting ends.
  let tail: Promise<unknown> = Promise.resolve();
  let transactions = 0;
  function exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = tail.then(work);
    tail = run.catch(() => undefined);
    return run;
  }

  const runner: TransactionalRunner = {
    query: <R>(text: string, params?: unknown[]) => (transactions === 0 ? statement<R>(text, params) : exclusive(() => statement<R>(text, params))),
    async transaction<T>(work: (tx: SqlRunner) => Promise<T>, options?: TransactionOptions): Promise<T> {
      const setup = transactionSetup(options);
      transactions += 1;
      try {
        return await exclusive(async () => {
          await statement('BEGIN');
          let result: T;
          try {
            if (setup !== null) await statement(setup);
            result = await work({ query: statement });
          } catch (err) {
            await statement('ROLLBACK').catch(() => undefined);
            throw err;
          }
          await statement('COMMIT');
          return result;
        });
      } finally {
        transactions -= 1;
      }
    },
  };

  worker.unref();
  return {
    runner,
    async close() {
      // Held until the thread has exited: unreferenced, a thread still finishing a statement sent
      // meanwhile (the expiry sweep's) let the event loop run empty while terminate() was awaited,
      // and the process ended there with status 0, whatever its caller meant to do or say next.
      closing = true;
      worker.ref();
      if (stopped === null) await exclusive(() => send({ text: '', close: true }));
      await worker.terminate();
    },
  };
}
