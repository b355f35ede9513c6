// An import renews its key's lease before each batch (docs/import-export.md, "One import at a time"):
// when the lease was lost meanwhile, it stops before that batch instead of racing the import that
// took it, the rows reported before it done.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importLinks, type ImportReportRow, type ImportSummary } from '../../src/url/link-import.ts';
import { ImportInProgress, type LinkService } from '../../src/url/link-service.ts';
import type { ImportRow } from '../../src/url/import-formats.ts';

async function* rowsOf(count: number): AsyncGenerator<ImportRow> {
  for (let i = 1; i <= count; i++) yield { row: i, url: `https://example.com/${i}` };
}

test('an import whose lease is lost stops before its next batch with 409 import_in_progress; the batches before it are done', async () => {
  const created: string[] = [];
  const links = {
    findImportMatches: async (_principal: unknown, candidates: readonly unknown[]) => candidates.map(() => null),
    createLink: async (input: { url: string }) => {
      created.push(input.url);
      return { code: `c${created.length}` };
    },
  } as unknown as LinkService;
  const renewals: boolean[] = [true, true, false];
  let asked = 0;
  const lease = { renew: async () => renewals[asked++] ?? false };
  const lines: (ImportReportRow | ImportSummary)[] = [];
  await assert.rejects(
    async () => {
      for await (const line of importLinks(links, rowsOf(10), { principal: { keyId: 1, isAdmin: false }, batchSize: 3, lease })) lines.push(line);
    },
    (err: unknown) => err instanceof ImportInProgress && err.status === 409 && err.code === 'import_in_progress' && /took over/.test(err.detail ?? ''),
  );
  assert.equal(asked, 3, 'renewed before each batch');
  assert.deepEqual(lines.map((l) => ('status' in l ? l.status : 'summary')), ['created', 'created', 'created', 'created', 'created', 'created']);
  assert.equal(created.length, 6, 'nothing of the batch after the loss');
});

test('an import with its lease renewed throughout ends with its summary', async () => {
  const links = {
    findImportMatches: async (_principal: unknown, candidates: readonly unknown[]) => candidates.map(() => null),
    createLink: async () => ({ code: 'x' }),
  } as unknown as LinkService;
  let renewed = 0;
  const lines: (ImportReportRow | ImportSummary)[] = [];
  for await (const line of importLinks(links, rowsOf(7), { principal: { keyId: 1, isAdmin: false }, batchSize: 3, lease: { renew: async () => (renewed++, true) } })) lines.push(line);
  assert.equal(renewed, 3);
  assert.deepEqual(lines.at(-1), { summary: true, rows: 7, created: 7, exists: 0, refused: 0 });
});
