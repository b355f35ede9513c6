// The click flush's array literals (src/storage/postgres/click-columns.ts) as PostgreSQL reads them:
// every value a header can bring back exactly (quotes, backslashes, commas, braces, spaces, the word
// NULL, the empty string, non-ASCII), a missing last click as NULL, integers and days as themselves.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { ClickAggregate } from '../../src/storage/link-store.ts';
import { clickColumns } from '../../src/storage/postgres/click-columns.ts';
import { PG_ADMIN_URL } from '../support/postgres.ts';

let db: pg.Client;
before(async () => {
  db = new pg.Client({ connectionString: PG_ADMIN_URL });
  await db.connect();
});
after(() => db.end());

const AWKWARD = ['plain', 'with "quotes"', 'back\\slash', 'a,b', '{braces}', ' spaced ', 'NULL', '', 'Münchner Straße ✓', 'tab\there', '\\"'];

test('each column reads back in PostgreSQL as the batch had it', async () => {
  const at = new Date('2026-12-03T08:15:42.123Z');
  const batch: ClickAggregate[] = [
    {
      linkId: 7,
      clicks: 3,
      botHits: 1,
      lastClickedAt: at,
      days: new Map([
        ['2026-12-02', { clicks: 1, botHits: 0, values: new Map([['referrer', new Map(AWKWARD.map((v, i) => [v, i + 1]))]]) }],
        ['2026-12-03', { clicks: 2, botHits: 1, values: new Map([['country', new Map([['DE', 2]])], ['bot', new Map([['Slackbot', 1]])]]) }],
      ]),
    },
    { linkId: 9_007_199_254, clicks: 0, botHits: 4, lastClickedAt: null, days: new Map([['2026-12-03', { clicks: 0, botHits: 4, values: new Map() }]]) },
  ];
  const c = clickColumns(batch);

  const totals = await db.query(
    `SELECT id::text, clicks::int, bot_hits::int, (timestamptz 'epoch' + last_ms * interval '1 millisecond') AS last_at
       FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) AS v(id, clicks, bot_hits, last_ms)`,
    c.totals,
  );
  assert.deepEqual(totals.rows, [
    { id: '7', clicks: 3, bot_hits: 1, last_at: at },
    { id: '9007199254', clicks: 0, bot_hits: 4, last_at: null },
  ]);

  const days = await db.query<{ id: string; day: string; clicks: number; bot_hits: number }>(`SELECT id::text, day::text, clicks::int, bot_hits::int FROM unnest($1::bigint[], $2::date[], $3::bigint[], $4::bigint[]) AS v(id, day, clicks, bot_hits)`, c.days);
  assert.deepEqual(days.rows.map((r) => [r.id, r.day, r.clicks, r.bot_hits]), [
    ['7', '2026-12-02', 1, 0],
    ['7', '2026-12-03', 2, 1],
    ['9007199254', '2026-12-03', 0, 4],
  ]);

  assert.ok(c.values !== null);
  const values = await db.query<{ id: string; day: string; dimension: string; value: string; n: number }>(`SELECT id::text, day::text, dimension, value, n::int FROM unnest($1::bigint[], $2::date[], $3::text[], $4::text[], $5::bigint[]) AS v(id, day, dimension, value, n)`, c.values);
  assert.deepEqual(
    values.rows.map((r) => [r.id, r.day, r.dimension, r.value, r.n]),
    [...AWKWARD.map((v, i) => ['7', '2026-12-02', 'referrer', v, i + 1]), ['7', '2026-12-03', 'country', 'DE', 2], ['7', '2026-12-03', 'bot', 'Slackbot', 1]],
  );
  assert.equal(clickColumns([batch[1] as ClickAggregate]).values, null, 'no value kept: no values statement');
});
