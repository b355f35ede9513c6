// The breaker the services put around a dependency, and how PostgreSQL errors are told apart:
// "unreachable or hung" opens it, "the database answered no" passes through.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDependencyBreaker } from '../../src/core/dependency-breaker.ts';
import { DependencyDown } from '../../src/core/errors.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { isPostgresUnavailable } from '../../src/core/postgres.ts';
import { isRedisUnavailable } from '../../src/core/unavailable.ts';
import { testLogger } from '../support/log.ts';

function sqlError(code: string): Error {
  return Object.assign(new Error(`sql ${code}`), { code });
}

async function gauge(registry: ReturnType<typeof createRegistry>, dependency: string): Promise<number | undefined> {
  const metric = registry.getSingleMetric('dependency_breaker_state');
  return (await metric?.get())?.values.find((v) => v.labels.dependency === dependency)?.value;
}

describe('dependency breaker', () => {
  function setup() {
    let now = 0;
    const registry = createRegistry({ defaultMetrics: false });
    const breaker = createDependencyBreaker({
      dependency: 'postgres',
      log: testLogger(),
      registry,
      failureThreshold: 2,
      resetTimeoutMs: 3000,
      isFailure: isPostgresUnavailable,
      now: () => now,
    });
    return { breaker, registry, advance: (ms: number) => (now += ms) };
  }

  test('failures become 503 postgres_unavailable with Retry-After, and open it after the threshold; then calls are not made', async () => {
    const { breaker, registry } = setup();
    for (let i = 0; i < 2; i++) {
      const err = await breaker.run(() => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'))).catch((e: unknown) => e);
      assert.ok(err instanceof DependencyDown);
      assert.equal(err.status, 503);
      assert.equal(err.code, 'postgres_unavailable');
      assert.equal(err.headers['retry-after'], '3');
    }
    assert.equal(breaker.state(), 'open');
    assert.equal(await gauge(registry, 'postgres'), 2);
    let called = false;
    await assert.rejects(
      breaker.run(async () => {
        called = true;
      }),
      DependencyDown,
    );
    assert.equal(called, false);
  });

  test('an answer from the dependency (a constraint violation) passes through untouched and counts as a success', async () => {
    const { breaker } = setup();
    await assert.rejects(breaker.run(() => Promise.reject(new Error('Query read timeout'))), DependencyDown);
    const unique = sqlError('23505');
    await assert.rejects(
      breaker.run(() => Promise.reject(unique)),
      (err) => err === unique,
    );
    await assert.rejects(breaker.run(() => Promise.reject(new Error('Query read timeout'))), DependencyDown);
    assert.equal(breaker.state(), 'closed', 'the answer in between reset the count');
  });

  test('after the reset time one trial goes through; its success closes the breaker', async () => {
    const { breaker, registry, advance } = setup();
    for (let i = 0; i < 2; i++) await assert.rejects(breaker.run(() => Promise.reject(new Error('timeout exceeded when trying to connect'))));
    advance(3000);
    assert.equal(breaker.state(), 'half_open');
    assert.equal(await gauge(registry, 'postgres'), 1, 'the gauge reads the state when scraped');
    assert.equal(await breaker.run(async () => 'ok'), 'ok');
    assert.equal(breaker.state(), 'closed');
    assert.equal(await gauge(registry, 'postgres'), 0);
    const transitions = registry.getSingleMetric('dependency_breaker_transitions_total');
    const values = (await transitions?.get())?.values.map((v) => `${v.labels.to}:${v.value}`).sort();
    assert.deepEqual(values, ['closed:1', 'half_open:1', 'open:1']);
  });

  test('two dependencies share one registry: one gauge, a series each', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    createDependencyBreaker({ dependency: 'postgres', log: testLogger(), registry });
    createDependencyBreaker({ dependency: 'redis', log: testLogger(), registry });
    assert.equal(await gauge(registry, 'postgres'), 0);
    assert.equal(await gauge(registry, 'redis'), 0);
  });
});

describe('isPostgresUnavailable', () => {
  test('unreachable, hung, shutting down or out of connections: true', () => {
    for (const err of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      new Error('Connection terminated unexpectedly'),
      new Error('Connection terminated due to connection timeout'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Query read timeout'),
      new Error('Client has encountered a connection error and is not queryable'),
      sqlError('57P01'), // admin_shutdown
      sqlError('57P03'), // cannot_connect_now (starting up, recovering)
      sqlError('57014'), // statement_timeout
      sqlError('53300'), // too_many_connections
      sqlError('08006'), // connection_failure
    ]) {
      assert.equal(isPostgresUnavailable(err), true, err.message);
    }
  });

  test('the database answering no: false', () => {
    for (const err of [sqlError('23505'), sqlError('22P02'), sqlError('42P01'), sqlError('42601'), sqlError('40001'), new TypeError('x is undefined'), 'not an error']) {
      assert.equal(isPostgresUnavailable(err), false, String(err));
    }
  });

  test('our own bugs are not outages, whatever their code or message says: false', () => {
    for (const err of [
      // Node's argument errors carry codes that start with E, like socket errors do.
      Object.assign(new TypeError('The "string" argument must be of type string. Received undefined'), { code: 'ERR_INVALID_ARG_TYPE' }),
      Object.assign(new RangeError('Invalid time value'), { code: 'ERR_OUT_OF_RANGE' }),
      new TypeError("Cannot read properties of undefined (reading 'connection')"),
      new Error('a timeout of our own making in the connection string parser'),
    ]) {
      assert.equal(isPostgresUnavailable(err), false, err.message);
    }
  });
});

describe('isRedisUnavailable', () => {
  function reply(message: string): Error {
    const err = new Error(message);
    err.name = 'ReplyError';
    return err;
  }

  test('unreachable, timed out, loading or out of memory: true', () => {
    for (const err of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }),
      new Error('Connection is closed.'),
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      new Error('Command timed out'),
      Object.assign(new Error('Reached the max retries per request limit (which is 1).'), { name: 'MaxRetriesPerRequestError' }),
      reply('LOADING Redis is loading the dataset in memory'),
      reply('BUSY Redis is busy running a script.'),
      reply("OOM command not allowed when used memory > 'maxmemory'."),
      reply("READONLY You can't write against a read only replica."),
    ]) {
      assert.equal(isRedisUnavailable(err), true, err.message);
    }
  });

  test('Redis answering that a command or script is wrong, or our own bug: false', () => {
    for (const err of [
      reply('WRONGTYPE Operation against a key holding the wrong kind of value'),
      reply('ERR Error running script (call to f_abc): @user_script:1: bad argument'),
      reply('NOSCRIPT No matching script.'),
      Object.assign(new TypeError('The "chunk" argument must be of type string'), { code: 'ERR_INVALID_ARG_TYPE' }),
      'not an error',
    ]) {
      assert.equal(isRedisUnavailable(err), false, String(err));
    }
  });
});
