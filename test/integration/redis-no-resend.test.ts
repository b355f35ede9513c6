// A command whose answer is lost with its connection is not sent again after the reconnect
// (src/core/redis.ts): the key pool's scripts are not idempotent. Through a proxy that drops the
// connection instead of passing one answer on, after Redis has run the command.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connectRedis, type RedisClient } from '../../src/core/redis.ts';
import { createRedisKeyStore } from '../../src/storage/redis/redis-key-store.ts';
import { testLogger } from '../support/log.ts';
import { openTestRedis, REDIS_URL, type TestRedis } from '../support/redis.ts';

const upstream = new URL(REDIS_URL);
let proxy: net.Server;
let proxyPort = 0;
/** The next answer from Redis is swallowed and the client's connection dropped; then `onDropped`. */
let dropNextAnswer = false;
let onDropped = (): void => {};
const sockets = new Set<net.Socket>();
let shared: TestRedis;
let viaProxy: RedisClient;

before(async () => {
  shared = await openTestRedis('no-resend');
  proxy = net.createServer((client) => {
    const server = net.connect(Number(upstream.port || 6379), upstream.hostname);
    sockets.add(client).add(server);
    client.pipe(server);
    server.on('data', (chunk) => {
      if (!dropNextAnswer) return void client.write(chunk);
      dropNextAnswer = false;
      client.destroy();
      server.destroy();
      onDropped();
    });
    for (const [a, b] of [[client, server], [server, client]] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyPort = (proxy.address() as net.AddressInfo).port;
  viaProxy = await connectRedis({ url: `redis://127.0.0.1:${proxyPort}`, log: testLogger('no-resend'), name: 'no-resend', autoPipelining: false, commandTimeoutMs: 500 });
});

after(async () => {
  viaProxy.disconnect();
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => proxy.close(resolve));
  await shared.cleanup();
});

test('a code given back whose answer was lost is not given back again after another replica took it: never handed out twice', async () => {
  const direct = createRedisKeyStore(shared.redis, shared.prefix);
  const throughProxy = createRedisKeyStore(viaProxy, shared.prefix);
  await direct.offer(['codeXX']);
  const held = await direct.take(1);
  assert.deepEqual(held.codes, ['codeXX']);

  dropNextAnswer = true;
  const dropped = new Promise<void>((resolve) => (onDropped = resolve));
  // The give-back runs in Redis; its answer is lost with the connection.
  const givenBack = throughProxy.giveBack(held.codes, [], null).then(
    () => 'answered',
    (err: Error) => err.message,
  );
  // Another replica takes the code meanwhile, before the client has reconnected.
  await dropped;
  const taken = await direct.take(1);
  assert.deepEqual(taken.codes, ['codeXX'], 'the code was back in the pool');
  assert.notEqual(await givenBack, 'answered', 'the give-back fails (its outcome unknown), it is not answered by a second run');
  // Reconnected: a second run of the give-back would have freed codeXX again, while it is held.
  await waitUntilReady(viaProxy);
  assert.equal(await viaProxy.ping(), 'PONG');
  const next = await direct.take(1);
  assert.deepEqual(next.codes, [], 'codeXX is held: the pool is empty');
});

async function waitUntilReady(redis: RedisClient): Promise<void> {
  for (let i = 0; i < 100 && redis.status !== 'ready'; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(redis.status, 'ready');
}
