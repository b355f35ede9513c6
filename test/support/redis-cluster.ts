// A private Redis Cluster for tests: 6 redis-server processes (3 masters, 3 replicas) on free ports
// in a temp folder, joined by `redis-cli --cluster create`. A master can be SIGKILLed and its
// replica's promotion awaited; stop() kills every process by pid. Never the shared server. No
// persistence: what a killed master held lives on only in its replica.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, onFreePort } from './processes.ts';

const run = promisify(execFile);

export interface ClusterNode {
  port: number;
  child: ChildProcess;
}

export interface PrivateRedisCluster {
  /** `redis+cluster://` with every node: what REDIS_URL takes. */
  url: string;
  nodes: ClusterNode[];
  /** The port of the master serving `key`'s slot now. */
  masterOf(key: string): Promise<number>;
  /** SIGKILLs the master on `port`, then waits until a replica serves its slots and the cluster is ok. Returns ms until then. */
  killMaster(port: number): Promise<number>;
  /** The port of the replica of the master on `port`. */
  replicaOf(port: number): Promise<number>;
  /** SIGSTOP / SIGCONT a node: it stays connected and answers nothing (nor replicates). */
  freeze(port: number): void;
  thaw(port: number): void;
  /** A plain client on one node (for looking inside). */
  client(port: number): Redis;
  stop(): Promise<void>;
}

/** Start-up's waits: a loaded machine (the whole suite runs two files at once) is slow to sync replicas. */
const START_TIMEOUT_MS = 60_000;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err; // not yet
    }
    if (Date.now() > deadline) throw new Error(`redis cluster: timed out waiting for ${what}${lastError === undefined ? '' : ` (last: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)})`}`);
    await sleep(50);
  }
}

function probeClient(port: number): Redis {
  const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500, commandTimeout: 1000 });
  redis.on('error', () => undefined);
  return redis;
}

async function ask<T>(port: number, command: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = probeClient(port);
  try {
    await redis.connect();
    return await command(redis);
  } finally {
    redis.disconnect();
  }
}

const tail = (text: string): string => text.slice(-1500);

/**
 * One cluster node on ports picked free (onFreePort: started again on new ports when the one picked
 * was taken before redis-server bound it). A node that does not answer fails with its log, which
 * says why it exited.
 */
async function startNode(dir: string): Promise<ClusterNode> {
  const { port, launched: child } = await onFreePort(async (port) => {
    // The cluster bus would default to port + 10000, which need not be free (or exist).
    const busPort = await freePort();
    const logfile = join(dir, `redis-${port}.log`);
    const child = spawn(
      'redis-server',
      [
        '--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1',
        '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '1000',
        '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', logfile,
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) {
      if ((await ask(port, (r) => r.ping()).catch(() => undefined)) === 'PONG') return child;
      await sleep(50);
    }
    await killAndWait(child);
    const log = await readFile(logfile, 'utf8').catch(() => '');
    throw new Error(`redis cluster: the node on port ${port} did not start (bus port ${busPort}); its log:\n${tail(log)}`);
  });
  return { port, child };
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

export async function startRedisCluster(): Promise<PrivateRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'curt-redis-cluster-'));
  const nodes: ClusterNode[] = [];
  const clients: Redis[] = [];
  const stop = async (): Promise<void> => {
    for (const redis of clients) redis.disconnect();
    await Promise.all(nodes.map((node) => killAndWait(node.child)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 6; i++) nodes.push(await startNode(dir));
    try {
      await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 60_000 });
    } catch (err) {
      const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
      throw new Error(`redis cluster: redis-cli --cluster create failed: ${String(err)}\n${tail(stdout)}\n${tail(stderr)}`);
    }
    for (const node of nodes) {
      await waitFor(`cluster_state:ok on ${node.port}`, async () => ((await ask(node.port, (r) => r.cluster('INFO'))).includes('cluster_state:ok') ? true : undefined), START_TIMEOUT_MS);
    }
    // Every replica attached and in sync, so that a kill can be failed over.
    let seen = '';
    await waitFor('every replica in sync', async () => {
      const roles = await Promise.all(nodes.map((n) => ask(n.port, (r) => r.info('replication'))));
      seen = roles.map((info, i) => `${nodes[i]?.port}: ${/role:(\w+)/.exec(info)?.[1] ?? '?'} ${/master_link_status:(\w+)/.exec(info)?.[1] ?? ''}`).join(', ');
      const synced = roles.filter((info) => info.includes('role:slave') && info.includes('master_link_status:up')).length;
      return synced === 3 ? true : undefined;
    }, START_TIMEOUT_MS).catch((err: unknown) => {
      throw new Error(`${String(err)}; the nodes: ${seen}`);
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const alive = (): ClusterNode[] => nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);

  async function masterOf(key: string): Promise<number> {
    const slot = await ask(alive()[0]?.port ?? 0, (r) => r.cluster('KEYSLOT', key));
    return waitFor(`a master for slot ${slot}`, async () => {
      const slots = (await ask(alive()[0]?.port ?? 0, (r) => r.cluster('SLOTS'))) as unknown as [number, number, [string, number, ...unknown[]]][];
      const range = slots.find(([from, to]) => slot >= from && slot <= to);
      return range?.[2][1];
    });
  }

  return {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    nodes,
    masterOf,
    async killMaster(port) {
      const node = nodes.find((n) => n.port === port);
      if (!node) throw new Error(`no node on port ${port}`);
      const role = await ask(port, (r) => r.info('replication'));
      if (!role.includes('role:master')) throw new Error(`node ${port} is no master`);
      const startedAt = performance.now();
      await killAndWait(node.child);
      await waitFor('a replica to take over', async () => {
        for (const other of alive()) {
          const info = await ask(other.port, (r) => r.cluster('INFO'));
          if (!info.includes('cluster_state:ok')) return undefined;
          const masters = ((await ask(other.port, (r) => r.cluster('NODES'))) as string).split('\n').filter((line) => /[ ,]master[ ,]/.test(line) && !line.includes('fail') && /\d+-\d+/.test(line));
          if (masters.some((line) => line.includes(`:${port}@`))) return undefined;
          if (masters.length < 3) return undefined;
        }
        return true;
      });
      return performance.now() - startedAt;
    },
    async replicaOf(port) {
      const id = String(await ask(port, (r) => r.cluster('MYID')));
      const lines = String(await ask(port, (r) => r.cluster('NODES'))).split('\n');
      const line = lines.find((l) => l.includes(` ${id} `) && /[ ,]slave[ ,]/.test(l));
      const replica = /:(\d+)@/.exec(line ?? '')?.[1];
      if (replica === undefined) throw new Error(`no replica of ${port}`);
      return Number(replica);
    },
    freeze: (port) => void nodes.find((n) => n.port === port)?.child.kill('SIGSTOP'),
    thaw: (port) => void nodes.find((n) => n.port === port)?.child.kill('SIGCONT'),
    client(port) {
      const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
      redis.on('error', () => undefined);
      clients.push(redis);
      return redis;
    },
    stop,
  };
}
