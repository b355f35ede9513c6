// `/app/webhooks`: the signed-in key's webhook endpoints (every endpoint for an admin key; see
// docs/webhooks.md). Add one (its secret is shown once), enable or disable it, delete it after a
// confirmation, and read its last deliveries (which read the endpoint again: its row follows them).
import { useCallback, useEffect, useId, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { CreatedWebhook, Webhook, WebhookEvent } from '../../client/curt-client.ts';
import { explain } from '../api.ts';
import { CopyButton } from '../components/copy-button.tsx';
import { Dialog } from '../components/dialog.tsx';
import { FieldError, invalidProps } from '../components/field-error.tsx';
import { KeyForm } from '../components/key-form.tsx';
import { WebhookDeliveries } from '../components/webhook-deliveries.tsx';
import { formatDateTime, formatNumber } from '../format.ts';
import { useSession } from '../state.ts';

const EVENTS: { event: WebhookEvent; hint: string }[] = [
  { event: 'link.created', hint: 'a link is made' },
  { event: 'link.updated', hint: 'a link is edited, disabled or enabled' },
  { event: 'link.deleted', hint: 'a link is deleted' },
  { event: 'link.clicked', hint: 'people clicked links (a batch about every second)' },
];

const STATE_WORDS: Record<Webhook['state'], string> = { active: 'Active', disabled: 'Disabled', disabled_failing: 'Disabled: kept failing' };

const nameOf = (hook: Webhook): string => hook.description ?? hook.url;

export function WebhooksPage() {
  const { apiKey } = useSession();
  return (
    <section aria-labelledby="webhooks-title">
      <h1 id="webhooks-title">
        Webhooks
      </h1>
      {apiKey === null ? <KeyForm intro="Webhooks belong to an API key: Curt POSTs the events of its links to your URL. Sign in with the key." /> : <WebhookManager />}
    </section>
  );
}

function WebhookManager() {
  const session = useSession();
  const id = useId();
  const [hooks, setHooks] = useState<Webhook[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<CreatedWebhook | null>(null);
  const [deleting, setDeleting] = useState<Webhook | null>(null);
  const [showing, setShowing] = useState<Webhook | null>(null);
  const [rowError, setRowError] = useState<{ id: number; message: string } | null>(null);
  const createdRef = useRef<HTMLHeadingElement>(null);
  const listRef = useRef<HTMLHeadingElement>(null);

  const load = useCallback(async () => {
    try {
      const items = await session.client.listWebhooks();
      setHooks(items);
      setError(null);
      // The deliveries shown follow the endpoint's new state (or close when it is gone).
      setShowing((current) => (current === null ? null : (items.find((h) => h.id === current.id) ?? null)));
    } catch (err) {
      setError(explain(err).message);
    }
  }, [session.client]);
  useEffect(() => {
    void load();
  }, [load]);
  /** An endpoint read again (its deliveries refreshed): its row shows it as it is now. */
  const showEndpoint = useCallback((fresh: Webhook) => {
    setHooks((current) => current?.map((h) => (h.id === fresh.id ? fresh : h)) ?? null);
  }, []);

  // The secret is what matters after adding: focus goes to it, so a screen reader reads it out. A layout
  // effect: as it is drawn, not a frame later (the Add button keeps the focus meanwhile).
  useLayoutEffect(() => {
    if (created !== null) createdRef.current?.focus();
  }, [created]);

  async function toggle(hook: Webhook) {
    setRowError(null);
    try {
      const updated = await session.client.updateWebhook(hook.id, { isActive: !hook.is_active });
      session.announce(`${nameOf(hook)} is ${updated.is_active ? 'enabled: new events are sent to it again' : 'disabled: it gets no events until it is enabled'}.`);
      await load();
    } catch (err) {
      setRowError({ id: hook.id, message: explain(err).message });
    }
  }

  async function remove(hook: Webhook) {
    try {
      await session.client.deleteWebhook(hook.id);
      setDeleting(null);
      if (created?.id === hook.id) setCreated(null);
      session.announce(`Webhook ${nameOf(hook)} deleted.`);
      await load();
      // Its row (and the button that opened the confirmation) is gone: focus goes to the list.
      listRef.current?.focus();
    } catch (err) {
      setDeleting(null);
      setRowError({ id: hook.id, message: explain(err).message });
    }
  }

  return (
    <>
      <p>
        Curt POSTs the events you choose to your URL, signed with the endpoint's secret (the <code>webhook-signature</code> header, in the Standard Webhooks format).{' '}
        <a href="/docs">The API documentation</a> and <code>docs/webhooks.md</code> say how to verify it.
      </p>
      <NewWebhookForm
        onCreated={(hook) => {
          setCreated(hook);
          void load();
        }}
      />

      {created !== null && (
        <div class="card notice" data-testid="new-webhook">
          <h2 tabIndex={-1} ref={createdRef}>
            Webhook added: copy its secret now
          </h2>
          <p>
            <strong>You will not see this secret again.</strong> Curt signs every request to <code>{created.url}</code> with it; keep it where your receiver can verify
            the signatures. If it is lost, delete the endpoint and add it again for a new secret.
          </p>
          <p>
            <code class="secret" id={`${id}-secret`} data-testid="webhook-secret">
              {created.secret}
            </code>
          </p>
          <div class="actions">
            <CopyButton text={created.secret} label="Copy secret" describedBy={`${id}-secret`} />
            <button type="button" class="secondary" onClick={() => setCreated(null)}>
              I have kept it
            </button>
          </div>
        </div>
      )}

      <h2 id={`${id}-list`} tabIndex={-1} ref={listRef}>
        Endpoints
      </h2>
      {error !== null && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {hooks === null && error === null && <p aria-busy="true">Loading your webhooks…</p>}
      {hooks !== null && (
        <div data-testid="webhooks-list">
          {hooks.length === 0 ? (
            <p>No webhook endpoints yet: add one above.</p>
          ) : (
            <div class="table-wrap">
              <table data-testid="webhooks-table" aria-labelledby={`${id}-list`}>
                <thead>
                  <tr>
                    <th scope="col">URL</th>
                    <th scope="col">Events</th>
                    <th scope="col">State</th>
                    <th scope="col" class="num">
                      Failures in a row
                    </th>
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {hooks.map((hook) => (
                    <tr key={hook.id} data-webhook-id={hook.id}>
                      <th scope="row" class="hook-url">
                        {hook.description !== null && <span class="hook-name">{hook.description}</span>}
                        <code>{hook.url}</code>
                        {session.isAdmin === true && <span class="meta">key {hook.owner_key_id}</span>}
                        {rowError?.id === hook.id && (
                          <p class="field-error" role="alert">
                            {rowError.message}
                          </p>
                        )}
                      </th>
                      <td>
                        <ul class="plain">
                          {hook.events.map((event) => (
                            <li key={event}>
                              <code>{event}</code>
                            </li>
                          ))}
                        </ul>
                      </td>
                      <td>
                        <span class={`badge state-${hook.state}`}>{STATE_WORDS[hook.state]}</span>
                        {hook.disabled_at !== null && <span class="meta">since {formatDateTime(hook.disabled_at)}</span>}
                      </td>
                      <td class="num">
                        {formatNumber(hook.consecutive_failures)}
                        {hook.failing_since !== null && <span class="meta">since {formatDateTime(hook.failing_since)}</span>}
                      </td>
                      <td>
                        <div class="row-actions" role="group" aria-label={`Actions for ${nameOf(hook)}`}>
                          <button type="button" class="secondary" aria-pressed={showing?.id === hook.id} onClick={() => setShowing(showing?.id === hook.id ? null : hook)}>
                            Deliveries
                          </button>
                          <button type="button" class="secondary" onClick={() => void toggle(hook)}>
                            {hook.is_active ? 'Disable' : 'Enable'}
                          </button>
                          <button type="button" class="danger" onClick={() => setDeleting(hook)}>
                            Delete
                          </button>
                        </div>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}

      {showing !== null && <WebhookDeliveries key={showing.id} hook={showing} onEndpoint={showEndpoint} />}

      {deleting !== null && (
        <Dialog title={`Delete the webhook to ${deleting.url}?`} onClose={() => setDeleting(null)}>
          <p>Curt stops sending it events at once, and drops the events still waiting for it and its delivery log. This cannot be undone.</p>
          <div class="actions">
            <button type="button" class="danger" onClick={() => void remove(deleting)}>
              Delete webhook
            </button>
            <button type="button" class="secondary" autofocus onClick={() => setDeleting(null)}>
              Keep it
            </button>
          </div>
        </Dialog>
      )}
    </>
  );
}

function NewWebhookForm({ onCreated }: { onCreated: (hook: CreatedWebhook) => void }) {
  const session = useSession();
  const id = useId();
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<WebhookEvent[]>(['link.created']);
  const [errors, setErrors] = useState<{ url?: string; events?: string; form?: string }>({});
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    // Waiting: the button is aria-disabled, not disabled, so it keeps the focus (a form error leaves it there).
    if (busy) return;
    if (url.trim() === '') return fail({ url: 'Enter the URL Curt should POST events to.' });
    if (events.length === 0) return fail({ events: 'Choose at least one event.' });
    setBusy(true);
    try {
      const hook = await session.client.createWebhook(url.trim(), events, description.trim() === '' ? {} : { description: description.trim() });
      setUrl('');
      setDescription('');
      setErrors({});
      session.announce(`Webhook to ${hook.url} added. Copy its secret now: it is shown only once.`);
      onCreated(hook);
    } catch (err) {
      const explained = explain(err);
      fail(explained.field === 'url' ? { url: explained.message } : { form: explained.message });
    } finally {
      setBusy(false);
    }
  }

  function fail(found: typeof errors) {
    setErrors(found);
    session.announce(`The webhook was not added: ${found.url ?? found.events ?? found.form ?? ''}`);
    // The first field in error takes the focus, so its message is read with it.
    const field = found.url !== undefined ? `${id}-url` : found.events !== undefined ? `${id}-event-0` : null;
    if (field !== null) setTimeout(() => document.getElementById(field)?.focus(), 0);
  }

  function choose(name: WebhookEvent, on: boolean) {
    setEvents((current) => (on ? [...current, name] : current.filter((e) => e !== name)));
    setErrors((current) => ({ ...current, events: undefined }));
  }

  return (
    <form class="card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Add an endpoint</h2>
      <label for={`${id}-url`}>Endpoint URL</label>
      <input
        id={`${id}-url`}
        name="url"
        type="url"
        inputMode="url"
        autocomplete="off"
        spellcheck={false}
        placeholder="https://hooks.example.com/curt"
        value={url}
        onInput={(e) => {
          setUrl(e.currentTarget.value);
          setErrors((current) => ({ ...current, url: undefined }));
        }}
        {...invalidProps(`${id}-url-error`, errors.url, `${id}-url-hint`)}
      />
      <p class="hint" id={`${id}-url-hint`}>
        An http or https address on a public network (unless the operator allows private ones).
      </p>
      <FieldError id={`${id}-url-error`} message={errors.url} />
      <fieldset class="events" aria-describedby={errors.events === undefined ? undefined : `${id}-events-error`}>
        <legend>Events</legend>
        {EVENTS.map(({ event, hint }, i) => (
          <div class="check" key={event}>
            <input id={`${id}-event-${i}`} type="checkbox" name="events" value={event} checked={events.includes(event)} onChange={(e) => choose(event, e.currentTarget.checked)} />
            <label for={`${id}-event-${i}`}>
              <code>{event}</code> <span class="hint">{hint}</span>
            </label>
          </div>
        ))}
        <FieldError id={`${id}-events-error`} message={errors.events} />
      </fieldset>
      <label for={`${id}-description`}>Description (optional)</label>
      <input
        id={`${id}-description`}
        name="description"
        type="text"
        autocomplete="off"
        maxLength={200}
        value={description}
        placeholder="e.g. CRM sync"
        onInput={(e) => setDescription(e.currentTarget.value)}
      />
      <FieldError id={`${id}-form-error`} message={errors.form} />
      <button type="submit" aria-disabled={busy ? 'true' : undefined}>
        {busy ? 'Adding…' : 'Add endpoint'}
      </button>
    </form>
  );
}
