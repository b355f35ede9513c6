// A process that opens the embedded database in argv[2], claims the alias argv[4], takes argv[3] codes
// from a key pool of codes of length argv[5] over the alphabet argv[6], prints them as JSON,
// then dies by SIGKILL: no shutdown, no cleanup.
import { migrate } from '../../src/core/migrate.ts';
import { createCodeGenerator } from '../../src/kgs/code-generator.ts';
import { createKeyPool } from '../../src/kgs/key-pool.ts';
import { openPglite, pgliteRunner } from '../../src/storage/pglite/pglite-runner.ts';
import { createPgKeyStore } from '../../src/storage/postgres/pg-key-store.ts';
import { testLogger } from './log.ts';

const [dir = '', count = '1', alias = '', length = '6', alphabet = 'ab'] = process.argv.slice(2);
const db = pgliteRunner(await openPglite(dir));
await migrate(db, testLogger('pglite'));
const pool = createKeyPool({
  store: createPgKeyStore(db),
  generator: createCodeGenerator({ length: Number(length), alphabet }),
  log: testLogger('pool'),
  lowWatermark: 2,
  target: 100,
  reuseCooldownS: 0,
  emptyWaitMs: 500,
});
await pool.claimCode(alias);
const taken = await pool.takeCodes(Number(count));
process.stdout.write(`${JSON.stringify(taken)}\n`, () => process.kill(process.pid, 'SIGKILL'));
