// migrations/015_gin_pending_list.sql, on PostgreSQL and PGlite: every GIN index of `urls` keeps a
// pending list of at most 256 kB, so no creation waits for the merge of a 4 MB one (docs/performance.md,
// "2026-12-06, later"); and an index added later without the setting does not go unnoticed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TransactionalRunner } from '../../src/core/sql.ts';
import { testLogger } from '../support/log.ts';
import { insertLinks, onPglite, onPostgres, type Subject } from '../support/schema-versions.ts';

const log = testLogger('gin-pending-list');

/** Each GIN index on `urls`, with its storage parameters (null: none set). */
async function ginIndexes(db: TransactionalRunner): Promise<Map<string, string[] | null>> {
  const { rows } = await db.query<{ name: string; options: string[] | null }>(
    `SELECT c.relname AS name, c.reloptions AS options
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
      WHERE i.indrelid = 'urls'::regclass AND am.amname = 'gin'
      ORDER BY 1`,
  );
  return new Map(rows.map((row) => [row.name, row.options]));
}

for (const adapter of ['PostgreSQL', 'PGlite'] as const) {
  const open = (label: string): Promise<Subject> => (adapter === 'PostgreSQL' ? onPostgres(label, log) : onPglite(log));

  describe(`GIN pending lists of urls: ${adapter}`, () => {
    test('before 015 the GIN indexes have the server default; after it, each has gin_pending_list_limit = 256 (kB), links inserted before and after it', async () => {
      const subject = await open('gin_pending');
      try {
        await subject.migrate(14);
        const before = await ginIndexes(subject.db);
        assert.deepEqual([...before.keys()], ['urls_original_url_trgm_idx', 'urls_short_code_trgm_idx', 'urls_tags_idx']);
        assert.ok([...before.values()].every((options) => options === null), `no storage parameters before 015: ${JSON.stringify([...before])}`);
        await insertLinks(subject.db, 50);
        await subject.migrate();
        const after = await ginIndexes(subject.db);
        assert.deepEqual(
          [...after],
          [...before.keys()].map((name) => [name, ['gin_pending_list_limit=256']]),
          'every GIN index of urls has the smaller pending list',
        );
        await insertLinks(subject.db, 50);
        const { rows } = await subject.db.query<{ n: number }>("SELECT count(*)::int AS n FROM urls WHERE original_url ILIKE '%example%'");
        assert.equal(rows[0]?.n, 100, 'a search finds the links inserted before the change and after it');
      } finally {
        await subject.close();
      }
    });
  });
}
