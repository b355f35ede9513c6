// The last deliveries of one webhook endpoint (GET /webhooks/{id}/deliveries), newest first: each
// event's type, attempts, last status or error, time and state; Refresh, and older pages on demand.
// The endpoint is read again with its first page (GET /webhooks/{id}), and handed to `onEndpoint`, so
// that its row (state, failures in a row) says what the deliveries say.
// Busy, the buttons are aria-disabled, not disabled: a disabled button drops the focus to <body>.
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import type { Webhook, WebhookDelivery } from '../../client/curt-client.ts';
import { explain } from '../api.ts';
import { formatDateTime, formatNumber } from '../format.ts';
import { focusIsLost } from '../router.ts';
import { useSession } from '../state.ts';

const PAGE_SIZE = 20;

function stateWords(d: WebhookDelivery): string {
  switch (d.state) {
    case 'delivered':
      return 'Delivered';
    case 'failed':
      return 'Given up';
    case 'pending':
      return d.attempts === 0 ? 'Waiting' : `Retrying ${formatDateTime(d.next_attempt_at, 'soon')}`;
  }
}

function outcome(d: WebhookDelivery): string {
  const parts = [d.last_status === null ? null : `HTTP ${d.last_status}`, d.last_error].filter((p) => p !== null);
  return parts.length === 0 ? '—' : parts.join(': ');
}

export function WebhookDeliveries({ hook, onEndpoint }: { hook: Webhook; onEndpoint: (hook: Webhook) => void }) {
  const session = useSession();
  const id = useId();
  const [items, setItems] = useState<WebhookDelivery[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const headingRef = useRef<HTMLHeadingElement>(null);

  const load = useCallback(
    async (cursor?: string) => {
      setBusy(true);
      try {
        const [page, endpoint] = await Promise.all([
          session.client.webhookDeliveries(hook.id, { limit: PAGE_SIZE, ...(cursor === undefined ? {} : { cursor }) }),
          cursor === undefined ? session.client.getWebhook(hook.id) : null,
        ]);
        if (endpoint !== null) onEndpoint(endpoint);
        setItems((current) => (cursor === undefined || current === null ? page.items : [...current, ...page.items]));
        setNext(page.next_cursor);
        setError(null);
        return page.items.length;
      } catch (err) {
        setError(explain(err).message);
        return null;
      } finally {
        setBusy(false);
      }
    },
    // onEndpoint must not change at each render of the list: that would reload the deliveries each time.
    [session.client, hook.id, onEndpoint],
  );

  useEffect(() => {
    void load();
    // Opened from the endpoint's row: focus moves here, where the log is.
    headingRef.current?.focus();
  }, [load]);

  async function refresh() {
    if (busy) return;
    const count = await load();
    if (count !== null) session.announce(`${count} ${count === 1 ? 'delivery' : 'deliveries'} shown.`);
  }

  /** The next page, added under the rows shown; the last one has no button after it: the focus goes to the heading. */
  async function older(cursor: string) {
    if (busy) return;
    const count = await load(cursor);
    if (count !== null) session.announce(`${count} older ${count === 1 ? 'delivery' : 'deliveries'} shown.`);
    setTimeout(() => {
      if (focusIsLost()) headingRef.current?.focus();
    }, 0);
  }

  return (
    <section class="card deliveries" aria-labelledby={`${id}-title`} data-testid="webhook-deliveries">
      <div class="section-head">
        <h2 id={`${id}-title`} tabIndex={-1} ref={headingRef}>
          Deliveries to <span class="hook-target">{hook.url}</span>
        </h2>
        <button type="button" class="secondary" onClick={() => void refresh()} aria-disabled={busy ? 'true' : undefined}>
          Refresh
        </button>
      </div>
      {error !== null && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {items === null && error === null && <p aria-busy="true">Loading the deliveries…</p>}
      {items !== null && items.length === 0 && <p>No events for this endpoint yet. Events are written for it from when it was added, while it is active.</p>}
      {items !== null && items.length > 0 && (
        <div class="table-wrap">
          <table data-testid="deliveries-table">
            <caption>Newest first</caption>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">State</th>
                <th scope="col" class="num">
                  Attempts
                </th>
                <th scope="col">Last status or error</th>
                <th scope="col">Time</th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr key={d.id} data-event-id={d.event_id}>
                  <th scope="row">
                    <code>{d.type}</code>
                  </th>
                  <td>
                    <span class={`badge state-${d.state}`}>{stateWords(d)}</span>
                  </td>
                  <td class="num">{formatNumber(d.attempts)}</td>
                  <td class="outcome">{outcome(d)}</td>
                  <td>{formatDateTime(d.last_attempt_at ?? d.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next !== null && (
        <button type="button" class="secondary" onClick={() => void older(next)} aria-disabled={busy ? 'true' : undefined}>
          Older deliveries
        </button>
      )}
    </section>
  );
}
