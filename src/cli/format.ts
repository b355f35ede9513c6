// Human output of the `curt` command: aligned fields and tables, dates in UTC. (`--json` bypasses it.)
import type { Analytics, ApiKey, ApiKeyInfo, Link } from '../client/curt-client.ts';

/** `2026-11-25T11:18:13.014Z` → `2026-11-25 11:18 UTC`; null → `fallback`. */
export function formatTime(iso: string | null, fallback = 'never'): string {
  if (iso === null) return fallback;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const yesNo = (value: boolean): string => (value ? 'yes' : 'no');

/** `2 of 5` visits made of the limit, or `no limit`. */
function visitsOf(link: Pick<Link, 'visits' | 'max_visits'>): string {
  return link.max_visits === null ? 'no limit' : `${link.visits} of ${link.max_visits}`;
}

/** Label/value lines with the values aligned. */
export function fields(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(...pairs.map(([label]) => label.length));
  return pairs.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}

/** Columns separated by two spaces; `right` columns (numbers) are right-aligned. The last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number> = new Set()): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => {
        if (right.has(i)) return cell.padStart(widths[i] ?? 0);
        return i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0);
      })
      .join('  ');
  return [line(headers), ...rows.map(line)].join('\n');
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function formatLink(link: Link): string {
  return fields([
    ['Short URL', link.short_url],
    ['Target', link.original_url],
    ['State', link.state],
    ['Expires', formatTime(link.expires_at)],
    ['One-time', yesNo(link.is_one_time)],
    ['Visits', visitsOf(link)],
    ['Forward query', yesNo(link.forward_query)],
  ]);
}

export function formatStats(link: Link, analytics: Analytics): string {
  const parts = [
    fields([
      ['Short URL', link.short_url],
      ['Target', link.original_url],
      ['State', analytics.state],
      ['Clicks', String(analytics.clicks)],
      ['Last click', formatTime(analytics.last_clicked_at, '-')],
      ['Created', formatTime(analytics.created_at)],
      ['Expires', formatTime(analytics.expires_at)],
      ['One-time', yesNo(analytics.is_one_time)],
      ['Visits', visitsOf(link)],
      ['Forward query', yesNo(link.forward_query)],
    ]),
  ];
  if (analytics.daily.length > 0) {
    parts.push(table(['DAY', 'CLICKS'], analytics.daily.map((d) => [d.date, String(d.clicks)]), new Set([1])));
  }
  if (analytics.referrers.length > 0) {
    parts.push(table(['REFERRER', 'CLICKS'], analytics.referrers.map((r) => [r.host, String(r.clicks)]), new Set([1])));
  }
  return parts.join('\n\n');
}

export function formatLinkTable(links: readonly Link[]): string {
  if (links.length === 0) return 'No links.';
  return table(
    ['CODE', 'STATE', 'CLICKS', 'VISITS', 'CREATED', 'EXPIRES', 'TARGET'],
    // VISITS: made of the limit (2/5), or "-" for a link without one.
    links.map((l) => [l.short_code, l.state, String(l.clicks), l.max_visits === null ? '-' : `${l.visits}/${l.max_visits}`, formatTime(l.created_at), formatTime(l.expires_at), truncate(l.original_url, 60)]),
    new Set([2, 3]),
  );
}

export function formatApiKey(key: ApiKey): string {
  return [
    fields([
      ['Key', key.key],
      ['Name', key.name ?? '-'],
      ['Admin', yesNo(key.is_admin)],
      ['Created', formatTime(key.created_at)],
    ]),
    '',
    'Shown this once: only its hash is stored. Use it with --api-key or CURT_API_KEY.',
  ].join('\n');
}

/** `curt keys list`: one row a key, revoked ones marked with when. */
export function formatApiKeyTable(keys: readonly ApiKeyInfo[]): string {
  if (keys.length === 0) return 'No API keys.';
  return table(
    ['ID', 'PREFIX', 'NAME', 'ADMIN', 'CREATED', 'REVOKED'],
    keys.map((k) => [String(k.id), `${k.key_prefix}…`, k.name ?? '-', yesNo(k.is_admin), formatTime(k.created_at), k.revoked_at === null ? '-' : formatTime(k.revoked_at)]),
    new Set([0]),
  );
}
