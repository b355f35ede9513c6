// The `curt` flags of tags, filters and sorting: parsed into the command, checked before any request,
// and sent as the query GET /urls reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkView } from '../support/link-view.ts';
import { parseCommand, UsageError } from '../../src/cli/args.ts';
import { listFlags, runClientCommand, type ClientCommand } from '../../src/cli/commands.ts';
import { formatLink, formatLinkTable } from '../../src/cli/format.ts';
import { createCurtClient } from '../../src/client/curt-client.ts';

const usage = (argv: string[], message: RegExp, verb: string) =>
  assert.throws(() => parseCommand(argv), (err: unknown) => err instanceof UsageError && message.test(err.message) && err.verb === verb, argv.join(' '));

const LINK = linkView({ short_code: 'SQYAfF', clicks: 12, bot_hits: 3, tags: ['launch', 'web'] });

/** A client whose every request is recorded and answered with `body`. */
function recording(body: unknown) {
  const asked: { method: string; path: string; body: unknown }[] = [];
  const client = createCurtClient({
    baseUrl: 'http://cu.rt',
    fetch: async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input instanceof URL ? input.href : input);
      const sent = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
      asked.push({ method: init?.method ?? 'GET', path: url.pathname + url.search, body: sent });
      return new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
    },
  });
  return { client, asked };
}

test('shorten --tag, repeated or with commas, keeps the tags as given (the server lower-cases them)', () => {
  const command = parseCommand(['shorten', 'https://example.com', '--tag', 'Launch', '--tag', 'web,q3/2026']);
  assert.deepEqual(command, { verb: 'shorten', url: 'https://example.com', oneTime: false, forwardQuery: false, tags: ['Launch', 'web', 'q3/2026'], client: { json: false } });
});

test('edit --tags replaces the list, --no-tags empties it; both at once, or a bad tag, is a usage error', () => {
  assert.deepEqual(parseCommand(['edit', 'abc', '--tags', 'a,b']), { verb: 'edit', code: 'abc', tags: ['a', 'b'], client: { json: false } });
  assert.deepEqual(parseCommand(['edit', 'abc', '--no-tags']), { verb: 'edit', code: 'abc', tags: [], client: { json: false } });
  usage(['edit', 'abc', '--tags', 'a', '--no-tags'], /^give --tags or --no-tags, not both$/, 'edit');
  usage(['edit', 'abc', '--tags', 'a b'], /^--tags: "a b" is not a tag/, 'edit');
  usage(['shorten', 'https://example.com', '--tag', 'x'.repeat(33)], /^--tag: "x{33}" is not a tag/, 'shorten');
  usage(['shorten', 'https://example.com', '--tag', Array.from({ length: 21 }, (_, i) => `t${i}`).join(',')], /^--tag: at most 20 tags$/, 'shorten');
  usage(['edit', 'abc', '--tag', 'a', '--no-tags'], /^give --tag or --no-tags, not both$/, 'edit');
  usage(['list', '--no-tags'], /^list does not take --no-tags$/, 'list');
});

test('--tag and --tags are one list on every verb that takes tags (each was refused where the other was meant)', () => {
  assert.deepEqual(parseCommand(['shorten', 'https://example.com', '--tags', 'a,b']), { verb: 'shorten', url: 'https://example.com', oneTime: false, forwardQuery: false, tags: ['a', 'b'], client: { json: false } });
  assert.deepEqual(parseCommand(['edit', 'abc', '--tag', 'a', '--tag', 'b']), { verb: 'edit', code: 'abc', tags: ['a', 'b'], client: { json: false } });
  assert.deepEqual(parseCommand(['edit', 'abc', '--tag', 'a', '--tags', 'b,c']), { verb: 'edit', code: 'abc', tags: ['a', 'b', 'c'], client: { json: false } });
  assert.deepEqual(parseCommand(['list', '--tags', 'a,b']), { verb: 'list', tags: ['a', 'b'], all: false, client: { json: false } });
  usage(['list', '--tags', 'a b'], /^--tags: "a b" is not a tag/, 'list');
  usage(['shorten', 'https://example.com', '--tags', 'a', '--tag', 'b b'], /^--tag: "b b" is not a tag/, 'shorten');
  // Repeated, --tags adds up as --tag does (it kept the last); a bad tag is named with its own flag.
  assert.deepEqual(parseCommand(['list', '--tags', 'a', '--tags', 'b', '--tag', 'c']), { verb: 'list', tags: ['c', 'a', 'b'], all: false, client: { json: false } });
  usage(['list', '--tag', 'ok', '--tags', 'bad tag'], /^--tags: "bad tag" is not a tag/, 'list');
  usage(['edit', 'abc', '--tag', Array.from({ length: 11 }, (_, i) => `a${i}`).join(','), '--tags', Array.from({ length: 10 }, (_, i) => `b${i}`).join(',')], /^--tag: at most 20 tags$/, 'edit');
});

test('list takes tags, a sort, an order and date ranges (a day is its 00:00 UTC); bad values are usage errors', () => {
  assert.deepEqual(
    parseCommand(['list', '--tag', 'a', '--tag', 'b', '--sort', 'clicks', '--order', 'asc', '--created-after', '2026-01-31', '--expires-before', '2026-02-01T12:00:00+02:00']),
    {
      verb: 'list',
      tags: ['a', 'b'],
      sort: 'clicks',
      order: 'asc',
      createdAfter: '2026-01-31T00:00:00.000Z',
      expiresBefore: '2026-02-01T10:00:00.000Z',
      all: false,
      client: { json: false },
    },
  );
  usage(['list', '--sort', 'popular'], /^--sort must be one of created, clicks, last_click \(got "popular"\)$/, 'list');
  usage(['list', '--order', 'up'], /^--order must be desc or asc/, 'list');
  usage(['list', '--created-after', 'yesterday'], /^--created-after must be a day \(2026-01-31\) or a date-time with a time zone/, 'list');
  // The form is right and the day does not exist: said so, with the other form the flag takes.
  usage(['list', '--created-before', '2026-02-30'], /^--created-before 2026-02-30 is no day: February 2026 has 28 days \(a day as YYYY-MM-DD, or a date-time with a time zone such as 2026-01-31T12:00:00Z\)$/, 'list');
  usage(['list', '--created-after', '2026-02-30T12:00Z'], /^--created-after 2026-02-30T12:00Z is no day: February 2026 has 28 days/, 'list');
  usage(['list', '--expires-before', '2026-13-01'], /^--expires-before 2026-13-01 is no day: a month is 01 to 12/, 'list');
  assert.equal((parseCommand(['list', '--created-after', '2028-02-29']) as { createdAfter?: string }).createdAfter, '2028-02-29T00:00:00.000Z');
  usage(['list', '--expires-after', '2026-01-31T12:00'], /^--expires-after must be a day/, 'list');
});

test('edit refuses an empty --tags or --tag (an empty shell variable would remove every tag): that is --no-tags', () => {
  usage(['edit', 'abc', '--tags', ''], /^--tags names no tag \(got ""\): to remove every tag, give --no-tags$/, 'edit');
  usage(['edit', 'abc', '--tags', ' , '], /^--tags names no tag \(got " , "\): to remove every tag, give --no-tags$/, 'edit');
  usage(['edit', 'abc', '--tag', ''], /^--tag names no tag \(got ""\): to remove every tag, give --no-tags$/, 'edit');
  assert.deepEqual(parseCommand(['edit', 'abc', '--tags', '', '--tags', 'a']), { verb: 'edit', code: 'abc', tags: ['a'], client: { json: false } });
});

test('curt list sends every filter and the sort as the query, and prints the next page with the same flags', async () => {
  const { client, asked } = recording({ items: [LINK], next_cursor: 'CUR' });
  const printed: string[] = [];
  const command = parseCommand(['list', '--tag', 'launch', '--tag', 'web', '--sort', 'last_click', '--order', 'asc', '--created-after', '2026-01-01', '--search', 'exa', '--limit', '1']) as ClientCommand;
  await runClientCommand(command, client, (text) => printed.push(text));
  assert.deepEqual(asked.map((a) => a.path), ['/urls?limit=1&q=exa&tag=launch&tag=web&created_after=2026-01-01T00%3A00%3A00.000Z&sort=last_click&order=asc']);
  const more = 'More: curt list --search exa --tag launch --tag web --sort last_click --order asc --created-after 2026-01-01T00:00:00.000Z --limit 1 --cursor CUR';
  assert.ok(printed.join('').endsWith(more), printed.join(''));
  assert.equal(listFlags(parseCommand(['list']) as Extract<ClientCommand, { verb: 'list' }>), '');
});

test('curt webhooks deliveries prints the next page with its --limit (it was dropped)', async () => {
  const delivery = { id: 9, event_id: 'evt_1', type: 'link.created', state: 'delivered', attempts: 1, last_status: 204, last_error: null, next_attempt_at: null, created_at: '2026-01-01T00:00:00.000Z', delivered_at: '2026-01-01T00:00:01.000Z' };
  const { client, asked } = recording({ items: [delivery], next_cursor: 'NEXT' });
  const printed: string[] = [];
  await runClientCommand(parseCommand(['webhooks', 'deliveries', '7', '--limit', '1']) as ClientCommand, client, (text) => printed.push(text));
  assert.deepEqual(asked.map((a) => a.path), ['/webhooks/7/deliveries?limit=1']);
  assert.ok(printed.join('').endsWith('More: curt webhooks deliveries 7 --limit 1 --cursor NEXT'), printed.join(''));
});

test('curt shorten and edit send the tags; the link and the table show them', async () => {
  const { client, asked } = recording(LINK);
  const printed: string[] = [];
  await runClientCommand(parseCommand(['shorten', 'https://example.com', '--tag', 'launch', '--tag', 'web']) as ClientCommand, client, (t) => printed.push(t));
  await runClientCommand(parseCommand(['edit', 'SQYAfF', '--no-tags']) as ClientCommand, client, (t) => printed.push(t));
  assert.deepEqual(asked, [
    { method: 'POST', path: '/urls', body: { url: 'https://example.com', tags: ['launch', 'web'] } },
    { method: 'PATCH', path: '/urls/SQYAfF', body: { tags: [] } },
  ]);
  assert.match(formatLink(LINK), /^Tags +launch, web$/m);
  assert.match(formatLink({ ...LINK, tags: [] }), /^Tags +-$/m);
  assert.match(formatLinkTable([LINK]), /^CODE +STATE +CLICKS +VISITS +CREATED +EXPIRES +TAGS +TARGET$/m);
  assert.match(formatLinkTable([LINK]), / launch,web +https:\/\/example\.com\/$/m);
});
