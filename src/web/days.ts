// Clicks per UTC day, as the analytics API counts them, filled out to every day of a range (days
// without clicks are 0), for the chart and the table.
export interface DayCount {
  date: string;
  clicks: number;
}

export type Range = 7 | 30 | 90 | 'all';

const DAY_MS = 86_400_000;
const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Every day of the range, oldest first, ending today (UTC); `all` starts on the day of creation. */
export function daysInRange(daily: readonly DayCount[], range: Range, createdAt: string, now = Date.now()): DayCount[] {
  const today = Date.parse(isoDay(now));
  const firstClick = daily[0] === undefined ? today : Date.parse(daily[0].date);
  const start = range === 'all' ? Math.min(Date.parse(isoDay(Date.parse(createdAt))), firstClick) : today - (range - 1) * DAY_MS;
  const byDay = new Map(daily.map((d) => [d.date, d.clicks]));
  const days: DayCount[] = [];
  for (let t = start; t <= today; t += DAY_MS) days.push({ date: isoDay(t), clicks: byDay.get(isoDay(t)) ?? 0 });
  return days;
}
