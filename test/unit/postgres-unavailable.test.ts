// PostgreSQL refusing a connection, with the errors the real server sends (the shared one; this file
// makes its own database and roles and removes them). The refusal comes as an ordinary error with a
// SQLSTATE, like a statement's: it must still be an outage (503, counted by the breaker), and one that
// only a change of DATABASE_URL can cure must be told apart, so that the URL service can refuse to
// start on it. Statement errors must stay what they were, even those with the same code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createDependencyBreaker } from '../../src/core/dependency-breaker.ts';
import { DependencyDown } from '../../src/core/errors.ts';
import { markConnectionRefused } from '../../src/core/unavailable.ts';
import { configurationRefusal, createPgPool, guardedRunner, isPostgresUnavailable, pgRunner } from '../../src/core/postgres.ts';
import { captureLogger, testLogger } from '../support/log.ts';
import { PG_ADMIN_URL } from '../support/postgres.ts';

const suffix = randomUUID().slice(0, 8);
const database = `curt_test_refusals_${suffix}`;
const roles = {
  /** May log in, but has no CONNECT on `database`. */
  noConnect: `curt_test_noconnect_${suffix}`,
  /** CONNECT on `database`, but a connection limit of 0. */
  noSlots: `curt_test_noslots_${suffix}`,
  /** CONNECT on `database`, but no privilege on its table. */
  reader: `curt_test_reader_${suffix}`,
};

function urlOf(options: { user?: string; database?: string; port?: number }): string {
  const url = new URL(PG_ADMIN_URL);
  if (options.user !== undefined) url.username = options.user;
  if (options.database !== undefined) url.pathname = `/${options.database}`;
  if (options.port !== undefined) url.port = String(options.port);
  return url.toString();
}

async function asAdmin(sql: string, on = new URL(PG_ADMIN_URL).pathname.slice(1)): Promise<void> {
  const client = new pg.Client({ connectionString: urlOf({ database: on }) });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The level and `err` of each log line with this message. */
function loggedLines(logText: string, msg: string): { level: string; err?: unknown }[] {
  return logText
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; msg: string; err?: unknown })
    .filter((l) => l.msg === msg)
    .map(({ level, err }) => (err === undefined ? { level } : { level, err }));
}

/** What one statement on a fresh pool to `url` fails with (as the stores' runner sees it). */
async function failureOf(url: string, sql = 'SELECT 1'): Promise<Error> {
  const pool = createPgPool({ url, log: testLogger('db'), max: 1 });
  try {
    const err = await pgRunner(pool)
      .query(sql)
      .then(() => null, (e: unknown) => e);
    assert.ok(err instanceof Error, `${sql} on ${url} should have failed`);
    return err;
  } finally {
    await pool.end();
  }
}

before(async () => {
  await asAdmin(`CREATE DATABASE ${database}`);
  await asAdmin(`REVOKE CONNECT ON DATABASE ${database} FROM PUBLIC`);
  await asAdmin(`CREATE ROLE ${roles.noConnect} LOGIN`);
  await asAdmin(`CREATE ROLE ${roles.noSlots} LOGIN CONNECTION LIMIT 0`);
  await asAdmin(`CREATE ROLE ${roles.reader} LOGIN`);
  await asAdmin(`GRANT CONNECT ON DATABASE ${database} TO ${roles.noSlots}, ${roles.reader}`);
  await asAdmin('CREATE TABLE guarded (id int)', database);
});

after(async () => {
  await asAdmin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  for (const role of Object.values(roles)) await asAdmin(`DROP ROLE IF EXISTS ${role}`);
});

describe('PostgreSQL refusing the connection', () => {
  test('a database that does not exist is an outage, and a configuration refusal that names the database', async () => {
    const err = await failureOf(urlOf({ database: `curt_doesnotexist_${suffix}` }));
    assert.equal((err as pg.DatabaseError).code, '3D000');
    assert.equal(isPostgresUnavailable(err), true);
    assert.equal(configurationRefusal(err), `database "curt_doesnotexist_${suffix}" does not exist`);
  });

  test('a role that does not exist is an outage, and a configuration refusal that names the role', async () => {
    const err = await failureOf(urlOf({ user: `nosuchuser_${suffix}` }));
    assert.equal((err as pg.DatabaseError).code, '28000');
    assert.equal(isPostgresUnavailable(err), true);
    assert.equal(configurationRefusal(err), `role "nosuchuser_${suffix}" does not exist`);
  });

  test('a role without CONNECT on the database is an outage, and a configuration refusal with the server\'s detail', async () => {
    const err = await failureOf(urlOf({ user: roles.noConnect, database }));
    assert.equal((err as pg.DatabaseError).code, '42501');
    assert.equal(isPostgresUnavailable(err), true);
    assert.equal(configurationRefusal(err), `permission denied for database "${database}": User does not have CONNECT privilege.`);
  });

  test('a refusal that waiting can cure (too many connections) is an outage, not a configuration refusal', async () => {
    const err = await failureOf(urlOf({ user: roles.noSlots, database }));
    assert.equal((err as pg.DatabaseError).code, '53300');
    assert.equal(isPostgresUnavailable(err), true);
    assert.equal(configurationRefusal(err), null);
  });

  test('a server that is not listening is an outage, not a configuration refusal', async () => {
    // Port 1: nothing listens there, so the connection is refused at once.
    const err = await failureOf(urlOf({ port: 1 }));
    assert.equal(isPostgresUnavailable(err), true);
    assert.equal(configurationRefusal(err), null);
  });

  test('TLS asked of a server without it is an outage, and a configuration refusal that says so (it was a 500)', async () => {
    // sslmode=verify-full: what node-postgres makes of require too, without its warning on stderr.
    const err = await failureOf(`${urlOf({ database })}?sslmode=verify-full`);
    assert.equal(err.message, 'The server does not support SSL connections');
    assert.equal(isPostgresUnavailable(err), true);
    assert.equal(configurationRefusal(err), 'The server does not support SSL connections, and sslmode asks for TLS');
  });

  test('through the breaker: each refusal is a 503 postgres_unavailable with Retry-After, three open it, and its line says why', async () => {
    const pool = createPgPool({ url: urlOf({ database: `curt_doesnotexist_${suffix}` }), log: testLogger('db'), max: 1 });
    const capture = captureLogger('url');
    const breaker = createDependencyBreaker({ dependency: 'postgres', log: capture.log, isFailure: isPostgresUnavailable, failureThreshold: 3, resetTimeoutMs: 2000 });
    const db = guardedRunner(pgRunner(pool), breaker);
    try {
      for (let i = 0; i < 3; i++) {
        const err = await db.query('SELECT 1').then(() => null, (e: unknown) => e);
        assert.ok(err instanceof DependencyDown, `a DependencyDown, not ${String(err)}`);
        assert.equal(err.status, 503);
        assert.equal(err.code, 'postgres_unavailable');
        assert.equal(err.headers['retry-after'], '2');
        assert.equal(configurationRefusal(err), `database "curt_doesnotexist_${suffix}" does not exist`);
      }
      assert.equal(breaker.state(), 'open');
      assert.deepEqual(loggedLines(capture.text(), 'postgres circuit breaker closed -> open'), [
        { level: 'warn', err: `database "curt_doesnotexist_${suffix}" does not exist` },
      ]);
    } finally {
      await pool.end();
    }
  });
});

describe('the breaker\'s line when it opens', () => {
  test('names the failure that opened it, and no earlier one when a probe without an error opens it', () => {
    const capture = captureLogger('url');
    const breaker = createDependencyBreaker({ dependency: 'postgres', log: capture.log, isFailure: isPostgresUnavailable, failureThreshold: 2, resetTimeoutMs: 2000 });
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' });
    const admission = breaker.admit();
    assert.ok(admission !== undefined);
    breaker.finish(admission, true, refused);
    breaker.recordFailure();
    breaker.recordSuccess();
    breaker.recordFailure();
    breaker.recordFailure(refused);
    assert.deepEqual(loggedLines(capture.text(), 'postgres circuit breaker closed -> open'), [{ level: 'warn' }, { level: 'warn', err: refused.message }]);
  });
});

describe('statement errors once connected', () => {
  test('stay answers, even with a code a refused connection also has (42501 for a missing grant)', async () => {
    const cases: [string, string, string][] = [
      [urlOf({ user: roles.reader, database }), 'SELECT * FROM guarded', '42501'],
      [urlOf({ database }), 'SELECT * FROM no_such_table', '42P01'],
      [urlOf({ database }), 'SELECT 1/0', '22012'],
      [urlOf({ database }), "SELECT 'x'::int", '22P02'],
    ];
    for (const [url, sql, code] of cases) {
      const err = await failureOf(url, sql);
      assert.equal((err as pg.DatabaseError).code, code, sql);
      assert.equal(isPostgresUnavailable(err), false, sql);
      assert.equal(configurationRefusal(err), null, sql);
    }
  });

  test('a statement timeout (57014) stays an outage, as before: the database is hung or overloaded', async () => {
    const pool = createPgPool({ url: urlOf({ database }), log: testLogger('db'), max: 1 });
    try {
      const err = await pgRunner(pool)
        .transaction(async (tx) => {
          await tx.query("SET LOCAL statement_timeout = '20ms'");
          await tx.query('SELECT pg_sleep(2)');
        })
        .then(() => null, (e: unknown) => e);
      assert.equal((err as pg.DatabaseError | null)?.code, '57014');
      assert.equal(isPostgresUnavailable(err), true);
      assert.equal(configurationRefusal(err), null);
    } finally {
      await pool.end();
    }
  });
});

describe('TLS refusals by their code (what Node and OpenSSL throw while connecting)', () => {
  /** An error as the client's TLS handshake throws it, marked as the pool's client marks it. */
  const refused = (message: string, code: string): Error => {
    const err = Object.assign(new Error(message), { code });
    markConnectionRefused(err);
    return err;
  };

  test('each untrusted, misnamed or outdated certificate stops the start with what to change; a timeout does not', () => {
    const cases: [string, string, string | null][] = [
      ['unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'TLS: unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE); sslrootcert names the CA to trust'],
      ['self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN', 'TLS: self-signed certificate in certificate chain (SELF_SIGNED_CERT_IN_CHAIN); sslrootcert names the CA to trust'],
      ['invalid CA certificate', 'INVALID_CA', 'TLS: invalid CA certificate (INVALID_CA); sslrootcert names the CA to trust'],
      ["Hostname/IP does not match certificate's altnames", 'ERR_TLS_CERT_ALTNAME_INVALID', "TLS: Hostname/IP does not match certificate's altnames (ERR_TLS_CERT_ALTNAME_INVALID); the host in DATABASE_URL must be a name the server's certificate holds"],
      ['certificate has expired', 'CERT_HAS_EXPIRED', "TLS: certificate has expired (CERT_HAS_EXPIRED); the server's certificate is out of date"],
      ['wrong version number', 'ERR_SSL_WRONG_VERSION_NUMBER', 'TLS: wrong version number (ERR_SSL_WRONG_VERSION_NUMBER)'],
      ['Client network socket disconnected before secure TLS connection was established', 'ECONNRESET', null],
      ['TLS handshake timeout', 'ERR_TLS_HANDSHAKE_TIMEOUT', null],
    ];
    for (const [message, code, refusal] of cases) {
      const err = refused(message, code);
      assert.equal(isPostgresUnavailable(err), true, code);
      assert.equal(configurationRefusal(err), refusal, code);
    }
  });
});
