import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** The one BLOCKED_DOMAINS line of the problems, or undefined when the value is taken. */
function blockedDomainsProblem(value: string): string | undefined {
  try {
    loadUrlServiceConfig({ KGS_TOKEN: 't', BLOCKED_DOMAINS: value });
    return undefined;
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const lines = err.problems.filter((p) => p.startsWith('Invalid configuration: BLOCKED_DOMAINS '));
    assert.equal(lines.length, 1, `one line for the variable: ${err.message}`);
    return lines[0];
  }
}

test('BLOCKED_DOMAINS refuses a URL or a wildcard, in one line naming each entry and what to write instead', () => {
  // Read as hosts, these once became the domains "https" and "http" and the name "*.bad.example": nothing blocked.
  const line = blockedDomainsProblem('https://evil.example,*.bad.example') ?? '';
  assert.match(line, /"https:\/\/evil\.example" is a URL: write evil\.example[;,]/);
  assert.match(line, /"\*\.bad\.example" is a wildcard: write bad\.example: its subdomains are blocked with it$/);
  assert.match(blockedDomainsProblem('http://a.com/x') ?? '', /"http:\/\/a\.com\/x" is a URL: write a\.com$/);
  assert.match(blockedDomainsProblem('evil.example/phish') ?? '', /"evil\.example\/phish" has a path: write evil\.example$/);
  assert.match(blockedDomainsProblem('evil.example:443') ?? '', /"evil\.example:443" has a port: write evil\.example$/);
  assert.match(blockedDomainsProblem('user@evil.example') ?? '', /"user@evil\.example" has a user name: write evil\.example$/);
  for (const notADomain of ['a b', '-evil.example', 'evil..example', 'evil.example%2f', '1.2.3', 'evil$.example']) {
    assert.match(blockedDomainsProblem(`fine.example, ${notADomain}`) ?? '', /is not a domain name$/, notADomain);
  }
});

test('BLOCKED_DOMAINS takes bare names in the form target hosts are compared in: lower case, IDNA, no trailing dot', () => {
  const config = loadUrlServiceConfig({ KGS_TOKEN: 't', BLOCKED_DOMAINS: 'Evil.Example., bücher.example, a_b.example, 203.0.113.9, [2001:DB8:0::1], com' });
  assert.deepEqual(config.blockedDomains, ['evil.example', 'xn--bcher-kva.example', 'a_b.example', '203.0.113.9', '2001:db8::1', 'com']);
  assert.deepEqual(loadUrlServiceConfig({ KGS_TOKEN: 't', BLOCKED_DOMAINS: ' , ' }).blockedDomains, []);
});

test('GEOIP_DB that cannot be read is a configuration problem, reported with the others', () => {
  const dir = mkdtempSync(join(tmpdir(), 'curt-geoip-config-'));
  try {
    let error: unknown;
    try {
      loadUrlServiceConfig({ KGS_TOKEN: 't', GEOIP_DB: '/nonexistent.mmdb', REDIRECT_STATUS: '303' });
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.problems, [
      'Invalid configuration: REDIRECT_STATUS must be one of 301, 302, 307, 308 (got "303")',
      'Invalid configuration: GEOIP_DB must be a readable MaxMind DB (.mmdb) file, or off: no such file (got "/nonexistent.mmdb")',
    ]);
    assert.throws(() => loadUrlServiceConfig({ KGS_TOKEN: 't', GEOIP_DB: dir }), /GEOIP_DB must be a readable MaxMind DB \(\.mmdb\) file, or off: it is not a file/);
    // Whether a readable file is a MaxMind DB is for src/analytics/country.ts, which reads it.
    const file = join(dir, 'own.mmdb');
    writeFileSync(file, 'x');
    assert.deepEqual(loadUrlServiceConfig({ KGS_TOKEN: 't', GEOIP_DB: file }).analytics.geoipDb, { path: file });
    assert.equal(loadUrlServiceConfig({ KGS_TOKEN: 't', GEOIP_DB: 'OFF' }).analytics.geoipDb, null);
    assert.deepEqual(loadUrlServiceConfig({ KGS_TOKEN: 't' }).analytics.geoipDb, { bundled: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the configuration says whether PUBLIC_BASE_URL was left to its localhost default', () => {
  assert.equal(loadUrlServiceConfig({ KGS_TOKEN: 't' }).publicBaseUrlDefaulted, true);
  assert.equal(loadUrlServiceConfig({ KGS_TOKEN: 't', PUBLIC_BASE_URL: ' ' }).publicBaseUrlDefaulted, true, 'empty counts as unset');
  assert.equal(loadUrlServiceConfig({ KGS_TOKEN: 't', PUBLIC_BASE_URL: 'https://sho.rt' }).publicBaseUrlDefaulted, false);
});

test('REDIS_KEY_PREFIX refuses an empty hash tag {} at its first {: on a Redis Cluster the key pool\'s sets would land in different slots; a {tag} is still taken', () => {
  for (const prefix of ['{}', 'curt{}:', '{}{x}']) {
    let error: unknown;
    try {
      loadUrlServiceConfig({ KGS_TOKEN: 't', REDIS_KEY_PREFIX: prefix });
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ConfigError, prefix);
    assert.deepEqual(
      error.problems.filter((line) => line.includes('REDIS_KEY_PREFIX')),
      [`Invalid configuration: REDIS_KEY_PREFIX must not hold an empty hash tag {}: on a Redis Cluster every key would then be hashed whole, and the key pool's sets would land in different slots (got ${JSON.stringify(prefix)})`],
    );
    assert.throws(() => loadKgsConfig({ KGS_TOKEN: 't', REDIS_KEY_PREFIX: prefix }), /REDIS_KEY_PREFIX must not hold an empty hash tag/);
  }
  for (const prefix of ['curt-prod.v2:', '{curt}:', 'a{b}{}:', 'curt{', 'a}b:']) assert.equal(loadUrlServiceConfig({ KGS_TOKEN: 't', REDIS_KEY_PREFIX: prefix }).redis.keyPrefix, prefix);
});
