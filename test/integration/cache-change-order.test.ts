// Changes of one link reach the Redis cache in any order (two replicas, a slow connection), while
// PostgreSQL's row lock orders them: the cache keeps the newest by the row's version (migration 017,
// lua/cache-write.lua), so an older state written late never replaces a newer one or a deletion's
// tombstone. Each change's write is held here until a later change has been answered, as a slow
// Redis connection of another replica would hold it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { LinkNotFound } from '../../src/core/errors.ts';
import type { CachedLink, LinkCache } from '../../src/storage/link-cache.ts';
import { createPgApiKeyStore, createPgLinkStore } from '../../src/storage/postgres/pg-link-store.ts';
import { hashApiKey } from '../../src/url/api-keys.ts';
import { createRedisLinkCache } from '../../src/storage/redis/redis-link-cache.ts';
import { createLinkService, type LinkService, type Principal } from '../../src/url/link-service.ts';
import { cachedLink } from '../support/cached-link.ts';
import { linkServiceOptions } from '../support/link-service.ts';
import { testLogger } from '../support/log.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { openTestRedis, type TestRedis } from '../support/redis.ts';

describe('the cache keeps the newest state of a link whatever order the writes arrive in', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let cache: LinkCache;
  let links: LinkService;
  /** The next write of a new state waits for this gate (set by `holdNextWrite`). */
  let gate: Promise<void> | null = null;
  let admin: Principal;
  let n = 0;
  const alias = (): string => `ord${randomBytes(2).toString('hex')}${n++}`;

  before(async () => {
    database = await createTestDatabase('cache_change_order');
    const secret = randomBytes(16).toString('hex');
    const key = await createPgApiKeyStore(database.db).insert({ hash: hashApiKey(secret), keyPrefix: secret.slice(0, 12), name: 'admin', isAdmin: true });
    admin = { keyId: key.id, isAdmin: true };
    redis = await openTestRedis('cache-change-order');
    cache = createRedisLinkCache({ redis: redis.redis, prefix: redis.prefix, log: testLogger('cache-order') });
    const held: LinkCache = {
      ...cache,
      async set(code, link, ttlS, options) {
        const wait = options?.ifAbsent === true ? null : gate;
        if (wait !== null) {
          gate = null;
          await wait;
        }
        return cache.set(code, link, ttlS, options);
      },
    };
    links = createLinkService(linkServiceOptions('cache-order', { store: createPgLinkStore(database.db), cache: held }));
  });
  after(async () => {
    await redis.cleanup();
    await database.drop();
  });

  /** The next change's cache write waits until the returned function is called. */
  function holdNextWrite(): () => void {
    let release = (): void => {};
    gate = new Promise<void>((resolve) => (release = resolve));
    return release;
  }

  /** Lets a change run until it waits on its cache write (its row committed). */
  const untilHeld = async (): Promise<void> => {
    for (let i = 0; i < 200 && gate !== null; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(gate, null, 'the change reached its cache write');
  };

  test('an update written after the deletion that followed it leaves the tombstone: the link is gone everywhere', async () => {
    const code = alias();
    await links.createLink({ url: 'https://example.com/original', alias: code }, admin);
    const release = holdNextWrite();
    const update = links.updateLink(code, { tags: ['late'] }, admin);
    await untilHeld();
    await links.deleteLink(code, admin);
    release();
    await update;
    assert.equal(await cache.get(code), null, 'the tombstone, not the updated link');
    await assert.rejects(links.lookupLink(code), LinkNotFound);
  });

  test('of two updates, the one PostgreSQL applied last stays, though its write came first', async () => {
    const code = alias();
    await links.createLink({ url: 'https://example.com/two', alias: code }, admin);
    const release = holdNextWrite();
    const first = links.updateLink(code, { tags: ['first'] }, admin);
    await untilHeld();
    await links.updateLink(code, { isActive: false }, admin);
    release();
    await first;
    const entry = await cache.get(code);
    assert.equal(entry?.isActive, false, 'disabled, as the database says');
    assert.equal((await links.lookupLink(code)).isActive, false);
  });

  test('a later link on the code replaces the tombstone of the one deleted before it', async () => {
    const code = alias();
    await links.createLink({ url: 'https://example.com/old', alias: code }, admin);
    await links.deleteLink(code, admin);
    assert.equal(await cache.get(code), null);
    // Past the alias's cool-down, or a code handed out again: a new row, a greater id, version 1.
    await database.db.query("INSERT INTO urls (short_code, original_url) VALUES ($1, 'https://example.com/new')", [code]);
    const { rows } = await database.db.query<{ id: string }>('SELECT id FROM urls WHERE short_code = $1', [code]);
    await cache.set(code, cachedLink(Number(rows[0]?.id), { url: 'https://example.com/new', version: 1 }), 60, { created: true });
    assert.equal((await cache.get(code))?.url, 'https://example.com/new');
  });

  test('entries without a version (written by an earlier release) are replaced by any new state, and replace', async () => {
    const code = alias();
    const unversioned: CachedLink = cachedLink(1_000_001, { url: 'https://example.com/unversioned' });
    await cache.set(code, cachedLink(1_000_001, { url: 'https://example.com/v5', version: 5 }), 60);
    await cache.set(code, unversioned, 60);
    assert.equal((await cache.get(code))?.url, 'https://example.com/unversioned');
    await cache.set(code, cachedLink(1_000_001, { url: 'https://example.com/v2', version: 2 }), 60);
    assert.equal((await cache.get(code))?.url, 'https://example.com/v2');
    await cache.set(code, cachedLink(1_000_001, { url: 'https://example.com/v1', version: 1 }), 60);
    assert.equal((await cache.get(code))?.url, 'https://example.com/v2', 'an older version of the same link is refused');
  });

  test('a change that makes the link expire keeps its entry as long as a lookup in flight may take, not 1 s', async () => {
    const code = alias();
    await links.createLink({ url: 'https://example.com/expiring', alias: code }, admin);
    await links.updateLink(code, { expiresAt: new Date(Date.now() - 1000) }, admin);
    const ttl = await redis.redis.pttl(`${redis.prefix}url:${code}`);
    assert.ok(ttl > 20_000, `the entry lives ${ttl} ms`);
    assert.equal((await cache.get(code))?.expiresAt !== null, true);
  });
});
