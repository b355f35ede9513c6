// The tests' own PostgreSQL (test/support/private-postgres.ts) starts on another port when the one it
// picked was taken before the server bound it, instead of failing the suite that needed it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { startPrivatePostgres } from '../support/private-postgres.ts';
import { freePort } from '../support/processes.ts';

test('a port taken between its pick and the bind: the server starts on a new one', async () => {
  const squatter = createServer();
  squatter.listen(0, '127.0.0.1');
  await once(squatter, 'listening');
  const taken = (squatter.address() as { port: number }).port;
  const picks: number[] = [];
  try {
    const postgres = await startPrivatePostgres('port-taken', {
      pickPort: async () => {
        const port = picks.length === 0 ? taken : await freePort();
        picks.push(port);
        return port;
      },
    });
    try {
      assert.equal(picks.length, 2, 'one pick more after the taken port');
      assert.notEqual(postgres.port, taken);
      assert.equal(postgres.port, picks[1]);
      assert.deepEqual(await postgres.query('postgres', 'SELECT 1 AS one'), [{ one: 1 }]);
      assert.match(postgres.log(), /Address already in use/, "the first start's failure is in the log");
    } finally {
      await postgres.destroy();
    }
  } finally {
    squatter.close();
  }
});
