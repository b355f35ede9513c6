// The stats page's ranges as the analytics API asks for them (UTC days, both ends included), and the
// answer's days filled out to every day of the range (days without hits are 0), for the chart and the table.
import { MAX_RANGE_DAYS } from '../client/analytics-range.ts';
export interface DayCount {
  date: string;
  clicks: number;
  bot_hits: number;
}

export type Range = 7 | 30 | 90 | 'all';


const DAY_MS = 86_400_000;
const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * The days to ask for: the last 7, 30 or 90 ending today (UTC), or `all` from the day the link was
 * made, at most MAX_RANGE_DAYS back (unknown creation: that far back).
 */
export function rangeDays(range: Range, createdAt: string | null, now = Date.now()): { from: string; to: string } {
  const today = Date.parse(isoDay(now));
  const earliest = today - (MAX_RANGE_DAYS - 1) * DAY_MS;
  if (range !== 'all') return { from: isoDay(today - (range - 1) * DAY_MS), to: isoDay(today) };
  const created = createdAt === null ? NaN : Date.parse(isoDay(Date.parse(createdAt)));
  // A clock behind the server's could put the creation after "today": the range is then today alone.
  const from = Number.isNaN(created) ? earliest : Math.min(today, Math.max(earliest, created));
  return { from: isoDay(from), to: isoDay(today) };
}

/** Every day from `from` to `to` (YYYY-MM-DD), oldest first, with the counts of `daily` and 0 elsewhere. */
export function everyDay(daily: readonly DayCount[], from: string, to: string): DayCount[] {
  const byDay = new Map(daily.map((d) => [d.date, d]));
  const days: DayCount[] = [];
  for (let t = Date.parse(from), end = Date.parse(to); t <= end; t += DAY_MS) {
    const date = isoDay(t);
    const day = byDay.get(date);
    days.push({ date, clicks: day?.clicks ?? 0, bot_hits: day?.bot_hits ?? 0 });
  }
  return days;
}
