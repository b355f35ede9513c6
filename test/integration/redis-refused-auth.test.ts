// A Redis that asks for a password REDIS_URL does not give, or refuses the one it gives (the chart's
// Redis always has one). ioredis's connect() says only "Connection is closed.", and the services
// started "degraded", logging that Redis was not reachable while it answered every connection, and
// retried for ever. A password missing or refused is a configuration mistake no retry cures: each
// service stops at start with one line naming it. A private redis-server with requirepass; the
// shared one is never touched.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { ConfigError } from '../../src/core/config.ts';
import { connectRedis } from '../../src/core/redis.ts';
import { captureLogger } from '../support/log.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { onFreePort, runToExit } from '../support/processes.ts';
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

/**
 * A Redis Cluster of one node holding every slot, with a password: the chart's cluster has one too.
 * It announces its address: a lone node's CLUSTER SLOTS names no host otherwise, and a client waits for ever.
 */
async function startPasswordedCluster(): Promise<{ port: number; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'curt-cluster-auth-'));
  const { port, launched: child } = await onFreePort(async (picked): Promise<ChildProcess> => {
    const server = spawn('redis-server', ['--port', String(picked), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-announce-ip', '127.0.0.1', '--requirepass', PASSWORD, '--dir', dir], { stdio: 'ignore' });
    const admin = new Redis(picked, '127.0.0.1', { password: PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    admin.on('error', () => undefined);
    try {
      for (let i = 0; ; i++) {
        if (server.exitCode !== null) throw new Error(`redis-server exited with ${server.exitCode} (port ${picked} taken?)`);
        try {
          await admin.connect();
          break;
        } catch {
          if (i > 100) throw new Error('redis-server in cluster mode did not answer');
          await sleep(50);
        }
      }
      await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
      while (!String(await admin.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) await sleep(50);
    } finally {
      admin.disconnect();
    }
    return server;
  });
  return {
    port,
    stop: async () => {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

test('a Redis Cluster that asks for a password: the nodes\' NOAUTH or WRONGPASS is said, not "Failed to refresh slots cache."', { timeout: 60_000 }, async () => {
  const cluster = await startPasswordedCluster();
  try {
    for (const [url, line] of [
      [`redis+cluster://127.0.0.1:${cluster.port}`, NO_PASSWORD],
      [`redis+cluster://:not-it@127.0.0.1:${cluster.port}`, WRONG_PASSWORD],
    ] as const) {
      const err = await connectRedis({ url, log: captureLogger('redis').log, name: 'curt-test' }).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof ConfigError, `${url}: a ConfigError, not ${String(err)}`);
      assert.equal(err.message, line);
    }
    const client = await connectRedis({ url: `redis+cluster://:${PASSWORD}@127.0.0.1:${cluster.port}`, log: captureLogger('redis').log, name: 'curt-test' });
    try {
      assert.equal(await client.set('curt-test:cluster-auth', '1'), 'OK', 'the right password works');
    } finally {
      client.disconnect();
    }
  } finally {
    await cluster.stop();
  }
});
