// `curt serve` with its switches set: DATABASE_URL and REDIS_URL move storage, cache, rate limits and
// key pool to the real servers (nothing lands under DATA_DIR), and KGS_URL takes codes from a remote
// KGS. The embedded default is covered end to end by test/e2e/one-machine.test.ts.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCurtClient } from '../../src/client/curt-client.ts';
import { ConfigError, loadServeConfig } from '../../src/core/config.ts';
import { redisKeyNames } from '../../src/storage/redis/redis-key-store.ts';
import { startServe } from '../../src/serve/serve.ts';
import { buildTestKgs, TOKEN } from '../support/kgs.ts';
import { testLogger } from '../support/log.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { openTestRedis, REDIS_URL } from '../support/redis.ts';

/** Cleanups run last-registered first: the server stops before what it uses goes away. */
function cleanups(t: TestContext): (work: () => Promise<unknown>) => void {
  const stack: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const work of stack.reverse()) await work();
  });
  return (work) => void stack.push(work);
}

const unusedDataDir = () => join(tmpdir(), `curt-unused-${process.pid}-${Date.now()}`);

test('DATABASE_URL and REDIS_URL: links in PostgreSQL (migrated at start), cache, limits and key pool in Redis, nothing under DATA_DIR', async (t) => {
  const defer = cleanups(t);
  const database = await createTestDatabase('serve_switches', { migrated: false });
  defer(() => database.drop());
  const redis = await openTestRedis('serve_switches');
  defer(() => redis.cleanup());
  const config = loadServeConfig({ DATABASE_URL: database.url, REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, PORT: '0', METRICS_PORT: '0', LOG_LEVEL: 'silent' });
  const dataDir = unusedDataDir();
  const served = await startServe(config, dataDir, testLogger('serve'));
  defer(() => served.stop());

  assert.match(served.createdAdminKey ?? '', /^curt_/, 'a fresh database gets its first admin key');
  assert.match(served.where.database, /^PostgreSQL postgres:\/\//);
  assert.match(served.where.keyPool, /codes kept in Redis$/);
  const link = await createCurtClient({ baseUrl: served.address }).shorten('https://example.com/switches');
  const { rows } = await database.pool.query<{ short_code: string }>('SELECT short_code FROM urls');
  assert.deepEqual(rows.map((r) => r.short_code), [link.short_code]);
  assert.equal(await redis.redis.exists(`${redis.prefix}url:${link.short_code}`), 1, 'cached in Redis');
  assert.equal(await redis.redis.sismember(redisKeyNames(redis.prefix).used, link.short_code), 1, 'taken from the Redis key pool');
  assert.equal(existsSync(dataDir), false, 'no embedded database was made');
});

test('a DATABASE_READ_URL the server refuses stops curt serve with the reason, as the URL service does', async (t) => {
  const defer = cleanups(t);
  const database = await createTestDatabase('serve_bad_replica', { migrated: false });
  defer(() => database.drop());
  const missing = new URL(database.url);
  missing.pathname = `/curt_no_such_replica_${process.pid}`;
  const config = loadServeConfig({ DATABASE_URL: database.url, DATABASE_READ_URL: missing.href, PORT: '0', METRICS_PORT: '0', LOG_LEVEL: 'silent' });
  const err = await startServe(config, unusedDataDir(), testLogger('serve')).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof ConfigError, `a ConfigError, not ${String(err)}`);
  assert.equal(err.message, `DATABASE_READ_URL: database "curt_no_such_replica_${process.pid}" does not exist`);
});

test('DATABASE_URL alone: links and the key pool in PostgreSQL, cache and rate limits in the process', async (t) => {
  const defer = cleanups(t);
  const database = await createTestDatabase('serve_db_only', { migrated: false });
  defer(() => database.drop());
  const config = loadServeConfig({ DATABASE_URL: database.url, PORT: '0', METRICS_PORT: '0', LOG_LEVEL: 'silent', KGS_REUSE_COOLDOWN_S: '3600' });
  const served = await startServe(config, unusedDataDir(), testLogger('serve'));
  defer(() => served.stop());

  assert.equal(served.where.cache, 'in this process');
  assert.match(served.where.keyPool, /codes kept in the database$/);
  const client = createCurtClient({ baseUrl: served.address, apiKey: served.createdAdminKey ?? '' });
  const generated = await client.shorten('https://example.com/db-only');
  const alias = await client.shorten('https://example.com/db-alias', { alias: 'db-only-1' });
  const redirect = await fetch(`${served.address}/${generated.short_code}`, { redirect: 'manual' });
  assert.deepEqual([redirect.status, redirect.headers.get('location')], [302, 'https://example.com/db-only']);
  const used = async (code: string) =>
    (await database.pool.query<{ is_used: boolean; release_at: number | null }>('SELECT is_used, release_at FROM key_pool WHERE code = $1', [code])).rows[0];
  assert.deepEqual(await used(generated.short_code), { is_used: true, release_at: null }, 'taken from the key pool in PostgreSQL');
  assert.deepEqual(await used(alias.short_code), { is_used: true, release_at: null }, 'the alias is claimed there');
  await client.delete(generated.short_code);
  const returned = await used(generated.short_code);
  assert.ok(returned?.is_used === true && returned.release_at !== null, 'a deleted link’s code cools down before reuse');
});

test('KGS_URL: codes come from the remote KGS, through the client library', async (t) => {
  const defer = cleanups(t);
  const kgs = await buildTestKgs('serve_remote_kgs');
  defer(() => kgs.close());
  const kgsUrl = await kgs.app.listen({ host: '127.0.0.1', port: 0 });
  const database = await createTestDatabase('serve_remote_kgs');
  defer(() => database.drop());
  const config = loadServeConfig({ DATABASE_URL: database.url, KGS_URL: kgsUrl, KGS_TOKEN: TOKEN, PORT: '0', METRICS_PORT: '0', LOG_LEVEL: 'silent' });
  const served = await startServe(config, unusedDataDir(), testLogger('serve'));
  defer(() => served.stop());

  assert.equal(served.where.keyPool, `at the KGS: ${kgsUrl}`);
  const link = await createCurtClient({ baseUrl: served.address }).shorten('https://example.com/remote');
  assert.equal(await kgs.redis.redis.sismember(redisKeyNames(kgs.redis.prefix).used, link.short_code), 1);
});
