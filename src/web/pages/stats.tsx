// `/{code}+` and `/app/stats/{code}`: one link's clicks. Totals of clicks and bot hits, last click and
// state; over a chosen range (asked of the API as UTC days), clicks and bot hits per day as a chart and
// a table, then the clicks by country, browser, operating system, device and referrer, and the bot hits
// by bot. app.tsx loads this page lazily: none of it is in the JavaScript of `/`.
//
// A reload that fails (a range chosen, Refresh) keeps the figures and the controls, and says why beside
// them, so that Refresh or a range tries again; a first load that fails offers Retry. The focus is never
// left on <body>: when the key form or the error goes with it, the page's heading takes it.
import { useCallback, useEffect, useId, useMemo, useRef, useState } from 'preact/hooks';
import type { Analytics, CurtClient, Link } from '../../client/curt-client.ts';
import { explain, isProblem } from '../api.ts';
import { breakdownsOf } from '../breakdowns.ts';
import { Breakdowns } from '../components/breakdowns.tsx';
import { ClicksChart } from '../components/clicks-chart.tsx';
import { CopyButton } from '../components/copy-button.tsx';
import { KeyForm } from '../components/key-form.tsx';
import { everyDay, rangeDays, type Range } from '../days.ts';
import { formatDateTime, formatNumber, STATE_LABELS, visitsText } from '../format.ts';
import { focusIsLost, focusPageHeading, onLinkClick } from '../router.ts';
import { useSession } from '../state.ts';

const RANGES: { value: Range; label: string }[] = [
  { value: 7, label: '7 days' },
  { value: 30, label: '30 days' },
  { value: 90, label: '90 days' },
  { value: 'all', label: 'All' },
];

/** What the page shows: the answers about `code` over `range`, as `client` (the key then held) read them. */
interface Figures {
  code: string;
  client: CurtClient;
  range: Range;
  analytics: Analytics;
  link: Link;
}

/** The last load's failure; `count` tells one failure from the next, so that each is announced. */
interface Failure {
  error: unknown;
  count: number;
}

export function StatsPage({ code }: { code: string }) {
  const session = useSession();
  const [figures, setFigures] = useState<Figures | null>(null);
  const [failure, setFailure] = useState<Failure | null>(null);
  /** The range chosen: the one `figures` answer once its answer is in (a failed one leaves the figures of the one before). */
  const [range, setRange] = useState<Range>(30);
  const [loading, setLoading] = useState(true);
  const id = useId();
  /** The last request made: an answer to an earlier one (a range clicked past) is dropped. */
  const latest = useRef(0);
  /** When the link was made: where `All` starts. */
  const created = useRef<{ code: string; at: string } | null>(null);

  /** Loads `which`; true when its figures are shown. */
  const load = useCallback(
    async (which: Range): Promise<boolean> => {
      const request = ++latest.current;
      setLoading(true);
      try {
        const known = created.current?.code === code ? created.current.at : null;
        // `All` needs the creation day first; the first load of a page never asks for `All`.
        const first = which === 'all' && known === null ? await session.client.get(code) : null;
        const span = rangeDays(which, first?.created_at ?? known);
        const [a, l] = await Promise.all([session.client.analytics(code, span), first ?? session.client.get(code)]);
        if (request !== latest.current) return false;
        created.current = { code, at: l.created_at };
        setFigures({ code, client: session.client, range: which, analytics: a, link: l });
        setFailure(null);
        return true;
      } catch (err) {
        if (request === latest.current) setFailure((before) => ({ error: err, count: (before?.count ?? 0) + 1 }));
        return false;
      } finally {
        if (request === latest.current) setLoading(false);
      }
    },
    [session.client, code],
  );

  useEffect(() => {
    void load(range);
  }, [load, range]);

  // Figures of another link are never shown; figures read with another key (signed out or in since)
  // are shown while this key's load runs, and not kept when it fails.
  const shown = figures?.code === code ? figures : null;
  const view: 'sign-in' | 'failed' | 'loading' | 'figures' =
    failure !== null && isProblem(failure.error, 'unauthorized')
      ? 'sign-in'
      : failure !== null && shown?.client !== session.client
        ? 'failed'
        : shown === null
          ? 'loading'
          : 'figures';
  // One view replaced by another with the focus in it (the key form once signed in, Retry once the
  // stats came, the figures once signed out): the focus goes to the page's heading, not <body>. The
  // form and the error stay until the answer is in. Not after 'loading': the first view of a page gets
  // the focus from the app (src/web/app.tsx), or keeps the browser's own start.
  const previousView = useRef(view);
  useEffect(() => {
    const before = previousView.current;
    previousView.current = view;
    if (before !== view && before !== 'loading' && focusIsLost()) return focusPageHeading();
  }, [view]);

  /** Loads the range chosen again (Refresh, Retry): said in the live region when it worked. */
  async function retry() {
    if (loading && view === 'failed') return;
    if (await load(range)) session.announce('Stats refreshed.');
  }

  const analytics = shown?.analytics ?? null;
  const days = useMemo(() => (analytics === null ? [] : everyDay(analytics.daily, analytics.from, analytics.to)), [analytics]);
  const breakdowns = useMemo(() => (analytics === null ? [] : breakdownsOf(analytics)), [analytics]);

  // Each view is a section of its own (keyed): the figures' Refresh button is never the Retry button
  // that had the focus, reused, so the focus goes to the heading rather than land on another button.
  if (view === 'sign-in') {
    return (
      <section key="sign-in">
        <h1>Stats of {code}</h1>
        <KeyForm intro="Only an API key that may read this link sees its stats: the key that made it, or an admin key." />
      </section>
    );
  }
  if (view === 'failed' && failure !== null) {
    return (
      <section key="failed" aria-busy={loading}>
        <h1>Stats of {code}</h1>
        <p class="error" role="alert" key={failure.count} data-testid="stats-error">
          {explain(failure.error).message}
        </p>
        <div class="actions">
          {/* No link, or not this key's to read: trying again changes nothing. Trying: aria-disabled, not
              disabled, which would drop the focus to <body>. */}
          {!isProblem(failure.error, 'link_not_found') && !isProblem(failure.error, 'forbidden') && (
            <button type="button" aria-disabled={loading ? 'true' : undefined} onClick={() => void retry()}>
              {loading ? 'Trying again…' : 'Retry'}
            </button>
          )}
          <a class="button secondary" href="/" onClick={onLinkClick}>
            Shorten a link
          </a>
        </div>
      </section>
    );
  }
  if (shown === null || analytics === null) return <p aria-busy="true">Loading the stats of {code}…</p>;
  const { link } = shown;

  const clicks = analytics.range_clicks;
  const botHits = analytics.range_bot_hits;
  // `All` of a link older than the API's longest range starts later than the link.
  const rangeLabel =
    shown.range !== 'all' ? `in the last ${shown.range} days` : analytics.from <= analytics.created_at.slice(0, 10) ? 'since the link was made' : `since ${analytics.from}`;
  const withHits = days.filter((d) => d.clicks > 0 || d.bot_hits > 0).reverse();

  return (
    <section key="figures" aria-labelledby={`${id}-title`} aria-busy={loading}>
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
        <button type="button" class="secondary" onClick={() => void retry()}>
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
      {failure !== null && (
        // Keyed by the failure: a new element for each, so that a second failure is announced too.
        <p class="error" role="alert" key={failure.count} data-testid="stats-error">
          Not updated: {explain(failure.error).message} The figures shown are those loaded before.
        </p>
      )}
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
