// LinkStore.analytics: a link's all-time totals, its daily series and the top values of each
// dimension over a range of UTC days, as one read. The statements run in one read-only REPEATABLE
// READ transaction: a click flush that commits between two of them shows in none, so the range never
// holds more clicks than all time, and the breakdowns add up to the range. The same SQL on PGlite
// (one statement at a time on one connection: nothing commits in between there anyway).
import { AnalyticsTooSlow } from '../../core/errors.ts';
import { isStatementTimeout } from '../../core/postgres.ts';
import type { SqlRunner, TransactionalRunner } from '../../core/sql.ts';
import { DIMENSIONS, OTHER, type AnalyticsQuery, type Dimension, type DimensionCount, type LinkAnalytics, type LinkTotals } from '../link-store.ts';
import { LINKS } from './pg-link-row.ts';

/** `budgetMs`: each statement's limit (ANALYTICS_STATEMENT_TIMEOUT_MS in src/core/postgres.ts). */
export function readLinkAnalytics(db: TransactionalRunner, linkId: number, query: AnalyticsQuery, budgetMs: number): Promise<LinkAnalytics> {
  return db.transaction((tx) => readInSnapshot(overBudgetIsBusy(tx, budgetMs), linkId, query), {
    readOnly: true,
    isolation: 'repeatable read',
    statementTimeoutMs: budgetMs,
  });
}

/**
 * The transaction's statements, a statement timeout turned into AnalyticsTooSlow here, inside the
 * transaction: the breaker around the runner (guardedRunner in src/core/postgres.ts) then sees an
 * answer, not an outage. A server that answers nothing (the client's own timeout) stays an outage.
 */
function overBudgetIsBusy(tx: SqlRunner, budgetMs: number): SqlRunner {
  return {
    query: <R>(text: string, params?: unknown[]) => {
      const startedAt = performance.now();
      return tx.query<R>(text, params).catch((err: unknown) => {
        // The message is the server's language (lc_messages): a cancel (57014) that came when the
        // budget was spent is the timeout too, as said in any language.
        const spent = (err as { code?: unknown } | null)?.code === '57014' && performance.now() - startedAt >= 0.9 * budgetMs;
        if (isStatementTimeout(err) || spent) throw new AnalyticsTooSlow(budgetMs, { cause: err });
        throw err;
      });
    },
  };
}

/**
 * The order of `COLLATE "C"` on UTF-8 text: by bytes, so by code point. PostgreSQL's default collation
 * is the database's (PGlite: C; a server made with en_US or ICU: letter case aside), which listed
 * other values on equal counts; JavaScript's `<` compares UTF-16 code units, which differs past U+FFFF.
 */
function inByteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

async function readInSnapshot(tx: SqlRunner, linkId: number, { from, to, top }: AnalyticsQuery): Promise<LinkAnalytics> {
  // First: the snapshot is taken by the transaction's first statement, and the rest read the same one.
  const link = await tx.query<{ clicks: number; bot_hits: number; last_clicked_at: Date | string | null }>(
    `SELECT coalesce(t.clicks, 0) AS clicks, coalesce(t.bot_hits, 0) AS bot_hits, t.last_clicked_at FROM ${LINKS} WHERE urls.id = $1`,
    [linkId],
  );
  const daily = await tx.query<{ day: string; clicks: number; bot_hits: number }>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, clicks, bot_hits FROM url_daily_clicks
      WHERE url_id = $1 AND day BETWEEN $2::date AND $3::date ORDER BY day`,
    [linkId, from, to],
  );
  // The top values of each dimension, and the rest (stored OTHER rows included) summed as OTHER.
  // Ties go by value in byte order, whatever the database's collation (inByteOrder).
  const values = await tx.query<{ dimension: Dimension; value: string; n: number }>(
    `SELECT dimension, CASE WHEN rank <= $4 THEN value ELSE '${OTHER}' END AS value, sum(n) AS n
       FROM (SELECT dimension, value, n,
                    row_number() OVER (PARTITION BY dimension ORDER BY value = '${OTHER}', n DESC, value COLLATE "C") AS rank
               FROM (SELECT dimension, value, sum(clicks) AS n FROM url_daily_values
                      WHERE url_id = $1 AND day BETWEEN $2::date AND $3::date
                      GROUP BY dimension, value) AS summed) AS ranked
      GROUP BY 1, 2`,
    [linkId, from, to, top],
  );
  const dimensions = Object.fromEntries(DIMENSIONS.map((d) => [d, [] as DimensionCount[]])) as Record<Dimension, DimensionCount[]>;
  for (const row of values.rows) dimensions[row.dimension].push({ value: row.value, count: Number(row.n) });
  for (const list of Object.values(dimensions)) {
    list.sort((a, b) => Number(a.value === OTHER) - Number(b.value === OTHER) || b.count - a.count || inByteOrder(a.value, b.value));
  }
  const series = daily.rows.map((r) => ({ date: r.day, clicks: Number(r.clicks), botHits: Number(r.bot_hits) }));
  const row = link.rows[0];
  const allTime: LinkTotals | null =
    row === undefined
      ? null
      : { clicks: Number(row.clicks), botHits: Number(row.bot_hits), lastClickedAt: row.last_clicked_at === null ? null : new Date(row.last_clicked_at) };
  return {
    daily: series,
    totals: series.reduce((sum, d) => ({ clicks: sum.clicks + d.clicks, botHits: sum.botHits + d.botHits }), { clicks: 0, botHits: 0 }),
    dimensions,
    allTime,
  };
}
