// The KGS as an operator meets it: what the process does with a bad environment, a signal, a Redis
// that is not there, and the documented `npm run kgs` start.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, freePort, runToExit, startKgs, startService, type Exit, type ServiceProcess } from '../support/processes.ts';
import { openTestRedis, REDIS_URL, type TestRedis } from '../support/redis.ts';

const ENTRY = 'src/kgs/main.ts';

/** Only PATH and HOME from the parent, as in a bare container: nothing else can leak in. */
function minimalEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  // Any free metrics port: the default one may be taken by another test's process.
  return { ...env, METRICS_PORT: '0', ...extra };
}

/** Runs the KGS to completion (it must stop by itself) and collects what it printed. */
const runKgsToExit = (env: Record<string, string>, timeoutMs?: number): Promise<Exit> => runToExit(ENTRY, minimalEnv(env), timeoutMs);

/** Waits until no process of the group `pgid` is left (signal 0 probes without sending anything). */
async function untilGroupGone(pgid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(-pgid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return;
      throw err;
    }
    if (Date.now() > deadline) {
      process.kill(-pgid, 'SIGKILL');
      throw new Error(`process group ${pgid} still running ${timeoutMs} ms after SIGTERM`);
    }
    await sleep(50);
  }
}

const lines = (text: string): string[] => text.split('\n').filter((line) => line.trim() !== '');

describe('KGS process: configuration errors', () => {
  // Each case: the environment, then the variables that must each get exactly one stderr line.
  const cases: { name: string; env: Record<string, string>; variables: string[] }[] = [
    { name: 'CODE_LENGTH=0', env: { KGS_TOKEN: 't', CODE_LENGTH: '0' }, variables: ['CODE_LENGTH'] },
    { name: 'KGS_TOKEN missing', env: {}, variables: ['KGS_TOKEN'] },
    { name: 'KGS_TOKEN missing and CODE_ALPHABET with a repeated character', env: { CODE_ALPHABET: 'aab' }, variables: ['KGS_TOKEN', 'CODE_ALPHABET'] },
    { name: 'CODE_LENGTH=x and PORT=99999', env: { KGS_TOKEN: 't', CODE_LENGTH: 'x', PORT: '99999' }, variables: ['CODE_LENGTH', 'PORT'] },
    { name: 'KGS_POOL_TARGET not above KGS_POOL_LOW_WATERMARK', env: { KGS_TOKEN: 't', KGS_POOL_TARGET: '5', KGS_POOL_LOW_WATERMARK: '10' }, variables: ['KGS_POOL_TARGET'] },
  ];

  for (const { name, env, variables } of cases) {
    test(`${name}: exits 1 with one stderr line naming each bad variable`, async () => {
      // Pointed at a port nothing listens on: a config error must stop the process before any I/O.
      const { code, stdout, stderr } = await runKgsToExit({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, ...env });
      assert.equal(code, 1);
      const problems = lines(stderr);
      assert.equal(problems.length, variables.length, `stderr:\n${stderr}`);
      for (const variable of variables) {
        const naming = problems.filter((line) => line.includes(variable));
        assert.equal(naming.length, 1, `one line names ${variable}:\n${stderr}`);
        assert.match(naming[0] ?? '', /^Invalid configuration: /);
      }
      assert.equal(stdout, '', 'nothing is logged before the configuration is valid');
    });
  }

  test('a HOST no host has: one line naming HOST, not the platform\'s getaddrinfo error with a stack', async () => {
    const { code, stderr } = await runKgsToExit({ KGS_TOKEN: 't', HOST: 'not-an-ip.invalid', PORT: '0', REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    assert.equal(code, 1);
    assert.deepEqual(
      lines(stderr),
      ['Invalid configuration: HOST must be an address of this machine to listen on, such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface) (got "not-an-ip.invalid": no host has that name)'],
    );
  });

  test('a bad REDIS_URL is reported without echoing the URL (it may hold a password)', async () => {
    const { code, stderr } = await runKgsToExit({ KGS_TOKEN: 't', REDIS_URL: 'http://user:s3cret@example.com' });
    assert.equal(code, 1);
    assert.deepEqual(lines(stderr).length, 1, stderr);
    assert.match(stderr, /REDIS_URL/);
    assert.doesNotMatch(stderr, /s3cret/);
  });
});

describe('KGS process: lifecycle', () => {
  let redis: TestRedis;
  const started: ServiceProcess[] = [];

  after(async () => {
    await Promise.all(started.map((service) => service.stop('SIGKILL')));
    await redis?.cleanup();
  });

  test('answers /health, then exits 0 on SIGTERM', async () => {
    redis = await openTestRedis('e2e-kgs-process');
    // The drain waits up to SHUTDOWN_DRAIN_MS for this test's kept-alive fetch connection to be used
    // again (so it is never reset); it never is, so the drain is kept short here.
    const kgs = await startKgs({ REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, KGS_POOL_TARGET: '200', KGS_POOL_LOW_WATERMARK: '50', SHUTDOWN_DRAIN_MS: '500' });
    started.push(kgs);
    const health = await fetch(`${kgs.url}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const stopping = performance.now();
    assert.equal(await kgs.stop('SIGTERM'), 0, kgs.output());
    assert.ok(performance.now() - stopping < 5000, 'shutdown is quick when nothing is in flight');
  });

  test('starts without Redis: /health 200, /ready 503 problem+json, a clear log line, exit 0 on SIGTERM', async () => {
    const deadPort = await freePort();
    // Waits for /health only: /ready is expected to fail here.
    const kgs = await startService(ENTRY, { KGS_TOKEN: 'test-token', REDIS_URL: `redis://127.0.0.1:${deadPort}`, REDIS_KEY_PREFIX: 'test:never-written:' }, { readyPath: '/health' });
    started.push(kgs);

    const ready = await fetch(`${kgs.url}/ready`);
    assert.equal(ready.status, 503);
    assert.match(ready.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(ready.headers.get('retry-after'), '1');
    const problem = (await ready.json()) as { status: number; code: string; checks: Record<string, string> };
    assert.equal(problem.status, 503);
    assert.equal(problem.code, 'not_ready');
    assert.deepEqual(problem.checks, { redis: 'down' });

    assert.match(kgs.output(), /redis not reachable at start-up/);
    assert.equal(await kgs.stop('SIGTERM'), 0, kgs.output());
  });

  test('GET /codes answers 503 (not 500) while Redis is down', async () => {
    const kgs = await startService(ENTRY, { KGS_TOKEN: 'test-token', REDIS_URL: `redis://127.0.0.1:${await freePort()}`, REDIS_KEY_PREFIX: 'test:never-written:' }, { readyPath: '/health' });
    started.push(kgs);
    const res = await fetch(`${kgs.url}/codes?count=1`, { headers: { authorization: 'Bearer test-token' } });
    const body = await res.text();
    await kgs.stop('SIGTERM');
    // docs/operations.md: "Redis down | `/codes*` answer `503`".
    assert.equal(res.status, 503, body);
  });

  test('`npm run kgs` with only KGS_TOKEN and PORT serves GET /codes?count=3', async () => {
    redis ??= await openTestRedis('e2e-kgs-process');
    const port = await freePort();
    // REDIS_KEY_PREFIX only isolates this run on the shared Redis; everything else is a default.
    const child = spawn('npm', ['run', '--silent', 'kgs'], {
      cwd: ROOT,
      env: minimalEnv({ KGS_TOKEN: 't', PORT: String(port), REDIS_KEY_PREFIX: redis.prefix }),
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so npm and the node it starts are stopped together by this pid.
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, 'exit');
    const pid = child.pid;
    assert.ok(pid !== undefined);
    try {
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 20_000;
      for (;;) {
        assert.equal(child.exitCode, null, `npm run kgs exited:\n${output}`);
        const ready = await fetch(`${base}/ready`).catch(() => null);
        if (ready?.ok) break;
        assert.ok(Date.now() < deadline, `not ready in time:\n${output}`);
        await sleep(100);
      }
      const res = await fetch(`${base}/codes?count=3`, { headers: { authorization: 'Bearer t' } });
      assert.equal(res.status, 200);
      const { codes } = (await res.json()) as { codes: string[] };
      assert.equal(codes.length, 3);
      assert.equal(new Set(codes).size, 3);
      for (const code of codes) assert.match(code, /^[a-zA-Z]{6}$/);
      const unauthorised = await fetch(`${base}/codes?count=3`);
      assert.equal(unauthorised.status, 401);
    } finally {
      // npm does not pass SIGTERM on to the script it runs (it dies and leaves node behind), so the
      // whole group gets the signal, and the test waits for every member to be gone: the KGS may
      // still be topping up the pool, and the prefix must not be cleaned up under its feet.
      if (child.exitCode === null) process.kill(-pid, 'SIGTERM');
      await exited;
      await untilGroupGone(pid, 15_000);
    }
    assert.match(output, /kgs listening/, 'the default log level is info: the start is logged');
  });
});
