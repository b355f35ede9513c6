// The KeyStore contract on each adapter: Redis (the KGS), and the SQL store of `curt serve` on
// PGlite and on PostgreSQL. Then what the embedded pool adds: it survives a SIGKILL and a restart
// without ever handing a code out twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { CodesUnavailable } from '../../src/core/errors.ts';
import { migrate } from '../../src/core/migrate.ts';
import { deleteByPrefix } from '../../src/core/redis.ts';
import type { SqlRunner } from '../../src/core/sql.ts';
import { createCodeGenerator } from '../../src/kgs/code-generator.ts';
import { createKeyPool } from '../../src/kgs/key-pool.ts';
import { openPglite, pgliteRunner } from '../../src/storage/pglite/pglite-runner.ts';
import { createPgKeyStore } from '../../src/storage/postgres/pg-key-store.ts';
import { createRedisKeyStore } from '../../src/storage/redis/redis-key-store.ts';
import { keyStoreContract } from '../contract/key-store.contract.ts';
import { testLogger } from '../support/log.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { ROOT } from '../support/processes.ts';
import { REDIS_URL, uniquePrefix } from '../support/redis.ts';

keyStoreContract('Redis', async () => {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const prefixes: string[] = [];
  return {
    async fresh() {
      prefixes.push(uniquePrefix('key_store_contract'));
      return createRedisKeyStore(redis, prefixes.at(-1) ?? '');
    },
    async close() {
      for (const prefix of prefixes) await deleteByPrefix(redis, prefix);
      redis.disconnect();
    },
  };
});

/** One database for the suite, emptied before each test. */
const sqlSubject = (db: SqlRunner, close: () => Promise<void>) => ({
  async fresh() {
    await db.query('TRUNCATE key_pool, key_pool_locks');
    return createPgKeyStore(db);
  },
  close,
});

keyStoreContract('SQL on PostgreSQL', async () => {
  const database = await createTestDatabase('key_store_contract');
  return sqlSubject(database.db, () => database.drop());
});

keyStoreContract('SQL on PGlite', async () => {
  const pglite = await openPglite(null);
  const db = pgliteRunner(pglite);
  await migrate(db, testLogger('pglite'));
  return sqlSubject(db, () => pglite.close());
});

/** 2^4 = 16 codes: small enough to hand out every one of them. */
const TINY_SPACE = { length: 4, alphabet: 'ab' };

test('the embedded key pool survives SIGKILL: after a restart no code taken before is handed out again', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'curt-keys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // First life: a process takes 6 of the 16 codes, claims one as an alias, and is killed.
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/take-codes-then-die.ts', dir, '6', 'bbbb', String(TINY_SPACE.length), TINY_SPACE.alphabet], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
  assert.equal(signal, 'SIGKILL');
  const before = JSON.parse(output) as string[];
  assert.equal(before.length, 6);

  // Second life, on the same folder: every code left, until the space is used up.
  const pglite = await openPglite(dir);
  t.after(() => pglite.close());
  const db = pgliteRunner(pglite);
  await migrate(db, testLogger('pglite'));
  const pool = createKeyPool({ store: createPgKeyStore(db), generator: createCodeGenerator(TINY_SPACE), log: testLogger('pool'), lowWatermark: 2, target: 100, reuseCooldownS: 0, emptyWaitMs: 500 });
  const after: string[] = [];
  for (;;) {
    try {
      after.push(...(await pool.takeCodes(3)));
    } catch (err) {
      assert.ok(err instanceof CodesUnavailable && err.code === 'code_space_exhausted', String(err));
      break;
    }
  }
  assert.deepEqual(after.filter((code) => before.includes(code) || code === 'bbbb'), [], 'nothing taken or claimed before comes back');
  assert.equal(new Set([...before, ...after, 'bbbb']).size, 16, 'the rest of the space is still handed out');
});
