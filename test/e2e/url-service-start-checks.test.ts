// What the URL service process says at start-up about a deployment that cannot work as configured: a
// GEOIP_DB that is no MaxMind DB stops it in one line before it connects to anything, a schema behind
// names a command the production image has, and a service nobody could use, a localhost base URL or a
// revoked ADMIN_API_KEY are each said once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runToExit, startService, type Exit, type ServiceProcess } from '../support/processes.ts';
import { createTestDatabase, PG_ADMIN_URL, type TestDatabase } from '../support/postgres.ts';
import { openTestRedis, REDIS_URL, type TestRedis } from '../support/redis.ts';

const ADMIN_KEY = 'curt_start-checks-admin-0123456789abcdef';
let redis: TestRedis;
let folder: string;
/** Where nothing listens: a process that connects there before failing would hang or say so. */
let closedPort: number;

before(async () => {
  redis = await openTestRedis('e2e-start-checks');
  folder = await mkdtemp(join(tmpdir(), 'curt-start-checks-'));
  closedPort = await freePort();
});

after(async () => {
  await redis?.cleanup();
  if (folder) await rm(folder, { recursive: true, force: true });
});

/** Runs the URL service until it exits by itself (it must, within `timeoutMs`); its exit code and output. */
const runUntilExit = (env: Record<string, string>, timeoutMs = 20_000): Promise<Exit> =>
  runToExit('src/url/main.ts', { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: '0', METRICS_PORT: 'off', KGS_TOKEN: 'start-checks-token-0123456789', ...env }, timeoutMs);

/** Dependencies nobody answers on: a check made "before connecting" cannot depend on them. */
function unreachable(): Record<string, string> {
  return {
    DATABASE_URL: `postgres://postgres@127.0.0.1:${closedPort}/curt`,
    REDIS_URL: `redis://127.0.0.1:${closedPort}`,
    KGS_URL: `http://127.0.0.1:${closedPort}`,
  };
}

/** The messages of the JSON log lines at warn level. */
function warnings(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: string; msg: string })
    .filter((entry) => entry.level === 'warn')
    .map((entry) => entry.msg);
}

test('a GEOIP_DB that cannot be read stops the service with one configuration line, with the other problems, before it connects', async () => {
  const { code, stderr, stdout } = await runUntilExit({ ...unreachable(), GEOIP_DB: join(folder, 'absent.mmdb'), REDIRECT_STATUS: '303' });
  assert.equal(code, 1, stderr);
  assert.deepEqual(stderr.trim().split('\n').sort(), [
    `Invalid configuration: GEOIP_DB must be a readable MaxMind DB (.mmdb) file, or off: no such file (got ${JSON.stringify(join(folder, 'absent.mmdb'))})`,
    'Invalid configuration: REDIRECT_STATUS must be one of 301, 302, 307, 308 (got "303")',
  ]);
  assert.equal(stdout, '', 'nothing was started, nothing logged');
});

test('a GEOIP_DB that is not a MaxMind DB stops the service with one line and no stack trace, before it connects', async () => {
  const notMmdb = join(folder, 'hostname');
  await writeFile(notMmdb, 'a-machine\n');
  const { code, stderr, stdout } = await runUntilExit({ ...unreachable(), GEOIP_DB: notMmdb });
  assert.equal(code, 1, stderr);
  assert.equal(stderr, `Invalid configuration: GEOIP_DB is not a MaxMind DB (MMDB) file: it has no MMDB metadata (got ${JSON.stringify(notMmdb)})\n`);
  assert.doesNotMatch(stdout, /redis|postgres/i, 'no connection was tried');
});

test('a HOST no host has stops the service with one line naming HOST, not the platform\'s getaddrinfo error with a stack', async () => {
  const { code, stderr } = await runUntilExit({ ...unreachable(), HOST: 'not-an-ip.invalid' });
  assert.equal(code, 1, stderr);
  assert.equal(
    stderr,
    'Invalid configuration: HOST must be an address of this machine to listen on, such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface) (got "not-an-ip.invalid": no host has that name)\n',
  );
});

test('a schema behind the code names `curt migrate`, which the production image has, not an npm script', async () => {
  const database = await createTestDatabase('e2e_start_unmigrated', { migrated: false });
  try {
    const { code, stderr } = await runUntilExit({ DATABASE_URL: database.url, REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, KGS_URL: `http://127.0.0.1:${closedPort}` });
    assert.equal(code, 1, stderr);
    assert.match(stderr, /^The database schema is not up to date \(.+ pending\): run `curt migrate` \(or `node bin\/curt\.mjs migrate`\) with this DATABASE_URL first\.\n$/);
  } finally {
    await database.drop();
  }
});

test('a DATABASE_URL the server refuses (no such database, no such role) stops the service with the server\'s reason; one nobody answers on starts it degraded', async () => {
  const base = new URL(PG_ADMIN_URL);
  const missingDatabase = new URL(base);
  missingDatabase.pathname = `/curt_no_such_database_${process.pid}`;
  const missingRole = new URL(base);
  missingRole.username = `curt_no_such_role_${process.pid}`;
  for (const [url, reason] of [
    [missingDatabase, `database "curt_no_such_database_${process.pid}" does not exist`],
    [missingRole, `role "curt_no_such_role_${process.pid}" does not exist`],
  ] as const) {
    const { code, stderr } = await runUntilExit({ DATABASE_URL: url.href, REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, KGS_URL: `http://127.0.0.1:${closedPort}` });
    assert.equal(code, 1, stderr);
    assert.equal(stderr, `DATABASE_URL: ${reason}\n`);
  }
  // PostgreSQL merely down is no configuration mistake: the service starts, degraded (docs/operations.md).
  const degraded = await startService('src/url/main.ts', {
    DATABASE_URL: `postgres://postgres@127.0.0.1:${closedPort}/curt`,
    REDIS_URL,
    REDIS_KEY_PREFIX: redis.prefix,
    KGS_URL: `http://127.0.0.1:${closedPort}`,
    KGS_TOKEN: 'start-checks-token-0123456789',
  });
  try {
    const ready = await fetch(`${degraded.url}/ready`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { status: string }).status, 'degraded');
  } finally {
    await degraded.stop('SIGKILL');
  }
});

test('a DATABASE_READ_URL the server refuses stops the service with the reason; a replica nobody answers on starts it, reading the primary', async () => {
  const database = await createTestDatabase('e2e_start_replica');
  try {
    const missing = new URL(PG_ADMIN_URL);
    missing.pathname = `/curt_no_such_replica_${process.pid}`;
    const env = { DATABASE_URL: database.url, REDIS_URL, REDIS_KEY_PREFIX: redis.prefix, KGS_URL: `http://127.0.0.1:${closedPort}` };
    const { code, stderr } = await runUntilExit({ ...env, DATABASE_READ_URL: missing.href });
    assert.equal(code, 1, stderr);
    assert.equal(stderr, `DATABASE_READ_URL: database "curt_no_such_replica_${process.pid}" does not exist\n`);
    const down = await startBare(database, { DATABASE_READ_URL: `postgres://postgres@127.0.0.1:${closedPort}/curt` });
    const ready = (await (await fetch(`${down.url}/ready`)).json()) as { checks: Record<string, string> };
    assert.equal(ready.checks.postgres_replica, 'down');
    const errors = (await logOf(down))
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: string; msg: string; err?: string })
      .filter((entry) => entry.msg.startsWith('postgres replica not reachable at start-up'));
    assert.equal(errors.length, 1, 'said once, at start');
    assert.match(errors[0]?.err ?? '', /ECONNREFUSED/);
  } finally {
    await database.drop();
  }
});

/** A URL service on `database` with nothing of the test defaults: only what `env` says. */
function startBare(database: TestDatabase, env: Record<string, string>): Promise<ServiceProcess> {
  return startService('src/url/main.ts', {
    DATABASE_URL: database.url,
    REDIS_URL,
    REDIS_KEY_PREFIX: redis.prefix,
    KGS_URL: `http://127.0.0.1:${closedPort}`,
    KGS_TOKEN: 'start-checks-token-0123456789',
    ...env,
  });
}

/** Stops the process and returns what it logged. */
async function logOf(service: ServiceProcess): Promise<string> {
  await service.stop('SIGKILL');
  return service.output();
}

const NO_KEY = /^no API key exists \(or every one is revoked\), ADMIN_API_KEY is unset and ALLOW_ANONYMOUS is off: POST \/urls answers 401 to everyone\. For a first key, restart with ADMIN_API_KEY/;
const LOCALHOST_BASE = /^PUBLIC_BASE_URL is unset: short URLs start with http:\/\/localhost:\d+, which opens only on this machine/;

test('started as the production example shows (no ADMIN_API_KEY, no PUBLIC_BASE_URL) on a fresh database, the service says once that nobody can create links, and that short URLs say localhost', async () => {
  const database = await createTestDatabase('e2e_start_fresh');
  try {
    const fresh = warnings(await logOf(await startBare(database, {})));
    assert.equal(fresh.filter((msg) => NO_KEY.test(msg)).length, 1, fresh.join('\n'));
    assert.equal(fresh.filter((msg) => LOCALHOST_BASE.test(msg)).length, 1, fresh.join('\n'));

    // Anonymous links on, or a base URL set: nothing to say about either.
    const configured = warnings(await logOf(await startBare(database, { ALLOW_ANONYMOUS: 'true', PUBLIC_BASE_URL: 'https://sho.rt' })));
    assert.deepEqual(configured.filter((msg) => NO_KEY.test(msg) || LOCALHOST_BASE.test(msg)), []);

    // A key that works, even one that is no admin key, can create links: nothing to say. A revoked one cannot.
    await database.db.query("INSERT INTO api_keys (key_hash, key_prefix, name, is_admin, revoked_at) VALUES ('\\x01', 'curt_revoked', 'gone', true, now())", []);
    const onlyRevoked = warnings(await logOf(await startBare(database, { PUBLIC_BASE_URL: 'https://sho.rt' })));
    assert.equal(onlyRevoked.filter((msg) => NO_KEY.test(msg)).length, 1, onlyRevoked.join('\n'));
    await database.db.query("INSERT INTO api_keys (key_hash, key_prefix, name, is_admin) VALUES ('\\x02', 'curt_plain', 'plain', false)", []);
    const plainKey = warnings(await logOf(await startBare(database, { PUBLIC_BASE_URL: 'https://sho.rt' })));
    assert.deepEqual(plainKey.filter((msg) => NO_KEY.test(msg)), []);
  } finally {
    await database.drop();
  }
});

test('a restart with the ADMIN_API_KEY of a revoked key says it stays refused, not that it is in place', async () => {
  const database = await createTestDatabase('e2e_start_revoked_admin');
  try {
    const env = { ADMIN_API_KEY: ADMIN_KEY, PUBLIC_BASE_URL: 'https://sho.rt', LOG_LEVEL: 'info' };
    const first = await startBare(database, env);
    assert.match(await logOf(first), /admin API key from ADMIN_API_KEY is in place/);
    await database.db.query('UPDATE api_keys SET revoked_at = now()', []);

    const again = await startBare(database, env);
    const refused = await fetch(`${again.url}/api-keys`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(refused.status, 401, 'the revoked key stays refused');
    const output = await logOf(again);
    assert.doesNotMatch(output, /is in place/);
    assert.equal(
      warnings(output).filter((msg) => /^ADMIN_API_KEY is API key \d+, revoked at .+: it stays refused\. Create another admin key .+ and unset ADMIN_API_KEY, or set it to a new value$/.test(msg)).length,
      1,
      output,
    );
  } finally {
    await database.drop();
  }
});
