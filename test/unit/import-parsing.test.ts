// The import's readers: RFC 4180 CSV as a stream, the three formats, and memory that stays flat over a
// million rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { csvLine, readCsvRecords, readLines, CsvSyntaxError } from '../../src/url/csv.ts';
import { detectFormat, ImportFileError, readCsvImport, readNdjsonImport, type ImportRow } from '../../src/url/import-formats.ts';
import { liveHeapUsed } from '../support/heap.ts';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** The text in chunks of `size` bytes, so every boundary (inside quotes, CRLF, a BOM, UTF-8) is crossed. */
async function* chunked(text: string, size: number): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

test('CSV: quoted commas, line breaks and doubled quotes, CRLF or LF, a BOM, blank lines; at any chunk size', async () => {
  const text = '\ufeffa,b,c\r\n"x,1","line\r\nbreak","say ""hi"""\n\nplain,,é\n"",last,"ü"';
  const expected = [['a', 'b', 'c'], ['x,1', 'line\r\nbreak', 'say "hi"'], ['plain', '', 'é'], ['', 'last', 'ü']];
  for (const size of [1, 2, 3, 7, 1000]) assert.deepEqual(await collect(readCsvRecords(chunked(text, size))), expected, `chunks of ${size}`);
});

test('CSV: what csvLine writes reads back the same', async () => {
  const values = ['a,b', 'q"uote', 'multi\nline', ' lead', 'plain', ''];
  assert.deepEqual(await collect(readCsvRecords(chunked(csvLine(values), 5))), [values]);
});

test('CSV: a record past the bound and a quote never closed are syntax errors', async () => {
  await assert.rejects(collect(readCsvRecords(chunked(`a\n${'x'.repeat(5000)}\n`, 512), 1000)), CsvSyntaxError);
  await assert.rejects(collect(readCsvRecords(chunked('a\n"never closed\n', 4))), /ends inside a quoted field/);
  await assert.rejects(collect(readLines(chunked(`${'x'.repeat(5000)}`, 512), 1000)), CsvSyntaxError);
});

test('CSV: a record past the bound is refused wherever the chunks split it, even when it ends in the chunk it crossed the bound in', async () => {
  // 1,500 characters: the bound (1,000) is crossed and the record ends within one 2,000-byte chunk.
  const text = `url\n${'y'.repeat(600)}\n${'x'.repeat(1500)}\nlast\n`;
  for (const size of [1, 700, 2000, 4096]) {
    await assert.rejects(collect(readCsvRecords(chunked(text, size), 1000)), /Record 3 is longer than 1000 characters/, `chunks of ${size}`);
  }
  // At the bound exactly: read. The last record, without a line end: checked too.
  assert.equal((await collect(readCsvRecords(chunked(`a,b\n${'x'.repeat(998)},y\n`, 4096), 1000))).length, 2);
  await assert.rejects(collect(readCsvRecords(chunked(`url\n${'x'.repeat(1001)}`, 4096), 1000)), CsvSyntaxError);
});

test('formats are told from the header: Kutt (target, address), YOURLS (keyword, url), else Curt', () => {
  assert.equal(detectFormat(['id', 'address', 'target', 'visit_count']), 'kutt');
  assert.equal(detectFormat(['keyword', 'url', 'title', 'timestamp', 'ip', 'clicks']), 'yourls');
  assert.equal(detectFormat(['url', 'alias']), 'curt');
  assert.equal(detectFormat(['short_code', 'url', 'created_at']), 'curt');
});

const strip = (rows: ImportRow[]) => rows.map((r) => ('url' in r ? { ...r, expiresAt: r.expiresAt?.toISOString() } : r));

test('the generic fixture: columns in any order, extra columns ignored, BOM, quoted fields; bad rows refused with a reason', async () => {
  const rows = await collect(readCsvImport(createReadStream('test/fixtures/generic.csv'), null));
  assert.equal(rows.length, 8);
  assert.deepEqual(strip(rows).slice(0, 2), [
    { row: 1, url: 'https://a.example.com/1', expiresAt: undefined },
    { row: 2, url: 'https://a.example.com/2', alias: 'genalias1', expiresAt: '2099-12-31T00:00:00.000Z' },
  ]);
  assert.deepEqual(rows[4], { row: 5, url: 'https://a.example.com/3', maxVisits: 5 });
  assert.deepEqual(rows[5], { row: 6, url: 'https://a.example.com/q?x=1,2' });
});

test('expires_at: a day the month lacks is refused, not rolled over into the next month; real days in every spelling read', async () => {
  const sheet = [
    'url,expires_at',
    'https://e.example/1,2030-02-30',
    'https://e.example/2,2030-02-29T12:00:00Z',
    'https://e.example/3,2031-04-31 08:00:00',
    'https://e.example/4,2028-02-29',
    'https://e.example/5,2030-12-31 23:59:59',
    'https://e.example/6,2030-06-15T10:00:00+02:00',
    '',
  ].join('\n');
  const rows = strip(await collect(readCsvImport(chunked(sheet, 64), null)));
  assert.deepEqual(rows, [
    { row: 1, refused: 'expires_at is not a date-time: 2030-02-30.' },
    { row: 2, refused: 'expires_at is not a date-time: 2030-02-29T12:00:00Z.' },
    { row: 3, refused: 'expires_at is not a date-time: 2031-04-31 08:00:00.' },
    { row: 4, url: 'https://e.example/4', expiresAt: '2028-02-29T00:00:00.000Z' },
    { row: 5, url: 'https://e.example/5', expiresAt: '2030-12-31T23:59:59.000Z' },
    { row: 6, url: 'https://e.example/6', expiresAt: '2030-06-15T08:00:00.000Z' },
  ]);
});

test("Kutt's fixture: target and address read, password-protected and banned links refused", async () => {
  const rows = await collect(readCsvImport(createReadStream('test/fixtures/kutt-links.csv'), null));
  assert.deepEqual(strip(rows).slice(0, 2), [
    { row: 1, url: 'https://docs.example.org/getting-started', alias: 'kuttdoc', expiresAt: undefined },
    { row: 2, url: 'https://blog.example.org/posts/1?utm_source=kutt', alias: 'kuttblog', expiresAt: '2099-01-01T00:00:00.000Z' },
  ]);
  assert.match((rows[2] as { refused: string }).refused, /password/i);
  assert.match((rows[3] as { refused: string }).refused, /banned/);
  assert.equal(rows.length, 5);
});

test("YOURLS's fixture: keyword and url read; title, timestamp, ip and clicks ignored", async () => {
  const rows = await collect(readCsvImport(createReadStream('test/fixtures/yourls-links.csv'), null));
  assert.deepEqual(rows[0], { row: 1, url: 'https://www.example.com/', alias: 'ylhome' });
  assert.deepEqual(rows[1], { row: 2, url: 'https://search.example.com/?q=a,b&lang=en', alias: 'ylsearch' });
  assert.equal(rows.length, 4);
});

test('a header without a url column, or an empty file, is a file error', async () => {
  await assert.rejects(collect(readCsvImport(chunked('name,alias\nx,y\n', 10), null)), ImportFileError);
  await assert.rejects(collect(readCsvImport(chunked('', 10), null)), ImportFileError);
  await assert.rejects(collect(readCsvImport(chunked('keyword,url\nx,https://a.example/\n', 10), 'kutt')), /target/);
});

test('NDJSON: objects by the same names (Kutt API objects as they are; a visit limit, forwarding and tags as Curt exports them, tags also as a list); a line that is no object is a refused row', async () => {
  const text =
    '{"target":"https://k.example/","address":"kab","password":false}\nnot json\n[1]\n{"url":"https://c.example/","alias":"cab","is_one_time":true}\n' +
    '{"url":"https://d.example/","max_visits":3,"visits":2,"forward_query":true}\n{"url":"https://e.example/","max_visits":null,"forward_query":"maybe"}\n' +
    '{"url":"https://f.example/","tags":"a b"}\n{"url":"https://g.example/","tags":["x","Y"]}\n{"url":"https://h.example/","tags":""}\n';
  const rows = await collect(readNdjsonImport(chunked(text, 7), null));
  assert.deepEqual(rows, [
    { row: 1, url: 'https://k.example/', alias: 'kab' },
    { row: 2, refused: 'The line is not valid JSON.' },
    { row: 3, refused: 'The line is not a JSON object.' },
    { row: 4, url: 'https://c.example/', alias: 'cab', oneTime: true },
    { row: 5, url: 'https://d.example/', maxVisits: 3, forwardQuery: true },
    { row: 6, refused: 'forward_query must be true or false, not maybe.' },
    { row: 7, url: 'https://f.example/', tags: ['a', 'b'] },
    { row: 8, url: 'https://g.example/', tags: ['x', 'Y'] },
    { row: 9, url: 'https://h.example/' },
  ]);
});

test("an expiry that is no date-time is refused naming the file's own column (Kutt's expire_in, Curt's expires_at)", async () => {
  const kutt = await collect(readNdjsonImport(chunked('{"target":"https://k.example/","address":"kex","expire_in":"2h"}\n', 9), null));
  assert.deepEqual(kutt, [{ row: 1, refused: 'expire_in is not a date-time: 2h.' }]);
  const curt = await collect(readNdjsonImport(chunked('{"url":"https://c.example/","expires_at":"soon"}\n', 9), null));
  assert.deepEqual(curt, [{ row: 1, refused: 'expires_at is not a date-time: soon.' }]);
});

test('NDJSON: a field the format reads whose value no CSV cell can stand for (an object, a list other than tags of strings) refuses its row by name, rather than a link made without its limit, expiry or tags; fields the format does not read may hold anything', async () => {
  const text =
    '{"url":"https://a.example/","tags":[1,2]}\n{"url":"https://b.example/","tags":{}}\n{"url":"https://c.example/","tags":[null]}\n' +
    '{"url":"https://d.example/","max_visits":[5]}\n{"url":"https://e.example/","expires_at":{"in":"1d"}}\n{"url":"https://f.example/","is_one_time":{}}\n' +
    '{"url":"https://g.example/","owner":{"id":7},"visits_by_day":[1,2],"tags":["ok"]}\n{"target":"https://k.example/","address":"kab","user":{"id":1}}\n' +
    '{"url":"https://l.example/","max_visits":["5"]}\n{"url":["https://m.example/"]}\n{"url":"https://n.example/","alias":["listalias"]}\n';
  const rows = await collect(readNdjsonImport(chunked(text, 11), null));
  const tags = 'tags must be a list of strings, or one string with the tags separated by spaces or commas, not an object or a list of other values.';
  const other = (name: string): string => `${name} must be a string, a number, true or false, not an object or a list.`;
  assert.deepEqual(rows, [
    { row: 1, refused: tags },
    { row: 2, refused: tags },
    { row: 3, refused: tags },
    { row: 4, refused: other('max_visits') },
    { row: 5, refused: other('expires_at') },
    { row: 6, refused: other('is_one_time') },
    { row: 7, url: 'https://g.example/', tags: ['ok'] },
    { row: 8, url: 'https://k.example/', alias: 'kab' },
    { row: 9, refused: other('max_visits') },
    { row: 10, refused: other('url') },
    { row: 11, refused: other('alias') },
  ]);
});

test('a generated 1,000,000-row CSV is parsed as it streams, in bounded memory', { timeout: 120_000 }, async () => {
  const ROWS = 1_000_000;
  async function* generate(): AsyncGenerator<string> {
    yield 'url,alias,expires_at,tags,max_visits\n';
    let chunk = '';
    for (let i = 0; i < ROWS; i++) {
      chunk += `https://example.com/page/${i}?q="x",,2099-01-01T00:00:00Z,,\n`.replace('"x"', i % 10 === 0 ? '"""quoted, with comma"""' : 'x');
      if (chunk.length > 64 * 1024) {
        yield chunk;
        chunk = '';
      }
    }
    yield chunk;
  }
  const before = liveHeapUsed();
  let peak = before;
  let count = 0;
  for await (const row of readCsvImport(generate(), null)) {
    if ('url' in row) count++;
    if (count % 50_000 === 0) peak = Math.max(peak, liveHeapUsed());
  }
  assert.equal(count, ROWS);
  const growthMb = (peak - before) / 1024 / 1024;
  // A million rows held at once would be hundreds of MB; one chunk and one record, a few.
  assert.ok(growthMb < 64, `heap grew ${growthMb.toFixed(1)} MB`);
});
