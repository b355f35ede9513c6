// A private redis-server for tests that stop Redis: killed (SIGKILL), frozen (SIGSTOP = hung: the
// connections stay open and nothing answers), thawed, restarted on the same port. Never the shared
// server. No persistence: a restarted server starts empty.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { onFreePort } from './processes.ts';

export interface PrivateRedis {
  port: number;
  url: string;
  pid(): number;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
  freeze(): void;
  thaw(): void;
  /** A new server on the same port (after kill()). */
  restart(): Promise<void>;
  /** A client for looking inside (not for the code under test). */
  client(): Redis;
  stop(): Promise<void>;
}

/**
 * redis-server on `port` (no persistence); resolves once it answers PING. A server that exits or
 * does not answer within 10 s fails with its output.
 */
async function launchRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}:\n${output}`);
    const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return child;
    } catch {
      // not listening yet
    } finally {
      probe.disconnect();
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not start on port ${port}:\n${output}`);
    }
    await sleep(25);
  }
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  // A frozen process only dies of SIGKILL once it is scheduled again; SIGCONT makes that prompt.
  child.kill('SIGCONT');
  child.kill('SIGKILL');
  await exited;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const started = await onFreePort(launchRedis);
  const port = started.port;
  let child = started.launched;
  const clients: Redis[] = [];
  const pidOf = (): number => {
    if (child.pid === undefined) throw new Error('redis-server has no pid');
    return child.pid;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: pidOf,
    kill: () => killAndWait(child),
    freeze: () => process.kill(pidOf(), 'SIGSTOP'),
    thaw: () => process.kill(pidOf(), 'SIGCONT'),
    async restart() {
      await killAndWait(child);
      child = await launchRedis(port);
    },
    client() {
      const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
      redis.on('error', () => undefined);
      clients.push(redis);
      return redis;
    },
    async stop() {
      for (const redis of clients) redis.disconnect();
      await killAndWait(child);
    },
  };
}
