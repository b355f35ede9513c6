// PGlite on its own thread (src/storage/pglite/pglite-thread.ts), as `curt serve` runs it: statements
// run beside the requests' event loop, transactions stay whole, and values and errors cross intact.
// The stores' own behaviour on it is link-store-contract.test.ts's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openPgliteThread, type PgliteThread } from '../../src/storage/pglite/pglite-thread.ts';

let thread: PgliteThread;
before(async () => {
  thread = await openPgliteThread(null);
  await thread.runner.query('CREATE TABLE t (id int PRIMARY KEY, note text)');
});
after(() => thread.close());

test("a long statement does not hold up this thread's event loop", async () => {
  let ticks = 0;
  const timer = setInterval(() => (ticks += 1), 5);
  const started = performance.now();
  try {
    await thread.runner.query('SELECT count(*) FROM generate_series(1, 3000000)');
  } finally {
    clearInterval(timer);
  }
  const elapsed = performance.now() - started;
  assert.ok(elapsed > 100, `the statement took long enough to tell (${elapsed.toFixed(0)} ms)`);
  // On this thread's PGlite the timer would not fire once before the statement ended.
  assert.ok(ticks >= elapsed / 5 / 4, `the timer fired ${ticks} times in ${elapsed.toFixed(0)} ms`);
});

test('a statement from outside waits for an open transaction and is not part of it: a rollback leaves it', async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const transaction = thread.runner.transaction(async (tx) => {
    await tx.query('INSERT INTO t VALUES (1, $1)', ['inside']);
    await gate;
    throw new Error('changed my mind');
  });
  // Sent while the transaction is open.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const outside = thread.runner.query('INSERT INTO t VALUES (2, $1) RETURNING id', ['outside']);
  release();
  await assert.rejects(transaction, /changed my mind/);
  assert.deepEqual((await outside).rows, [{ id: 2 }]);
  assert.deepEqual((await thread.runner.query('SELECT id, note FROM t ORDER BY id')).rows, [{ id: 2, note: 'outside' }]);
  const committed = await thread.runner.transaction(async (tx) => (await tx.query<{ id: number }>('INSERT INTO t VALUES (3, null) RETURNING id')).rows);
  assert.deepEqual(committed, [{ id: 3 }]);
  assert.equal((await thread.runner.query('SELECT count(*)::int AS n FROM t')).rows[0]?.n, 2);
});

test('values keep their types both ways, and a database error keeps its SQLSTATE and fields', async () => {
  const at = new Date('2026-12-03T10:11:12.345Z');
  const { rows } = await thread.runner.query<{ at: Date; tags: string[]; doc: unknown; bytes: Uint8Array; n: number; empty: null }>(
    `SELECT $1::timestamptz AS at, $2::text[] AS tags, $3::jsonb AS doc, $4::bytea AS bytes, 9007199254740991::int8 AS n, NULL AS empty`,
    [at, ['a', 'b,c'], JSON.stringify({ k: [1, 'two'] }), new Uint8Array([0, 255, 7])],
  );
  assert.ok(rows[0]?.at instanceof Date);
  assert.equal(rows[0].at.toISOString(), at.toISOString());
  assert.deepEqual(rows[0].tags, ['a', 'b,c']);
  assert.deepEqual(rows[0].doc, { k: [1, 'two'] });
  assert.deepEqual([...(rows[0].bytes ?? [])], [0, 255, 7]);
  assert.equal(Number(rows[0].n), 9007199254740991);
  assert.equal(rows[0].empty, null);

  await assert.rejects(thread.runner.query('INSERT INTO t VALUES (2, null)'), (err: unknown) => {
    assert.ok(err instanceof Error);
    const fields = err as Error & { code?: string; constraint?: string };
    assert.equal(fields.code, '23505');
    assert.equal(fields.constraint, 't_pkey');
    assert.match(err.message, /duplicate key/);
    return true;
  });
});

test('after close, a statement is refused with an error instead of waiting for ever', async () => {
  const other = await openPgliteThread(null);
  await other.close();
  await assert.rejects(other.runner.query('SELECT 1'), /embedded database's thread stopped/);
});
