// `/app/links`: the links of the signed-in key (every link for an admin key), searched, filtered and
// sorted by the API (GET /urls?q=&state=&tag=&sort=&order=), a page at a time. Per link: its tags
// (each a button that filters by it), copy, QR code, stats, edit the target, the expiry, the tags, the
// visit limit and query forwarding, disable or enable, delete after a confirmation. For all of them:
// Import / Export.
import { useCallback, useEffect, useId, useState } from 'preact/hooks';
import type { Link, LinkSort, LinkState } from '../../client/curt-client.ts';
import { explain } from '../api.ts';
import { CopyButton } from '../components/copy-button.tsx';
import { Dialog } from '../components/dialog.tsx';
import { ImportExport } from '../components/import-export.tsx';
import { KeyForm } from '../components/key-form.tsx';
import { LinkEditor } from '../components/link-editor.tsx';
import { QrCode } from '../components/qr-code.tsx';
import { formatDateTime, formatNumber, STATE_LABELS, visitsText } from '../format.ts';
import { onLinkClick, statsPath } from '../router.ts';
import { useSession } from '../state.ts';
import { parseTags } from '../tags.ts';

const PAGE_SIZE = 20;
const STATES: (LinkState | '')[] = ['', 'active', 'disabled', 'expired', 'used'];
/** The orders the page offers: a sort and a direction each. */
const ORDERS: { value: string; label: string; sort: LinkSort; order: 'desc' | 'asc' }[] = [
  { value: 'created-desc', label: 'Newest first', sort: 'created', order: 'desc' },
  { value: 'created-asc', label: 'Oldest first', sort: 'created', order: 'asc' },
  { value: 'clicks-desc', label: 'Most clicks', sort: 'clicks', order: 'desc' },
  { value: 'clicks-asc', label: 'Fewest clicks', sort: 'clicks', order: 'asc' },
  { value: 'last_click-desc', label: 'Clicked most recently', sort: 'last_click', order: 'desc' },
  { value: 'last_click-asc', label: 'Clicked least recently', sort: 'last_click', order: 'asc' },
];

interface Filters {
  q: string;
  state: LinkState | '';
  tags: string[];
  order: string;
}
const NO_FILTERS: Filters = { q: '', state: '', tags: [], order: 'created-desc' };

type Action = { kind: 'qr' | 'edit' | 'delete'; link: Link } | { kind: 'porting' } | null;

export function LinksPage() {
  const { apiKey } = useSession();
  return (
    <section aria-labelledby="links-title">
      <h1 id="links-title">My links</h1>
      {apiKey === null ? <KeyForm intro="Your links are those made with your API key. Sign in with it to see and manage them." /> : <LinkList />}
    </section>
  );
}

function sortOf(value: string): { sort?: LinkSort; order?: 'desc' | 'asc' } {
  const chosen = ORDERS.find((o) => o.value === value);
  return chosen === undefined || chosen.value === 'created-desc' ? {} : { sort: chosen.sort, order: chosen.order };
}

function LinkList() {
  const session = useSession();
  const id = useId();
  const [query, setQuery] = useState('');
  const [state, setState] = useState<LinkState | ''>('');
  const [tagText, setTagText] = useState('');
  const [order, setOrder] = useState('created-desc');
  const [applied, setApplied] = useState<Filters>(NO_FILTERS);
  /** Cursors of the pages before this one: the way back. */
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<{ items: Link[]; next: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [action, setAction] = useState<Action>(null);
  const [rowError, setRowError] = useState<{ code: string; message: string } | null>(null);

  const cursor = cursors[cursors.length - 1];
  const load = useCallback(async () => {
    try {
      const result = await session.client.list({
        limit: PAGE_SIZE,
        ...(cursor === undefined ? {} : { cursor }),
        ...(applied.q === '' ? {} : { q: applied.q }),
        ...(applied.state === '' ? {} : { state: applied.state }),
        ...(applied.tags.length === 0 ? {} : { tags: applied.tags }),
        ...sortOf(applied.order),
      });
      setPage({ items: result.items, next: result.next_cursor });
      setError(null);
      return result.items.length;
    } catch (err) {
      setError(explain(err).message);
      return null;
    }
  }, [session.client, cursor, applied]);

  useEffect(() => {
    void load();
  }, [load]);

  function apply(filters: Filters) {
    setCursors([undefined]);
    setApplied(filters);
    session.announce('Searching…');
  }

  function search(event: Event) {
    event.preventDefault();
    apply({ q: query.trim(), state, tags: parseTags(tagText), order });
  }

  /** A tag's chip filters by that tag alone, keeping the rest of the form. */
  function showTag(tag: string) {
    setTagText(tag);
    apply({ ...applied, tags: [tag] });
  }

  const filtered = applied.q !== '' || applied.state !== '' || applied.tags.length > 0;

  useEffect(() => {
    if (page !== null && filtered) {
      session.announce(`${page.items.length}${page.next === null ? '' : '+'} ${page.items.length === 1 ? 'link' : 'links'} found.`);
    }
  }, [page]);

  async function toggle(link: Link) {
    setRowError(null);
    try {
      const updated = await session.client.update(link.short_code, { isActive: !link.is_active });
      session.announce(`${link.short_code} is ${updated.is_active ? 'enabled: it redirects again' : 'disabled: it answers "disabled" instead of redirecting'}.`);
      await load();
    } catch (err) {
      setRowError({ code: link.short_code, message: explain(err).message });
    }
  }

  async function remove(link: Link) {
    try {
      await session.client.delete(link.short_code);
      setAction(null);
      session.announce(`${link.short_code} deleted.`);
      await load();
    } catch (err) {
      setAction(null);
      setRowError({ code: link.short_code, message: explain(err).message });
    }
  }

  return (
    <>
      <div class="page-actions">
        <button type="button" class="secondary" onClick={() => setAction({ kind: 'porting' })}>
          Import / Export
        </button>
      </div>
      <form class="filters" role="search" onSubmit={search} aria-label="Search links">
        <div>
          <label for={`${id}-q`}>Search</label>
          <input id={`${id}-q`} type="search" name="q" minLength={3} value={query} placeholder="code or address" onInput={(e) => setQuery(e.currentTarget.value)} />
        </div>
        <div>
          <label for={`${id}-state`}>State</label>
          <select id={`${id}-state`} name="state" value={state} onChange={(e) => setState(e.currentTarget.value as LinkState | '')}>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s === '' ? 'Any state' : STATE_LABELS[s]}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for={`${id}-tags`}>Tags</label>
          <input id={`${id}-tags`} type="text" name="tag" value={tagText} placeholder="all of: a, b" autocomplete="off" onInput={(e) => setTagText(e.currentTarget.value)} />
        </div>
        <div>
          <label for={`${id}-order`}>Sort</label>
          <select id={`${id}-order`} name="sort" value={order} onChange={(e) => setOrder(e.currentTarget.value)}>
            {ORDERS.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Search</button>
      </form>

      {error !== null && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {page === null && error === null && <p aria-busy="true">Loading your links…</p>}
      {page !== null && page.items.length === 0 && <p>{filtered ? 'No link matches.' : 'No links yet: shorten one on the home page.'}</p>}
      {page !== null && page.items.length > 0 && (
        <ul class="links" data-testid="links">
          {page.items.map((link) => (
            <li key={link.short_code} class="link-row card" data-code={link.short_code}>
              <div class="link-main">
                <a class="code" href={link.short_url}>
                  {link.short_url.replace(/^https?:\/\//, '')}
                </a>
                <span class={`badge state-${link.state}`}>{STATE_LABELS[link.state]}</span>
                {link.has_password && (
                  <span class="lock" role="img" aria-label="Protected by a password" title="Protected by a password" data-testid="lock">
                    <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">
                      <path fill="currentColor" d="M4 7V5a4 4 0 1 1 8 0v2h.5A1.5 1.5 0 0 1 14 8.5v5a1.5 1.5 0 0 1-1.5 1.5h-9A1.5 1.5 0 0 1 2 13.5v-5A1.5 1.5 0 0 1 3.5 7H4Zm2 0h4V5a2 2 0 1 0-4 0v2Z" />
                    </svg>
                  </span>
                )}
                <p class="target" title={link.original_url}>
                  {link.original_url}
                </p>
                <p class="meta">
                  {formatNumber(link.clicks)} {link.clicks === 1 ? 'click' : 'clicks'} · made {formatDateTime(link.created_at)} · expires {formatDateTime(link.expires_at)}
                  {link.is_one_time ? ' · one-time' : ''}
                  {link.max_visits === null || link.is_one_time ? '' : ` · ${visitsText(link)} visits`}
                  {link.forward_query ? ' · forwards query' : ''}
                </p>
                {link.tags.length > 0 && (
                  <ul class="tags" aria-label={`Tags of ${link.short_code}`}>
                    {link.tags.map((tag) => (
                      <li key={tag}>
                        <button type="button" class="tag" aria-label={`Show links tagged ${tag}`} aria-pressed={applied.tags.length === 1 && applied.tags[0] === tag} onClick={() => showTag(tag)}>
                          {tag}
                        </button>
                      </li>
                    ))}
                  </ul>
                )}
                {rowError?.code === link.short_code && (
                  <p class="field-error" role="alert">
                    {rowError.message}
                  </p>
                )}
              </div>
              <div class="link-actions" role="group" aria-label={`Actions for ${link.short_code}`}>
                <CopyButton text={link.short_url} label="Copy" />
                <button type="button" class="secondary" onClick={() => setAction({ kind: 'qr', link })}>
                  QR code
                </button>
                <a class="button secondary" href={statsPath(link.short_code)} onClick={onLinkClick}>
                  Stats
                </a>
                <button type="button" class="secondary" onClick={() => setAction({ kind: 'edit', link })}>
                  Edit
                </button>
                <button type="button" class="secondary" onClick={() => void toggle(link)}>
                  {link.is_active ? 'Disable' : 'Enable'}
                </button>
                <button type="button" class="danger" onClick={() => setAction({ kind: 'delete', link })}>
                  Delete
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      {page !== null && (cursors.length > 1 || page.next !== null) && (
        <nav class="pager" aria-label="Pages">
          <button type="button" class="secondary" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
            Previous
          </button>
          <span>Page {cursors.length}</span>
          <button type="button" class="secondary" disabled={page.next === null} onClick={() => page.next !== null && setCursors([...cursors, page.next])}>
            Next
          </button>
        </nav>
      )}

      {action?.kind === 'qr' && (
        <Dialog title={`QR code of ${action.link.short_code}`} onClose={() => setAction(null)}>
          <QrCode code={action.link.short_code} />
        </Dialog>
      )}
      {action?.kind === 'porting' && (
        <Dialog title="Import / Export" onClose={() => setAction(null)}>
          <ImportExport onImported={() => void load()} />
        </Dialog>
      )}
      {action?.kind === 'edit' && (
        <Dialog title={`Edit ${action.link.short_code}`} onClose={() => setAction(null)}>
          <LinkEditor
            link={action.link}
            onSaved={(updated) => {
              setAction(null);
              session.announce(`${updated.short_code} saved.`);
              void load();
            }}
            onCancel={() => setAction(null)}
          />
        </Dialog>
      )}
      {action?.kind === 'delete' && (
        <Dialog title={`Delete ${action.link.short_code}?`} onClose={() => setAction(null)}>
          <p>
            <strong>{action.link.short_url}</strong> will stop working at once, for everyone who has it, and its stats are deleted with it. This cannot be undone.
          </p>
          <div class="actions">
            <button type="button" class="danger" onClick={() => void remove(action.link)}>
              Delete for good
            </button>
            <button type="button" class="secondary" autofocus onClick={() => setAction(null)}>
              Keep it
            </button>
          </div>
        </Dialog>
      )}
    </>
  );
}
