// `npm run migrate`: applies the schema migrations to DATABASE_URL (the Kubernetes migration Job runs
// this). Safe to run twice, and from two processes at once.
import { ConfigError, loadMigrateConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { migrate } from '../core/migrate.ts';
import { checkOut, createPgPool } from '../core/postgres.ts';

async function main(): Promise<void> {
  const config = loadMigrateConfig(process.env);
  const log = createLogger({ service: 'migrate', level: config.logLevel });
  const pool = createPgPool({ url: config.databaseUrl, log, max: 1, statementTimeoutMs: 0, applicationName: 'curt-migrate' });
  const { client, release } = await checkOut(pool);
  try {
    const applied = await migrate(client, log);
    log.info({ applied: applied.length }, applied.length > 0 ? 'database migrated' : 'database already up to date');
  } finally {
    release();
    await pool.end();
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
  else process.stderr.write(`migrate failed: ${(err as Error).message}\n`);
  process.exit(1);
});
