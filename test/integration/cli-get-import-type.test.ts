// The `curt` command, run as a process, against `curt serve` on PGlite: `curt import -` of NDJSON on
// standard input (and of a file whose name does not say its type) is sent as NDJSON, told from its
// first byte, unless --type says; `curt get <code>` prints a link; a --server URL with a path that the
// server answers 404 not_found says that Curt's API is at the server's root.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Link } from '../../src/client/curt-client.ts';
import { startTestServe } from '../support/serve.ts';
import { runCurt, type CommandResult } from '../support/processes.ts';

const serve = (t: TestContext) => startTestServe(t, { label: 'cli-get-import' });

/** `curt …` with only PATH, HOME and `env`, and `input` on its standard input. */
const curt = (args: string[], env: Record<string, string>, input = ''): Promise<CommandResult> => runCurt(args, { env, input });

test('curt import - of NDJSON on standard input creates its links; CSV still works, a file named .txt is told by its first byte, and --type overrides', async (t) => {
  const { client, address, apiKey } = await serve(t);
  const env = { CURT_SERVER: address, CURT_API_KEY: apiKey };

  const ndjson = await curt(['import', '-'], env, '{"url":"https://example.com/x"}\n{"url":"https://example.com/y","alias":"why-ndjson","tags":["a","b"]}\n');
  assert.deepEqual(ndjson, { code: 0, stdout: '2 rows: 2 created, 0 already there, 0 refused.\n', stderr: '' });
  assert.deepEqual((await client.get('why-ndjson')).tags, ['a', 'b']);

  const csv = await curt(['import', '-'], env, 'url,alias\nhttps://example.com/z,zed-csv\n');
  assert.deepEqual(csv, { code: 0, stdout: '1 row: 1 created, 0 already there, 0 refused.\n', stderr: '' });
  assert.equal((await client.get('zed-csv')).original_url, 'https://example.com/z');

  const dir = await mkdtemp(join(tmpdir(), 'curt-cli-import-type-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'links.txt'), '\uFEFF\n  {"url":"https://example.com/txt","alias":"from-txt"}\n');
  assert.equal((await curt(['import', join(dir, 'links.txt')], env)).stdout, '1 row: 1 created, 0 already there, 0 refused.\n');
  assert.equal((await client.get('from-txt')).original_url, 'https://example.com/txt');

  // --type csv sends NDJSON as CSV: the server finds no url column in its "header row".
  const forced = await curt(['import', '-', '--type', 'csv'], env, '{"url":"https://example.com/forced"}\n');
  assert.equal(forced.code, 1);
  assert.match(forced.stderr, /^curt: The header row has no url .*\(invalid_request, HTTP 400\)\.\n$/);
  const forcedNdjson = await curt(['import', '-', '--type', 'ndjson'], env, '\n{"url":"https://example.com/typed","alias":"typed"}\n');
  assert.equal(forcedNdjson.code, 0, forcedNdjson.stderr);

  const wrong = await curt(['import', '-', '--type', 'json'], env, '{}\n');
  assert.deepEqual(wrong, { code: 2, stdout: '', stderr: 'curt: --type must be csv or ndjson (got "json") (see `curt import --help`)\n' });
});

test('curt shorten and edit --expires-at: the date-time the link stops, in any zone; a past one is refused at creation (by the CLI, before any request) and ends the link on edit', async (t) => {
  const { client, address, apiKey } = await serve(t);
  const env = { CURT_SERVER: address, CURT_API_KEY: apiKey };
  const made = await curt(['shorten', 'https://example.com/dated', '--alias', 'dated', '--expires-at', '2030-01-31T12:00Z', '--json'], env);
  assert.equal(made.code, 0, made.stderr);
  assert.equal((JSON.parse(made.stdout) as { expires_at: string }).expires_at, '2030-01-31T12:00:00.000Z');
  const moved = await curt(['edit', 'dated', '--expires-at', '2031-02-01T00:00+01:00', '--json'], env);
  assert.equal(moved.code, 0, moved.stderr);
  assert.equal((await client.get('dated')).expires_at, '2031-01-31T23:00:00.000Z');
  const past = await curt(['shorten', 'https://example.com/past', '--expires-at', '2001-01-01T00:00Z'], env);
  assert.equal(past.code, 2, past.stderr);
  assert.match(past.stderr, /^curt: --expires-at 2001-01-01T00:00Z is not in the future \(it is now .*\): a new link must expire later \(see `curt shorten --help`\)\n$/);
  const ended = await curt(['edit', 'dated', '--expires-at', '2001-01-01T00:00Z', '--json'], env);
  assert.equal(ended.code, 0, ended.stderr);
  assert.equal((JSON.parse(ended.stdout) as { state: string }).state, 'expired');
});

test('curt get prints a link, --json the server\'s JSON; an unknown code is link_not_found, exit 1', async (t) => {
  const { client, address, apiKey } = await serve(t);
  const env = { CURT_SERVER: address, CURT_API_KEY: apiKey };
  const made = await client.shorten('https://example.com/launch?x=1', { alias: 'launch', maxVisits: 5, forwardQuery: true, tags: ['q3', 'web'], password: 'open sesame' });

  const shown = await curt(['get', 'launch'], env);
  assert.equal(shown.code, 0, shown.stderr);
  const created = `${made.created_at.slice(0, 16).replace('T', ' ')} UTC`;
  assert.equal(
    shown.stdout,
    [
      `Short URL      ${made.short_url}`,
      'Target         https://example.com/launch?x=1',
      'State          active',
      `Created        ${created}`,
      'Expires        never',
      'One-time       no',
      'Visits         0 of 5',
      'Forward query  yes',
      'Password       yes',
      'Tags           q3, web',
      'Clicks         0',
      'Bot hits       0',
      'Last click     -',
      '',
    ].join('\n'),
  );

  const json = await curt(['get', 'launch', '--json'], env);
  assert.equal(json.code, 0, json.stderr);
  const link = JSON.parse(json.stdout) as Link;
  assert.deepEqual(link, await client.get('launch'));
  assert.equal(link.has_password, true);

  assert.deepEqual(await curt(['get', 'nosuch'], env), { code: 1, stdout: '', stderr: 'curt: No short link has this code (link_not_found, HTTP 404).\n' });
  const missing = await curt(['get', 'nosuch', '--json'], env);
  assert.equal(missing.code, 1);
  assert.equal((JSON.parse(missing.stderr) as { code: string }).code, 'link_not_found');
  assert.deepEqual(await curt(['get'], env), { code: 2, stdout: '', stderr: 'curt: get needs <code> (see `curt get --help`)\n' });
});

test('a --server URL with a path that the server answers 404 not_found: the error line names the path and says the API is at the root', async (t) => {
  const { address, apiKey } = await serve(t);
  const withPath = await curt(['list', '--server', `${address}/foo`, '--api-key', apiKey], {});
  assert.equal(withPath.code, 1);
  assert.equal(
    withPath.stderr,
    `curt: No route for GET /foo/urls (not_found, HTTP 404). The --server URL has a path, /foo: Curt's API is at the server's root (${address}) unless a proxy in front maps /foo to it.\n`,
  );
  // From the variable, named as such.
  const fromEnv = await curt(['get', 'launch'], { CURT_SERVER: `${address}/foo/`, CURT_API_KEY: apiKey });
  assert.match(fromEnv.stderr, /\(not_found, HTTP 404\)\. The CURT_SERVER URL has a path, \/foo: /);
  // The root with a slash is no path: the server's own answer, nothing added.
  assert.deepEqual(await curt(['list', '--server', `${address}/`, '--api-key', apiKey], {}), { code: 0, stdout: 'No links.\n', stderr: '' });
});
