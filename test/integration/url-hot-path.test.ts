// The redirect hot path on real Redis and PostgreSQL: cache-aside on `url:{code}`, negative caching,
// expiry to the second, one-time links under concurrency, and changes that must win over the cache.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';
import type { LinkStore } from '../../src/storage/link-store.ts';
import { createRedisLinkCache } from '../../src/storage/redis/redis-link-cache.ts';
import { createLinkService, type LinkService } from '../../src/url/link-service.ts';
import { linkServiceOptions } from '../support/link-service.ts';
import { testLogger } from '../support/log.ts';
import { PERSON, seenFromPerson } from '../support/visitors.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';

const CACHE_TTL_S = 600;
const NEGATIVE_TTL_S = 20;

interface Outcome {
  status: number;
  code: string | null;
}
/** How many of each answer, for the assertion messages: e.g. [["410 link_used",180],["503 …",19]]. */
const tallyOf = (outcomes: Outcome[]): string => {
  const tally = new Map<string, number>();
  for (const o of outcomes) tally.set(`${o.status} ${o.code ?? ''}`, (tally.get(`${o.status} ${o.code ?? ''}`) ?? 0) + 1);
  return JSON.stringify([...tally]);
};
/** 503 `server_busy`: no database connection came free in time (back-pressure, not an outage). */
const isPoolFull = (o: Outcome): boolean => o.status === 503 && o.code === 'server_busy';

describe('redirect hot path', () => {
  let svc: TestUrlService;
  const cacheKey = (code: string): string => `${svc.redis.prefix}url:${code}`;
  const redirect = (code: string): Promise<LightMyRequestResponse> => svc.app.inject({ url: `/${code}`, headers: PERSON });
  async function createLink(payload: Record<string, unknown>): Promise<string> {
    const res = await svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload });
    assert.equal(res.statusCode, 201, res.body);
    return res.json<{ short_code: string }>().short_code;
  }
  /** Another replica: its own link service and cache client on the same PostgreSQL and Redis. */
  function replica(store: LinkStore = svc.store): LinkService {
    return createLinkService(
      linkServiceOptions('replica', {
        store,
        cache: createRedisLinkCache({ redis: svc.redis.redis, prefix: svc.redis.prefix, log: testLogger() }),
        clicks: svc.clicks,
        cacheTtlS: CACHE_TTL_S,
        negativeCacheTtlS: NEGATIVE_TTL_S,
      }),
    );
  }

  before(async () => {
    svc = await buildTestUrlService('url-hot-path', { cacheTtlS: CACHE_TTL_S, negativeCacheTtlS: NEGATIVE_TTL_S });
  });
  after(() => svc.close());

  test('creation writes url:{code} to Redis; a miss reads PostgreSQL and fills it again (cache-aside)', async () => {
    const code = await createLink({ url: 'https://example.com/cached' });
    const raw = await svc.redis.redis.get(cacheKey(code));
    assert.ok(raw?.includes('https://example.com/cached'), 'written on creation');
    await svc.redis.redis.del(cacheKey(code));
    assert.equal((await redirect(code)).headers.location, 'https://example.com/cached');
    assert.equal(await svc.redis.redis.get(cacheKey(code)), raw, 'filled on the miss');
    const ttl = await svc.redis.redis.ttl(cacheKey(code));
    assert.ok(ttl > CACHE_TTL_S - 10 && ttl <= CACHE_TTL_S, `TTL ${ttl}`);
  });

  test('a cache hit does not touch PostgreSQL', async () => {
    const code = await createLink({ url: 'https://example.com/hit' });
    // Behind the cache's back: the row is gone, the cached entry still answers.
    await svc.database.db.query('UPDATE urls SET original_url = $2 WHERE short_code = $1', [code, 'https://example.com/changed']);
    assert.equal((await redirect(code)).headers.location, 'https://example.com/hit');
    const metrics = await svc.registry.metrics();
    assert.match(metrics, /cache_lookups_total\{result="hit"\} [1-9]/);
  });

  test("the cached entry's TTL never reaches past the link's expiry, on creation and on a miss", async () => {
    const code = await createLink({ url: 'https://example.com/', expires_in: 30 });
    const afterCreate = await svc.redis.redis.ttl(cacheKey(code));
    assert.ok(afterCreate > 0 && afterCreate <= 30, `TTL ${afterCreate} after creation`);
    await svc.redis.redis.del(cacheKey(code));
    await redirect(code);
    const afterMiss = await svc.redis.redis.ttl(cacheKey(code));
    assert.ok(afterMiss > 0 && afterMiss <= 30, `TTL ${afterMiss} after a miss`);
  });

  test('an unknown code is cached as missing for the negative TTL, so PostgreSQL is not asked again', async () => {
    assert.equal((await redirect('ghost1')).statusCode, 404);
    assert.match(String(await svc.redis.redis.get(cacheKey('ghost1'))), /^\d+\|-$/, '"-" under the cache epoch');
    const ttl = await svc.redis.redis.ttl(cacheKey('ghost1'));
    assert.ok(ttl > 0 && ttl <= NEGATIVE_TTL_S, `negative TTL ${ttl}`);
    // A row written straight into PostgreSQL stays unseen while the negative entry lives.
    await svc.store.insert({ code: 'ghost1', url: 'https://example.com/ghost', expiresAt: null, isOneTime: false, isCustomAlias: true, ownerKeyId: null });
    assert.equal((await redirect('ghost1')).statusCode, 404);
    await svc.redis.redis.del(cacheKey('ghost1'));
    assert.equal((await redirect('ghost1')).statusCode, 302);
  });

  test('creating a code through an alias replaces its negative entry at once', async () => {
    assert.equal((await redirect('soon-here')).statusCode, 404);
    assert.match(String(await svc.redis.redis.get(cacheKey('soon-here'))), /^\d+\|-$/, '"-" under the cache epoch');
    await createLink({ url: 'https://example.com/now', alias: 'soon-here' });
    const res = await redirect('soon-here');
    assert.equal(res.statusCode, 302);
    assert.equal(res.headers.location, 'https://example.com/now');
  });

  test('a link expiring while cached answers 410 within 1 s of expires_at', async () => {
    const res = await svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload: { url: 'https://example.com/short-lived', expires_in: 2 } });
    const { short_code: code, expires_at } = res.json<{ short_code: string; expires_at: string }>();
    const expiresAt = Date.parse(expires_at);
    assert.ok((await svc.redis.redis.ttl(cacheKey(code))) <= 2);
    // Every redirect sent at or after expires_at must be a 410, and the last one is sent at least 1 s
    // after it. (How soon after expiry the first one went out is the test's own timing, not the
    // service's: on a loaded machine one redirect can take longer than a second.)
    let firstGone: number | null = null;
    let sentAt: number;
    do {
      sentAt = Date.now();
      const status = (await redirect(code)).statusCode;
      if (status === 302) {
        assert.equal(firstGone, null, 'no redirect after a 410');
        assert.ok(sentAt < expiresAt, `302 at ${sentAt - expiresAt} ms past expiry`);
      } else {
        assert.equal(status, 410);
        firstGone ??= sentAt;
      }
      await sleep(50);
    } while (sentAt < expiresAt + 1000);
    assert.ok(firstGone !== null);
  });

  test('a one-time link under 200 concurrent redirects: exactly one 302 and 199 × 410, one click', async () => {
    const code = await createLink({ url: 'https://example.com/once', one_time: true });
    await svc.clicks.flush();
    const results = await Promise.all(Array.from({ length: 200 }, () => redirect(code)));
    const outcomes = results.map((r) => ({ status: r.statusCode, code: r.statusCode >= 400 ? r.json<{ code: string }>().code : null }));
    const answers = tallyOf(outcomes);
    assert.equal(outcomes.filter((o) => o.status === 302).length, 1, answers);
    // Every other one is refused: used up, or, on a loaded machine, 503 from a pool that is full (200
    // lookups at once on a pool of 5 that waits 2 s for a client). A 503 never hides a use: the one
    // redirect and the one click would then be missing.
    assert.equal(outcomes.filter((o) => (o.status === 410 && o.code === 'link_used') || isPoolFull(o)).length, 199, answers);
    assert.ok(outcomes.some((o) => o.status === 410), answers);
    await svc.clicks.flush();
    assert.equal((await svc.store.findByCode(code))?.clicks, 1);
  });

  test('a one-time link with a cold cache, raced by two replicas: exactly one redirect', async () => {
    const code = await createLink({ url: 'https://example.com/once-cold', one_time: true });
    await svc.redis.redis.del(cacheKey(code));
    const other = replica();
    const outcomes = await Promise.all([
      ...Array.from({ length: 100 }, () => redirect(code).then((r) => ({ status: r.statusCode, code: r.statusCode >= 400 ? r.json<{ code: string }>().code : null }))),
      ...Array.from({ length: 100 }, () =>
        other.resolveRedirect(code, seenFromPerson()).then(
          () => ({ status: 302, code: null }),
          (err: { status?: number; code?: string }) => ({ status: err.status ?? 500, code: err.code ?? null }),
        ),
      ),
    ]);
    const answers = tallyOf(outcomes);
    assert.equal(outcomes.filter((o) => o.status === 302).length, 1, answers);
    // As above: a full pool's 503 is a refusal too, never a hidden redirect.
    assert.equal(outcomes.filter((o) => o.status === 410 || isPoolFull(o)).length, 199, answers);
    assert.ok(outcomes.some((o) => o.status === 410), answers);
  });

  test('disabling via PATCH turns the next redirect into 410 although the link was cached', async () => {
    const code = await createLink({ url: 'https://example.com/' });
    assert.equal((await redirect(code)).statusCode, 302);
    assert.ok(await svc.redis.redis.exists(cacheKey(code)));
    await svc.app.inject({ method: 'PATCH', url: `/urls/${code}`, headers: svc.admin, payload: { is_active: false } });
    assert.equal((await redirect(code)).statusCode, 410);
  });

  test('deleting turns the next redirect into 404 although the link was cached', async () => {
    const code = await createLink({ url: 'https://example.com/' });
    assert.equal((await redirect(code)).statusCode, 302);
    assert.equal((await svc.app.inject({ method: 'DELETE', url: `/urls/${code}`, headers: svc.admin })).statusCode, 204);
    assert.equal((await redirect(code)).statusCode, 404);
  });

  /** A replica whose PostgreSQL read of `code` is held until `release()`: a lookup in flight. */
  function replicaWithSlowRead(code: string) {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let readDone: () => void = () => undefined;
    const read = new Promise<void>((resolve) => (readDone = resolve));
    const store: LinkStore = {
      ...svc.store,
      async findRedirect(c) {
        const record = await svc.store.findRedirect(c);
        if (c === code) {
          readDone();
          await gate;
        }
        return record;
      },
    };
    return { links: replica(store), read, release };
  }

  test('a lookup in flight during a delete cannot put the deleted link back into the cache', async () => {
    const code = await createLink({ url: 'https://example.com/deleted' });
    await svc.redis.redis.del(cacheKey(code));
    const slow = replicaWithSlowRead(code);
    const inFlight = slow.links.resolveRedirect(code, null);
    await slow.read; // it has read the row from PostgreSQL
    assert.equal((await svc.app.inject({ method: 'DELETE', url: `/urls/${code}`, headers: svc.admin })).statusCode, 204);
    slow.release();
    await inFlight.catch(() => undefined); // it read before the delete: either answer is fair for it
    assert.equal((await redirect(code)).statusCode, 404, 'the next redirect must not see the deleted link');
  });

  test('a lookup in flight during a disable cannot put the enabled state back into the cache', async () => {
    const code = await createLink({ url: 'https://example.com/disabled' });
    await svc.redis.redis.del(cacheKey(code));
    const slow = replicaWithSlowRead(code);
    const inFlight = slow.links.resolveRedirect(code, null);
    await slow.read;
    assert.equal((await svc.app.inject({ method: 'PATCH', url: `/urls/${code}`, headers: svc.admin, payload: { is_active: false } })).statusCode, 200);
    slow.release();
    await inFlight.catch(() => undefined);
    assert.equal((await redirect(code)).statusCode, 410, 'the next redirect must see the link disabled');
  });

  test('an unreadable cache entry counts as a miss and is replaced by the link read from PostgreSQL', async () => {
    const code = await createLink({ url: 'https://example.com/survives' });
    await svc.redis.redis.set(cacheKey(code), 'not json', 'EX', 600);
    assert.equal((await redirect(code)).headers.location, 'https://example.com/survives');
    assert.ok((await svc.redis.redis.get(cacheKey(code)))?.includes('https://example.com/survives'), 'a fill-if-absent must not leave the bad entry');
  });
});
