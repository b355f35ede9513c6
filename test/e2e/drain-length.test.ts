// How long the drain lasts (docs/operations.md, "Shutdown (SIGTERM)"). SIGTERM — what orchestrators,
// `docker stop` and systemd send — keeps answering, new connections too, for the whole
// SHUTDOWN_DRAIN_MS even with no connection open: a load balancer that has not yet noticed the stop
// may open one at any moment; so do the URL service, the KGS and `curt serve`. SIGINT (Ctrl-C at a
// terminal, no load balancer) and a crash end the drain once no connection is left.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { ROOT, startKgs, startService, startUrlService, type ServiceProcess } from '../support/processes.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { openTestRedis, REDIS_URL, type TestRedis } from '../support/redis.ts';
import { until } from '../support/fault-probes.ts';
import { RawConnection, rawGet } from '../support/raw-http.ts';

/** The service closes a kept-alive connection idle for this long: the start-up probe's, here. */
const KEEP_ALIVE_MS = 1000;

/** Sends `signal` and resolves to the exit code and how long after the signal the process exited. */
async function signalAndTime(service: ServiceProcess, signal: NodeJS.Signals): Promise<{ code: number | null; ms: number }> {
  const exited = once(service.child, 'exit');
  const sent = performance.now();
  service.child.kill(signal);
  const [code] = (await exited) as [number | null];
  return { code, ms: performance.now() - sent };
}

/**
 * SIGTERM to `service`, idle for more than KEEP_ALIVE_MS; 300 ms later a new connection (a load
 * balancer that has not noticed yet) must be answered, and the process must exit 0 only once its
 * `drainMs` drain is over.
 */
async function assertDrainsFullyAfterSigterm(service: ServiceProcess, drainMs: number): Promise<void> {
  const stopped = signalAndTime(service, 'SIGTERM');
  await sleep(300);
  const connection = await RawConnection.open(service.port).catch((err: Error) => assert.fail(`connection 300 ms after SIGTERM: ${err.message}\n${service.output().slice(-2000)}`));
  connection.send([rawGet('/health')]);
  const answer = await connection.read();
  connection.close();
  assert.ok(answer, `answered during the drain (connection ${connection.ended ?? 'open'})`);
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.connection, 'close', 'its client is told to close after it');
  // A balancer that watches /ready learns of the stop from it, while the drain still answers.
  const probe = await RawConnection.open(service.port);
  probe.send([rawGet('/ready')]);
  const ready = await probe.read();
  probe.close();
  assert.equal(ready?.status, 503, 'not ready while draining');
  assert.match(ready.body, /"checks":\{"process":"draining"\}/);
  const { code, ms } = await stopped;
  assert.equal(code, 0, service.output().slice(-2000));
  assert.ok(ms >= drainMs - 100, `exited ${Math.round(ms)} ms after SIGTERM, before the ${drainMs} ms drain was over`);
  assert.match(service.output(), /"signal":"SIGTERM".*"drain":"full"/);
  // Probes during a drain are expected: no stack trace for each of them in the log.
  assert.doesNotMatch(service.output(), /"msg":"dependency problem"/);
}

describe('the drain after SIGTERM lasts SHUTDOWN_DRAIN_MS; after SIGINT it ends once no connection is left', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let kgs: ServiceProcess;
  let urlEnv: Record<string, string>;

  before(async () => {
    database = await createTestDatabase('drain_length');
    redis = await openTestRedis('drain-length');
    kgs = await startKgs({ REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, KGS_POOL_TARGET: '200', KGS_POOL_LOW_WATERMARK: '50' });
    urlEnv = { DATABASE_URL: database.url, REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, KGS_URL: kgs.url, HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_MS), LOG_LEVEL: 'info' };
  });

  after(async () => {
    await kgs?.stop('SIGKILL');
    await database?.drop();
    await redis?.cleanup();
  });

  /** A URL service with no connection open: the start-up probe's kept-alive one has been closed. */
  async function idleService(drainMs: number): Promise<ServiceProcess> {
    const service = await startUrlService({ ...urlEnv, SHUTDOWN_DRAIN_MS: String(drainMs) });
    await sleep(KEEP_ALIVE_MS + 500);
    return service;
  }

  test('SIGTERM with no connection open: a new connection 300 ms later is answered, and the process exits only after the whole drain', async () => {
    const service = await idleService(2000);
    try {
      await assertDrainsFullyAfterSigterm(service, 2000);
    } finally {
      await service.stop('SIGKILL');
    }
  });

  test('the KGS and `curt serve` (1 s drain) too: SIGTERM with no connection open answers a new connection 300 ms later', async () => {
    const env = { SHUTDOWN_DRAIN_MS: '1000', HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_MS), LOG_LEVEL: 'info' };
    const [otherKgs, serve] = await Promise.all([
      startKgs({ ...env, REDIS_URL, REDIS_KEY_PREFIX: redis.prefix }),
      // On PostgreSQL, not the embedded database: the same shutdown, a quicker start.
      startService(join(ROOT, 'bin/curt.mjs'), { ...env, DATABASE_URL: database.url }, { args: ['serve'], readyPath: '/ready', timeoutMs: 60_000 }),
    ]);
    try {
      await sleep(KEEP_ALIVE_MS + 500);
      await Promise.all([assertDrainsFullyAfterSigterm(otherKgs, 1000), assertDrainsFullyAfterSigterm(serve, 1000)]);
    } finally {
      await Promise.all([otherKgs.stop('SIGKILL'), serve.stop('SIGKILL')]);
    }
  });

  test('SIGINT with no connection open: the drain ends at once and the process exits well before SHUTDOWN_DRAIN_MS', async () => {
    const service = await idleService(6000);
    try {
      const { code, ms } = await signalAndTime(service, 'SIGINT');
      assert.equal(code, 0, service.output().slice(-2000));
      assert.ok(ms < 3000, `exited ${Math.round(ms)} ms after SIGINT (the drain is 6000 ms)`);
      assert.match(service.output(), /"signal":"SIGINT".*"drain":"until-idle"/);
    } finally {
      await service.stop('SIGKILL');
    }
  });
});

test('a crash with no connection open ends the drain at once: the process exits 1 well before SHUTDOWN_DRAIN_MS', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/serve-then-crash.ts', '6000'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  try {
    await until(() => output.includes('listening ') || child.exitCode !== null, 20_000, () => `the app to listen:\n${output}`);
    const listening = performance.now();
    const [code] = (await exited) as [number | null];
    const ms = performance.now() - listening;
    assert.equal(code, 1, output);
    assert.ok(ms < 3000, `exited ${Math.round(ms)} ms after it started listening (crash at 100 ms, drain 6000 ms):\n${output}`);
    assert.match(output, /"origin":"uncaughtException".*"drain":"until-idle"/);
  } finally {
    clearTimeout(timer);
    child.kill('SIGKILL');
  }
});
