// `curt serve` configuration: everything embedded unless a variable says otherwise, and the CLI's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadCliConfig, loadServeConfig } from '../../src/core/config.ts';

test('with no variables at all, serve keeps everything on this machine and lets anyone make links', () => {
  const config = loadServeConfig({});
  assert.equal(config.dataDir, './data');
  assert.deepEqual([config.databaseUrl, config.redisUrl, config.kgsUrls], [null, null, null], 'nothing external is configured');
  assert.deepEqual(config.service.listen, { host: '127.0.0.1', port: 8080, metricsPort: 9464, timeouts: { requestMs: 10_000, headersMs: 5000, keepAliveMs: 65_000 } });
  assert.equal(config.service.shutdownDrainMs, 1000, 'Ctrl-C does not wait long for an idle browser connection');
  assert.equal(config.service.publicBaseUrl, 'http://localhost:8080');
  assert.equal(config.service.allowAnonymous, true);
  assert.equal(config.service.logLevel, 'warn');
  assert.deepEqual([config.pool.lowWatermark, config.pool.target], [1000, 5000]);
  assert.equal(config.pool.reuseCooldownS, 30 * 24 * 3600);
});

test('serve drains for 1 s by default, at most half of a short SHUTDOWN_TIMEOUT_MS, and takes SHUTDOWN_DRAIN_MS as given', () => {
  const drains = (env: Record<string, string>) => {
    const config = loadServeConfig(env);
    return [config.service.shutdownDrainMs, config.service.shutdownTimeoutMs];
  };
  assert.deepEqual(drains({ SHUTDOWN_TIMEOUT_MS: '1000' }), [500, 1000], 'a 1 s shutdown alone is valid: it drains for half of it');
  assert.deepEqual(drains({ SHUTDOWN_TIMEOUT_MS: '600' }), [300, 600]);
  assert.deepEqual(drains({ SHUTDOWN_TIMEOUT_MS: '1500' }), [750, 1500]);
  assert.deepEqual(drains({ SHUTDOWN_TIMEOUT_MS: '30000' }), [1000, 30_000]);
  assert.deepEqual(drains({ SHUTDOWN_TIMEOUT_MS: '30000', SHUTDOWN_DRAIN_MS: '8000' }), [8000, 30_000]);
  assert.throws(() => loadServeConfig({ SHUTDOWN_TIMEOUT_MS: '1000', SHUTDOWN_DRAIN_MS: '1000' }), (err: unknown) => err instanceof ConfigError && /SHUTDOWN_DRAIN_MS must be less than SHUTDOWN_TIMEOUT_MS/.test(err.message));
});

test('DATABASE_URL, REDIS_URL and KGS_URL each switch one part; set values beat the serve defaults', () => {
  const pgOnly = loadServeConfig({ DATABASE_URL: 'postgres://u:p@db:5432/curt' });
  assert.deepEqual([pgOnly.databaseUrl, pgOnly.redisUrl, pgOnly.kgsUrls], ['postgres://u:p@db:5432/curt', null, null]);
  const redisOnly = loadServeConfig({ REDIS_URL: 'redis://cache:6379', REDIS_KEY_PREFIX: 'curt:' });
  assert.deepEqual([redisOnly.databaseUrl, redisOnly.redisUrl, redisOnly.service.redis.keyPrefix], [null, 'redis://cache:6379', 'curt:']);
  const remote = loadServeConfig({ KGS_URL: 'http://kgs:7001', KGS_TOKEN: 'secret' });
  assert.deepEqual(remote.kgsUrls, ['http://kgs:7001']);
  const custom = loadServeConfig({ HOST: '0.0.0.0', PORT: '9000', ALLOW_ANONYMOUS: 'false', DATA_DIR: '/srv/curt', KGS_POOL_TARGET: '2000', LOG_LEVEL: '' });
  assert.deepEqual([custom.service.listen.host, custom.service.listen.port], ['0.0.0.0', 9000]);
  assert.equal(custom.service.allowAnonymous, false);
  assert.equal(custom.dataDir, '/srv/curt');
  assert.equal(custom.pool.target, 2000);
  assert.equal(custom.service.logLevel, 'warn', 'an empty variable counts as unset');
});

test('serve reports every bad value once, and wants KGS_TOKEN only with a remote KGS', () => {
  assert.throws(
    () => loadServeConfig({ PORT: 'x', REDIS_URL: 'http://nope', CODE_LENGTH: '99' }),
    (err: ConfigError) =>
      err.problems.filter((p) => p.startsWith('Invalid configuration: PORT ')).length === 1 &&
      err.problems.some((p) => p.startsWith('Invalid configuration: REDIS_URL ')) &&
      err.problems.some((p) => p.startsWith('Invalid configuration: CODE_LENGTH ')) &&
      !err.problems.some((p) => p.includes('KGS_TOKEN')),
  );
  assert.throws(() => loadServeConfig({ KGS_URL: 'http://kgs:7001' }), /KGS_TOKEN is required/);
});

test('the CLI talks to 127.0.0.1:8080 unless CURT_SERVER says otherwise', () => {
  assert.deepEqual(loadCliConfig({}), { server: 'http://127.0.0.1:8080', apiKey: null });
  assert.deepEqual(loadCliConfig({ CURT_SERVER: 'https://cu.rt/', CURT_API_KEY: 'curt_k' }), { server: 'https://cu.rt', apiKey: 'curt_k' });
  assert.throws(() => loadCliConfig({ CURT_SERVER: 'cu.rt' }), /CURT_SERVER must be a URL/);
});

test('serve takes DATABASE_READ_URL with DATABASE_URL, and refuses it without (PGlite has no replica)', () => {
  const both = loadServeConfig({ DATABASE_URL: 'postgres://u:p@db:5432/curt', DATABASE_READ_URL: 'postgres://u:p@replica:5432/curt' });
  assert.equal(both.service.databaseReadUrl, 'postgres://u:p@replica:5432/curt');
  assert.throws(
    () => loadServeConfig({ DATABASE_READ_URL: 'postgres://u:p@replica:5432/curt' }),
    (err: ConfigError) => err.problems.some((p) => p.startsWith('Invalid configuration: DATABASE_READ_URL needs DATABASE_URL')),
  );
});

test('serve checks BLOCKED_DOMAINS and GEOIP_DB as the URL service does: one line each', () => {
  assert.throws(
    () => loadServeConfig({ BLOCKED_DOMAINS: 'https://evil.example', GEOIP_DB: '/nonexistent.mmdb' }),
    (err: ConfigError) =>
      err.problems.filter((p) => p.startsWith('Invalid configuration: BLOCKED_DOMAINS ') && p.endsWith('"https://evil.example" is a URL: write evil.example')).length === 1 &&
      err.problems.filter((p) => p.startsWith('Invalid configuration: GEOIP_DB must be a readable MaxMind DB (.mmdb) file, or off: no such file')).length === 1,
  );
});
