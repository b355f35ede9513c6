// REDIS_URL names one Redis or a Redis Cluster (src/core/redis-url.ts), and the config accepts both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadKgsConfig } from '../../src/core/config.ts';
import { parseRedisTarget } from '../../src/core/redis-url.ts';

test('a cluster URL lists its nodes, with credentials and TLS; a single server URL passes through', () => {
  assert.deepEqual(parseRedisTarget('rediss+cluster://u:p%40ss@a.example:7000,b.example:7001/'), {
    kind: 'cluster',
    nodes: [
      { host: 'a.example', port: 7000 },
      { host: 'b.example', port: 7001 },
    ],
    username: 'u',
    password: 'p@ss',
    tls: true,
  });
  assert.deepEqual(parseRedisTarget('redis+cluster://:pw@10.0.0.1'), { kind: 'cluster', nodes: [{ host: '10.0.0.1', port: 6379 }], username: null, password: 'pw', tls: false });
  assert.deepEqual(parseRedisTarget('redis://:pw@cache:6379/2'), { kind: 'single', url: 'redis://:pw@cache:6379/2' });
});

test('a malformed Redis URL is refused, and the error never repeats it (it may hold a password)', () => {
  for (const bad of ['redis+cluster://:s3cret@a:1/0', 'redis+cluster://:s3cret@', 'http://u:s3cret@a:1', 'redis+cluster://:s3cret@a:notaport']) {
    assert.throws(() => parseRedisTarget(bad), (err: Error) => !err.message.includes('s3cret'), bad);
    assert.throws(
      () => loadKgsConfig({ KGS_TOKEN: 't', REDIS_URL: bad }),
      (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.includes('REDIS_URL') && p.includes('redis+cluster://')) && !err.message.includes('s3cret'),
      bad,
    );
  }
  assert.equal(loadKgsConfig({ KGS_TOKEN: 't', REDIS_URL: 'redis+cluster://a:7000,b:7001' }).redis.url, 'redis+cluster://a:7000,b:7001');
});

test('curt serve names a cluster without its password', async () => {
  const { withoutPassword } = await import('../../src/serve/storage.ts');
  assert.equal(withoutPassword('redis+cluster://u:s3cret@a:7000,b:7001'), 'redis+cluster://u:***@a:7000,b:7001');
  assert.equal(withoutPassword('redis+cluster://a:7000,b:7001'), 'redis+cluster://a:7000,b:7001');
});
