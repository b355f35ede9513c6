// The `curt` command line: verbs, options, and the one-line usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkView } from '../support/link-view.ts';
import { parseCommand, parseDuration, UsageError, VERB_NAMES } from '../../src/cli/args.ts';
import { describeFailure, runClientCommand, type ClientCommand } from '../../src/cli/commands.ts';
import { countryName, formatLink, formatLinkDetails, formatLinkTable, formatStats, formatTime, share, table } from '../../src/cli/format.ts';
import { helpFor } from '../../src/cli/help.ts';
import { createCurtClient, CurtApiError, CurtUnreachableError, type Analytics } from '../../src/client/curt-client.ts';
import { ConfigError, loadCliConfig } from '../../src/core/config.ts';

const usage = (argv: string[], message: RegExp, verb: string | null = null) =>
  assert.throws(() => parseCommand(argv), (err: unknown) => err instanceof UsageError && message.test(err.message) && err.verb === verb, argv.join(' '));

test('shorten takes a URL and its options, anywhere on the line, with the client flags', () => {
  assert.deepEqual(parseCommand(['shorten', 'https://example.com', '--alias', 'launch', '--expires-in', '7d', '--one-time', '--json']), {
    verb: 'shorten',
    url: 'https://example.com',
    alias: 'launch',
    expiresInS: 7 * 86_400,
    oneTime: true,
    forwardQuery: false,
    client: { json: true },
  });
  assert.deepEqual(parseCommand(['--server', 'http://cu.rt:8080', 'shorten', '--api-key', 'curt_k', 'https://example.com']), {
    verb: 'shorten',
    url: 'https://example.com',
    oneTime: false,
    forwardQuery: false,
    client: { server: 'http://cu.rt:8080', apiKey: 'curt_k', json: false },
  });
});

test('shorten takes a visit limit and query forwarding; --one-time is --max-visits 1, and another limit beside it is refused', () => {
  assert.deepEqual(parseCommand(['shorten', 'https://example.com', '--max-visits', '2', '--forward-query']), {
    verb: 'shorten',
    url: 'https://example.com',
    oneTime: false,
    maxVisits: 2,
    forwardQuery: true,
    client: { json: false },
  });
  assert.equal((parseCommand(['shorten', 'https://x.test', '--one-time', '--max-visits', '1']) as { maxVisits: number }).maxVisits, 1);
  usage(['shorten', 'https://x.test', '--one-time', '--max-visits', '3'], /^give --one-time or --max-visits, not both/, 'shorten');
  for (const bad of ['0', '-1', '1.5', 'two', '1000000001']) {
    usage(['shorten', 'https://x.test', '--max-visits', bad], new RegExp(`^--max-visits must be a whole number from 1 to 1000000000 \\(got "${bad.replace('.', '\\.')}"\\)$`), 'shorten');
  }
  usage(['shorten', 'https://x.test', '--no-max-visits'], /^shorten does not take --no-max-visits$/, 'shorten');
});

test('edit sets or removes a visit limit and turns query forwarding on or off, one way at a time', () => {
  const edit = (...flags: string[]) => parseCommand(['edit', 'AbCdEf', ...flags]);
  assert.deepEqual(edit('--max-visits', '10', '--forward-query'), { verb: 'edit', code: 'AbCdEf', maxVisits: 10, forwardQuery: true, client: { json: false } });
  assert.deepEqual(edit('--no-max-visits', '--no-forward-query'), { verb: 'edit', code: 'AbCdEf', maxVisits: null, forwardQuery: false, client: { json: false } });
  usage(['edit', 'AbCdEf', '--max-visits', '3', '--no-max-visits'], /^give --max-visits or --no-max-visits, not both$/, 'edit');
  usage(['edit', 'AbCdEf', '--forward-query', '--no-forward-query'], /^give --forward-query or --no-forward-query, not both$/, 'edit');
  usage(['edit', 'AbCdEf', '--max-visits', '0'], /^--max-visits must be a whole number from 1 to 1000000000/, 'edit');
  usage(['list', '--search', 'ex'], /^--search needs at least 3 characters \(got 2\)/, 'list');
  usage(['list', '--search', 'é'], /^--search needs at least 3 characters \(got 1\)/, 'list');
});

test('every verb parses; keys create is a verb of two words', () => {
  assert.deepEqual(parseCommand(['stats', 'AbCdEf']), { verb: 'stats', code: 'AbCdEf', client: { json: false } });
  assert.deepEqual(parseCommand(['get', 'AbCdEf', '--json', '--server', 'http://cu.rt', '--api-key', 'curt_k']), { verb: 'get', code: 'AbCdEf', client: { server: 'http://cu.rt', apiKey: 'curt_k', json: true } });
  assert.deepEqual(parseCommand(['delete', 'AbCdEf', '--json']), { verb: 'delete', code: 'AbCdEf', client: { json: true } });
  assert.deepEqual(parseCommand(['list', '--limit', '5', '--cursor', 'aWQ6Mg']), { verb: 'list', limit: 5, cursor: 'aWQ6Mg', all: false, client: { json: false } });
  assert.deepEqual(parseCommand(['list', '--all']), { verb: 'list', all: true, client: { json: false } });
  assert.deepEqual(parseCommand(['list', '--search', 'launch', '--state', 'disabled']), { verb: 'list', search: 'launch', state: 'disabled', all: false, client: { json: false } });
  assert.deepEqual(parseCommand(['edit', 'AbCdEf', '--url', 'https://example.com/new', '--expires-in', '7d', '--disable']), {
    verb: 'edit',
    code: 'AbCdEf',
    url: 'https://example.com/new',
    expiresInS: 604_800,
    isActive: false,
    client: { json: false },
  });
  assert.deepEqual(parseCommand(['edit', 'AbCdEf', '--no-expiry', '--enable']), { verb: 'edit', code: 'AbCdEf', expiresInS: null, isActive: true, client: { json: false } });
  assert.deepEqual(parseCommand(['keys', 'create', '--admin', '--name', 'ci']), { verb: 'keys create', admin: true, name: 'ci', client: { json: false } });
  assert.deepEqual(parseCommand(['keys', 'list', '--json']), { verb: 'keys list', client: { json: true } });
  assert.deepEqual(parseCommand(['keys', 'revoke', '42']), { verb: 'keys revoke', id: 42, client: { json: false } });
  assert.deepEqual(parseCommand(['serve']), { verb: 'serve', env: {} });
  assert.deepEqual(parseCommand(['serve', '--port', '9000', '--host', '0.0.0.0', '--data-dir', '/srv/curt']), {
    verb: 'serve',
    env: { PORT: '9000', HOST: '0.0.0.0', DATA_DIR: '/srv/curt' },
  });
  for (const verb of ['kgs', 'url-service', 'migrate'] as const) assert.deepEqual(parseCommand([verb]), { verb });
  assert.deepEqual(parseCommand(['--version']), { verb: 'version' });
});

test('--help works on every verb, and every verb has a help text', () => {
  assert.deepEqual(parseCommand(['--help']), { verb: 'help', topic: null });
  assert.deepEqual(parseCommand(['-h']), { verb: 'help', topic: null });
  assert.deepEqual(parseCommand(['help', 'keys', 'create']), { verb: 'help', topic: 'keys create' });
  for (const verb of VERB_NAMES) {
    assert.deepEqual(parseCommand([...verb.split(' '), '--help']), { verb: 'help', topic: verb });
    assert.match(helpFor(verb) ?? '', /^Usage: curt /, verb);
  }
  assert.deepEqual(parseCommand(['keys', '--help']), { verb: 'help', topic: 'keys' });
  assert.match(helpFor('keys') ?? '', /keys revoke <id>/);
});

test('edit needs a change, and refuses contradictory ones', () => {
  const usage = (argv: string[], message: RegExp): void =>
    assert.throws(() => parseCommand(argv), (err: unknown) => err instanceof UsageError && message.test(err.message) && err.verb === 'edit', argv.join(' '));
  usage(
    ['edit', 'AbCdEf'],
    /^edit needs a change: --url, --expires-in, --expires-at, --no-expiry, --disable, --enable, --max-visits, --no-max-visits, --forward-query, --no-forward-query, --tags, --no-tags, --password, --password-stdin or --no-password$/,
  );
  usage(['edit', 'AbCdEf', '--disable', '--enable'], /^give --disable or --enable, not both$/);
  usage(['edit', 'AbCdEf', '--expires-in', '1d', '--no-expiry'], /^give --expires-in or --no-expiry, not both$/);
  usage(['edit', 'AbCdEf', '--url', 'example.com/x'], /did you mean https:\/\/example\.com\/x\?$/);
  usage(['edit', 'AbCdEf', '--expires-in', '0'], /^--expires-in must be a duration/);
  usage(['edit', 'AbCdEf', '--expires-at', '2030-01-31T12:00Z', '--no-expiry'], /^give --expires-at or --no-expiry, not both$/);
  usage(['edit', 'AbCdEf', '--expires-in', '1d', '--expires-at', '2030-01-31T12:00Z'], /^give --expires-in or --expires-at, not both$/);
  usage(['edit', '--url', 'https://example.com/'], /^edit needs <code>$/);
});

test('mistakes are one-line usage errors that name the verb to get help on', () => {
  usage([], /no command given/);
  usage(['frobnicate'], /unknown command "frobnicate"/);
  usage(['shorten'], /shorten needs <url>/, 'shorten');
  usage(['shorten', 'a', 'b'], /takes no argument "b"/, 'shorten');
  usage(['shorten', 'https://x.test', '--bogus'], /unknown option --bogus/, 'shorten');
  usage(['shorten', 'https://x.test', '--alias'], /--alias needs a value/, 'shorten');
  usage(['stats', 'abc', '--alias', 'x'], /stats does not take --alias/, 'stats');
  usage(['get'], /^get needs <code>$/, 'get');
  usage(['get', 'abc', 'def'], /^get takes no argument "def"$/, 'get');
  usage(['get', 'abc', '--from', '2026-01-01'], /^get does not take --from$/, 'get');
  usage(['shorten', 'https://x.test', '--expires-in', 'soon'], /--expires-in must be a duration/, 'shorten');
  usage(['list', '--limit', '500'], /--limit must be a whole number from 1 to 100/, 'list');
  usage(['list', '--all', '--cursor', 'x'], /--all or --cursor/, 'list');
  usage(['list', '--state', 'gone'], /--state must be one of active, expired, used, disabled/, 'list');
  usage(['serve', '--port', 'eighty'], /--port must be a whole number/, 'serve');
  usage(['serve', '--json'], /serve does not take --json/, 'serve');
  usage(['keys'], /keys needs a subcommand: create, list, revoke/, 'keys');
  usage(['keys', 'delete'], /unknown keys subcommand "delete"/, 'keys');
  usage(['keys', 'revoke'], /keys revoke needs <id>/, 'keys revoke');
  usage(['keys', 'revoke', 'abc'], /<id> must be a whole number/, 'keys revoke');
  usage(['keys', 'list', '--admin'], /keys list does not take --admin/, 'keys list');
  usage(['stats', 'abc', '--server', 'cu.rt'], /--server must be a URL/);
});

test('durations: plain seconds or a unit s, m, h, d, w; never zero or negative', () => {
  assert.equal(parseDuration('90'), 90);
  assert.equal(parseDuration('45s'), 45);
  assert.equal(parseDuration('30m'), 1800);
  assert.equal(parseDuration('12h'), 43_200);
  assert.equal(parseDuration('7d'), 604_800);
  assert.equal(parseDuration('2w'), 1_209_600);
  for (const bad of ['0', '0d', '-1h', '1.5h', '7 days', 'd', '']) assert.equal(parseDuration(bad), null, bad);
});

test('failures: a server error keeps its code, an unreachable server exits 3, anything else is a bug', () => {
  const conflict = new CurtApiError(409, { type: 'urn:curt:problem:alias_taken', title: 'Conflict', status: 409, code: 'alias_taken', detail: '"x" is already taken.' }, null);
  assert.deepEqual(describeFailure(conflict, 'http://s'), { exitCode: 1, message: '"x" is already taken (alias_taken, HTTP 409).', problem: conflict.problem });
  const unauthorized = new CurtApiError(401, { type: 't', title: 'Authentication required', status: 401, code: 'unauthorized', detail: 'An API key is required.' }, null);
  assert.match(describeFailure(unauthorized, 'http://s')?.message ?? '', /Pass --api-key or set CURT_API_KEY\.$/);
  // A key was sent and refused (revoked, mistyped): the hint names where it came from, not how to give one.
  assert.match(describeFailure(unauthorized, 'http://s', '--server', '--api-key')?.message ?? '', /The key given by --api-key is refused\.$/);
  assert.match(describeFailure(unauthorized, 'http://s', '--server', 'CURT_API_KEY')?.message ?? '', /The key given by CURT_API_KEY is refused\.$/);
  const refused = new CurtUnreachableError('http://127.0.0.1:8080', 'ECONNREFUSED', new TypeError('fetch failed'));
  const unreachable = describeFailure(refused, 'http://127.0.0.1:8080');
  assert.equal(unreachable?.exitCode, 3);
  assert.match(unreachable?.message ?? '', /^cannot reach the Curt server at http:\/\/127\.0\.0\.1:8080 \(ECONNREFUSED\)\. Is it running\?/);
  // For scripts, a problem document as the server's are (RFC 9457), with no HTTP status: none came.
  assert.deepEqual(unreachable?.problem, {
    type: 'urn:curt:problem:server_unreachable',
    title: 'Server unreachable',
    code: 'server_unreachable',
    detail: 'cannot reach http://127.0.0.1:8080: ECONNREFUSED',
  });
  const timedOut = describeFailure(new CurtUnreachableError('http://s', 'timeout', undefined), 'http://s');
  assert.match(timedOut?.message ?? '', /\(no answer in time\)/);
  // What fetch threw that is not the server's absence: exit 1 in its words, not a bug's stack.
  const loop = describeFailure(new TypeError('fetch failed', { cause: new Error('redirect count exceeded') }), 'http://s');
  assert.deepEqual([loop?.exitCode, loop?.message, loop?.problem.code], [1, 'the request to http://s failed (redirect count exceeded).', 'request_failed']);
  assert.match(describeFailure(new TypeError('terminated'), 'http://s')?.message ?? '', /failed \(the answer was cut off\)/);
  assert.equal(describeFailure(new RangeError('bug'), 'http://s'), null);
});

test('a route the server does not have, asked of a server URL with a path: the error line names the path and says the API is at the root', () => {
  const noRoute = new CurtApiError(404, { type: 'urn:curt:problem:not_found', title: 'Not found', status: 404, code: 'not_found', detail: 'No route for GET /foo/urls.' }, null);
  const hinted = describeFailure(noRoute, 'http://127.0.0.1:8080/foo');
  assert.deepEqual(hinted, {
    exitCode: 1,
    message: "No route for GET /foo/urls (not_found, HTTP 404). The --server URL has a path, /foo: Curt's API is at the server's root (http://127.0.0.1:8080) unless a proxy in front maps /foo to it.",
    problem: noRoute.problem,
  });
  assert.match(describeFailure(noRoute, 'https://cu.rt/a/b', 'CURT_SERVER')?.message ?? '', /\. The CURT_SERVER URL has a path, \/a\/b: Curt's API is at the server's root \(https:\/\/cu\.rt\) unless a proxy in front maps \/a\/b to it\.$/);
  // No path, or another 404 (the route is there, the link is not): the server's words alone.
  assert.equal(describeFailure(noRoute, 'http://127.0.0.1:8080')?.message, 'No route for GET /foo/urls (not_found, HTTP 404).');
  const noLink = new CurtApiError(404, { type: 'urn:curt:problem:link_not_found', title: 'Link not found', status: 404, code: 'link_not_found', detail: 'No short link has this code.' }, null);
  assert.equal(describeFailure(noLink, 'http://127.0.0.1:8080/foo')?.message, 'No short link has this code (link_not_found, HTTP 404).');
});

test('human output: UTC times, aligned tables with numbers on the right', () => {
  assert.equal(formatTime('2026-11-25T11:18:13.014Z'), '2026-11-25 11:18 UTC');
  assert.equal(formatTime(null), 'never');
  assert.equal(table(['CODE', 'CLICKS', 'TARGET'], [['abc', '7', 'https://a'], ['launch', '1234', 'https://b']], new Set([1])), [
    'CODE    CLICKS  TARGET',
    'abc          7  https://a',
    'launch    1234  https://b',
  ].join('\n'));
});

test('human output of a link: visits made of its limit, and whether it forwards its query', () => {
  const link = linkView({ short_code: 'launch', original_url: 'https://example.com/launch', created_at: '2026-11-25T11:48:00.000Z', max_visits: 5, visits: 2, forward_query: true, is_custom_alias: true, clicks: 2 });

  assert.match(formatLink(link), /\nVisits {9}2 of 5\nForward query {2}yes\nPassword {7}no\nTags {11}-$/);
  assert.match(formatLink({ ...link, has_password: true }), /\nForward query {2}yes\nPassword {7}yes\nTags {11}-$/);
  assert.match(formatLink({ ...link, max_visits: null, visits: 0, forward_query: false }), /\nVisits {9}no limit\nForward query {2}no\n/);
  // curt get: when it was made, the password (yes or no, always said) and the clicks too.
  assert.equal(formatLinkDetails({ ...link, tags: ['q3', 'web'], last_clicked_at: '2026-11-26T09:00:59.000Z', bot_hits: 3 }), [
    'Short URL      http://localhost:8080/launch',
    'Target         https://example.com/launch',
    'State          active',
    'Created        2026-11-25 11:48 UTC',
    'Expires        never',
    'One-time       no',
    'Visits         2 of 5',
    'Forward query  yes',
    'Password       no',
    'Tags           q3, web',
    'Clicks         2',
    'Bot hits       3',
    'Last click     2026-11-26 09:00 UTC',
  ].join('\n'));
  const rows = formatLinkTable([link, { ...link, short_code: 'plain', max_visits: null }]).split('\n');
  assert.match(rows[0] ?? '', /^CODE\s+STATE\s+CLICKS\s+VISITS\s+CREATED/);
  assert.match(rows[1] ?? '', /^launch\s+active\s+2\s+2\/5\s+2026-11-25/);
  assert.match(rows[2] ?? '', /^plain\s+active\s+2\s+-\s+2026-11-25/);
});

test('shorten of an address without a scheme suggests the https URL instead of sending it', () => {
  usage(['shorten', 'example.com'], /absolute http or https URL: did you mean https:\/\/example\.com\?/, 'shorten');
  usage(['shorten', 'www.example.com/launch?x=1'], /did you mean https:\/\/www\.example\.com\/launch\?x=1\?/, 'shorten');
  usage(['shorten', 'localhost:8080/x'], /did you mean https:\/\/localhost:8080\/x\?/, 'shorten');
  // With http or https, the server decides the rest; another scheme is refused here (the test below).
  assert.equal((parseCommand(['shorten', 'https://example.com']) as { url: string }).url, 'https://example.com');
});

test('--expires-in says why a negative, zero or unknown-unit duration is invalid', () => {
  usage(['shorten', 'https://x.test', '--expires-in', '-5m'], /got "-5m": a link cannot expire in the past/, 'shorten');
  usage(['shorten', 'https://x.test', '--expires-in=-5m'], /got "-5m": a link cannot expire in the past/, 'shorten');
  usage(['shorten', 'https://x.test', '--expires-in', '0'], /got "0": a link cannot expire at once/, 'shorten');
  usage(['shorten', 'https://x.test', '--expires-in', '5y'], /got "5y": the units are s, m, h, d and w/, 'shorten');
  usage(['shorten', 'https://x.test', '--expires-in', '1.5h'], /whole number with a smaller unit/, 'shorten');
  usage(['list', '--limit', '-1'], /--limit must be a whole number from 1 to 100 \(got "-1"\)/, 'list');
});

test('stats takes a range of UTC days and a breakdown length', () => {
  assert.deepEqual(parseCommand(['stats', 'AbCdEf', '--from', '2026-01-01', '--to', '2026-03-31', '--top', '5', '--json']), {
    verb: 'stats',
    code: 'AbCdEf',
    from: '2026-01-01',
    to: '2026-03-31',
    top: 5,
    client: { json: true },
  });
  // One end alone: the server fills in the other (and knows what today is).
  assert.deepEqual(parseCommand(['stats', 'AbCdEf', '--to=2026-03-31']), { verb: 'stats', code: 'AbCdEf', to: '2026-03-31', client: { json: false } });
  assert.equal(parseCommand(['stats', 'AbCdEf', '--from', '2016-03-24', '--to', '2026-03-31']).verb, 'stats', '3,660 days, the longest range, fit');
  assert.match(helpFor('stats') ?? '', /^Usage: curt stats <code> \[--from YYYY-MM-DD\] \[--to YYYY-MM-DD\] \[--top N\]/);
});

test('stats refuses a day that is not one, a range backwards or longer than the server answers, and a bad --top', () => {
  usage(['stats', 'abc', '--from', '2026-1-5'], /^--from must be a day as YYYY-MM-DD, such as 2026-01-31 \(got "2026-1-5"\)$/, 'stats');
  usage(['stats', 'abc', '--to', '2026-02-30'], /^--to 2026-02-30 is no day: February 2026 has 28 days$/, 'stats');
  usage(['stats', 'abc', '--from', 'yesterday'], /^--from must be a day/, 'stats');
  usage(['stats', 'abc', '--from', '2026-01-01T00:00'], /^--from must be a day/, 'stats');
  usage(['stats', 'abc', '--from', '2026-03-02', '--to', '2026-03-01'], /^--from 2026-03-02 is after --to 2026-03-01$/, 'stats');
  usage(['stats', 'abc', '--from', '2016-03-23', '--to', '2026-03-31'], /^--from 2016-03-23 to --to 2026-03-31 is 3661 days; the server answers at most 3660$/, 'stats');
  usage(['stats', 'abc', '--from', '2000-01-01', '--to', '2026-03-31'], /^--from 2000-01-01 to --to 2026-03-31 is 9587 days; the server answers at most 3660$/, 'stats');
  usage(['stats', 'abc', '--top', '0'], /^--top must be a whole number from 1 to 100 \(got "0"\)$/, 'stats');
  usage(['stats', 'abc', '--top', '101'], /^--top must be a whole number from 1 to 100/, 'stats');
  usage(['stats', 'abc', '--top', '-3'], /^--top must be a whole number from 1 to 100 \(got "-3"\)$/, 'stats');
  usage(['stats', 'abc', '--from'], /--from needs a value/, 'stats');
  usage(['delete', 'abc', '--from', '2026-01-01'], /delete does not take --from/, 'delete');
});

const LINK = linkView({ short_code: 'SQYAfF', max_visits: 50, visits: 12, clicks: 12, bot_hits: 3, last_clicked_at: '2026-11-25T11:48:03.000Z' });

const ANALYTICS: Analytics = {
  short_code: 'SQYAfF',
  created_at: LINK.created_at,
  expires_at: null,
  is_one_time: false,
  is_active: true,
  is_expired: false,
  state: 'active',
  last_clicked_at: LINK.last_clicked_at,
  clicks: 12,
  bot_hits: 3,
  from: '2026-08-28',
  to: '2026-11-25',
  range_clicks: 10,
  range_bot_hits: 3,
  daily: [
    { date: '2026-11-24', clicks: 4, bot_hits: 1 },
    { date: '2026-11-25', clicks: 6, bot_hits: 2 },
  ],
  referrers: [
    { host: 'news.example', clicks: 6 },
    { host: '(direct)', clicks: 4 },
  ],
  countries: [
    { name: 'DE', clicks: 5 },
    { name: 'US', clicks: 3 },
    { name: '(unknown)', clicks: 1 },
    { name: '(other)', clicks: 1 },
  ],
  browsers: [
    { name: 'Chrome', clicks: 7 },
    { name: 'Safari', clicks: 3 },
  ],
  operating_systems: [
    { name: 'Windows', clicks: 6 },
    { name: 'iOS', clicks: 4 },
  ],
  devices: [
    { name: 'desktop', clicks: 6 },
    { name: 'mobile', clicks: 4 },
  ],
  bots: [
    { name: 'Slackbot', hits: 2 },
    { name: 'curl', hits: 1 },
  ],
};

test('stats prints the link, the range with its clicks and bot hits, the days, and each breakdown as an aligned table with shares', () => {
  assert.equal(
    formatStats(LINK, ANALYTICS),
    `Short URL      http://localhost:8080/SQYAfF
Target         https://example.com/
State          active
Clicks         12
Bot hits       3
Last click     2026-11-25 11:48 UTC
Created        2026-11-01 09:30 UTC
Expires        never
One-time       no
Visits         12 of 50
Forward query  no

Range              2026-08-28 to 2026-11-25 (UTC, 90 days)
Clicks in range    10
Bot hits in range  3

DAY         CLICKS  BOT HITS
2026-11-24       4         1
2026-11-25       6         2

COUNTRY    NAME           CLICKS  SHARE
DE         Germany             5    50%
US         United States       3    30%
(unknown)                      1    10%
(other)                        1    10%

BROWSER  CLICKS  SHARE
Chrome        7    70%
Safari        3    30%

OS       CLICKS  SHARE
Windows       6    60%
iOS           4    40%

DEVICE   CLICKS  SHARE
desktop       6    60%
mobile        4    40%

REFERRER      CLICKS  SHARE
news.example       6    60%
(direct)           4    40%

BOT       HITS  SHARE
Slackbot     2    67%
curl         1    33%`,
  );
});

test('stats of a range without hits prints the totals and no empty table', () => {
  const quiet: Analytics = { ...ANALYTICS, from: '2026-11-25', to: '2026-11-25', range_clicks: 0, range_bot_hits: 0, daily: [], referrers: [], countries: [], browsers: [], operating_systems: [], devices: [], bots: [] };
  const text = formatStats(LINK, quiet);
  assert.ok(text.endsWith(['', 'Range              2026-11-25 to 2026-11-25 (UTC, 1 day)', 'Clicks in range    0', 'Bot hits in range  0'].join('\n')), text);
});

test('country names in English next to the code; shares never say 0% or 100% of a part that is not', () => {
  assert.equal(countryName('DE'), 'Germany');
  assert.equal(countryName('JP'), 'Japan');
  for (const notACountry of ['(unknown)', '(other)', 'XX', 'de', '']) assert.equal(countryName(notACountry), '', notACountry);
  assert.deepEqual([share(1, 3), share(0, 3), share(1, 1000), share(999, 1000), share(3, 3), share(1, 0)], ['33%', '0%', '<1%', '>99%', '100%', '-']);
});

test('curt stats asks for the range it was given and, with --json, prints the API body with the short and long URL', async () => {
  const asked: string[] = [];
  const client = createCurtClient({
    baseUrl: 'http://cu.rt',
    fetch: async (input) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      asked.push(url.pathname + url.search);
      const body = url.pathname.endsWith('/analytics') ? ANALYTICS : LINK;
      return new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
    },
  });
  const printed: string[] = [];
  const command = parseCommand(['stats', 'SQYAfF', '--from', '2026-08-28', '--to', '2026-11-25', '--top', '3', '--json']) as ClientCommand;
  await runClientCommand(command, client, (text) => printed.push(text));
  assert.deepEqual(asked.sort(), ['/urls/SQYAfF', '/urls/SQYAfF/analytics?from=2026-08-28&to=2026-11-25&top=3']);
  assert.deepEqual(JSON.parse(printed.join('')), { ...ANALYTICS, short_url: LINK.short_url, original_url: LINK.original_url });
  printed.length = 0;
  asked.length = 0;
  await runClientCommand(parseCommand(['stats', 'SQYAfF']) as ClientCommand, client, (text) => printed.push(text));
  assert.deepEqual(asked.sort(), ['/urls/SQYAfF', '/urls/SQYAfF/analytics'], "no range given: the server's default");
  assert.equal(printed.join(''), formatStats(LINK, ANALYTICS));
});

test('curt webhooks add|list|enable|disable|rm|deliveries parse to their commands; unknown events are refused', () => {
  assert.deepEqual(parseCommand(['webhooks', 'add', 'https://h.example/in', '--events', 'link.created,link.clicked']), {
    verb: 'webhooks add',
    url: 'https://h.example/in',
    events: ['link.created', 'link.clicked'],
    client: { json: false },
  });
  assert.deepEqual(
    (parseCommand(['webhooks', 'add', 'https://h.example/in', '--events', 'link.created', '--events', 'link.deleted,link.created']) as { events: string[] }).events,
    ['link.created', 'link.deleted'],
    '--events repeated adds up (each once), as --tag does',
  );
  assert.equal(parseCommand(['webhooks', 'list']).verb, 'webhooks list');
  assert.deepEqual(parseCommand(['webhooks', 'rm', '7']), { verb: 'webhooks rm', id: 7, client: { json: false } });
  assert.deepEqual(parseCommand(['webhooks', 'enable', '7']), { verb: 'webhooks enable', id: 7, client: { json: false } });
  assert.deepEqual(parseCommand(['webhooks', 'disable', '7']), { verb: 'webhooks disable', id: 7, client: { json: false } });
  assert.throws(() => parseCommand(['webhooks', 'enable', 'x']), /<id>/);
  assert.deepEqual(parseCommand(['webhooks', 'deliveries', '7', '--limit', '5']), { verb: 'webhooks deliveries', id: 7, limit: 5, client: { json: false } });
  assert.throws(() => parseCommand(['webhooks', 'add', 'https://h.example/in', '--events', 'link.exploded']), /--events must be/);
  assert.throws(() => parseCommand(['webhooks', 'add', 'https://h.example/in']), /needs --events/);
  assert.throws(() => parseCommand(['webhooks']), /webhooks needs a subcommand/);
});

test('what the server would refuse and the CLI can tell is a usage error before any request: another scheme, an expiry past 100 years', () => {
  const usage = (argv: string[], message: RegExp, verb: string): void =>
    assert.throws(() => parseCommand(argv), (err: unknown) => err instanceof UsageError && message.test(err.message) && err.verb === verb, argv.join(' '));
  usage(['shorten', 'ftp://files.example.com/a'], /^shorten needs an http or https URL; Curt does not redirect to ftp: links$/, 'shorten');
  usage(['shorten', 'javascript:alert(1)'], /does not redirect to javascript: links$/, 'shorten');
  usage(['shorten', 'mailto:someone@example.com'], /does not redirect to mailto: links$/, 'shorten');
  usage(['edit', 'abc', '--url', 'data:text/html,hi'], /^--url must be an http or https URL; Curt does not redirect to data: links$/, 'edit');
  usage(['webhooks', 'add', 'ws://hooks.example.com', '--events', 'link.created'], /does not deliver to ws: addresses$/, 'webhooks add');
  usage(['shorten', 'tel:5551234'], /does not redirect to tel: links$/, 'shorten');
  usage(['shorten', ' javascript:alert(1)'], /does not redirect to javascript: links$/, 'shorten');
  usage(['shorten', 'com.example.app://open'], /does not redirect to com\.example\.app: links$/, 'shorten');
  // A host and port, a user and password: not a scheme; the suggestion stays.
  usage(['shorten', 'localhost:8080/x'], /did you mean https:\/\/localhost:8080\/x\?$/, 'shorten');
  usage(['shorten', 'user:pw@example.com/x'], /did you mean https:\/\/user:pw@example\.com\/x\?$/, 'shorten');
  assert.equal((parseCommand(['shorten', 'http://[::1]:8080/x']) as { url: string }).url, 'http://[::1]:8080/x');
  assert.equal((parseCommand(['shorten', 'HTTPS://example.com']) as { url: string }).url, 'HTTPS://example.com');
  usage(['shorten', 'https://example.com', '--expires-in', '100000w'], /^--expires-in 100000w is more than 100 years, .*\(36500d\); for none, leave it out$/, 'shorten');
  usage(['edit', 'abc', '--expires-in', '36501d'], /for none, give --no-expiry$/, 'edit');
  assert.equal((parseCommand(['shorten', 'https://example.com', '--expires-in', '36500d']) as { expiresInS: number }).expiresInS, 3_153_600_000);
  assert.equal((parseCommand(['shorten', 'https://example.com', '--expires-in', '3153600000']) as { expiresInS: number }).expiresInS, 3_153_600_000);
  usage(['shorten', 'https://example.com', '--expires-in', '3153600001'], /^--expires-in 3153600001 is more than 100 years/, 'shorten');
  // A key no header can carry: refused before any request, and not shown (it is a secret).
  assert.throws(() => loadCliConfig({ CURT_API_KEY: 'curt_abc\ndef' }), (err: unknown) => err instanceof ConfigError && err.problems.some((p) => /CURT_API_KEY must be printable ASCII/.test(p)) && !/abc/.test(err.message));
  assert.throws(() => loadCliConfig({ CURT_API_KEY: 'curt_ké' }), ConfigError);
  assert.equal(loadCliConfig({ CURT_API_KEY: 'curt_0123456789abcdef' }).apiKey, 'curt_0123456789abcdef');
});

test('--expires-at: a date-time with its time zone, as the API takes it, on shorten and edit; anything else is a usage error', () => {
  assert.equal((parseCommand(['shorten', 'https://example.com', '--expires-at', '2030-01-31T12:00Z']) as { expiresAt?: string }).expiresAt, '2030-01-31T12:00Z');
  assert.equal((parseCommand(['edit', 'AbCdEf', '--expires-at', '2030-01-31T13:00:30.5+01:00']) as { expiresAt?: string }).expiresAt, '2030-01-31T13:00:30.5+01:00');
  for (const bad of ['2030-01-31', '2030-01-31T12:00', 'tomorrow', '2030-01-31T24:00Z', '2030-01-31T12:60Z', '2030-01-31T12:00:60Z', '2030-01-31T12:00+25:00']) {
    assert.throws(() => parseCommand(['shorten', 'https://example.com', '--expires-at', bad]), (err: unknown) => err instanceof UsageError && /^--expires-at must be a date-time with a time zone/.test(err.message), bad);
  }
  assert.throws(() => parseCommand(['shorten', 'https://example.com', '--expires-at', '2030-01-31T12:00Z', '--expires-in', '7d']), /give --expires-in or --expires-at, not both/);
  usage(['shorten', 'https://example.com', '--expires-at', '2030-02-31T12:00Z'], /^--expires-at 2030-02-31T12:00Z is no day: February 2030 has 28 days$/, 'shorten');
});

// What the server would refuse and the CLI can tell, found before any request (exit 2, not the server's 400).
const NOW = Date.parse('2026-12-07T13:00:00Z');
const usageAt = (argv: string[], message: RegExp, verb: string) =>
  assert.throws(() => parseCommand(argv, NOW), (err: unknown) => err instanceof UsageError && message.test(err.message) && err.verb === verb, argv.join(' '));

test('shorten refuses an alias the server would: 3 to 10 characters of A-Z a-z 0-9 _ -, no reserved word', () => {
  usageAt(['shorten', 'https://example.com', '--alias', 'ab'], /^--alias must be 3 to 10 characters of A-Z a-z 0-9 _ - \(got "ab": 2 characters\)$/, 'shorten');
  usageAt(['shorten', 'https://example.com', '--alias', 'abcdefghijk'], /\(got "abcdefghijk": 11 characters\)$/, 'shorten');
  usageAt(['shorten', 'https://example.com', '--alias', 'a.b'], /\(got "a\.b": other characters\)$/, 'shorten');
  usageAt(['shorten', 'https://example.com', '--alias', 'Docs'], /^--alias Docs is reserved: Curt has a route of that name; choose another alias$/, 'shorten');
  for (const fine of ['abc', 'Launch_26', 'a-b-c-d-e-']) assert.equal((parseCommand(['shorten', 'https://example.com', '--alias', fine], NOW) as { alias?: string }).alias, fine);
});

test('--expires-at in the past is refused on shorten (the server would) and taken on edit (the link ends); over 100 years away on both', () => {
  usageAt(
    ['shorten', 'https://example.com', '--expires-at', '2020-01-31T00:00Z'],
    /^--expires-at 2020-01-31T00:00Z is not in the future \(it is now 2026-12-07T13:00:00\.000Z\): a new link must expire later$/,
    'shorten',
  );
  usageAt(['shorten', 'https://example.com', '--expires-at', '2026-12-07T14:00+01:00'], /is not in the future/, 'shorten');
  assert.equal((parseCommand(['shorten', 'https://example.com', '--expires-at', '2026-12-07T13:01Z'], NOW) as { expiresAt?: string }).expiresAt, '2026-12-07T13:01Z');
  assert.equal((parseCommand(['edit', 'AbCdEf', '--expires-at', '2020-01-31T00:00Z'], NOW) as { expiresAt?: string }).expiresAt, '2020-01-31T00:00Z');
  usageAt(['shorten', 'https://example.com', '--expires-at', '2130-01-01T00:00Z'], /^--expires-at 2130-01-01T00:00Z is more than 100 years away, the longest a link may wait to expire; for none, leave it out$/, 'shorten');
  usageAt(['edit', 'AbCdEf', '--expires-at', '2130-01-01T00:00Z'], /; for none, give --no-expiry$/, 'edit');
});

test('stats --from alone is checked against today, the default --to: not after it, not more than 3660 days before it', () => {
  usageAt(['stats', 'abc', '--from', '2026-12-08'], /^--from 2026-12-08 is after today \(2026-12-07 in UTC, the default --to\)$/, 'stats');
  usageAt(['stats', 'abc', '--from', '2016-01-01'], /^--from 2016-01-01 to today \(2026-12-07 in UTC, the default --to\) is 3994 days; the server answers at most 3660$/, 'stats');
  usageAt(['stats', 'abc', '--from', '2016-11-29'], /is 3661 days; the server answers at most 3660$/, 'stats');
  assert.deepEqual(parseCommand(['stats', 'abc', '--from', '2016-11-30'], NOW), { verb: 'stats', code: 'abc', from: '2016-11-30', client: { json: false } });
  assert.deepEqual(parseCommand(['stats', 'abc', '--from', '2026-12-07'], NOW), { verb: 'stats', code: 'abc', from: '2026-12-07', client: { json: false } });
  // With --to given, --to is what --from is held to, as before.
  usageAt(['stats', 'abc', '--from', '2026-12-09', '--to', '2026-12-08'], /^--from 2026-12-09 is after --to 2026-12-08$/, 'stats');
  assert.equal(parseCommand(['stats', 'abc', '--from', '2027-01-01', '--to', '2027-01-31'], NOW).verb, 'stats');
});
