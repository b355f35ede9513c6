// A Redis that asks for a password REDIS_URL does not give, or refuses the one it gives (the chart's
// Redis always has one). ioredis's connect() says only "Connection is closed.", and the services
// started "degraded", logging that Redis was not reachable while it answered every connection, and
// retried for ever. A password missing or refused is a configuration mistake no retry cures: each
// service stops at start with one line naming it. A private redis-server with requirepass; the
// shared one is never touched.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/core/config.ts';
import { connectRedis } from '../../src/core/redis.ts';
import { captureLogger } from '../support/log.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { runToExit } from '../support/processes.ts';
import { startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';

const PASSWORD = 'the-redis-password-0123';
let redis: PrivateRedis;
let database: TestDatabase;

before(async () => {
  redis = await startPrivateRedis();
  // The client that set it stays authenticated; every new connection must give it.
  await redis.client().config('SET', 'requirepass', PASSWORD);
  database = await createTestDatabase('redis_refused_auth');
});

after(async () => {
  await redis?.stop();
  await database?.drop();
});

const withPassword = (password: string): string => `redis://:${password}@127.0.0.1:${redis.port}`;
const NO_PASSWORD = 'REDIS_URL: the server asks for a password and none is given (NOAUTH Authentication required.)';
const WRONG_PASSWORD = 'REDIS_URL: the user or password is refused (WRONGPASS invalid username-password pair or user is disabled.)';

test('no password where the server asks for one: connectRedis refuses with one configuration line', async () => {
  const capture = captureLogger('redis');
  const err = await connectRedis({ url: redis.url, log: capture.log, name: 'curt-test' }).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof ConfigError, `a ConfigError, not ${String(err)}`);
  assert.equal(err.message, NO_PASSWORD);
  assert.doesNotMatch(capture.text(), /not reachable/, 'not logged as a Redis that is down');
});

test('a wrong password: refused the same way, naming WRONGPASS', async () => {
  const err = await connectRedis({ url: withPassword('not-it'), log: captureLogger('redis').log, name: 'curt-test' }).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof ConfigError, `a ConfigError, not ${String(err)}`);
  assert.equal(err.message, WRONG_PASSWORD);
});

test('the right password connects; a server that is down still starts degraded, saying why', async () => {
  const client = await connectRedis({ url: withPassword(PASSWORD), log: captureLogger('redis').log, name: 'curt-test' });
  try {
    assert.equal(await client.ping(), 'PONG');
  } finally {
    client.disconnect();
  }
  const capture = captureLogger('redis');
  const down = await connectRedis({ url: 'redis://127.0.0.1:1', log: capture.log, name: 'curt-test' });
  down.disconnect();
  assert.match(capture.text(), /"err":"connect ECONNREFUSED 127\.0\.0\.1:1","msg":"redis not reachable at start-up"/, 'the socket\'s own error, not "Connection is closed."');
});

const base = { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: '0', METRICS_PORT: 'off', KGS_TOKEN: 'redis-refused-token-0123456789' };

test('the URL service and the KGS stop at start with the line, not degraded', async () => {
  for (const entry of ['src/url/main.ts', 'src/kgs/main.ts']) {
    for (const [url, line] of [
      [redis.url, NO_PASSWORD],
      [withPassword('not-it'), WRONG_PASSWORD],
    ] as const) {
      const { code, stderr } = await runToExit(entry, { ...base, DATABASE_URL: database.url, REDIS_URL: url, KGS_URL: 'http://127.0.0.1:1' });
      assert.equal(code, 1, `${entry}: ${stderr}`);
      assert.equal(stderr, `${line}\n`, entry);
    }
  }
});
