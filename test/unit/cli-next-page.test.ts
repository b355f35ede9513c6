// What a new user found in the `curt` output: the next page's command lost --server (it went to the
// default server), `curt import --help` left out the tags column, and `curt shorten`/`curt edit` said
// nothing of a password the link does not have (so `edit --no-password` confirmed nothing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkView } from '../support/link-view.ts';
import { parseCommand } from '../../src/cli/args.ts';
import { runClientCommand, type ClientCommand } from '../../src/cli/commands.ts';
import { shellWord } from '../../src/cli/shell.ts';
import { helpFor } from '../../src/cli/help.ts';
import { createCurtClient } from '../../src/client/curt-client.ts';

const LINK = linkView({ short_code: 'pwc', is_custom_alias: true });

const KEY = 'curt_secretsecretsecretsecret';

/** Runs `argv` against a server that answers every request with `body`; resolves to what was printed. */
async function printed(argv: string[], body: unknown): Promise<string> {
  const client = createCurtClient({ baseUrl: 'http://cu.rt', fetch: async () => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } }) });
  const lines: string[] = [];
  await runClientCommand(parseCommand(argv) as ClientCommand, client, (text) => lines.push(text));
  return lines.join('\n');
}

const lastLine = (text: string): string => text.split('\n').at(-1) ?? '';

test('the next page of curt list keeps --server as given, never prints the key, and says a key given with --api-key is to be added', async () => {
  const page = { items: [LINK], next_cursor: 'djEuY3JlYXRlZC5kZXNjLi0uMw' };
  const out = await printed(['list', '--limit', '1', '--server', 'http://127.0.0.1:18181/', '--api-key', KEY], page);
  assert.equal(lastLine(out), 'More: curt list --limit 1 --server http://127.0.0.1:18181/ --cursor djEuY3JlYXRlZC5kZXNjLi0uMw  # Add --api-key as before: the key is not printed.');
  assert.ok(!out.includes(KEY), 'the key is not printed');
  // From CURT_SERVER and CURT_API_KEY (nothing on the command line): they are still in the variables.
  assert.equal(lastLine(await printed(['list', '--limit', '1'], page)), 'More: curt list --limit 1 --cursor djEuY3JlYXRlZC5kZXNjLi0uMw');
});

test('curt webhooks deliveries prints its next page with --server too, and without the key', async () => {
  const delivery = { id: 9, event_id: 'evt_1', type: 'link.created', state: 'delivered', attempts: 1, last_status: 204, last_error: null, next_attempt_at: null, created_at: '2026-01-01T00:00:00.000Z', delivered_at: '2026-01-01T00:00:01.000Z' };
  const out = await printed(['webhooks', 'deliveries', '7', '--limit', '1', '--server', 'https://curt.example/api', '--api-key', KEY], { items: [delivery], next_cursor: 'NEXT' });
  assert.equal(lastLine(out), 'More: curt webhooks deliveries 7 --limit 1 --server https://curt.example/api --cursor NEXT  # Add --api-key as before: the key is not printed.');
  assert.ok(!out.includes(KEY));
});

test('the next page\'s values are shell-quoted when they need it, and one that begins with a dash is joined with =', async () => {
  const page = { items: [LINK], next_cursor: '-abc_' };
  const out = await printed(['list', '--search', `it's $HOME`, '--server', 'http://127.0.0.1:8080/a b'], page);
  assert.equal(lastLine(out), `More: curt list --search 'it'\\''s $HOME' --server 'http://127.0.0.1:8080/a b' --cursor=-abc_`);
  assert.equal(shellWord('2026-01-01T00:00:00.000Z'), '2026-01-01T00:00:00.000Z');
  assert.equal(shellWord('a;b'), "'a;b'");
  assert.equal(shellWord('~x'), "'~x'");
  assert.equal(shellWord(''), "''");
});

test('curt import --help names every column of a sheet, tags included', () => {
  const help = helpFor('import') ?? '';
  assert.match(help.replace(/\s+/g, ' '), /a sheet with a url column \(and alias, expires_at, tags, max_visits, forward_query;/);
});

test('curt shorten and curt edit print the Password line as curt get does: yes or no, always', async () => {
  const shown = await printed(['shorten', 'https://example.com/'], LINK);
  assert.match(shown, /^Forward query {2}no\nPassword {7}no\nTags {11}-$/m);
  // --no-password: "no" is the confirmation that the password is gone.
  assert.match(await printed(['edit', 'pwc', '--no-password'], LINK), /^Password {7}no$/m);
  assert.match(await printed(['edit', 'pwc', '--enable'], { ...LINK, has_password: true }), /^Password {7}yes$/m);
});
