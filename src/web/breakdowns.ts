// The stats page's breakdowns of one range, as rows a person reads: each value's label (a country's
// English name beside its code, "Direct (no referrer)" for none), its count and its share of the
// range. No DOM here: the Node tests import this file.
import type { Analytics } from '../client/curt-client.ts';

export interface BreakdownRow {
  /** The API's value (`DE`, `Chrome`, `(other)`): unique within a breakdown. */
  key: string;
  label: string;
  /** A country's code, shown beside its name. */
  code: string | null;
  count: number;
  /** Of the range's clicks (bots: of its bot hits), 0 to 1. */
  ratio: number;
  share: string;
}

export interface Breakdown {
  /** The API's field, e.g. `operating_systems`. */
  field: string;
  title: string;
  /** The header of the value column. */
  column: string;
  /** `Clicks`, or `Hits` for bots. */
  unit: string;
  /** Bots are hits, not clicks: shown apart, and less loudly. */
  secondary: boolean;
  rows: BreakdownRow[];
}

// In English, as the page is (lang="en"): a name is read out with the words around it.
const regions = new Intl.DisplayNames(['en'], { type: 'region' });
const percent = new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 0 });

/** `DE` → `Germany`; null for what is no country code (`(unknown)`, `(other)`) or a code without a name. */
export function countryName(code: string): string | null {
  if (!/^[A-Z]{2}$/.test(code)) return null;
  try {
    const name = regions.of(code);
    return name === undefined || name === code ? null : name;
  } catch {
    return null;
  }
}

/** `part` of `whole` as a whole percentage; never 0% for a part that is there, nor 100% for one that is not all. */
export function formatShare(part: number, whole: number): string {
  if (whole <= 0) return '–';
  const ratio = part / whole;
  if (part > 0 && ratio < 0.005) return '<1%';
  if (part < whole && ratio >= 0.995) return '>99%';
  return percent.format(ratio);
}

/** Words for the API's placeholders and lower-case values; anything else shows as it comes. */
const LABELS: Record<string, string> = {
  '(other)': 'All others',
  '(unknown)': 'Unknown',
  '(direct)': 'Direct (no referrer)',
};
const DEVICES: Record<string, string> = { desktop: 'Desktop', mobile: 'Mobile', tablet: 'Tablet', other: 'Other' };

function rowsOf(list: readonly { name: string; count: number }[], total: number, label: (name: string) => string = (n) => n): BreakdownRow[] {
  return list.map(({ name, count }) => ({
    key: name,
    label: LABELS[name] ?? label(name),
    code: null,
    count,
    ratio: total > 0 ? Math.min(1, count / total) : 0,
    share: formatShare(count, total),
  }));
}

const named = (list: readonly { name: string; clicks: number }[]) => list.map((r) => ({ name: r.name, count: r.clicks }));

/** Countries, browsers, operating systems, devices, referrers, then bots: in that order. */
export function breakdownsOf(a: Analytics): Breakdown[] {
  const clicks = a.range_clicks;
  const countries = rowsOf(named(a.countries), clicks).map((row) => {
    const name = countryName(row.key);
    return name === null ? row : { ...row, label: name, code: row.key };
  });
  return [
    { field: 'countries', title: 'Countries', column: 'Country', unit: 'Clicks', secondary: false, rows: countries },
    { field: 'browsers', title: 'Browsers', column: 'Browser', unit: 'Clicks', secondary: false, rows: rowsOf(named(a.browsers), clicks) },
    { field: 'operating_systems', title: 'Operating systems', column: 'System', unit: 'Clicks', secondary: false, rows: rowsOf(named(a.operating_systems), clicks) },
    { field: 'devices', title: 'Devices', column: 'Device', unit: 'Clicks', secondary: false, rows: rowsOf(named(a.devices), clicks, (n) => DEVICES[n] ?? n) },
    { field: 'referrers', title: 'Referrers', column: 'Site', unit: 'Clicks', secondary: false, rows: rowsOf(a.referrers.map((r) => ({ name: r.host, count: r.clicks })), clicks) },
    { field: 'bots', title: 'Bots', column: 'Bot', unit: 'Hits', secondary: true, rows: rowsOf(a.bots.map((r) => ({ name: r.name, count: r.hits })), a.range_bot_hits) },
  ];
}
