// A link's totals in url_totals (migrations/014_url_totals.sql), on PostgreSQL and PGlite: the upgrade
// carries every link's totals over; every link inserted, in any statement, gets its row; a flush
// writes the totals without rewriting the link's row of `urls` (the point of the table); a previous
// version's flush, into the legacy columns, still reaches the totals; deleting a link deletes them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TransactionalRunner } from '../../src/core/sql.ts';
import type { ClickAggregate } from '../../src/storage/link-store.ts';
import { createPgLinkStore } from '../../src/storage/postgres/pg-link-store.ts';
import { testLogger } from '../support/log.ts';
import { insertLinks, onPglite, onPostgres, type Subject } from '../support/schema-versions.ts';

const log = testLogger('url-totals');

const totals = async (db: TransactionalRunner, id: number): Promise<{ clicks: number; bot_hits: number; last: string | null } | undefined> =>
  (
    await db.query<{ clicks: number; bot_hits: number; last: string | null }>(
      'SELECT clicks::int AS clicks, bot_hits::int AS bot_hits, last_clicked_at::text AS last FROM url_totals WHERE url_id = $1',
      [id],
    )
  ).rows[0];

const hits = (linkId: number, clicks: number, botHits: number, at: Date): ClickAggregate => ({
  linkId,
  clicks,
  botHits,
  lastClickedAt: clicks > 0 ? at : null,
  days: new Map([[at.toISOString().slice(0, 10), { clicks, botHits, values: new Map() }]]),
});

for (const adapter of ['PostgreSQL', 'PGlite'] as const) {
  const open = (label: string): Promise<Subject> => (adapter === 'PostgreSQL' ? onPostgres(label, log) : onPglite(log));

  describe(`url_totals: ${adapter}`, () => {
    test('the upgrade carries each link’s clicks, bot hits and last click over; links inserted after it get a row each, one statement or many', async () => {
      const subject = await open('totals_upgrade');
      try {
        await subject.migrate(13);
        const [clicked, never] = (await insertLinks(subject.db, 2)) as [number, number];
        const { rows: keys } = await subject.db.query<{ id: string }>(`INSERT INTO api_keys (key_hash, key_prefix) VALUES ('\\x0a0b', 'totals') RETURNING id`);
        const owner = Number(keys[0]?.id);
        await subject.db.query(`UPDATE urls SET clicks = 7, bot_hits = 2, last_clicked_at = '2026-11-30T10:00:00Z', owner_key_id = $2 WHERE id = $1`, [clicked, owner]);
        await subject.migrate();
        const { rows: owners } = await subject.db.query<{ owner: string | null }>('SELECT owner_key_id::text AS owner FROM url_totals WHERE url_id = ANY($1::bigint[]) ORDER BY url_id', [[clicked, never]]);
        assert.deepEqual(owners.map((r) => r.owner), [String(owner), null], 'the owner copied for the sort indexes');
        assert.deepEqual(await totals(subject.db, clicked), { clicks: 7, bot_hits: 2, last: (await subject.db.query<{ t: string }>(`SELECT '2026-11-30T10:00:00Z'::timestamptz::text AS t`)).rows[0]?.t });
        assert.deepEqual(await totals(subject.db, never), { clicks: 0, bot_hits: 0, last: null });

        const store = createPgLinkStore(subject.db);
        const many = await insertLinks(subject.db, 300);
        const one = await store.insert({ code: `n${randomUUID().slice(0, 8)}`, url: 'https://example.com/new', expiresAt: null, isCustomAlias: false, ownerKeyId: null });
        const { rows } = await subject.db.query<{ n: number }>('SELECT count(*)::int AS n FROM url_totals WHERE url_id = ANY($1::bigint[])', [[...many, one.id]]);
        assert.equal(rows[0]?.n, 301, 'a row for every link inserted');
        assert.equal(one.clicks, 0);
        assert.equal((await store.findByCode(one.code))?.clicks, 0);
      } finally {
        await subject.close();
      }
    });

    test('a flush adds to the totals and leaves the link’s row of urls as it was; the link reads its totals; deleting it deletes them', async () => {
      const subject = await open('totals_flush');
      try {
        await subject.migrate();
        const store = createPgLinkStore(subject.db);
        const [id] = (await insertLinks(subject.db, 1)) as [number];
        const version = async (): Promise<string | undefined> => (await subject.db.query<{ v: string }>('SELECT xmin::text AS v FROM urls WHERE id = $1', [id])).rows[0]?.v;
        const before = await version();
        const at = new Date('2026-12-01T08:00:00.000Z');
        await store.applyClicks([hits(id, 3, 1, at)], randomUUID());
        await store.applyClicks([hits(id, 2, 0, new Date('2026-12-01T07:00:00.000Z'))], randomUUID());
        assert.equal(await version(), before, 'the flush did not write a new version of the urls row');
        const code = (await subject.db.query<{ c: string }>('SELECT short_code AS c FROM urls WHERE id = $1', [id])).rows[0]?.c ?? '';
        const link = await store.findByCode(code);
        assert.deepEqual([link?.clicks, link?.botHits, link?.lastClickedAt?.toISOString()], [5, 1, at.toISOString()], 'the later click stays the last');
        assert.deepEqual((await store.list({ limit: 5, sort: 'clicks' })).map((l) => [l.id, l.clicks]), [[id, 5]]);
        const deleted = await store.deleteById(id);
        assert.equal(deleted?.clicks, 5, 'the deleted link as it was, totals included');
        assert.equal(await totals(subject.db, id), undefined);
      } finally {
        await subject.close();
      }
    });

    test('a previous version’s flush, into the legacy columns of urls, is added to the totals', async () => {
      const subject = await open('totals_legacy');
      try {
        await subject.migrate();
        const [id] = (await insertLinks(subject.db, 1)) as [number];
        await createPgLinkStore(subject.db).applyClicks([hits(id, 4, 0, new Date('2026-12-01T08:00:00Z'))], randomUUID());
        // The statement the version before 014 ran for a flush, twice: the second adds to legacy
        // columns that are no longer zero, so only what each flush added may reach the totals.
        const legacyFlush = (clicks: number, botHits: number, at: string): Promise<unknown> =>
          subject.db.query(
            `UPDATE urls AS u SET clicks = u.clicks + v.clicks, bot_hits = u.bot_hits + v.bot_hits, last_clicked_at = GREATEST(u.last_clicked_at, v.last_at)
               FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[]) AS v(id, clicks, bot_hits, last_at) WHERE u.id = v.id`,
            [[id], [clicks], [botHits], [new Date(at)]],
          );
        await legacyFlush(3, 2, '2026-12-02T09:00:00Z');
        await legacyFlush(1, 0, '2026-12-01T09:00:00Z');
        const after = await totals(subject.db, id);
        assert.deepEqual([after?.clicks, after?.bot_hits], [8, 2], '4 of this version, 3 and 1 of the previous one');
        assert.equal(new Date(after?.last ?? 0).toISOString(), '2026-12-02T09:00:00.000Z');
        // An update of anything else of the link leaves the totals alone.
        await subject.db.query('UPDATE urls SET is_active = false WHERE id = $1', [id]);
        assert.equal((await totals(subject.db, id))?.clicks, 8);
      } finally {
        await subject.close();
      }
    });
  });
}
