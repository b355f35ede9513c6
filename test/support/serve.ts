// `curt serve` for one test: on PGlite in a folder of its own, or on PostgreSQL in a database of its
// own; stopped, and its folder and database removed, when the test ends (or at once when it fails to
// start).
import type { TestContext } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCurtClient, type CurtClient } from '../../src/client/curt-client.ts';
import { loadServeConfig } from '../../src/core/config.ts';
import type { Logger } from '../../src/core/logger.ts';
import { startServe, type Served } from '../../src/serve/serve.ts';
import { testLogger } from './log.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';

export interface TestServe {
  served: Served;
  address: string;
  /** The admin key the first start made. */
  apiKey: string;
  /** A client with that key. */
  client: CurtClient;
  /** The PostgreSQL database it runs on; null on PGlite. */
  database: TestDatabase | null;
}

export interface TestServeOptions {
  kind?: 'pglite' | 'postgres';
  /** Settings beside PORT=0, METRICS_PORT=0 and LOG_LEVEL=silent (which they may replace). */
  env?: Record<string, string>;
  log?: Logger;
  /** Names the folder and the database, for whoever finds one left behind. */
  label?: string;
}

export async function startTestServe(t: TestContext, options: TestServeOptions = {}): Promise<TestServe> {
  const label = options.label ?? 'serve';
  const database = options.kind === 'postgres' ? await createTestDatabase(label, { migrated: false }) : null;
  const env: Record<string, string> = { PORT: '0', METRICS_PORT: '0', LOG_LEVEL: 'silent', ...(database === null ? {} : { DATABASE_URL: database.url }), ...options.env };
  const dataDir = await mkdtemp(join(tmpdir(), `curt-${label}-`));
  const remove = async (): Promise<void> => {
    await rm(dataDir, { recursive: true, force: true });
    await database?.drop();
  };
  let served: Served;
  try {
    served = await startServe(loadServeConfig(env), dataDir, options.log ?? testLogger('serve'));
  } catch (err) {
    await remove();
    throw err;
  }
  // One hook, in this order: a service still running would write into a folder being removed (and
  // hold the database being dropped).
  t.after(async () => {
    await served.stop();
    await remove();
  });
  const apiKey = served.createdAdminKey ?? '';
  return { served, address: served.address, apiKey, client: createCurtClient({ baseUrl: served.address, apiKey }), database };
}
