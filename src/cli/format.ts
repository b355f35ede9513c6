// Human output of the `curt` command: aligned fields and tables, dates in UTC. (`--json` bypasses it.)
import type { Analytics, ApiKey, ApiKeyInfo, CreatedWebhook, Link, Webhook, WebhookDelivery } from '../client/curt-client.ts';

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
    // Always said, as `curt get` says it: after `curt edit --no-password`, "no" is the confirmation.
    ['Password', yesNo(link.has_password)],
    ['Tags', link.tags.length === 0 ? '-' : link.tags.join(', ')],
  ]);
}

/** `curt get`: the link as formatLink prints it, with when it was made and its clicks. */
export function formatLinkDetails(link: Link): string {
  return fields([
    ['Short URL', link.short_url],
    ['Target', link.original_url],
    ['State', link.state],
    ['Created', formatTime(link.created_at)],
    ['Expires', formatTime(link.expires_at)],
    ['One-time', yesNo(link.is_one_time)],
    ['Visits', visitsOf(link)],
    ['Forward query', yesNo(link.forward_query)],
    ['Password', yesNo(link.has_password)],
    ['Tags', link.tags.length === 0 ? '-' : link.tags.join(', ')],
    ['Clicks', String(link.clicks)],
    ['Bot hits', String(link.bot_hits)],
    ['Last click', formatTime(link.last_clicked_at, '-')],
  ]);
}

const regionNames = new Intl.DisplayNames(['en'], { type: 'region' });

/** `DE` → `Germany`; '' for what is no country code (`(unknown)`, `(other)`) or a code ICU has no name for. */
export function countryName(code: string): string {
  if (!/^[A-Z]{2}$/.test(code)) return '';
  try {
    const name = regionNames.of(code);
    return name === undefined || name === code ? '' : name;
  } catch {
    return '';
  }
}

/** `part` of `whole` as a whole percentage; never 0% for a part that is there, nor 100% for one that is not all. */
export function share(part: number, whole: number): string {
  if (whole <= 0) return '-';
  const percent = Math.round((part / whole) * 100);
  if (percent === 0 && part > 0) return '<1%';
  if (percent === 100 && part < whole) return '>99%';
  return `${percent}%`;
}

const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
const DAY_MS = 86_400_000;

/** One breakdown: its values (with more columns before the count, e.g. a country's name), count and share of `total`. */
function breakdown(headers: readonly string[], rows: readonly { cells: readonly string[]; n: number }[], total: number): string | null {
  if (rows.length === 0) return null;
  const numbers = new Set([headers.length - 2, headers.length - 1]);
  return table(headers, rows.map((r) => [...r.cells, String(r.n), share(r.n, total)]), numbers);
}

export function formatStats(link: Link, analytics: Analytics): string {
  const a = analytics;
  const days = Math.round((Date.parse(a.to) - Date.parse(a.from)) / DAY_MS) + 1;
  const named = (list: readonly { name: string; clicks: number }[]) => list.map((r) => ({ cells: [r.name], n: r.clicks }));
  const parts = [
    fields([
      ['Short URL', link.short_url],
      ['Target', link.original_url],
      ['State', a.state],
      ['Clicks', String(a.clicks)],
      ['Bot hits', String(a.bot_hits)],
      ['Last click', formatTime(a.last_clicked_at, '-')],
      ['Created', formatTime(a.created_at)],
      ['Expires', formatTime(a.expires_at)],
      ['One-time', yesNo(a.is_one_time)],
      ['Visits', visitsOf(link)],
      ['Forward query', yesNo(link.forward_query)],
    ]),
    fields([
      ['Range', `${a.from} to ${a.to} (UTC, ${count(days, 'day', 'days')})`],
      ['Clicks in range', String(a.range_clicks)],
      ['Bot hits in range', String(a.range_bot_hits)],
    ]),
  ];
  if (a.daily.length > 0) {
    parts.push(table(['DAY', 'CLICKS', 'BOT HITS'], a.daily.map((d) => [d.date, String(d.clicks), String(d.bot_hits)]), new Set([1, 2])));
  }
  const tables = [
    breakdown(['COUNTRY', 'NAME', 'CLICKS', 'SHARE'], a.countries.map((r) => ({ cells: [r.name, countryName(r.name)], n: r.clicks })), a.range_clicks),
    breakdown(['BROWSER', 'CLICKS', 'SHARE'], named(a.browsers), a.range_clicks),
    breakdown(['OS', 'CLICKS', 'SHARE'], named(a.operating_systems), a.range_clicks),
    breakdown(['DEVICE', 'CLICKS', 'SHARE'], named(a.devices), a.range_clicks),
    breakdown(['REFERRER', 'CLICKS', 'SHARE'], a.referrers.map((r) => ({ cells: [r.host], n: r.clicks })), a.range_clicks),
    breakdown(['BOT', 'HITS', 'SHARE'], a.bots.map((r) => ({ cells: [r.name], n: r.hits })), a.range_bot_hits),
  ];
  parts.push(...tables.filter((t) => t !== null));
  return parts.join('\n\n');
}

export function formatLinkTable(links: readonly Link[]): string {
  if (links.length === 0) return 'No links.';
  return table(
    ['CODE', 'STATE', 'CLICKS', 'VISITS', 'CREATED', 'EXPIRES', 'TAGS', 'TARGET'],
    // VISITS: made of the limit (2/5), or "-" for a link without one.
    links.map((l) => [
      l.short_code,
      l.state,
      String(l.clicks),
      l.max_visits === null ? '-' : `${l.visits}/${l.max_visits}`,
      formatTime(l.created_at),
      formatTime(l.expires_at),
      l.tags.length === 0 ? '-' : truncate(l.tags.join(','), 40),
      truncate(l.original_url, 60),
    ]),
    new Set([2, 3]),
  );
}

export function formatApiKey(key: ApiKey): string {
  return [
    fields([
      ['Key', key.key],
      ['Id', String(key.id)],
      ['Name', key.name ?? '-'],
      ['Admin', yesNo(key.is_admin)],
      ['Created', formatTime(key.created_at)],
    ]),
    '',
    'Shown this once: only its hash is stored. Use it with --api-key or CURT_API_KEY.',
    `Revoke it with: curt keys revoke ${key.id}`,
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

export function formatWebhook(w: Webhook | CreatedWebhook): string {
  const lines = [`Webhook ${w.id}: ${w.url}`, `  events: ${w.events.join(', ')}`, `  state:  ${w.state}`];
  if (w.description !== null && w.description !== '') lines.push(`  about:  ${w.description}`);
  if ('secret' in w) lines.push(`  secret: ${w.secret}`, '  (shown once: keep it to verify the webhook-signature header)');
  return lines.join('\n');
}

export function formatWebhookTable(hooks: readonly Webhook[]): string {
  if (hooks.length === 0) return 'No webhook endpoints.';
  return table(
    ['ID', 'URL', 'EVENTS', 'STATE', 'FAILURES', 'CREATED'],
    hooks.map((w) => [String(w.id), w.url, w.events.join(','), w.state, String(w.consecutive_failures), formatTime(w.created_at)]),
    new Set([0, 4]),
  );
}

export function formatDeliveryTable(items: readonly WebhookDelivery[]): string {
  if (items.length === 0) return 'No deliveries.';
  return table(
    ['EVENT', 'TYPE', 'STATE', 'ATTEMPTS', 'LAST', 'CREATED'],
    items.map((d) => [d.event_id, d.type, d.state, String(d.attempts), d.last_error ?? (d.last_status === null ? '-' : String(d.last_status)), formatTime(d.created_at)]),
    new Set([3]),
  );
}
