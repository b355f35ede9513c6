// The URL service's PostgreSQL side, as both the URL service process and `curt serve` with
// DATABASE_URL use it: a request pool with short timeouts, a background pool for click flushes and
// the expiry sweep, and one circuit breaker in front of both; with DATABASE_READ_URL, a third pool on
// a streaming replica for redirect lookups (replica-link-reads.ts), with a breaker of its own.
import { ConfigError } from '../../core/config.ts';
import { createDependencyBreaker } from '../../core/dependency-breaker.ts';
import type { Logger } from '../../core/logger.ts';
import type { Registry } from '../../core/metrics.ts';
import { configurationRefusal, createPgPool, DEFAULT_CONNECT_TIMEOUT_MS, guardedRunner, isPostgresUnavailable, pgRunner, REQUEST_PATH_TIMEOUTS } from '../../core/postgres.ts';
import type { TransactionalRunner } from '../../core/sql.ts';
import type { ApiKeyStore, LinkStore } from '../link-store.ts';
import { createPgApiKeyStore, createPgLinkStore, lookupLimits } from './pg-link-store.ts';
import { createReplicaLinkReads } from './replica-link-reads.ts';
import type { WebhookStore } from '../webhook-store.ts';
import { createPgWebhookStore } from './pg-webhook-store.ts';

export interface PostgresLinkStorage {
  /** Request path: a database that is down or hung answers 503 within a second. */
  links: LinkStore;
  apiKeys: ApiKeyStore;
  /** Background work (click flushes, the expiry sweep): a large batch may take seconds. */
  backgroundLinks: LinkStore;
  /** Webhook endpoints (request path) and the outbox the dispatcher works through (background pool). */
  webhooks: WebhookStore;
  backgroundWebhooks: WebhookStore;
  /** The request pool's runner, behind the breaker (for other stores on the request path). */
  requests: TransactionalRunner;
  /** Runs on the background pool, behind the breaker (schema checks at start-up). */
  background: TransactionalRunner;
  /** The redirect's lookups: on the read replica when there is one (and fresh enough), else `links`. */
  redirectLinks: Pick<LinkStore, 'findRedirect'>;
  /** Throws while the read replica is unreachable; null without one. */
  replicaCheck: (() => Promise<void>) | null;
  close(): Promise<void>;
}

export function openPostgresLinkStorage(options: {
  url: string;
  /** DATABASE_READ_URL: a streaming replica of `url`; null = every read on the primary. */
  readUrl?: string | null;
  log: Logger;
  registry: Registry;
  applicationName: string;
}): PostgresLinkStorage {
  const { url, log, registry, applicationName } = options;
  // Whichever pool notices an outage first opens the breaker for both, and a flush or a /ready
  // probe is the trial that closes it again.
  const breaker = createDependencyBreaker({ dependency: 'postgres', log, registry, isFailure: isPostgresUnavailable, failureThreshold: 3, resetTimeoutMs: 2000 });
  const pool = createPgPool({ url, log, applicationName, ...REQUEST_PATH_TIMEOUTS });
  const backgroundPool = createPgPool({ url, log, max: 2, applicationName: `${applicationName}-background` });
  const db = guardedRunner(pgRunner(pool), breaker);
  const background = guardedRunner(pgRunner(backgroundPool), breaker);
  // A call waiting for a batch gives up after its pool's connect timeout, as a pool wait would.
  const links = createPgLinkStore(db, { maxWaitMs: REQUEST_PATH_TIMEOUTS.connectTimeoutMs });
  const readUrl = options.readUrl ?? null;
  const replicaPool = readUrl === null ? null : createPgPool({ url: readUrl, log, applicationName: `${applicationName}-replica`, ...REQUEST_PATH_TIMEOUTS });
  const replicaReads =
    replicaPool === null
      ? null
      : createReplicaLinkReads({ primary: db, primaryLinks: links, replica: replicaPool, log, registry, limits: lookupLimits(REQUEST_PATH_TIMEOUTS.connectTimeoutMs) });
  return {
    links,
    apiKeys: createPgApiKeyStore(db),
    backgroundLinks: createPgLinkStore(background, { maxWaitMs: DEFAULT_CONNECT_TIMEOUT_MS }),
    webhooks: createPgWebhookStore(db),
    backgroundWebhooks: createPgWebhookStore(background),
    requests: db,
    background,
    redirectLinks: replicaReads ?? links,
    replicaCheck: replicaReads === null ? null : () => replicaReads.ping(),
    close: async () => void (await Promise.all([pool.end(), backgroundPool.end(), replicaPool?.end()])),
  };
}

/**
 * At start-up: a DATABASE_READ_URL the server or the client refuses (no such database or role, a
 * password missing or refused, TLS that cannot work) is the same mistake as such a DATABASE_URL,
 * and stops the process with one line. A replica that is down or starting is not: redirect lookups
 * read the primary until it answers (its breaker).
 */
export async function checkReadReplica(storage: Pick<PostgresLinkStorage, 'replicaCheck'>, log: Logger): Promise<void> {
  if (storage.replicaCheck === null) return;
  try {
    await storage.replicaCheck();
  } catch (err) {
    const refusal = configurationRefusal(err);
    if (refusal !== null) throw new ConfigError([`DATABASE_READ_URL: ${refusal}`]);
    log.error({ dependency: 'postgres_replica', err: (err as Error).message }, 'postgres replica not reachable at start-up; redirect lookups read the primary');
  }
}
