// A click flush's batch as the columns its statements unnest (pg-link-store.ts, applyClicks): each
// column one PostgreSQL array literal, built in one pass over the batch. Given JS arrays instead,
// node-postgres converts them element by element (prepareValue, escapeElement, and a Date formatted
// in local time per link), and the rows built on the way to those arrays were garbage to collect:
// 8-10 µs of the service's CPU per link flushed, paid by the redirects (docs/performance.md).
import { eachDayValue, type ClickAggregate } from '../link-store.ts';
import { literal, quoted } from './array-literal.ts';

/** Each column as text PostgreSQL reads as an array of the column's type. */
export interface ClickColumns {
  /** Per link: id, clicks, bot hits, last click in epoch ms (NULL: bot hits only). */
  totals: [ids: string, clicks: string, botHits: string, lastClickMs: string];
  /** Per link and day: id, day, clicks, bot hits. */
  days: [ids: string, days: string, clicks: string, botHits: string];
  /** Per link, day, dimension and value: id, day, dimension, value, hits; null when no value was kept. */
  values: [ids: string, days: string, dimensions: string, values: string, hits: string] | null;
}

/**
 * `sorted`: the batch in the order its rows are to be locked. Days (YYYY-MM-DD) and dimension names
 * (a fixed list of words) need no quotes; ids and counts are integers.
 */
export function clickColumns(sorted: readonly ClickAggregate[]): ClickColumns {
  const ids: number[] = [];
  const clicks: number[] = [];
  const botHits: number[] = [];
  const lastMs: (number | string)[] = [];
  const dayIds: number[] = [];
  const dayNames: string[] = [];
  const dayClicks: number[] = [];
  const dayBotHits: number[] = [];
  const valueIds: number[] = [];
  const valueDays: string[] = [];
  const dimensions: string[] = [];
  const values: string[] = [];
  const hits: number[] = [];
  for (const a of sorted) {
    ids.push(a.linkId);
    clicks.push(a.clicks);
    botHits.push(a.botHits);
    lastMs.push(a.lastClickedAt === null ? 'NULL' : a.lastClickedAt.getTime());
    for (const [day, d] of a.days) {
      dayIds.push(a.linkId);
      dayNames.push(day);
      dayClicks.push(d.clicks);
      dayBotHits.push(d.botHits);
      eachDayValue(d.values, (dimension, value, n) => {
        valueIds.push(a.linkId);
        valueDays.push(day);
        dimensions.push(dimension);
        values.push(quoted(value));
        hits.push(n);
      });
    }
  }
  return {
    totals: [literal(ids), literal(clicks), literal(botHits), literal(lastMs)],
    days: [literal(dayIds), literal(dayNames), literal(dayClicks), literal(dayBotHits)],
    values: valueIds.length === 0 ? null : [literal(valueIds), literal(valueDays), literal(dimensions), literal(values), literal(hits)],
  };
}
