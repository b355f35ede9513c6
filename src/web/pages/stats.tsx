// `/{code}+` and `/app/stats/{code}`: one link's clicks. Totals of clicks and bot hits, last click and
// state; over a chosen range (asked of the API as UTC days), clicks and bot hits per day as a chart and
// a table, then the clicks by country, browser, operating system, device and referrer, and the bot hits
// by bot. app.tsx loads this page lazily: none of it is in the JavaScript of `/`.
import { useCallback, useEffect, useId, useMemo, useRef, useState } from 'preact/hooks';
import type { Analytics, Link } from '../../client/curt-client.ts';
import { explain, isProblem } from '../api.ts';
import { breakdownsOf } from '../breakdowns.ts';
import { Breakdowns } from '../components/breakdowns.tsx';
import { ClicksChart } from '../components/clicks-chart.tsx';
import { CopyButton } from '../components/copy-button.tsx';
import { KeyForm } from '../components/key-form.tsx';
import { everyDay, rangeDays, type Range } from '../days.ts';
import { formatDateTime, formatNumber, STATE_LABELS, visitsText } from '../format.ts';
import { onLinkClick } from '../router.ts';
import { useSession } from '../state.ts';

const RANGES: { value: Range; label: string }[] = [
  { value: 7, label: '7 days' },
  { value: 30, label: '30 days' },
  { value: 90, label: '90 days' },
  { value: 'all', label: 'All' },
];

export function StatsPage({ code }: { code: string }) {
  const session = useSession();
  const [analytics, setAnalytics] = useState<Analytics | null>(null);
  const [link, setLink] = useState<Link | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [range, setRange] = useState<Range>(30);
  /** The range `analytics` answers: the one chosen, once its answer is in. */
  const [shown, setShown] = useState<Range>(30);
  const [loading, setLoading] = useState(true);
  const id = useId();
  /** The last request made: an answer to an earlier one (a range clicked past) is dropped. */
  const latest = useRef(0);
  /** When the link was made: where `All` starts. */
  const created = useRef<{ code: string; at: string } | null>(null);

  const load = useCallback(
    async (which: Range) => {
      const request = ++latest.current;
      setLoading(true);
      try {
        const known = created.current?.code === code ? created.current.at : null;
        // `All` needs the creation day first; the first load of a page never asks for `All`.
        const first = which === 'all' && known === null ? await session.client.get(code) : null;
        const span = rangeDays(which, first?.created_at ?? known);
        const [a, l] = await Promise.all([session.client.analytics(code, span), first ?? session.client.get(code)]);
        if (request !== latest.current) return;
        created.current = { code, at: l.created_at };
        setAnalytics(a);
        setShown(which);
        setLink(l);
        setError(null);
      } catch (err) {
        if (request === latest.current) setError(err);
      } finally {
        if (request === latest.current) setLoading(false);
      }
    },
    [session.client, code],
  );

  useEffect(() => {
    void load(range);
  }, [load, range]);

  const days = useMemo(() => (analytics === null ? [] : everyDay(analytics.daily, analytics.from, analytics.to)), [analytics]);
  const breakdowns = useMemo(() => (analytics === null ? [] : breakdownsOf(analytics)), [analytics]);

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

  const clicks = analytics.range_clicks;
  const botHits = analytics.range_bot_hits;
  // `All` of a link older than the API's longest range starts later than the link.
  const rangeLabel =
    shown !== 'all' ? `in the last ${shown} days` : analytics.from <= analytics.created_at.slice(0, 10) ? 'since the link was made' : `since ${analytics.from}`;
  const withHits = days.filter((d) => d.clicks > 0 || d.bot_hits > 0).reverse();

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
          <dd class="aside">
            not counting <span data-testid="total-bot-hits">{formatNumber(analytics.bot_hits)}</span> {analytics.bot_hits === 1 ? 'bot hit' : 'bot hits'}
          </dd>
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
        <button type="button" class="secondary" onClick={() => void load(range).then(() => session.announce('Stats refreshed.'))}>
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
      <ClicksChart
        days={days}
        label={`${formatNumber(clicks)} ${clicks === 1 ? 'click' : 'clicks'} and ${formatNumber(botHits)} ${botHits === 1 ? 'bot hit' : 'bot hits'} ${rangeLabel} (days in UTC).`}
      />
      <div class="table-wrap">
        <table data-testid="daily-table">
          <caption>Days with clicks or bot hits {rangeLabel} (UTC)</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col" class="num">
                Clicks
              </th>
              <th scope="col" class="num">
                Bot hits
              </th>
            </tr>
          </thead>
          <tbody>
            {withHits.length === 0 ? (
              <tr>
                <td colSpan={3}>No clicks {rangeLabel}.</td>
              </tr>
            ) : (
              withHits.map((d) => (
                <tr key={d.date}>
                  <th scope="row">{d.date}</th>
                  <td class="num">{formatNumber(d.clicks)}</td>
                  <td class="num">{formatNumber(d.bot_hits)}</td>
                </tr>
              ))
            )}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">Total</th>
              <td class="num">{formatNumber(clicks)}</td>
              <td class="num">{formatNumber(botHits)}</td>
            </tr>
          </tfoot>
        </table>
      </div>

      <h2>Where the clicks come from</h2>
      <p class="hint">The clicks {rangeLabel} by country, browser, operating system, device and referring site; bots apart.</p>
      <Breakdowns breakdowns={breakdowns} rangeLabel={rangeLabel} />
    </section>
  );
}
