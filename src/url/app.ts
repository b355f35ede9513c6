// Builds the URL service HTTP app from its parts; knows nothing of processes or the environment.
import { Type } from '@sinclair/typebox';
import type { HttpTimeouts, TrustProxy } from '../core/config.ts';
import { Draining, NotReady } from '../core/errors.ts';
import { createHttpApp, type HttpApp } from '../core/http-app.ts';
import type { Logger } from '../core/logger.ts';
import type { Registry } from '../core/metrics.ts';
import type { RateLimiter } from '../storage/rate-limiter.ts';
import type { ApiKeyService } from './api-keys.ts';
import type { LinkService } from './link-service.ts';
import { registerApiKeyRoutes } from './routes/api-keys.ts';
import { createGuard } from './routes/guard.ts';
import { registerLinkRoutes } from './routes/links.ts';
import { registerPortingRoutes } from './routes/porting.ts';
import { registerPublicConfigRoute } from './routes/public-config.ts';
import { registerQrRoute } from './routes/qr.ts';
import { redirectFastPath, registerRedirectRoute, type RedirectRouteDeps } from './routes/redirect.ts';
import { LinkView } from './routes/schemas.ts';
import { registerSiteFileRoutes } from './routes/site-files.ts';
import { registerWebAppRoutes } from './routes/web-app.ts';
import { registerWebhookRoutes } from './routes/webhooks.ts';
import type { WebhookService } from './webhook-service.ts';
import { loadWebAssets, type WebAssets } from './web-assets.ts';

export const URL_SERVICE_VERSION = '0.1.0';

export type DependencyCheck = () => Promise<void>;

export interface UrlAppDeps {
  links: LinkService;
  apiKeys: ApiKeyService;
  limiter: RateLimiter | null;
  log: Logger;
  registry: Registry;
  publicBaseUrl: string;
  redirectStatus: 301 | 302 | 307 | 308;
  /** GEOIP_COUNTRY_HEADER (lower-case), copied from each counted redirect for the click pipeline; default none. */
  countryHeader?: string | null;
  /** ALLOW_ANONYMOUS, as GET /api/config tells the web app (the link service enforces it). */
  allowAnonymous: boolean;
  /** The built web app; default: read from dist/web (null: not built, `/` says so). */
  webAssets?: WebAssets | null;
  rateLimit: { perKey: number; perIp: number; onRedisDown?: 'open' | 'closed' };
  /** IMPORT_MAX_BYTES; default 200 MB. */
  importMaxBytes?: number;
  trustProxy?: TrustProxy;
  timeouts?: HttpTimeouts;
  /** Each throws when its dependency is unreachable. */
  /** null: that part runs inside this process (`curt serve` without REDIS_URL), reported "in_process". */
  /** postgresReplica: the read replica (DATABASE_READ_URL), when there is one; reported, never a reason for 503. */
  checks: { postgres: DependencyCheck; redis: DependencyCheck | null; kgs: DependencyCheck; postgresReplica?: DependencyCheck };
  onRedirect?: (outcome: string) => void;
  now?: () => number;
  /** Webhook endpoints (docs/webhooks.md); without it the /webhooks routes are not served. */
  webhooks?: WebhookService;
}

async function probe(check: DependencyCheck | null): Promise<'up' | 'down' | 'in_process'> {
  if (check === null) return 'in_process';
  try {
    await check();
    return 'up';
  } catch {
    return 'down';
  }
}

export async function buildUrlApp(deps: UrlAppDeps): Promise<HttpApp> {
  const redirectDeps: RedirectRouteDeps = {
    links: deps.links,
    status: deps.redirectStatus,
    countryHeader: deps.countryHeader ?? null,
    lookedUp: new WeakMap(),
    ...(deps.onRedirect ? { onOutcome: deps.onRedirect } : {}),
  };
  const app = await createHttpApp({
    log: deps.log,
    registry: deps.registry,
    title: 'Curt URL service',
    description: 'Short links: create, redirect, delete, analytics. Errors are RFC 9457 problem+json.',
    version: URL_SERVICE_VERSION,
    trustProxy: deps.trustProxy ?? false,
    ...(deps.timeouts ? { timeouts: deps.timeouts } : {}),
    fastPath: redirectFastPath(redirectDeps),
  });
  app.addSchema(LinkView);
  app.decorateRequest('principal', null);

  app.get('/health', { schema: { summary: 'Liveness: the process is up', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({
    status: 'ok' as const,
  }));

  app.get(
    '/ready',
    {
      schema: {
        summary: 'Readiness, with each dependency',
        description:
          'PostgreSQL, Redis and the KGS are each reported ("in_process" for a part `curt serve` runs inside itself), and the read replica as `postgres_replica` when DATABASE_READ_URL is set. The service stays ready while it can still serve: cached links redirect without PostgreSQL, everything works without Redis, and redirect lookups read the primary while the replica is down, so only PostgreSQL and Redis both down answers 503, and a process that drains before it stops (after SIGTERM).',
        response: { 200: Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.String()) }), 503: Type.Ref('Problem') },
      },
    },
    async () => {
      if (app.isDraining()) throw new Draining();
      const replicaCheck = deps.checks.postgresReplica;
      const [postgres, redis, kgs, replica] = await Promise.all([
        probe(deps.checks.postgres),
        probe(deps.checks.redis),
        probe(deps.checks.kgs),
        replicaCheck === undefined ? undefined : probe(replicaCheck),
      ]);
      const checks = { postgres, redis, kgs, ...(replica === undefined ? {} : { postgres_replica: replica }) };
      if (postgres === 'down' && redis !== 'up') {
        throw new NotReady('Neither PostgreSQL nor Redis is reachable.', checks);
      }
      return { status: postgres === 'up' && redis !== 'down' && kgs === 'up' && replica !== 'down' ? 'ready' : 'degraded', checks };
    },
  );

  registerSiteFileRoutes(app);
  registerWebAppRoutes(app, deps.webAssets === undefined ? loadWebAssets() : deps.webAssets);
  registerPublicConfigRoute(app, { version: URL_SERVICE_VERSION, publicBaseUrl: deps.publicBaseUrl, allowAnonymous: deps.allowAnonymous });

  const now = deps.now ?? Date.now;
  const guard = createGuard({ apiKeys: deps.apiKeys, limiter: deps.limiter, limits: deps.rateLimit, log: deps.log });
  await app.register(async (api) => {
    // onRequest: authentication and the rate limit come before body parsing, so they also cover bad bodies.
    api.addHook('onRequest', guard);
    await registerLinkRoutes(api, { links: deps.links, publicBaseUrl: deps.publicBaseUrl, now, allowAnonymous: deps.allowAnonymous });
    await registerPortingRoutes(api, { links: deps.links, importMaxBytes: deps.importMaxBytes ?? 200 * 1024 * 1024, now });
    await registerApiKeyRoutes(api, deps.apiKeys);
    if (deps.webhooks) await registerWebhookRoutes(api, deps.webhooks);
    registerQrRoute(api, { links: deps.links, publicBaseUrl: deps.publicBaseUrl });
  });
  await registerRedirectRoute(app, redirectDeps);
  return app;
}
