// Connections that node-postgres itself gives up on, before the server could refuse them: the server
// asks for a password (SCRAM) and DATABASE_URL has none; TLS with a certificate the client cannot
// verify. They come as plain errors with no SQLSTATE, and were 500 internal_error on every request
// and a service that started "degraded" for ever. Each must be an outage like a refusal (503,
// counted by the breaker) and a configuration refusal that stops the URL service at start with one
// line. A private server (test/support/private-postgres.ts), since these need its pg_hba.conf and
// TLS settings; the shared one is never touched.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDependencyBreaker } from '../../src/core/dependency-breaker.ts';
import { DependencyDown } from '../../src/core/errors.ts';
import { configurationRefusal, createPgPool, guardedRunner, isPostgresUnavailable, pgRunner } from '../../src/core/postgres.ts';
import { testLogger } from '../support/log.ts';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.ts';
import { runToExit } from '../support/processes.ts';

const ROLE = 'curt_scram_user';
let server: PrivatePostgres;

/** Writes a file of the data folder as the server's own user (it runs as `postgres` when the tests run as root). */
function writeServerFile(name: string, text: string, mode = 0o600): void {
  const path = join(server.dataDir, name);
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
  const { uid, gid } = statSync(server.dataDir);
  chownSync(path, uid, gid);
}

before(async () => {
  server = await startPrivatePostgres('client-refusals');
  // A self-signed certificate: the server offers TLS, and a client that verifies cannot trust it.
  const key = join(server.dataDir, 'tmp.key');
  const cert = join(server.dataDir, 'tmp.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  writeServerFile('server.key', readFileSync(key, 'utf8'));
  writeServerFile('server.crt', readFileSync(cert, 'utf8'), 0o644);
  await server.query('postgres', `CREATE ROLE ${ROLE} LOGIN PASSWORD 'a-password-0123'`);
  // The role must give its password (SCRAM, PostgreSQL 15's default encryption); everyone else is trusted.
  const hba = readFileSync(join(server.dataDir, 'pg_hba.conf'), 'utf8');
  writeServerFile('pg_hba.conf', `host all ${ROLE} 127.0.0.1/32 scram-sha-256\n${hba}`);
  await server.query('postgres', 'ALTER SYSTEM SET ssl = on');
  await server.query('postgres', 'SELECT pg_reload_conf()');
  // The postmaster reloads on its own time: wait until a connection sees both changes.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [row] = await server.query<{ ssl: string }>('postgres', 'SHOW ssl');
    const asked = await failureOf(noPassword()).catch(() => null);
    if (row?.ssl === 'on' && asked !== null && /password/.test(asked.message)) break;
    if (Date.now() > deadline) throw new Error(`the server did not take the new settings:\n${server.log()}`);
    await sleep(50);
  }
});

after(async () => {
  await server?.destroy();
});

const noPassword = (): string => `postgres://${ROLE}@127.0.0.1:${server.port}/postgres`;
const verifiedTls = (): string => `${server.url('postgres')}?sslmode=verify-full`;

/** What one statement on a fresh pool to `url` fails with (as the stores' runner sees it). */
async function failureOf(url: string): Promise<Error> {
  const pool = createPgPool({ url, log: testLogger('db'), max: 1 });
  try {
    const err = await pgRunner(pool)
      .query('SELECT 1')
      .then(() => null, (e: unknown) => e);
    assert.ok(err instanceof Error, `SELECT 1 on ${url} should have failed`);
    return err;
  } finally {
    await pool.end();
  }
}

const cases = [
  {
    what: 'no password where the server asks for one (SCRAM)',
    url: noPassword,
    message: /^SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string$/,
    refusal: /the server asks for a password and none is given \(SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string\)/,
  },
  {
    what: 'TLS with a certificate the client cannot verify',
    url: verifiedTls,
    // Node 24 adds advice to OpenSSL's words ("; if the root CA is installed locally, try ..."): kept as it comes.
    message: /^self-signed certificate(; .*)?$/,
    refusal: /TLS: self-signed certificate(; [^()]*)? \(DEPTH_ZERO_SELF_SIGNED_CERT\); sslrootcert names the CA to trust/,
  },
];

/** `refusal` as the whole text. */
const whole = (refusal: RegExp): RegExp => new RegExp(`^${refusal.source}$`);
/** `refusal` as the whole of a one-line output, after `prefix`. */
const line = (prefix: string, refusal: RegExp): RegExp => new RegExp(`^${prefix}${refusal.source}\\n$`);

for (const { what, url, message, refusal } of cases) {
  test(`${what}: an outage, and a configuration refusal that says what to change`, async () => {
    const err = await failureOf(url());
    assert.match(err.message, message);
    assert.equal(isPostgresUnavailable(err), true);
    assert.match(configurationRefusal(err) ?? '', whole(refusal));
  });

  test(`${what}: through the breaker, a 503 postgres_unavailable that keeps the reason`, async () => {
    const pool = createPgPool({ url: url(), log: testLogger('db'), max: 1 });
    const breaker = createDependencyBreaker({ dependency: 'postgres', log: testLogger('url'), isFailure: isPostgresUnavailable, failureThreshold: 3, resetTimeoutMs: 2000 });
    try {
      const err = await guardedRunner(pgRunner(pool), breaker)
        .query('SELECT 1')
        .then(() => null, (e: unknown) => e);
      assert.ok(err instanceof DependencyDown, `a DependencyDown, not ${String(err)}`);
      assert.equal(err.status, 503);
      assert.equal(err.code, 'postgres_unavailable');
      assert.match(configurationRefusal(err) ?? '', whole(refusal));
    } finally {
      await pool.end();
    }
  });

  test(`${what}: the URL service stops at start with one line, not degraded`, async () => {
    const { code, stderr } = await runToExit('src/url/main.ts', {
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: '0',
      METRICS_PORT: 'off',
      DATABASE_URL: url(),
      // Nothing else is reached: the schema check, which stops it, comes first.
      REDIS_URL: 'redis://127.0.0.1:1',
      KGS_URL: 'http://127.0.0.1:1',
      KGS_TOKEN: 'client-refusals-token-0123456789',
    });
    assert.equal(code, 1, stderr);
    assert.match(stderr, line('DATABASE_URL: ', refusal));
  });

  test(`${what}: \`curt migrate\` says the same`, async () => {
    const { code, stderr } = await runToExit('src/url/migrate-main.ts', { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', DATABASE_URL: url() });
    assert.equal(code, 1, stderr);
    assert.match(stderr, line('migrate failed: ', refusal));
  });
}
