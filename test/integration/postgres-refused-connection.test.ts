// A URL service whose DATABASE_URL names a database or a role the server does not have: PostgreSQL
// answers every connection with a refusal (3D000, 28000) instead of being unreachable. Over HTTP that
// must look like PostgreSQL down (docs/operations.md, "When a dependency fails"): 503
// postgres_unavailable with Retry-After, the breaker opening, /ready degraded, and the server's
// reason in the operator's log; never a 500 "internal_error" blaming a bug. The PostgreSQL side is
// the URL service's own (openPostgresLinkStorage: its pools, timeouts and breaker), with the shared
// Redis for the cache and the key pool, on a real port.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRegistry, type Registry } from '../../src/core/metrics.ts';
import { createLocalCodeSource } from '../../src/kgs/local-code-source.ts';
import type { CodeSource } from '../../src/kgs-client/types.ts';
import type { HttpApp } from '../../src/core/http-app.ts';
import { openPostgresLinkStorage, type PostgresLinkStorage } from '../../src/storage/postgres/postgres-link-storage.ts';
import { createRedisLinkCache } from '../../src/storage/redis/redis-link-cache.ts';
import { createApiKeyService } from '../../src/url/api-keys.ts';
import { buildUrlApp } from '../../src/url/app.ts';
import { createClickCounter } from '../../src/url/click-counter.ts';
import { createLinkService } from '../../src/url/link-service.ts';
import { createUrlMetrics } from '../../src/url/metrics.ts';
import { targetPolicyFor } from '../../src/url/target-url.ts';
import { createMemoryRateLimiter } from '../../src/storage/memory/memory-rate-limiter.ts';
import { captureLogger } from '../support/log.ts';
import { PG_ADMIN_URL } from '../support/postgres.ts';
import { openTestRedis, type TestRedis } from '../support/redis.ts';
import { testKeyPool } from '../support/url-service.ts';
import { testVisitors } from '../support/visitors.ts';

const suffix = randomUUID().slice(0, 8);

function databaseUrl(change: (url: URL) => void): string {
  const url = new URL(PG_ADMIN_URL);
  change(url);
  return url.toString();
}

interface Problem {
  code: string;
}

const misconfigurations = [
  {
    what: 'a database that does not exist',
    url: databaseUrl((u) => (u.pathname = `/curt_doesnotexist_${suffix}`)),
    reason: `database "curt_doesnotexist_${suffix}" does not exist`,
  },
  {
    what: 'a role that does not exist',
    url: databaseUrl((u) => (u.username = `nosuchuser_${suffix}`)),
    reason: `role "nosuchuser_${suffix}" does not exist`,
  },
];

for (const { what, url, reason } of misconfigurations) {
  describe(`a URL service whose DATABASE_URL names ${what}`, () => {
    const capture = captureLogger('url');
    let redis: TestRedis;
    let registry: Registry;
    let postgres: PostgresLinkStorage;
    let codes: CodeSource;
    let app: HttpApp;
    let address: string;

    before(async () => {
      const log = capture.log;
      redis = await openTestRedis('pg-refused');
      registry = createRegistry({ defaultMetrics: false });
      const metrics = createUrlMetrics(registry);
      postgres = openPostgresLinkStorage({ url, log, registry, applicationName: 'curt-test-refused' });
      codes = createLocalCodeSource(testKeyPool(redis, log));
      const visitors = testVisitors();
      const limiter = createMemoryRateLimiter();
      const links = createLinkService({
        store: postgres.links,
        redirectStore: postgres.redirectLinks,
        cache: createRedisLinkCache({ redis: redis.redis, prefix: redis.prefix, log, onError: metrics.cacheError }),
        codes,
        clicks: createClickCounter({ store: postgres.backgroundLinks, log, visitors, flushIntervalMs: 60_000, bufferMax: 10_000, metrics: metrics.clickMetrics }),
        visitors,
        log,
        urlPolicy: targetPolicyFor({ publicBaseUrl: 'http://sho.rt', listenHost: '127.0.0.1', blockedDomains: [] }),
        cacheTtlS: 3600,
        negativeCacheTtlS: 30,
        allowAnonymous: true,
        guessLimiter: limiter,
        events: metrics,
      });
      app = await buildUrlApp({
        links,
        apiKeys: createApiKeyService(postgres.apiKeys),
        limiter,
        log,
        registry,
        publicBaseUrl: 'http://sho.rt',
        redirectStatus: 302,
        allowAnonymous: true,
        webAssets: null,
        rateLimit: { perKey: 0, perIp: 0 },
        checks: { postgres: () => postgres.links.ping(), redis: async () => void (await redis.redis.ping()), kgs: async () => undefined },
      });
      address = await app.listen({ host: '127.0.0.1', port: 0 });
    });

    after(async () => {
      await app?.close();
      await codes?.close();
      await postgres?.close();
      await redis?.cleanup();
    });

    async function call(path: string, init: RequestInit = {}): Promise<{ status: number; retryAfter: string | null; body: Problem }> {
      const res = await fetch(`${address}${path}`, { redirect: 'manual', ...init });
      return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Problem };
    }

    const create = (headers: Record<string, string> = {}) =>
      call('/urls', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ url: 'https://example.com/' }) });

    test('creating a link (anonymous, or with an API key to look up) answers 503 postgres_unavailable with Retry-After, never 500', async () => {
      for (const res of [await create(), await create({ authorization: `Bearer curt_not-a-stored-key-0123456789abcdef` })]) {
        assert.equal(res.status, 503, JSON.stringify(res.body));
        assert.equal(res.body.code, 'postgres_unavailable');
        assert.ok(Number(res.retryAfter) >= 1, `Retry-After: ${res.retryAfter}`);
      }
    });

    test('a redirect the cache cannot answer answers 503 postgres_unavailable with Retry-After', async () => {
      const res = await call('/nOsUcH');
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(res.body.code, 'postgres_unavailable');
      assert.ok(Number(res.retryAfter) >= 1, `Retry-After: ${res.retryAfter}`);
    });

    test('the PostgreSQL breaker has opened, and the log says what the server refused', async () => {
      const state = (await registry.getSingleMetric('dependency_breaker_state')?.get())?.values.find((v) => v.labels.dependency === 'postgres')?.value;
      assert.equal(state, 2, 'dependency_breaker_state{dependency="postgres"} is 2 (open)');
      const lines = capture
        .text()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: string; msg: string; err?: unknown });
      // The requests before it opened each logged the server's reason in their cause chain; in the
      // URL service, background work (the expiry sweep at start) often opens it before any request,
      // and then only the breaker's own line has it.
      assert.ok(
        lines.some((l) => l.msg === 'dependency problem' && (l.err as { message?: string } | undefined)?.message?.endsWith(`: ${reason}`)),
        `a request's "dependency problem" line carries "${reason}"`,
      );
      const opened = lines.filter((l) => l.msg === 'postgres circuit breaker closed -> open');
      assert.deepEqual(
        opened.map((l) => [l.level, l.err]),
        [['warn', reason]],
        'the breaker logged its opening once, with the reason',
      );
      assert.ok(!lines.some((l) => l.msg === 'internal error'), 'no request was logged as an internal error');
    });

    test('/ready answers 200 degraded with PostgreSQL down (Redis answers)', async () => {
      const res = await fetch(`${address}/ready`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { status: string; checks: Record<string, string> };
      assert.equal(body.status, 'degraded');
      assert.equal(body.checks.postgres, 'down');
    });
  });
}
