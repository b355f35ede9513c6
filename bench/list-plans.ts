// `npm run bench:list-plans`: the query plans of GET /urls at scale. Loads LIST_LINKS links (default
// 1,000,000) for one owner, and a tenth as many for another (interleaved), into a scratch database by
// `INSERT … SELECT generate_series` (clicks skewed, 60% never clicked; tags: one of 10 teams on every
// link, one of 1,000 campaigns on a third, `rare` on 1 in 10,000; a fifth with an expiry), then runs
// EXPLAIN (ANALYZE, BUFFERS) on the exact statements the store runs (listSegments) for each query
// shape: each sort and order, the first page and a deep cursor, tag filters, a tag with a sort, a
// search (rare, common, short), a date range (far back, recent, with a cursor), a state. Prints each plan and its execution time; docs/listing.md keeps them.
//
//   --pglite            the same on PGlite in this process (default there: 100,000 links)
//   LIST_LINKS=N        how many links the owner has
//   DATABASE_URL        the PostgreSQL server to make the scratch database on (default 127.0.0.1)
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { migrate } from '../src/core/migrate.ts';
import { createLogger } from '../src/core/logger.ts';
import type { SqlRunner } from '../src/core/sql.ts';
import { openPglite, pgliteRunner } from '../src/storage/pglite/pglite-runner.ts';
import { listSegments } from '../src/storage/postgres/pg-link-list.ts';
import { LINK_COLUMNS, URL_COLUMNS } from '../src/storage/postgres/pg-link-row.ts';
import type { ListOptions, ListPosition } from '../src/storage/link-store.ts';
import { withDatabase } from './lib/setup.ts';

const onPglite = process.argv.includes('--pglite');
const LINKS = Number(process.env.LIST_LINKS ?? (onPglite ? 100_000 : 1_000_000));
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PAGE = 21; // GET /urls asks the store for limit + 1

/**
 * `count` links of `owner` and a tenth as many of `other`, interleaved (1 in 11 is the other's, as
 * links of several owners are), codes `b<hex>`, created a minute apart from 2024-01-01.
 */
async function load(db: SqlRunner, owner: number, other: number, count: number): Promise<void> {
  await db.query(`
    INSERT INTO urls (short_code, original_url, created_at, clicks, last_clicked_at, expiry_date, owner_key_id, tags)
    SELECT 'b' || to_hex(g), 'https://example.com/' || md5(g::text), created, c,
           CASE WHEN c = 0 THEN NULL ELSE date_trunc('milliseconds', created + random() * interval '300 days') END,
           CASE WHEN g % 5 = 0 THEN created + interval '400 days' END,
           CASE WHEN g % 11 = 0 THEN ${other} ELSE ${owner} END,
           ARRAY['team-' || (g % 10)]
             || CASE WHEN g % 3 = 0 THEN ARRAY['campaign-' || (g % 1000)] ELSE '{}'::text[] END
             || CASE WHEN g % 10000 = 0 THEN ARRAY['rare'] ELSE '{}'::text[] END
      FROM (SELECT g, timestamptz '2024-01-01' + g * interval '1 minute' AS created,
                   CASE WHEN random() < 0.6 THEN 0 ELSE floor(exp(random() * 9))::bigint END AS c
              FROM generate_series(1, ${Math.round(count * 1.1)}) AS g) AS s`);
}

interface Shape {
  name: string;
  options: Omit<ListOptions, 'ownerKeyId' | 'limit'>;
  /** Start this far into the listing (a deep cursor): the position of that row is read first, untimed. */
  skip?: number;
}

const deep = Math.floor(LINKS * 0.9);
/** The creation time of the link that far (0..1) through the load: they are a minute apart. */
const minutesIn = (share: number): Date => new Date(Date.parse('2024-01-01T00:00:00Z') + Math.round(LINKS * 1.1 * share) * 60_000);
const SHAPES: Shape[] = [
  { name: 'created desc, first page', options: {} },
  { name: `created desc, cursor at row ${deep}`, options: {}, skip: deep },
  { name: 'created asc, first page', options: { order: 'asc' } },
  { name: 'clicks desc, first page', options: { sort: 'clicks' } },
  { name: `clicks desc, cursor at row ${deep} (among the never-clicked)`, options: { sort: 'clicks' }, skip: deep },
  { name: 'clicks asc, first page', options: { sort: 'clicks', order: 'asc' } },
  { name: 'last_click desc, first page', options: { sort: 'last_click' } },
  { name: `last_click desc, cursor at row ${Math.floor(LINKS * 0.3)} (clicked)`, options: { sort: 'last_click' }, skip: Math.floor(LINKS * 0.3) },
  { name: `last_click desc, cursor at row ${deep} (never clicked)`, options: { sort: 'last_click' }, skip: deep },
  { name: 'last_click asc, first page', options: { sort: 'last_click', order: 'asc' } },
  { name: 'tag team-3 (1 in 10), created desc', options: { tags: ['team-3'] } },
  { name: 'tag team-3, created desc, deep cursor', options: { tags: ['team-3'] }, skip: Math.floor(LINKS * 0.09) },
  { name: 'tag campaign-42 (1 in 3,000), created desc', options: { tags: ['campaign-42'] } },
  { name: 'tag rare (1 in 10,000), created desc', options: { tags: ['rare'] } },
  { name: 'tags team-2 + campaign-42, created desc', options: { tags: ['team-2', 'campaign-42'] } },
  { name: 'tag team-3, clicks desc', options: { tags: ['team-3'], sort: 'clicks' } },
  { name: 'tag campaign-42, clicks desc', options: { tags: ['campaign-42'], sort: 'clicks' } },
  { name: 'tag rare, last_click desc', options: { tags: ['rare'], sort: 'last_click' } },
  { name: 'search "abc" (common), created desc', options: { search: 'abc' } },
  { name: 'search "fedcba98" (rare), created desc', options: { search: 'fedcba98' } },
  { name: 'search "b1234" (rare), clicks desc', options: { search: 'b1234', sort: 'clicks' } },
  { name: 'search "ab" (2 characters, common), created desc', options: { search: 'ab' } },
  { name: 'search "q" (1 character, in no link), created desc', options: { search: 'q' } },
  { name: 'created in a range of 4% of the links, in the middle of their history, created desc', options: { createdAfter: minutesIn(0.4), createdBefore: minutesIn(0.44) } },
  { name: 'created in the same range, created asc', options: { createdAfter: minutesIn(0.4), createdBefore: minutesIn(0.44), order: 'asc' } },
  { name: 'created in the same range, created desc, deep cursor', options: { createdAfter: minutesIn(0.4), createdBefore: minutesIn(0.44) }, skip: Math.floor(LINKS * 0.03) },
  { name: 'created in 10 minutes in the middle (9 links), created desc', options: { createdAfter: minutesIn(0.4), createdBefore: new Date(minutesIn(0.4).getTime() + 600_000) } },
  { name: 'created in the newest 4%, created desc', options: { createdAfter: minutesIn(0.96) } },
  { name: 'created before the oldest 4% ends, created desc', options: { createdBefore: minutesIn(0.04) } },
  { name: 'state active, clicks desc', options: { state: 'active', now: new Date('2025-06-01T00:00:00Z'), sort: 'clicks' } },
];

/** The position of the `skip`-th link in this order: the cursor a client would hold there. */
async function positionAt(db: SqlRunner, owner: number, shape: Shape): Promise<ListPosition | undefined> {
  if (shape.skip === undefined) return undefined;
  const sort = shape.options.sort ?? 'created';
  const segments = listSegments({ ...shape.options, ownerKeyId: owner, limit: 1 });
  // Walk the segments as the store does, with OFFSET (untimed) to reach the row.
  let skip = shape.skip;
  for (const segment of segments) {
    const { rows: [count] } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM (${segment.text}) AS s`, [LINKS * 2, ...segment.params.slice(1)]);
    const n = Number(count?.n ?? 0);
    if (skip >= n) {
      skip -= n;
      continue;
    }
    const { rows } = await db.query<{ id: string; clicks: string; last_clicked_at: Date | string | null }>(`${segment.text} OFFSET ${skip}`, segment.params);
    const row = rows[0];
    if (row === undefined) return undefined;
    const key = sort === 'clicks' ? Number(row.clicks) : sort === 'last_click' ? (row.last_clicked_at === null ? null : new Date(row.last_clicked_at)) : null;
    return { id: Number(row.id), key };
  }
  return undefined;
}

async function main(): Promise<void> {
  const log = createLogger({ level: 'warn', service: 'bench' });
  let db: SqlRunner;
  let close: () => Promise<void>;
  if (onPglite) {
    const pglite = await openPglite(null);
    db = pgliteRunner(pglite);
    close = () => pglite.close();
    await migrate(db, log);
  } else {
    const database = await withDatabase(DATABASE_URL, `curt_list_plans_${process.pid}`);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    db = client;
    close = async () => {
      await client.end();
      await database.drop();
    };
    await migrate(client, log);
  }
  try {
    const started = performance.now();
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO api_keys (key_hash, key_prefix, name) VALUES ('\\x01', 'bench1', 'owner'), ('\\x02', 'bench2', 'other') RETURNING id`,
    );
    const [owner, other] = rows.map((r) => Number(r.id)) as [number, number];
    await load(db, owner, other, LINKS);
    await db.query('VACUUM ANALYZE urls, url_totals');
    const loadS = (performance.now() - started) / 1000;
    const version = (await db.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v ?? '';
    console.log(`# GET /urls plans: ${onPglite ? 'PGlite' : 'PostgreSQL'}, ${LINKS.toLocaleString('en')} links of one owner (+${Math.ceil(LINKS / 10).toLocaleString('en')} of another)`);
    console.log(`${version}\nloaded and analysed in ${loadS.toFixed(1)} s\n`);
    const summary: [string, string, string][] = [];
    for (const shape of SHAPES) {
      const after = await positionAt(db, owner, shape);
      const options: ListOptions = { ...shape.options, ownerKeyId: owner, limit: PAGE, ...(after === undefined ? {} : { after }) };
      const segments = listSegments(options);
      console.log(`## ${shape.name}`);
      let total = 0;
      let got = 0;
      for (const segment of segments) {
        if (got >= PAGE) break;
        const params = [PAGE - got, ...segment.params.slice(1)];
        const plan = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${segment.text}`, params);
        const lines = plan.rows.map((r) => r['QUERY PLAN']);
        console.log(segment.text.replace(LINK_COLUMNS, '…').replace(URL_COLUMNS, '…'));
        console.log(lines.join('\n'));
        total += Number(/Execution Time: ([\d.]+) ms/.exec(lines.join('\n'))?.[1] ?? NaN);
        // The rows the page got from this segment (run again, untimed, to know whether the next one runs).
        got += (await db.query(segment.text, params)).rows.length;
      }
      // The whole page as the store runs it, best of 3, from this process.
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        let n = 0;
        for (const segment of segments) {
          if (n >= PAGE) break;
          n += (await db.query(segment.text, [PAGE - n, ...segment.params.slice(1)])).rows.length;
        }
        best = Math.min(best, performance.now() - t);
      }
      console.log(`→ execution ${total.toFixed(2)} ms (EXPLAIN ANALYZE), page of ${got} in ${best.toFixed(2)} ms (best of 3, from the client)\n`);
      summary.push([shape.name, total.toFixed(2), best.toFixed(2)]);
    }
    console.log('| query | execution (ms) | page from the client, best of 3 (ms) |\n| --- | ---: | ---: |');
    for (const [name, exec, page] of summary) console.log(`| ${name} | ${exec} | ${page} |`);
  } finally {
    await close();
  }
}

await main();
