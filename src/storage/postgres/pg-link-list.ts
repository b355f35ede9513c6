// GET /urls as SQL: filters, a sort, keyset pagination on (sort key, id). Every sort of one owner is
// a range scan of one index (migrations 001, 008 and 014), read forwards for desc and backwards for
// asc, that stops after a page; docs/listing.md has the plans at a million links. The sorts by clicks
// and by last click walk url_totals (`t`, one row per link) and join each link's row of `urls`; the
// sort by creation walks `urls` and reads each returned link's totals by its key.
import type { SqlRunner } from '../../core/sql.ts';
import type { LinkStateName, ListOptions, ListOrder } from '../link-store.ts';
import { LINK_COLUMNS, URL_COLUMNS } from './pg-link-row.ts';

/**
 * Each state as SQL, in the order of precedence linkState() (src/url/routes/schemas.ts) gives them:
 * disabled, then used, then expired (the sweep's flag, or an expiry already past at `now`). "Used"
 * is consumed_at, whatever the limit: the visit that reaches max_visits sets it, in the same UPDATE
 * that counts it (countVisit), and so does an update that lowers max_visits to the visits made, while
 * raising or removing the limit clears it (updateById). One column says it, for one-time links and
 * for links of any limit alike, including those the previous version used up (visits not counted).
 */
const STATE_CONDITIONS: Record<LinkStateName, (now: () => string) => string> = {
  disabled: () => 'NOT urls.is_active',
  used: () => 'urls.is_active AND urls.consumed_at IS NOT NULL',
  expired: (now) => `urls.is_active AND urls.consumed_at IS NULL AND (urls.is_expired OR urls.expiry_date <= ${now()}::timestamptz)`,
  active: (now) => `urls.is_active AND urls.consumed_at IS NULL AND NOT urls.is_expired AND (urls.expiry_date IS NULL OR urls.expiry_date > ${now()}::timestamptz)`,
};

/**
 * How far a link's id may be taken after its `created_at`: the start of the transaction that inserts
 * it (now()). Every insert of a link is one statement, under statement_timeout (600 ms on the request
 * path, 5 s in the background; PGlite runs one statement at a time), so an hour is far past any real
 * lag, and a database clock that steps back an hour is not expected either.
 */
export const ID_LAG = '1 hour';

/**
 * A created range as bounds on the id, for the `created` sort, which walks the owner's links by id.
 * Without them the planner, which takes the range's rows to be spread evenly over the ids, walks
 * from the newest link and, for a range far back, reads every newer link first (160 ms at a
 * million links); with them the walk starts and stops at the range. Each bound is one probe of
 * urls_owner_created_idx for a link created an ID_LAG beyond the range: every link of the range got
 * its id before that one did, so the bounds only ever leave out links outside the range, and the
 * created_at conditions still decide. No such link: no bound.
 */
function createdRangeAsIds(owner: string, from: string | null, to: string | null): string[] {
  const bounds: string[] = [];
  if (to !== null) {
    bounds.push(`urls.id < coalesce((SELECT id FROM urls WHERE owner_key_id = ${owner} AND created_at >= ${to} + interval '${ID_LAG}'
      ORDER BY created_at LIMIT 1), 9223372036854775807)`);
  }
  if (from !== null) {
    bounds.push(`urls.id > coalesce((SELECT id FROM urls WHERE owner_key_id = ${owner} AND created_at < ${from} - interval '${ID_LAG}'
      ORDER BY created_at DESC LIMIT 1), 0)`);
  }
  return bounds;
}

/** One statement of a listing: its rows come after those of the statement before it. */
export interface ListSegment {
  text: string;
  params: unknown[];
}

/**
 * The ORDER BY of each sort, written as its index is ordered (the nulls too), so that the planner
 * reads the index instead of sorting: desc is the index's order, asc its exact reverse.
 */
function orderBy(sort: 'created' | 'clicks' | 'last_click', order: ListOrder): string {
  const dir = order === 'desc' ? 'DESC' : 'ASC';
  if (sort === 'created') return `urls.id ${dir}`;
  if (sort === 'clicks') return `t.clicks ${dir}, t.url_id ${dir}`;
  return `t.last_clicked_at ${dir} ${order === 'desc' ? 'NULLS LAST' : 'NULLS FIRST'}, t.url_id ${dir}`;
}

/**
 * The statements of one page, to run in order until `limit` rows came back. One, except for
 * `last_click`: links that were clicked (by the key, then id), then those never clicked (by id); a
 * cursor among the never-clicked skips the first. Two range scans of the same index keep both in
 * key order; one query with `OR last_clicked_at IS NULL` would not be a range.
 */
export function listSegments(options: ListOptions): ListSegment[] {
  const sort = options.sort ?? 'created';
  const order = options.order ?? 'desc';
  const after = options.after;
  const cmp = order === 'desc' ? '<' : '>';

  const filters = (params: unknown[]): string[] => {
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    const where: string[] = [];
    const owner = options.ownerKeyId === undefined ? null : param(options.ownerKeyId);
    // The owner as the walked index has it: the links' own for `created`, the totals' copy otherwise.
    if (owner !== null) where.push(`${sort === 'created' ? 'urls' : 't'}.owner_key_id = ${owner}`);
    if (options.search !== undefined && options.search !== '') {
      // The text is matched as it is: LIKE's wildcards and its escape character in it are escaped.
      const pattern = param(`%${options.search.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`);
      where.push(`(urls.short_code ILIKE ${pattern} OR urls.original_url ILIKE ${pattern})`);
    }
    if (options.state !== undefined) where.push(STATE_CONDITIONS[options.state](() => param(options.now ?? new Date())));
    if (options.tags !== undefined && options.tags.length > 0) where.push(`urls.tags @> ${param([...options.tags])}::text[]`);
    const createdFrom = options.createdAfter === undefined ? null : `${param(options.createdAfter)}::timestamptz`;
    const createdTo = options.createdBefore === undefined ? null : `${param(options.createdBefore)}::timestamptz`;
    if (createdFrom !== null) where.push(`urls.created_at >= ${createdFrom}`);
    if (createdTo !== null) where.push(`urls.created_at < ${createdTo}`);
    if (sort === 'created' && owner !== null) where.push(...createdRangeAsIds(owner, createdFrom, createdTo));
    if (options.expiresAfter !== undefined) where.push(`urls.expiry_date >= ${param(options.expiresAfter)}::timestamptz`);
    if (options.expiresBefore !== undefined) where.push(`urls.expiry_date < ${param(options.expiresBefore)}::timestamptz`);
    return where;
  };

  const segment = (extra: (param: (value: unknown) => string) => string[]): ListSegment => {
    const params: unknown[] = [options.limit];
    const where = filters(params);
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    where.push(...extra(param));
    // By creation: `urls` alone, each returned link's totals read by their key (three probes of a page
    // row). As a join, the planner merged the two primary keys, and a cursor deep in the listing then
    // walked url_totals from its newest row down to the cursor (177 ms at a million links). By clicks
    // or last click: url_totals first, whose index is the order; every link has its row (014).
    const from = sort === 'created' ? `${URL_COLUMNS} FROM urls` : `${LINK_COLUMNS} FROM url_totals t JOIN urls ON urls.id = t.url_id`;
    const text = `SELECT ${from} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${orderBy(sort, order)} LIMIT $1`;
    return { text, params };
  };

  if (sort === 'created') return [segment((p) => (after === undefined ? [] : [`urls.id ${cmp} ${p(after.id)}`]))];
  if (sort === 'clicks') {
    return [segment((p) => (after === undefined ? [] : [`(t.clicks, t.url_id) ${cmp} (${p(Number(after.key ?? 0))}::bigint, ${p(after.id)}::bigint)`]))];
  }
  const neverClicked = segment((p) => ['t.last_clicked_at IS NULL', ...(after?.key === null ? [`t.url_id ${cmp} ${p(after.id)}`] : [])]);
  if (after !== undefined && after.key === null) return [neverClicked];
  const clicked = segment((p) => [
    't.last_clicked_at IS NOT NULL',
    ...(after === undefined ? [] : [`(t.last_clicked_at, t.url_id) ${cmp} (${p(after.key)}::timestamptz, ${p(after.id)}::bigint)`]),
  ]);
  return [clicked, neverClicked];
}

/** Runs the segments in order, each asked only for what the page still lacks. */
export async function runListSegments<R>(db: SqlRunner, segments: readonly ListSegment[], limit: number): Promise<R[]> {
  const rows: R[] = [];
  for (const { text, params } of segments) {
    if (rows.length >= limit) break;
    const result = await db.query<R>(text, [limit - rows.length, ...params.slice(1)]);
    rows.push(...result.rows);
  }
  return rows;
}
