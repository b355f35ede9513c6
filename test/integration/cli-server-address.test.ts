// The `curt` command, run as a process, and the server address it was given: the next page's command
// goes to the same --server (it went to the default address), and a --server that is the KGS's port or
// a metrics port says which of Curt's listeners it is, exit code 3, not its 404 with exit code 1.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { type CurtClient } from '../../src/client/curt-client.ts';
import { buildTestKgs } from '../support/kgs.ts';
import { startTestServe } from '../support/serve.ts';
import { ROOT, runCommand, runCurt, type CommandResult } from '../support/processes.ts';

/** `curt serve` on PGlite with a metrics listener. */
async function serve(t: TestContext): Promise<{ client: CurtClient; address: string; metrics: string; apiKey: string }> {
  const { served, client, address, apiKey } = await startTestServe(t, { label: 'cli-server-address' });
  assert.ok(served.metricsAddress !== null, 'the metrics listener is on');
  return { client, address, metrics: served.metricsAddress, apiKey };
}

const run = (file: string, args: string[], env: Record<string, string>): Promise<CommandResult> => runCommand(file, args, { env });
const curt = (args: string[], env: Record<string, string> = {}): Promise<CommandResult> => runCurt(args, { env });

test('the "More:" line of curt list, pasted into a shell, lists the next page of the same server and filters', async (t) => {
  const { client, address, apiKey } = await serve(t);
  // Matched by "it's" alone, and the oldest, so on the next page: a shell that expanded $x would list it.
  await client.shorten("https://example.com/it's/four", { tags: ['paged'] });
  // A search with a quote and a $ in it: the line must hand it to the shell as it is.
  for (const name of ['one', 'two', 'three']) await client.shorten(`https://example.com/it's$x/${name}`, { tags: ['paged'] });
  await client.shorten('https://example.com/other', { tags: ['paged'] });

  const first = await curt(['list', '--limit', '2', '--search', "it's$x", '--tag', 'paged', '--server', address, '--api-key', apiKey]);
  assert.equal(first.code, 0, first.stderr);
  assert.ok(!first.stdout.includes(apiKey), 'the key is not printed');
  const more = /^More: (curt .*)$/m.exec(first.stdout)?.[1];
  assert.ok(more !== undefined, first.stdout);
  assert.match(more, / --server /);

  // What a person does: paste it and, as its comment says, give the key again. `curt` is this
  // checkout's; CURT_SERVER is unset, so only the line's --server can find the server.
  const shell = await run('/bin/sh', ['-c', `curt() { "$NODE" "$CURT_BIN" "$@" --api-key "$KEY"; }\n${more}`], { NODE: process.execPath, CURT_BIN: join(ROOT, 'bin/curt.mjs'), KEY: apiKey });
  assert.equal(shell.code, 0, shell.stderr);
  const codes = (text: string): string[] => text.split('\n').slice(1).map((line) => line.split(' ')[0] ?? '').filter((code) => /^\w{3,}$/.test(code));
  const page2 = codes(shell.stdout);
  assert.equal(page2.length, 1, shell.stdout);
  assert.equal(new Set([...codes(first.stdout), ...page2]).size, 3, 'the three links that match, each once');
  assert.doesNotMatch(shell.stdout, /example\.com\/other/);
  assert.doesNotMatch(`${first.stdout}${shell.stdout}`, /it's\/four/, 'the $ reached curt as it is');
});

test('--server at the KGS or at a metrics port: which of Curt\'s listeners answered, exit code 3; the URL service\'s own 404 stays exit code 1', async (t) => {
  const { address, metrics } = await serve(t);
  const kgs = await buildTestKgs('cli-server-address');
  t.after(() => kgs.close());
  await kgs.app.listen({ port: 0, host: '127.0.0.1' });
  const kgsAddress = `http://127.0.0.1:${(kgs.app.server.address() as AddressInfo).port}`;

  const atKgs = await curt(['get', 'sale2', '--server', kgsAddress]);
  assert.deepEqual(atKgs, {
    code: 3,
    stdout: '',
    stderr: `curt: the server at ${kgsAddress} answers as Curt's KGS (Key Generation Service), not the URL service: point --server at the URL service (the address \`curt serve\` or \`curt url-service\` listens on).\n`,
  });
  const asJson = await curt(['list', '--json'], { CURT_SERVER: kgsAddress, CURT_API_KEY: 'curt_whatever' });
  assert.equal(asJson.code, 3);
  assert.deepEqual(JSON.parse(asJson.stderr), {
    type: 'urn:curt:problem:not_curt',
    title: 'Not the Curt URL service',
    code: 'not_curt',
    detail: `${kgsAddress} answers as Curt's KGS (Key Generation Service), not the URL service`,
    status: 404,
    listener: 'kgs',
  });

  const atMetrics = await curt(['get', 'sale2'], { CURT_SERVER: metrics });
  assert.equal(atMetrics.code, 3);
  assert.equal(
    atMetrics.stderr,
    `curt: the server at ${metrics} answers as a Curt metrics listener (METRICS_PORT, which serves only /metrics), not the URL service: point CURT_SERVER at the URL service (the address \`curt serve\` or \`curt url-service\` listens on).\n`,
  );

  // The URL service's own not_found (no such route: an empty code) is its answer, exit code 1.
  const empty = await curt(['get', '', '--server', address]);
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /^curt: No route for GET \/urls\/; .*\(not_found, HTTP 404\)\.\n$/);
  // An address with a path: the path is said, whichever server it is (README, "Command line").
  const withPath = await curt(['get', 'sale2', '--server', `${address}/foo`]);
  assert.equal(withPath.code, 1);
  assert.match(withPath.stderr, /\(not_found, HTTP 404\)\. The --server URL has a path, \/foo: Curt's API is at the server's root/);
});
