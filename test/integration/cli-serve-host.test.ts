// `curt serve` with a HOST it cannot listen on: said as the configuration problem it is, naming HOST as
// loadServeConfig's lines do, not as the platform's "getaddrinfo ENOTFOUND not-an-ip". Run as a
// process, as a new user meets it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostRefusal } from '../../src/core/host-refusal.ts';
import { runCurt, type CommandResult } from '../support/processes.ts';

/** `node bin/curt.mjs serve` with only PATH, HOME and `env`; resolves once it has ended. */
const serve = (env: Record<string, string>): Promise<CommandResult> => runCurt(['serve'], { env, timeoutMs: 120_000 });

test('curt serve with a HOST no host has: one line naming HOST, and exit 1', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'curt-cli-serve-host-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const result = await serve({ HOST: 'not-an-ip.invalid', PORT: '0', METRICS_PORT: '0', DATA_DIR: dataDir });
  assert.equal(result.code, 1, result.stderr);
  assert.equal(
    result.stderr,
    'Invalid configuration: HOST must be an address of this machine to listen on, such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface) (got "not-an-ip.invalid": no host has that name)\n',
  );
  assert.doesNotMatch(result.stdout, /Curt is running/);
});

test('a listen the address refuses names HOST too; any other failure, a database host among them, is left as it is', () => {
  const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND not-an-ip'), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'not-an-ip' });
  assert.match(hostRefusal(notFound, 'not-an-ip')?.message ?? '', /^Invalid configuration: HOST must be .* \(got "not-an-ip": no host has that name\)$/);
  const notHere = Object.assign(new Error('listen EADDRNOTAVAIL: address not available 10.254.254.254:8080'), { code: 'EADDRNOTAVAIL', syscall: 'listen', address: '10.254.254.254' });
  assert.match(hostRefusal(notHere, '10.254.254.254')?.message ?? '', /\(got "10\.254\.254\.254": no network interface of this machine has that address\)$/);
  assert.equal(hostRefusal(Object.assign(new Error('getaddrinfo ENOTFOUND db.internal'), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'db.internal' }), '127.0.0.1'), null);
  assert.equal(hostRefusal(Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', syscall: 'listen' }), '127.0.0.1'), null);
});
