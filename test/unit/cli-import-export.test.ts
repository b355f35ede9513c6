// `curt export` and `curt import`: their flags, their usage errors, what they send and what they print
// from a fixed report, and a file that cannot be read (a usage error before any request).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommand, UsageError } from '../../src/cli/args.ts';
import { describeFailure, openImportFile, runClientCommand, type ClientCommand } from '../../src/cli/commands.ts';
import { createCurtClient, CurtApiError, ImportCutOffError } from '../../src/client/curt-client.ts';

const usage = (argv: string[], message: RegExp, verb: string | null) =>
  assert.throws(() => parseCommand(argv), (err: unknown) => err instanceof UsageError && message.test(err.message) && err.verb === verb, argv.join(' '));

async function text(items: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of items) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** A client whose server answers every request with `body`, recording what it was asked. */
function fakeServer(body: string | ReadableStream<Uint8Array>, type: string) {
  const asked: { method: string; path: string; type: string | null; body: string }[] = [];
  const client = createCurtClient({
    baseUrl: 'http://cu.rt',
    apiKey: 'curt_k',
    fetch: async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input);
      const headers = new Headers(init?.headers);
      const sent = init?.body === undefined || init.body === null ? '' : typeof init.body === 'string' ? init.body : await text(init.body as AsyncIterable<Uint8Array>);
      asked.push({ method: init?.method ?? 'GET', path: url.pathname + url.search, type: headers.get('content-type'), body: sent });
      return new Response(body, { headers: { 'content-type': type } });
    },
  });
  return { client, asked };
}

/** The report a server answers for a three-row file: one created, one there already, one refused. */
const REPORT = [
  { row: 1, status: 'created', short_code: 'aZbQxe' },
  { row: 2, status: 'exists', short_code: 'my-alias' },
  { row: 3, status: 'refused', reason: 'expires_at 2020-01-01T00:00:00.000Z is in the past: an expired link is not imported (it could only answer 410).' },
  { summary: true, rows: 3, created: 1, exists: 1, refused: 1 },
];
const ndjson = (lines: object[]) => lines.map((l) => `${JSON.stringify(l)}\n`).join('');
const FILE = 'url,alias\r\nhttps://example.com/a,\r\nhttps://example.com/b,my-alias\r\n';
const fileOf = (content: string) => async () => (async function* () {
  yield new TextEncoder().encode(content);
})();

test('export: csv unless --format ndjson, with the client flags', () => {
  assert.deepEqual(parseCommand(['export']), { verb: 'export', format: 'csv', client: { json: false } });
  assert.deepEqual(parseCommand(['export', '--format', 'ndjson', '--server', 'http://cu.rt', '--api-key', 'curt_k']), {
    verb: 'export',
    format: 'ndjson',
    client: { server: 'http://cu.rt', apiKey: 'curt_k', json: false },
  });
  assert.deepEqual(parseCommand(['--format', 'csv', 'export']), { verb: 'export', format: 'csv', client: { json: false } });
});

test('import: a file or -, its type from --type, else the name (none for - and other names: told from the file), --format curt, kutt or yourls', () => {
  assert.deepEqual(parseCommand(['import', 'links.csv']), { verb: 'import', file: 'links.csv', type: 'csv', client: { json: false } });
  assert.deepEqual(parseCommand(['import', 'kutt.csv', '--format', 'kutt', '--json']), { verb: 'import', file: 'kutt.csv', format: 'kutt', type: 'csv', client: { json: true } });
  assert.deepEqual(parseCommand(['import', '--format', 'yourls', 'yourls.txt']), { verb: 'import', file: 'yourls.txt', format: 'yourls', client: { json: false } });
  for (const file of ['links.ndjson', 'links.jsonl', 'LINKS.NDJSON']) assert.equal((parseCommand(['import', file]) as { type: string }).type, 'ndjson', file);
  assert.equal((parseCommand(['import', 'LINKS.CSV']) as { type: string }).type, 'csv');
  assert.deepEqual(parseCommand(['import', '-']), { verb: 'import', file: '-', client: { json: false } });
  assert.deepEqual(parseCommand(['import', '-', '--format', 'curt']), { verb: 'import', file: '-', format: 'curt', client: { json: false } });
  assert.deepEqual(parseCommand(['import', '-', '--type', 'ndjson']), { verb: 'import', file: '-', type: 'ndjson', client: { json: false } });
  assert.deepEqual(parseCommand(['import', 'links.ndjson', '--type', 'csv']), { verb: 'import', file: 'links.ndjson', type: 'csv', client: { json: false } }, '--type wins over the name');
  assert.deepEqual(parseCommand(['import', 'export.csv', '--type', 'ndjson']), { verb: 'import', file: 'export.csv', type: 'ndjson', client: { json: false } });
  assert.deepEqual(parseCommand(['import', '--help']), { verb: 'help', topic: 'import' });
  assert.deepEqual(parseCommand(['help', 'export']), { verb: 'help', topic: 'export' });
});

test('export and import mistakes are one-line usage errors naming the verb', () => {
  usage(['export', '--format', 'xml'], /--format must be csv or ndjson \(got "xml"\)/, 'export');
  usage(['export', '--format', 'kutt'], /--format must be csv or ndjson/, 'export');
  usage(['export', '--format'], /--format needs a value/, 'export');
  usage(['export', 'links.csv'], /export takes no argument "links.csv"/, 'export');
  usage(['export', '--limit', '5'], /export does not take --limit/, 'export');
  usage(['import'], /import needs <file>/, 'import');
  usage(['import', 'a.csv', 'b.csv'], /import takes no argument "b.csv"/, 'import');
  usage(['import', 'a.csv', '--format', 'csv'], /--format must be curt, kutt or yourls \(got "csv"\)/, 'import');
  usage(['import', 'a.csv', '--format', 'ndjson'], /^--format must be curt, kutt or yourls \(got "ndjson"\); the file's type is --type ndjson$/, 'import');
  usage(['import', '-', '--type', 'json'], /^--type must be csv or ndjson \(got "json"\)$/, 'import');
  usage(['import', '-', '--type', 'CSV'], /^--type must be csv or ndjson \(got "CSV"\)$/, 'import');
  usage(['import', '-', '--type'], /^--type needs a value$/, 'import');
  usage(['export', '--type', 'csv'], /^export does not take --type$/, 'export');
  usage(['import', 'a.csv', '--alias', 'x'], /import does not take --alias/, 'import');
  usage(['import', 'a.csv', '--server', 'cu.rt'], /--server must be a URL/, null);
});

test('curt import sends the file with its type and format, and prints each refused row and the summary; a refused row exits 1', async () => {
  const { client, asked } = fakeServer(ndjson(REPORT), 'application/x-ndjson');
  const printed: string[] = [];
  const exitCode = await runClientCommand(parseCommand(['import', 'links.csv']) as ClientCommand, client, (t) => printed.push(t), Date.now, { open: fileOf(FILE) });
  assert.equal(exitCode, 1, 'a refused row: not every row is there');
  assert.deepEqual(printed, [
    'row 3: refused: expires_at 2020-01-01T00:00:00.000Z is in the past: an expired link is not imported (it could only answer 410).',
    '3 rows: 1 created, 1 already there, 1 refused.',
  ]);
  assert.deepEqual(asked, [{ method: 'POST', path: '/urls/import', type: 'text/csv; charset=utf-8', body: FILE }]);

  asked.length = 0;
  printed.length = 0;
  const jsonExit = await runClientCommand(parseCommand(['import', 'kutt.ndjson', '--format', 'kutt', '--json']) as ClientCommand, client, (t) => printed.push(t), Date.now, { open: fileOf('{"target":"https://example.com"}\n') });
  assert.deepEqual(asked.map((a) => [a.path, a.type]), [['/urls/import?format=kutt', 'application/x-ndjson']]);
  assert.deepEqual(printed.map((line) => JSON.parse(line) as unknown), REPORT, '--json: the report line for line');
  assert.equal(jsonExit, 1, '--json: the same exit code');
});

/** `curt import links.csv` (and `extra` flags) against a server answering `report`: what it printed, and its exit code. */
async function importAgainst(report: object[] | ReadableStream<Uint8Array>, extra: string[] = []): Promise<{ printed: string[]; exitCode: number }> {
  const { client } = fakeServer(Array.isArray(report) ? ndjson(report) : report, 'application/x-ndjson');
  const printed: string[] = [];
  const exitCode = await runClientCommand(parseCommand(['import', 'links.csv', ...extra]) as ClientCommand, client, (t) => printed.push(t), Date.now, { open: fileOf(FILE) });
  return { printed, exitCode };
}

/** A report whose connection fails after `lines`. */
function cutOff(lines: object[]): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (sent) controller.error(new TypeError('terminated'));
      else controller.enqueue(new TextEncoder().encode(ndjson(lines)));
      sent = true;
    },
  });
}

test('curt import exits 0 when every row was created or was there already', async () => {
  const whole = [REPORT[0] as object, REPORT[1] as object, { summary: true, rows: 2, created: 1, exists: 1, refused: 0 }];
  assert.deepEqual(await importAgainst(whole), { printed: ['2 rows: 1 created, 1 already there, 0 refused.'], exitCode: 0 });
});

test('curt import of a report cut off before its summary says so and exits 1', async () => {
  assert.deepEqual(await importAgainst([REPORT[0] as object]), {
    printed: ['The report ended before its summary. Run the same file again to go on: the rows it imported are then reported as there already.'],
    exitCode: 1,
  });
});

test('curt import with --json prints only the report\'s lines; a report cut off before its summary is thrown, to be told on stderr as import_cut_off with exit code 1', async () => {
  const printed: string[] = [];
  const { client } = fakeServer(ndjson([REPORT[0] as object]), 'application/x-ndjson');
  const run = runClientCommand(parseCommand(['import', 'links.csv', '--json']) as ClientCommand, client, (t) => printed.push(t), Date.now, { open: fileOf(FILE) });
  const thrown = await run.then(
    () => assert.fail('a cut-off report must not end as a whole one'),
    (err: unknown) => err,
  );
  assert.deepEqual(printed, [JSON.stringify(REPORT[0])], 'standard output: the report\'s lines only');
  assert.ok(thrown instanceof ImportCutOffError && thrown.lines === 1 && thrown.cause === undefined, String(thrown));
  const failure = describeFailure(thrown, 'http://cu.rt');
  assert.equal(failure?.exitCode, 1);
  assert.deepEqual(failure?.problem, { type: 'urn:curt:problem:import_cut_off', title: 'Import report cut off', code: 'import_cut_off', detail: "the import's report was cut off after 1 line, before its summary (it ended)", lines: 1 });
});

test('the client\'s importLinks: a report ends with its summary or the server\'s stop, else ImportCutOffError after the lines it gave; a refusal before any line is the server\'s error', async () => {
  const read = async (body: string | ReadableStream<Uint8Array>) => {
    const lines: unknown[] = [];
    try {
      for await (const line of fakeServer(body, 'application/x-ndjson').client.importLinks(FILE)) lines.push(line);
      return { lines, thrown: null };
    } catch (err) {
      return { lines, thrown: err };
    }
  };
  assert.deepEqual(await read(ndjson(REPORT)), { lines: REPORT, thrown: null }, 'whole: every line, nothing thrown');
  const stopped = [REPORT[0] as object, { error: { code: 'dependency_down', detail: 'The database is not answering.' } }];
  assert.deepEqual(await read(ndjson(stopped)), { lines: stopped, thrown: null }, 'stopped by the server: its reason is the last line');

  const ended = await read(ndjson(REPORT.slice(0, 2)));
  assert.deepEqual(ended.lines, REPORT.slice(0, 2));
  assert.ok(ended.thrown instanceof ImportCutOffError && ended.thrown.lines === 2 && ended.thrown.cause === undefined, String(ended.thrown));
  const empty = await read('');
  assert.ok(empty.thrown instanceof ImportCutOffError && empty.thrown.lines === 0, 'an empty answer is no report');
  const halfLine = await read(`${ndjson([REPORT[0] as object])}{"row":2,"sta`);
  assert.ok(halfLine.thrown instanceof ImportCutOffError && halfLine.thrown.lines === 1 && halfLine.thrown.cause instanceof SyntaxError, 'a line cut in half');
  const failed = await read(cutOff([REPORT[0] as object]));
  assert.ok(failed.thrown instanceof ImportCutOffError && failed.thrown.lines === 1 && (failed.thrown.cause as Error).message === 'terminated', 'the connection failed part way');
  assert.match(failed.thrown.message, /cut off after 1 line, before its summary \(terminated\)/);

  // A caller that stops reading early: no error, and the rest of the answer is cancelled, not read.
  let cancelled = false;
  const endless = new ReadableStream<Uint8Array>({
    pull: (controller) => controller.enqueue(new TextEncoder().encode(ndjson([REPORT[0] as object]))),
    cancel: () => {
      cancelled = true;
    },
  });
  for await (const line of fakeServer(endless, 'application/x-ndjson').client.importLinks(FILE)) {
    assert.deepEqual(line, REPORT[0]);
    break;
  }
  assert.equal(cancelled, true, 'the answer is cancelled when the caller stops');

  const refusing = createCurtClient({
    baseUrl: 'http://cu.rt',
    fetch: async () => new Response(JSON.stringify({ type: 'about:blank', title: 'Unauthorized', status: 401, code: 'unauthorized', detail: 'An API key is required.' }), { status: 401, headers: { 'content-type': 'application/problem+json' } }),
  });
  await assert.rejects(async () => {
    for await (const _ of refusing.importLinks(FILE)) assert.fail('no line');
  }, (err: unknown) => err instanceof CurtApiError && err.status === 401);
});

test('curt import of a report whose connection fails part way says so and exits 1; with --json the failure is thrown to be told on stderr', async () => {
  assert.deepEqual(await importAgainst(cutOff([REPORT[0] as object, REPORT[2] as object])), {
    printed: [
      'row 3: refused: expires_at 2020-01-01T00:00:00.000Z is in the past: an expired link is not imported (it could only answer 410).',
      'The report was cut off (terminated). Run the same file again to go on: the rows it imported are then reported as there already.',
    ],
    exitCode: 1,
  });
  await assert.rejects(importAgainst(cutOff([REPORT[0] as object]), ['--json']), /terminated/);
});

test('curt import of a report that stopped part way says so and to run it again, and exits 1', async () => {
  const stopped = [REPORT[0] as object, { error: { code: 'dependency_down', detail: 'The database is not answering.' } }];
  assert.deepEqual(await importAgainst(stopped), {
    printed: ['The import stopped: The database is not answering. Run the same file again to go on: the rows it imported are then reported as there already.'],
    exitCode: 1,
  });
});

test('curt export writes the file as it arrives, in the format asked', async () => {
  const csv = 'short_code,url\r\nabc,https://example.com\r\n';
  const { client, asked } = fakeServer(csv, 'text/csv; charset=utf-8');
  const written: string[] = [];
  await runClientCommand(parseCommand(['export']) as ClientCommand, client, () => assert.fail('export prints nothing else'), Date.now, { write: async (chunk) => void written.push(chunk) });
  assert.equal(written.join(''), csv);
  await runClientCommand(parseCommand(['export', '--format', 'ndjson']) as ClientCommand, client, () => undefined, Date.now, { write: async () => undefined });
  assert.deepEqual(asked.map((a) => [a.method, a.path]), [['GET', '/urls/export?format=csv'], ['GET', '/urls/export?format=ndjson']]);
});

test('curt import of a file that cannot be read is a usage error saying why, before any request', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'curt-cli-import-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const stdin = (async function* () {})();
  const refused = (file: string, why: RegExp) =>
    assert.rejects(openImportFile(file, stdin), (err: unknown) => err instanceof UsageError && err.verb === 'import' && why.test(err.message) && !err.message.includes('\n'), file);
  await refused(join(dir, 'missing.csv'), /^cannot read .*missing\.csv: no such file$/);
  await refused(dir, /: it is a folder$/);
  await refused(join(dir, 'missing', 'x.csv'), /: no such file$/);
  assert.equal(await openImportFile('-', stdin), stdin, '- is standard input');
  await writeFile(join(dir, 'links.csv'), FILE);
  assert.equal(await text(await openImportFile(join(dir, 'links.csv'), stdin)), FILE);

  const { client, asked } = fakeServer(ndjson(REPORT), 'application/x-ndjson');
  await assert.rejects(
    runClientCommand(parseCommand(['import', join(dir, 'missing.csv')]) as ClientCommand, client, () => undefined, Date.now, { open: (file) => openImportFile(file, stdin) }),
    UsageError,
  );
  assert.deepEqual(asked, [], 'nothing was sent');
});
