// An import leaves the event loop a turn before each batch (src/url/link-import.ts): a file of rows
// refused before any query (no URLs) does no I/O at all, and read in one go it held every redirect of
// the process up for the whole chunk of the body. Counted in turns of the event loop, which a loaded
// machine does not change, rather than timed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IMPORT_BATCH, importLinks, type ImportSummary } from '../../src/url/link-import.ts';
import type { LinkService } from '../../src/url/link-service.ts';
import type { ImportRow } from '../../src/url/import-formats.ts';

async function* refusedRows(count: number): AsyncGenerator<ImportRow> {
  for (let i = 1; i <= count; i++) yield { row: i, refused: 'The row has no url.' };
}

test('40,000 rows refused before any query: a turn of the event loop before each batch of IMPORT_BATCH', async () => {
  const rows = 40_000;
  // Never asked: no row of these is looked up or created.
  const links = {} as LinkService;
  let turns = 0;
  let counting = true;
  const count = (): void => {
    turns++;
    if (counting) setImmediate(count);
  };
  setImmediate(count);
  let summary: ImportSummary | undefined;
  try {
    for await (const line of importLinks(links, refusedRows(rows), { principal: { keyId: 1, isAdmin: false } })) {
      if ('summary' in line) summary = line;
    }
  } finally {
    counting = false;
  }
  assert.deepEqual(summary, { summary: true, rows, created: 0, exists: 0, refused: rows });
  const batches = rows / IMPORT_BATCH;
  // The counter runs once a turn; the import gets one batch done a turn.
  assert.ok(turns >= batches - 1, `${turns} turns of the event loop for ${batches} batches`);
});
