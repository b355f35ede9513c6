// `curt migrate` (`npm run migrate` in a checkout): applies the schema migrations to DATABASE_URL. On
// Kubernetes every URL service pod runs it as its init container (deploy/helm/curt/templates/
// url-service-deployment.yaml). Safe to run twice, and from two processes at once.
import { ConfigError, loadMigrateConfig } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { migrateDatabase } from '../core/migrate.ts';
import { configurationRefusal } from '../core/postgres.ts';

async function main(): Promise<void> {
  const config = loadMigrateConfig(process.env);
  const log = createLogger({ service: 'migrate', level: config.logLevel });
  const applied = await migrateDatabase({ url: config.databaseUrl, log, applicationName: 'curt-migrate' });
  log.info({ applied: applied.length }, applied.length > 0 ? 'database migrated' : 'database already up to date');
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
  // A DATABASE_URL the server or the client refuses says what to change, not node-postgres's wording.
  else process.stderr.write(`migrate failed: ${configurationRefusal(err) ?? (err as Error).message}\n`);
  process.exit(1);
});
