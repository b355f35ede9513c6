// Rows of one file that are one link by the rules of docs/import-export.md (Idempotency) make one
// link, however their URLs are spelled and wherever the batches of IMPORT_BATCH rows end, through
// `curt serve` on PGlite and on PostgreSQL. A batch is looked up before its rows are created: its rows
// were told apart by the URL as written, so `https://Example.com/dup1` and `https://example.com:443/dup1`
// in one batch made two links, where in two batches the second was `exists`.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { CurtClient, ImportReportRow } from '../../src/client/curt-client.ts';
import { IMPORT_BATCH } from '../../src/url/link-import.ts';
import { collect, split } from '../support/import-report.ts';
import { startTestServe } from '../support/serve.ts';

async function serve(t: TestContext, kind: 'pglite' | 'postgres'): Promise<CurtClient> {
  return (await startTestServe(t, { kind, label: 'import-dup' })).client;
}

/** A `url,alias` sheet of `length` rows: `placed` at their row numbers (1: the first after the header), distinct URLs elsewhere. */
function sheet(length: number, placed: ReadonlyMap<number, { url: string; alias?: string }>, filler: string): string {
  const lines = Array.from({ length }, (_, i) => {
    const row = placed.get(i + 1);
    return row === undefined ? `https://filler.example/${filler}/${i + 1},` : `${row.url},${row.alias ?? ''}`;
  });
  return `url,alias\n${lines.join('\n')}\n`;
}

const SPELLINGS = ['https://Example.com/{p}', 'https://example.com/{p}', 'https://example.com:443/{p}'];

/** Row numbers of the three spellings, with where the batches end (after row 100, 200) among them or not. */
const LAYOUTS: [string, number[]][] = [
  ['one after another in one batch', [1, 2, 3]],
  ['apart in one batch', [5, 50, 100]],
  ['the first batch ending after the second', [99, 100, 101]],
  ['the first batch ending after the first', [100, 101, 102]],
  ['the second spelling as row 101, the third as row 201', [1, 101, 201]],
];

/** The rows at `at`: the first created, the others exists naming its code; the code's link is the URL normalised. */
async function assertOneLink(client: CurtClient, rows: ImportReportRow[], at: number[], url: string, label: string): Promise<void> {
  const lines = at.map((n) => rows[n - 1]);
  const code = lines[0]?.short_code ?? '';
  assert.deepEqual(
    lines.map((l) => [l?.row, l?.status, l?.short_code]),
    at.map((n, i) => [n, i === 0 ? 'created' : 'exists', code]),
    `${label}: ${JSON.stringify(lines)}`,
  );
  assert.equal((await client.get(code)).original_url, url, label);
}

for (const kind of ['pglite', 'postgres'] as const) {
  test(`three spellings of one URL in a file make one link, the other two rows exists naming its code; imported again, all three name it (${kind})`, async (t) => {
    const client = await serve(t, kind);
    const file = `url\n${SPELLINGS.map((s) => s.replace('{p}', 'dup1')).join('\n')}\n`;
    const first = split(await collect(client.importLinks(file)));
    assert.deepEqual(first.summary, { summary: true, rows: 3, created: 1, exists: 2, refused: 0 }, JSON.stringify(first.rows));
    await assertOneLink(client, first.rows, [1, 2, 3], 'https://example.com/dup1', 'first run');
    const again = split(await collect(client.importLinks(file)));
    assert.deepEqual(again.rows.map((r) => [r.status, r.short_code]), first.rows.map(() => ['exists', first.rows[0]?.short_code]));
    assert.equal((await collect(client.exportLinks())).length, 1, 'one link in all');
  });

  test(`where the batches of ${IMPORT_BATCH} rows end changes nothing: spellings of one URL are one link, and a row without an alias after one with an alias for the same URL is exists naming it (${kind})`, { timeout: 120_000 }, async (t) => {
    const client = await serve(t, kind);
    const length = 2 * IMPORT_BATCH + 10;
    let links = 0;
    for (const [label, at] of LAYOUTS) {
      const path = `dup-${at.join('-')}`;
      const placed = new Map(at.map((n, i) => [n, { url: (SPELLINGS[i] ?? '').replace('{p}', path) }]));
      const { rows, summary } = split(await collect(client.importLinks(sheet(length, placed, path))));
      assert.deepEqual(summary, { summary: true, rows: length, created: length - 2, exists: 2, refused: 0 }, label);
      await assertOneLink(client, rows, at, `https://example.com/${path}`, label);
      links += length - 2;
    }
    // The alias row makes the link; the row without an alias is the caller's link to that URL, the alias's.
    for (const at of [[1, 2], [100, 101], [1, 150]]) {
      const alias = `al${at.join('x')}`;
      const path = `alias-${at.join('-')}`;
      const placed = new Map([
        [at[0] ?? 0, { url: `https://Example.com/${path}`, alias }],
        [at[1] ?? 0, { url: `https://example.com:443/${path}` }],
      ]);
      const { rows, summary } = split(await collect(client.importLinks(sheet(length, placed, path))));
      assert.deepEqual(summary, { summary: true, rows: length, created: length - 1, exists: 1, refused: 0 }, alias);
      assert.equal(rows[(at[0] ?? 0) - 1]?.short_code, alias);
      await assertOneLink(client, rows, at, `https://example.com/${path}`, `an alias row then one without, rows ${at.join(' and ')}`);
      links += length - 1;
    }
    assert.equal((await collect(client.exportLinks())).length, links, 'no link made twice');
  });
}
