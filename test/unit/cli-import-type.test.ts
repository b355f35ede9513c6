// `curt import` of standard input or of a file whose name says neither CSV nor NDJSON: its type told
// from its first byte that is not white space, reading only the first chunks, which are then sent
// first; --type and a .csv/.ndjson name are taken as they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommand } from '../../src/cli/args.ts';
import { runClientCommand, type ClientCommand } from '../../src/cli/commands.ts';
import { MAX_SNIFF_BYTES, sniffImportType } from '../../src/cli/import-type.ts';
import { createCurtClient } from '../../src/client/curt-client.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

async function text(items: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of items) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** A file read in `chunks`, counting the chunks taken from it and whether it was closed early. */
function source(chunks: readonly (string | Uint8Array)[], endless?: string) {
  const seen = { pulled: 0, closed: false };
  const iterator: AsyncIterator<Uint8Array> = {
    next: async () => {
      const chunk = chunks[seen.pulled] ?? endless;
      seen.pulled++;
      return chunk === undefined ? { done: true, value: undefined } : { done: false, value: typeof chunk === 'string' ? bytes(chunk) : chunk };
    },
    return: async () => {
      seen.closed = true;
      return { done: true, value: undefined };
    },
  };
  return { file: { [Symbol.asyncIterator]: () => iterator }, seen };
}

/** `curt import <argv…>` of `chunks` against a server answering a whole report: what was sent, and with which type. */
async function imported(argv: string[], chunks: readonly (string | Uint8Array)[]): Promise<{ type: string | null; body: string }> {
  const sent: { type: string | null; body: string }[] = [];
  const client = createCurtClient({
    baseUrl: 'http://cu.rt',
    apiKey: 'curt_k',
    fetch: async (_input, init) => {
      sent.push({ type: new Headers(init?.headers).get('content-type'), body: await text(init?.body as AsyncIterable<Uint8Array>) });
      return new Response('{"summary":true,"rows":1,"created":1,"exists":0,"refused":0}\n', { headers: { 'content-type': 'application/x-ndjson' } });
    },
  });
  const exitCode = await runClientCommand(parseCommand(['import', ...argv]) as ClientCommand, client, () => undefined, Date.now, { open: async () => source(chunks).file });
  assert.equal(exitCode, 0);
  assert.equal(sent.length, 1);
  return sent[0] ?? { type: null, body: '' };
}

const NDJSON = 'application/x-ndjson';
const CSV = 'text/csv; charset=utf-8';

test('curt import - sends NDJSON as NDJSON when its first byte that is not white space is {, anything else as CSV, every byte as it came', async () => {
  const line = '{"url":"https://example.com/x"}\n';
  assert.deepEqual(await imported(['-'], [line]), { type: NDJSON, body: line });
  assert.deepEqual(await imported(['-'], ['url\nhttps://example.com/x\n']), { type: CSV, body: 'url\nhttps://example.com/x\n' });
  // White space and a byte order mark first, the BOM and the brace in chunks of their own.
  const chunks = [new Uint8Array([0xef, 0xbb]), new Uint8Array([0xbf, 0x0d, 0x0a]), ' \t', '\n', '{"url":"https://example.com/y"}\n', line];
  assert.deepEqual(await imported(['-'], chunks), { type: NDJSON, body: `\uFEFF\r\n \t\n{"url":"https://example.com/y"}\n${line}` });
  // A BOM's bytes count only at the very start.
  assert.equal((await imported(['-'], [new Uint8Array([0x20, 0xbb, 0x7b])])).type, CSV);
  assert.equal((await imported(['-'], ['[{"url":"https://example.com/x"}]'])).type, CSV, 'a JSON array is not NDJSON');
  assert.deepEqual(await imported(['-'], []), { type: CSV, body: '' }, 'an empty file: CSV, for the server to say it has no header row');
  assert.equal((await imported(['links.txt'], [line])).type, NDJSON, 'a name that says neither is told the same way');
});

test('--type and a .csv or .ndjson name are taken as they are, whatever the file begins with', async () => {
  const line = '{"url":"https://example.com/x"}\n';
  assert.deepEqual(await imported(['-', '--type', 'csv'], [line]), { type: CSV, body: line });
  assert.deepEqual(await imported(['links.csv'], [line]), { type: CSV, body: line });
  assert.deepEqual(await imported(['links.ndjson'], ['url\nhttps://example.com/x\n']), { type: NDJSON, body: 'url\nhttps://example.com/x\n' });
  assert.deepEqual(await imported(['links.ndjson', '--type', 'csv'], [line]), { type: CSV, body: line });
});

test('the type is told from the first chunks only: the rest is read as it is sent, never held', async () => {
  const endless = source([' \n', '{"url":"https://example.com/1"}\n'], '{"url":"https://example.com/more"}\n');
  const sniffed = await sniffImportType(endless.file);
  assert.equal(sniffed.type, 'ndjson');
  assert.equal(endless.seen.pulled, 2, 'two chunks read: white space, then the brace');
  const first: string[] = [];
  for await (const chunk of sniffed.file) {
    first.push(Buffer.from(chunk).toString('utf8'));
    if (first.length === 4) break;
  }
  assert.deepEqual(first, [' \n', '{"url":"https://example.com/1"}\n', '{"url":"https://example.com/more"}\n', '{"url":"https://example.com/more"}\n']);
  assert.equal(endless.seen.pulled, 4, 'the rest read as the request took it');
  assert.equal(endless.seen.closed, true, 'a reader that stops early closes the file');

  // White space without end: CSV once MAX_SNIFF_BYTES are read, not the whole stream.
  const blank = source([], ' '.repeat(16 * 1024));
  assert.equal((await sniffImportType(blank.file)).type, 'csv');
  assert.equal(blank.seen.pulled, MAX_SNIFF_BYTES / (16 * 1024));

  // A file read to its end is not closed again.
  const whole = source(['{}\n']);
  assert.equal(await text((await sniffImportType(whole.file)).file), '{}\n');
  assert.equal(whole.seen.closed, false);
});
