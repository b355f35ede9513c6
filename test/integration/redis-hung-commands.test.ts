// A Redis that hangs (stopped, or a network that drops everything) answers nothing and closes
// nothing. ioredis's auto-pipelining sends a turn's commands only once the previous write is
// answered, so a command issued while one is in flight left only when that one timed out, and failed
// after up to twice the command timeout: the KGS's /codes took 4 s, not the 2 s docs/operations.md
// says. Without it (the KGS's client), each command is written at once and fails on its own timeout.
// The proxy in front of the shared Redis goes silent: it keeps reading, forwards nothing, and notes
// when each command's bytes arrive, so the test reads what was sent when, not how long things took.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { connectRedis } from '../../src/core/redis.ts';
import { testLogger } from '../support/log.ts';
import { REDIS_URL } from '../support/redis.ts';

interface SilenceableProxy {
  url: string;
  /** Stops forwarding: from now on what clients send is only kept (in `heldSince`). */
  goSilent(): void;
  /** What clients sent since the proxy went silent. */
  heldSince(): string;
  close(): Promise<void>;
}

async function silenceableProxy(): Promise<SilenceableProxy> {
  const upstream = new URL(REDIS_URL);
  const sockets = new Set<Socket>();
  let silent = false;
  let held = '';
  const server: Server = createServer((client) => {
    const redis = connect(Number(upstream.port || 6379), upstream.hostname);
    sockets.add(client).add(redis);
    client.on('data', (chunk: Buffer) => {
      if (silent) held += chunk.toString('latin1');
      else redis.write(chunk);
    });
    redis.on('data', (chunk: Buffer) => {
      if (!silent) client.write(chunk);
    });
    for (const socket of [client, redis]) socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    url: `redis://127.0.0.1:${address.port}`,
    goSilent: () => void (silent = true),
    heldSince: () => held,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

for (const autoPipelining of [false, true]) {
  test(`a hung Redis: a command issued while another is in flight is ${autoPipelining ? 'held until that one times out (auto-pipelining)' : 'written at once (no auto-pipelining)'}`, async () => {
    const proxy = await silenceableProxy();
    const redis = await connectRedis({ url: proxy.url, log: testLogger(), name: 'curt-test-hung', commandTimeoutMs: 1000, autoPipelining });
    try {
      assert.equal(await redis.ping(), 'PONG');
      proxy.goSilent();
      const first = redis.get('curt-test-hung-first').then(
        () => 'answered',
        (err: Error) => err.message,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      const second = redis.get('curt-test-hung-second').then(
        () => 'answered',
        (err: Error) => err.message,
      );
      // Both are still waiting (the first's timeout is 800 ms away): what has reached the wire?
      await new Promise((resolve) => setTimeout(resolve, 200));
      const sentBeforeFirstTimedOut = proxy.heldSince();
      assert.match(sentBeforeFirstTimedOut, /curt-test-hung-first/);
      if (autoPipelining) assert.doesNotMatch(sentBeforeFirstTimedOut, /curt-test-hung-second/, 'auto-pipelining holds the second behind the first');
      else assert.match(sentBeforeFirstTimedOut, /curt-test-hung-second/, 'the second command is written at once');
      assert.match(await first, /timed out/);
      assert.match(await second, /timed out/);
    } finally {
      redis.disconnect();
      await proxy.close();
    }
  });
}
