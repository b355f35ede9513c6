// Visit limits and query forwarding through the API, on real PostgreSQL and Redis: a link with k
// visits left gives exactly k redirects to any number of concurrent requests on two link services
// that share one database, bots and HEAD use none, a limit changed by PATCH holds at once on every
// replica, and a link with forward_query merges the request's query into its target's.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { LightMyRequestResponse } from 'fastify';
import { createPgPool, pgRunner, type Pool } from '../../src/core/postgres.ts';
import { createMemoryLinkCache } from '../../src/storage/memory/memory-link-cache.ts';
import { createPgLinkStore } from '../../src/storage/postgres/pg-link-store.ts';
import { createRedisInvalidationBus } from '../../src/storage/redis/redis-invalidation-bus.ts';
import { createRedisLinkCache } from '../../src/storage/redis/redis-link-cache.ts';
import { createTieredLinkCache, type InvalidationBus } from '../../src/storage/tiered-link-cache.ts';
import { createLinkService, type LinkService } from '../../src/url/link-service.ts';
import { until } from '../support/fault-probes.ts';
import { linkServiceOptions } from '../support/link-service.ts';
import { testLogger } from '../support/log.ts';
import { REDIS_URL } from '../support/redis.ts';
import { buildTestUrlService, type TestUrlService } from '../support/url-service.ts';
import { PERSON, PREVIEW_BOT_UA, seenFromPerson } from '../support/visitors.ts';

interface Replica {
  links: LinkService;
  close(): Promise<void>;
}

interface LinkView {
  short_code: string;
  is_one_time: boolean;
  max_visits: number | null;
  visits: number;
  forward_query: boolean;
  state: string;
}

describe('visit limits and query forwarding', () => {
  let svc: TestUrlService;
  /** The second replica: its own connection pool to the same database, its own near tier in front of the same Redis. */
  let replica: LinkService;
  const replicas: Replica[] = [];
  const cacheKey = (code: string): string => `${svc.redis.prefix}url:${code}`;
  const redirect = (path: string, headers: Record<string, string> = PERSON, method: 'GET' | 'HEAD' = 'GET'): Promise<LightMyRequestResponse> =>
    svc.app.inject({ method, url: path, headers });
  /** What the other replica answers a person: a status, as the route would send it. */
  const viaReplica = (code: string): Promise<number> =>
    replica.resolveRedirect(code, seenFromPerson()).then(
      () => 302,
      (err: { status?: number }) => err.status ?? 500,
    );
  async function create(payload: Record<string, unknown>): Promise<LinkView> {
    const res = await svc.app.inject({ method: 'POST', url: '/urls', headers: svc.admin, payload });
    assert.equal(res.statusCode, 201, res.body);
    return res.json<LinkView>();
  }
  async function patch(code: string, payload: Record<string, unknown>): Promise<LinkView> {
    const res = await svc.app.inject({ method: 'PATCH', url: `/urls/${code}`, headers: svc.admin, payload });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<LinkView>();
  }
  const view = async (code: string): Promise<LinkView> => (await svc.app.inject({ url: `/urls/${code}`, headers: svc.admin })).json<LinkView>();

  /** A replica as the URL service runs one: a pool of its own on the test's database, a near tier in front of its Redis, on the bus. */
  async function openReplica(label: string): Promise<LinkService> {
    const log = testLogger(label);
    const pool: Pool = createPgPool({ url: svc.database.url, log, max: 5 });
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const bus: InvalidationBus = createRedisInvalidationBus({ redis, prefix: svc.redis.prefix, log });
    const cache = createTieredLinkCache({ near: createMemoryLinkCache(), far: createRedisLinkCache({ redis, prefix: svc.redis.prefix, log }), bus, nearTtlS: 60 });
    const links = createLinkService(linkServiceOptions(label, { store: createPgLinkStore(pgRunner(pool)), cache, clicks: svc.clicks, cacheTtlS: 600 }));
    replicas.push({
      links,
      async close() {
        await bus.close();
        redis.disconnect();
        await pool.end();
      },
    });
    await until(() => bus.subscribed(), 3000, `${label} to subscribe`);
    return links;
  }

  before(async () => {
    svc = await buildTestUrlService('visit-limits');
    replica = await openReplica('replica');
  });
  after(async () => {
    for (const r of replicas) await r.close();
    await svc.close();
  });

  test('a link with 7 visits left, under 200 concurrent redirects from two link services on one database: exactly 7 redirects', async () => {
    const { short_code: code } = await create({ url: 'https://example.com/ten', max_visits: 10 });
    for (let i = 0; i < 3; i++) assert.equal((await redirect(`/${code}`)).statusCode, 302);
    await svc.clicks.flush();
    // Cold: both replicas read PostgreSQL first, then race on the conditional UPDATE.
    await svc.redis.redis.del(cacheKey(code));
    const outcomes = await Promise.all([
      ...Array.from({ length: 100 }, () => redirect(`/${code}`).then((r) => ({ status: r.statusCode, code: r.statusCode === 410 ? r.json<{ code: string }>().code : null }))),
      ...Array.from({ length: 100 }, () => viaReplica(code).then((status) => ({ status, code: status === 410 ? 'link_used' : null }))),
    ]);
    const tally = new Map<string, number>();
    for (const o of outcomes) tally.set(`${o.status} ${o.code ?? ''}`, (tally.get(`${o.status} ${o.code ?? ''}`) ?? 0) + 1);
    const answers = JSON.stringify([...tally]);
    assert.equal(outcomes.filter((o) => o.status === 302).length, 7, answers);
    // Every other request is refused: used up, or, on a loaded machine, 503 from a pool that is full
    // (200 lookups at once on pools of 5). A 503 never hides a visit: the 7 redirects and the visits
    // counted below would then fall short.
    const refused = outcomes.filter((o) => (o.status === 410 && o.code === 'link_used') || o.status === 503).length;
    assert.equal(refused, 193, answers);
    assert.ok(outcomes.filter((o) => o.status === 410).length > 0, answers);
    const after = await view(code);
    assert.deepEqual([after.visits, after.max_visits, after.state], [10, 10, 'used']);
    await svc.clicks.flush();
    assert.equal((await svc.store.findByCode(code))?.clicks, 10, 'a click per redirect, none for a refusal');
    assert.equal((await redirect(`/${code}`)).statusCode, 410, 'and from now on, from the cache');
    assert.equal(await viaReplica(code), 410);
  });

  test('a one-time link raced by both replicas, warm in both caches: exactly one redirect', async () => {
    const { short_code: code } = await create({ url: 'https://example.com/once', one_time: true });
    await redirect(`/${code}`, {}, 'HEAD');
    await replica.resolveRedirect(code, null);
    const outcomes = await Promise.all([...Array.from({ length: 50 }, () => redirect(`/${code}`).then((r) => r.statusCode)), ...Array.from({ length: 50 }, () => viaReplica(code))]);
    assert.equal(outcomes.filter((s) => s === 302).length, 1);
    assert.equal(outcomes.filter((s) => s === 410).length, 99);
  });

  test('bots get the preview page and use no visit, HEAD uses none either; people use them up', async () => {
    const { short_code: code } = await create({ url: 'https://example.com/two', max_visits: 2 });
    for (let i = 0; i < 3; i++) {
      const preview = await redirect(`/${code}`, { 'user-agent': PREVIEW_BOT_UA, accept: 'text/html' });
      assert.equal(preview.statusCode, 200);
      assert.equal(preview.headers.location, undefined, 'the page does not show the target');
      assert.equal((await redirect(`/${code}`, PERSON, 'HEAD')).statusCode, 302);
    }
    assert.equal((await redirect(`/${code}`, { 'user-agent': 'curl/8.5.0' })).statusCode, 200, 'an HTTP library is a bot too');
    assert.equal((await view(code)).visits, 0);
    assert.equal((await redirect(`/${code}`)).statusCode, 302);
    assert.equal(await viaReplica(code), 302);
    assert.equal((await redirect(`/${code}`)).statusCode, 410);
    assert.equal((await redirect(`/${code}`, { 'user-agent': PREVIEW_BOT_UA })).statusCode, 410, 'once used up, 410 for bots too');
    await svc.clicks.flush();
    const stored = await svc.store.findByCode(code);
    assert.deepEqual([stored?.clicks, stored?.botHits, stored?.visits], [2, 4, 2]);
  });

  test('PATCH max_visits holds at once on both replicas: lowered to the visits made, used; raised, active; removed, no limit', async () => {
    const { short_code: code } = await create({ url: 'https://example.com/patched', max_visits: 5 });
    assert.equal((await redirect(`/${code}`)).statusCode, 302);
    assert.equal(await viaReplica(code), 302);
    assert.equal((await patch(code, { max_visits: 2 })).state, 'used');
    assert.equal((await redirect(`/${code}`)).statusCode, 410);
    assert.equal(await viaReplica(code), 410);
    const raised = await patch(code, { max_visits: 3 });
    assert.deepEqual([raised.state, raised.visits], ['active', 2]);
    assert.equal(await viaReplica(code), 302);
    assert.equal((await redirect(`/${code}`)).statusCode, 410);
    const removed = await patch(code, { max_visits: null });
    assert.deepEqual([removed.state, removed.max_visits, removed.visits, removed.is_one_time], ['active', null, 3, false]);
    for (let i = 0; i < 3; i++) assert.equal(await viaReplica(code), 302);
    assert.equal((await view(code)).visits, 3, 'without a limit, visits are not counted');
  });

  test('a link given a limit on one replica while another holds it in memory: that one counts its visits from the next request', async () => {
    const writer = await openReplica('writer');
    const { short_code: code } = await create({ url: 'https://example.com/warm' });
    for (let i = 0; i < 3; i++) assert.equal(await viaReplica(code), 302);
    assert.notEqual(replica.resolveRedirectNow(code, seenFromPerson()), undefined, 'held in the replica’s memory, answered without a promise');
    const updated = await writer.updateLink(code, { maxVisits: 2 }, { keyId: 1, isAdmin: true });
    assert.equal(updated.maxVisits, 2);
    assert.equal(replica.resolveRedirectNow(code, seenFromPerson()), undefined, 'limited: never answered from memory');
    assert.equal(await viaReplica(code), 302);
    assert.equal(await viaReplica(code), 302);
    assert.equal(await viaReplica(code), 410);
    assert.equal((await view(code)).visits, 2);
  });

  test('one_time is max_visits 1 in the view; a limit and forwarding show as set; state=used lists the links used up', async () => {
    const once = await create({ url: 'https://example.com/o', one_time: true });
    assert.deepEqual([once.is_one_time, once.max_visits, once.visits, once.forward_query], [true, 1, 0, false]);
    const alsoOnce = await create({ url: 'https://example.com/o2', max_visits: 1, one_time: true });
    assert.deepEqual([alsoOnce.is_one_time, alsoOnce.max_visits], [true, 1]);
    const plain = await create({ url: 'https://example.com/p' });
    assert.deepEqual([plain.is_one_time, plain.max_visits, plain.visits, plain.forward_query], [false, null, 0, false]);
    const both = await create({ url: 'https://example.com/b', max_visits: 3, forward_query: true });
    assert.deepEqual([both.is_one_time, both.max_visits, both.forward_query], [false, 3, true]);
    await redirect(`/${once.short_code}`);
    const used = await svc.app.inject({ url: '/urls?state=used&limit=100', headers: svc.admin });
    const codes = used.json<{ items: LinkView[] }>().items.map((l) => l.short_code);
    assert.ok(codes.includes(once.short_code) && !codes.includes(both.short_code) && !codes.includes(plain.short_code), codes.join(' '));
  });

  test("forward_query merges the request's query into the target's, on GET, HEAD and with a trailing slash; other links ignore it", async () => {
    const { short_code: code } = await create({ url: 'https://target.example/page?ref=1&utm_source=old#top', forward_query: true });
    const location = async (path: string, method: 'GET' | 'HEAD' = 'GET') => (await redirect(path, PERSON, method)).headers.location;
    assert.equal(await location(`/${code}?utm_source=x`), 'https://target.example/page?ref=1&utm_source=x#top');
    assert.equal(await location(`/${code}/?utm_source=x&utm_medium=mail`, 'HEAD'), 'https://target.example/page?ref=1&utm_source=x&utm_medium=mail#top');
    assert.equal(await location(`/${code}`), 'https://target.example/page?ref=1&utm_source=old#top', 'no query: the target as it is');
    assert.equal(await location(`/${code}?a=${'x'.repeat(2100)}`), 'https://target.example/page?ref=1&utm_source=old#top', 'too long: the target as it is');
    assert.equal(await viaReplicaLocation(code, '/x?q=1'), 'https://target.example/page?ref=1&utm_source=old&q=1#top');

    const { short_code: plain } = await create({ url: 'https://target.example/page?ref=1' });
    assert.equal(await location(`/${plain}?utm_source=x`), 'https://target.example/page?ref=1');
    const { short_code: limited } = await create({ url: 'https://target.example/l', forward_query: true, max_visits: 1 });
    assert.equal(await location(`/${limited}?utm_source=x`), 'https://target.example/l?utm_source=x', 'a limited link forwards too');
    // Turned on and off by PATCH, at once.
    await patch(plain, { forward_query: true });
    assert.equal(await location(`/${plain}?utm_source=x`), 'https://target.example/page?ref=1&utm_source=x');
    await patch(code, { forward_query: false });
    assert.equal(await location(`/${code}?utm_source=x`), 'https://target.example/page?ref=1&utm_source=old#top');
  });

  const viaReplicaLocation = async (code: string, requestTarget: string): Promise<string | null> => {
    const answer = await replica.resolveRedirect(code, seenFromPerson(), requestTarget);
    return 'location' in answer ? answer.location : null;
  };
});
