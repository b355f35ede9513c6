import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadKgsConfig, loadUrlServiceConfig } from '../../src/core/config.ts';

test('KGS configuration has the documented defaults', () => {
  const config = loadKgsConfig({ KGS_TOKEN: 'secret' });
  assert.equal(config.listen.port, 7001);
  assert.equal(config.redis.url, 'redis://127.0.0.1:6379');
  assert.equal(config.redis.keyPrefix, '');
  assert.equal(config.codes.length, 6);
  assert.equal(config.codes.alphabet, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ');
  assert.equal(config.pool.reuseCooldownS, 30 * 24 * 3600);
  assert.equal(config.logLevel, 'info');
});

test('every bad value is reported, one line naming each variable', () => {
  let error: unknown;
  try {
    loadKgsConfig({ PORT: '70000', CODE_LENGTH: 'six', CODE_ALPHABET: 'aab', LOG_LEVEL: 'loud', REDIS_URL: 'http://user:pw@x', REDIS_KEY_PREFIX: 'bad prefix' });
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof ConfigError);
  const lines = error.problems;
  for (const name of ['PORT', 'CODE_LENGTH', 'CODE_ALPHABET', 'LOG_LEVEL', 'REDIS_URL', 'REDIS_KEY_PREFIX', 'KGS_TOKEN']) {
    assert.equal(lines.filter((line) => line.startsWith(`Invalid configuration: ${name} `)).length, 1, `${name} in ${lines.join('\n')}`);
  }
  assert.ok(!error.message.includes('pw'), 'a URL that may hold a password is never echoed');
  assert.match(lines.find((l) => l.includes('PORT')) ?? '', /from 0 to 65535 \(got "70000"\)/);
});

test('the pool target must exceed the low watermark', () => {
  assert.throws(() => loadKgsConfig({ KGS_TOKEN: 't', KGS_POOL_TARGET: '100', KGS_POOL_LOW_WATERMARK: '100' }), /KGS_POOL_TARGET must be greater/);
  assert.equal(loadKgsConfig({ KGS_TOKEN: 't', KGS_POOL_TARGET: '101', KGS_POOL_LOW_WATERMARK: '100' }).pool.target, 101);
});

test('code length and alphabet are configurable within bounds', () => {
  const config = loadKgsConfig({ KGS_TOKEN: 't', CODE_LENGTH: '8', CODE_ALPHABET: '0123456789abcdef' });
  assert.deepEqual(config.codes, { length: 8, alphabet: '0123456789abcdef' });
  assert.throws(() => loadKgsConfig({ KGS_TOKEN: 't', CODE_LENGTH: '11' }), /CODE_LENGTH must be a whole number from 4 to 10/);
  assert.throws(() => loadKgsConfig({ KGS_TOKEN: 't', CODE_ALPHABET: 'ab/c' }), /CODE_ALPHABET/);
  assert.throws(() => loadKgsConfig({ KGS_TOKEN: 't', CODE_ALPHABET: 'a' }), /CODE_ALPHABET/);
});


test('URL service configuration: defaults, lists and switches', () => {
  const config = loadUrlServiceConfig({ KGS_TOKEN: 't' });
  assert.equal(config.listen.port, 8080);
  assert.equal(config.publicBaseUrl, 'http://localhost:8080');
  assert.deepEqual(config.kgs.urls, ['http://127.0.0.1:7001']);
  assert.equal(config.redirectStatus, 302);
  assert.equal(config.allowAnonymous, false);
  assert.equal(config.adminApiKey, null);
  const custom = loadUrlServiceConfig({
    KGS_TOKEN: 't',
    KGS_URL: 'http://kgs-0:7001/, http://kgs-1:7001',
    PUBLIC_BASE_URL: 'https://cu.rt/',
    REDIRECT_STATUS: '308',
    ALLOW_ANONYMOUS: 'yes',
    BLOCKED_DOMAINS: 'Evil.example, phish.test',
    ADMIN_API_KEY: 'curt_0123456789abcdefghijklmn',
  });
  assert.deepEqual(custom.kgs.urls, ['http://kgs-0:7001', 'http://kgs-1:7001']);
  assert.equal(custom.publicBaseUrl, 'https://cu.rt');
  assert.equal(custom.redirectStatus, 308);
  assert.equal(custom.allowAnonymous, true);
  assert.deepEqual(custom.blockedDomains, ['evil.example', 'phish.test']);
});

test('URL service configuration refuses bad values, naming each variable', () => {
  const bad = (env: Record<string, string>, name: string) =>
    assert.throws(() => loadUrlServiceConfig({ KGS_TOKEN: 't', ...env }), (err: ConfigError) => err.problems.some((p) => p.startsWith(`Invalid configuration: ${name} `)), name);
  bad({ REDIRECT_STATUS: '303' }, 'REDIRECT_STATUS');
  bad({ ALLOW_ANONYMOUS: 'maybe' }, 'ALLOW_ANONYMOUS');
  bad({ KGS_URL: 'kgs:7001' }, 'KGS_URL');
  bad({ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL');
  bad({ DATABASE_READ_URL: 'http://replica:5432/curt' }, 'DATABASE_READ_URL');
  bad({ ADMIN_API_KEY: 'short' }, 'ADMIN_API_KEY');
  bad({ CLICK_FLUSH_INTERVAL_MS: '0' }, 'CLICK_FLUSH_INTERVAL_MS');
  bad({ BLOCKED_DOMAINS: 'a b' }, 'BLOCKED_DOMAINS');
});

test('RATE_LIMIT_ON_REDIS_DOWN: rate limits fail open by default, closed on request, nothing else', () => {
  assert.equal(loadUrlServiceConfig({ KGS_TOKEN: 't' }).rateLimit.onRedisDown, 'open');
  assert.equal(loadUrlServiceConfig({ KGS_TOKEN: 't', RATE_LIMIT_ON_REDIS_DOWN: 'closed' }).rateLimit.onRedisDown, 'closed');
  assert.throws(
    () => loadUrlServiceConfig({ KGS_TOKEN: 't', RATE_LIMIT_ON_REDIS_DOWN: 'shut' }),
    (err: ConfigError) => err.problems.some((p) => p.startsWith('Invalid configuration: RATE_LIMIT_ON_REDIS_DOWN must be one of open, closed')),
  );
});

test('DATABASE_READ_URL: none by default (every read on the primary), a PostgreSQL URL when set', () => {
  assert.equal(loadUrlServiceConfig({ KGS_TOKEN: 't' }).databaseReadUrl, null);
  assert.equal(loadUrlServiceConfig({ KGS_TOKEN: 't', DATABASE_READ_URL: ' ' }).databaseReadUrl, null, 'empty counts as unset');
  assert.equal(loadUrlServiceConfig({ KGS_TOKEN: 't', DATABASE_READ_URL: 'postgresql://u:p@replica:5432/curt' }).databaseReadUrl, 'postgresql://u:p@replica:5432/curt');
});
