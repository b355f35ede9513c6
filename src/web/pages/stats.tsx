// `/{code}+` and `/app/stats/{code}`: one link's clicks. Totals, last click and state; clicks per day
// over a chosen range as a chart and a table; then every breakdown the analytics API answers
// (referrers today; any later list of {name, clicks} shows up as its own table without a change here).
import { useCallback, useEffect, useId, useMemo, useState } from 'preact/hooks';
import type { Analytics, Link } from '../../client/curt-client.ts';
import { explain, isProblem } from '../api.ts';
import { ClicksChart } from '../components/clicks-chart.tsx';
import { CopyButton } from '../components/copy-button.tsx';
import { KeyForm } from '../components/key-form.tsx';
import { daysInRange, type Range } from '../days.ts';
import { formatDateTime, formatNumber, STATE_LABELS, visitsText } from '../format.ts';
import { onLinkClick } from '../router.ts';
import { useSession } from '../state.ts';

const RANGES: { value: Range; label: string }[] = [
  { value: 7, label: '7 days' },
  { value: 30, label: '30 days' },
  { value: 90, label: '90 days' },
  { value: 'all', label: 'All' },
];

/** Titles of the breakdowns the API has; one it adds later gets its field name until named here. */
const BREAKDOWN_TITLES: Record<string, [string, string]> = {
  referrers: ['Referrers', 'Site'],
  countries: ['Countries', 'Country'],
  browsers: ['Browsers', 'Browser'],
  devices: ['Devices', 'Device'],
};

type Row = Record<string, unknown> & { clicks: number };

/** Every list of {name, clicks} in the analytics answer other than the days. */
function breakdowns(analytics: Analytics): { field: string; nameKey: string; rows: Row[] }[] {
  return Object.entries(analytics as unknown as Record<string, unknown>).flatMap(([field, value]) => {
    if (field === 'daily' || !Array.isArray(value)) return [];
    const rows = value.filter((r): r is Row => typeof r === 'object' && r !== null && typeof (r as Row).clicks === 'number');
    const nameKey = Object.keys(rows[0] ?? { host: '' }).find((k) => k !== 'clicks') ?? 'name';
    return [{ field, nameKey, rows }];
  });
}

export function StatsPage({ code }: { code: string }) {
  const session = useSession();
  const [analytics, setAnalytics] = useState<Analytics | null>(null);
  const [link, setLink] = useState<Link | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [range, setRange] = useState<Range>(30);
  const [loading, setLoading] = useState(true);
  const id = useId();

  const load = useCallback(async () => {
    setLoading(true);
    try {
      const [a, l] = await Promise.all([session.client.analytics(code), session.client.get(code)]);
      setAnalytics(a);
      setLink(l);
      setError(null);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  }, [session.client, code]);

  useEffect(() => {
    void load();
  }, [load]);

  const days = useMemo(() => (analytics === null ? [] : daysInRange(analytics.daily, range, analytics.created_at)), [analytics, range]);

  if (error !== null) {
    if (isProblem(error, 'unauthorized')) {
      return (
        <section>
          <h1>Stats of {code}</h1>
          <KeyForm intro="This link belongs to an API key: sign in with it (or with an admin key) to see its stats." />
        </section>
      );
    }
    return (
      <section>
        <h1>Stats of {code}</h1>
        <p class="error" role="alert">
          {explain(error).message}
        </p>
        <p>
          <a href="/" onClick={onLinkClick}>
            Shorten a link
          </a>
        </p>
      </section>
    );
  }
  if (analytics === null || link === null) return <p aria-busy="true">Loading the stats of {code}…</p>;

  const inRange = days.reduce((sum, d) => sum + d.clicks, 0);
  const rangeLabel = range === 'all' ? 'since the link was made' : `in the last ${range} days`;
  const withClicks = days.filter((d) => d.clicks > 0).reverse();

  return (
    <section aria-labelledby={`${id}-title`} aria-busy={loading}>
      <h1 id={`${id}-title`}>
        Stats of <span class="code">{code}</span>
      </h1>
      <p class="short-url">
        <a href={link.short_url}>{link.short_url}</a> <CopyButton text={link.short_url} label="Copy" />
      </p>
      <p class="target">
        Goes to <a href={link.original_url} rel="noreferrer noopener">{link.original_url}</a>
      </p>

      <dl class="summary" data-testid="summary">
        <div>
          <dt>Total clicks</dt>
          <dd data-testid="total-clicks">{formatNumber(analytics.clicks)}</dd>
        </div>
        <div>
          <dt>Last click</dt>
          <dd>{formatDateTime(analytics.last_clicked_at, 'none yet')}</dd>
        </div>
        <div>
          <dt>State</dt>
          <dd>
            <span class={`badge state-${analytics.state}`}>{STATE_LABELS[analytics.state] ?? analytics.state}</span>
          </dd>
        </div>
        {link.max_visits !== null && (
          <div>
            <dt>Visits</dt>
            <dd data-testid="visits">{visitsText(link)}</dd>
          </div>
        )}
        <div>
          <dt>Created</dt>
          <dd>{formatDateTime(analytics.created_at)}</dd>
        </div>
        <div>
          <dt>Expires</dt>
          <dd>{formatDateTime(analytics.expires_at)}</dd>
        </div>
      </dl>

      <div class="section-head">
        <h2 id={`${id}-daily`}>Clicks per day</h2>
        <button type="button" class="secondary" onClick={() => void load().then(() => session.announce('Stats refreshed.'))}>
          Refresh
        </button>
      </div>
      <fieldset class="segmented">
        <legend>Range</legend>
        {RANGES.map((r) => (
          <label key={String(r.value)}>
            <input type="radio" name={`${id}-range`} value={String(r.value)} checked={range === r.value} onChange={() => setRange(r.value)} />
            <span>{r.label}</span>
          </label>
        ))}
      </fieldset>
      <ClicksChart days={days} label={`${formatNumber(inRange)} ${inRange === 1 ? 'click' : 'clicks'} ${rangeLabel} (days in UTC).`} />
      <div class="table-wrap">
        <table data-testid="daily-table">
          <caption>Days with clicks {rangeLabel} (UTC)</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col" class="num">
                Clicks
              </th>
            </tr>
          </thead>
          <tbody>
            {withClicks.length === 0 ? (
              <tr>
                <td colSpan={2}>No clicks {rangeLabel}.</td>
              </tr>
            ) : (
              withClicks.map((d) => (
                <tr key={d.date}>
                  <th scope="row">{d.date}</th>
                  <td class="num">{formatNumber(d.clicks)}</td>
                </tr>
              ))
            )}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">Total</th>
              <td class="num">{formatNumber(inRange)}</td>
            </tr>
          </tfoot>
        </table>
      </div>

      {breakdowns(analytics).map(({ field, nameKey, rows }) => {
        const [title, column] = BREAKDOWN_TITLES[field] ?? [field, nameKey];
        return (
          <div key={field}>
            <h2>{title}</h2>
            <div class="table-wrap">
              <table data-testid={`${field}-table`}>
                <caption class="sr-only">{title}, most clicks first</caption>
                <thead>
                  <tr>
                    <th scope="col">{column}</th>
                    <th scope="col" class="num">
                      Clicks
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {rows.length === 0 ? (
                    <tr>
                      <td colSpan={2}>None yet.</td>
                    </tr>
                  ) : (
                    rows.map((r) => (
                      <tr key={String(r[nameKey])}>
                        <th scope="row">{r[nameKey] === '(direct)' ? 'Direct (no referrer)' : String(r[nameKey])}</th>
                        <td class="num">{formatNumber(r.clicks)}</td>
                      </tr>
                    ))
                  )}
                </tbody>
              </table>
            </div>
          </div>
        );
      })}
    </section>
  );
}
