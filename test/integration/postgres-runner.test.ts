// The node-postgres runner when a connection dies under it. A client checked out of the pool (a
// transaction) has no error listener of the pool's, and node-postgres emits 'error' on it when its
// connection ends: unhandled, that is an uncaught exception and the whole process dies, which is
// what a click flush in flight did to a URL service when PostgreSQL was killed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pgRunner } from '../../src/core/postgres.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

let database: TestDatabase;
before(async () => {
  database = await createTestDatabase('pg_runner', { migrated: false });
});
after(() => database.drop());

test('a connection terminated in the middle of a transaction fails that transaction only; the process and the pool carry on', async () => {
  const runner = pgRunner(database.pool);
  // Terminated by another session, as a server restart or a dropped network would end it.
  const killer = pgRunner(database.pool);
  for (let round = 0; round < 3; round++) {
    await assert.rejects(
      runner.transaction(async (tx) => {
        const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await killer.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
        await tx.query('SELECT 1');
      }),
      /terminat|connection/i,
    );
  }
  // Give node-postgres's own 'end' and 'error' events their turn: an unhandled one fails this test.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const { rows } = await runner.transaction((tx) => tx.query<{ one: number }>('SELECT 1 AS one'));
  assert.deepEqual(rows, [{ one: 1 }], 'the pool hands out a working connection afterwards');
});
