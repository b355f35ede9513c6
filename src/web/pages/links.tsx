// `/app/links`: the links of the signed-in key (every link for an admin key), searched, filtered and
// sorted by the API (GET /urls?q=&state=&tag=&sort=&order=), a page at a time. Per link: its tags
// (each a button that filters by it), copy, QR code, stats, edit the target, the expiry, the tags, the
// visit limit and query forwarding, disable or enable, delete after a confirmation. For all of them:
// Import / Export. The filters applied are the address's query string (links-address.ts): each
// change is a new history entry, so Back undoes it, and a reload or a shared address shows the same
// list. The page of the list is kept in the history entry, not in the address (a cursor is a position
// in this key's list, nothing to share): Back from a link's stats and a reload come back to it.
//
// Focus: no action leaves it on <body>. A deleted row's place goes to the row after it (the one before
// it when it was the last; the page before when it was the page's only row); Next onto the last page
// (Previous onto the first) leaves it on the other pager button; a refused filter (a search text too
// short, a bad tag) puts it on its field, and the list is not shown under it as if it were the
// filter's result. Back or Forward to other filters keeps the focus where it was, or puts it on the
// list when that went with the rows.
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import { LINK_STATES, type Link, type LinkSort, type LinkState } from '../../client/curt-client.ts';
import { explain } from '../api.ts';
import { CopyButton } from '../components/copy-button.tsx';
import { Dialog } from '../components/dialog.tsx';
import { ImportExport } from '../components/import-export.tsx';
import { FieldError, invalidProps } from '../components/field-error.tsx';
import { KeyForm } from '../components/key-form.tsx';
import { LinkEditor } from '../components/link-editor.tsx';
import { QrCode } from '../components/qr-code.tsx';
import { formatDateTime, formatNumber, STATE_LABELS, visitsText } from '../format.ts';
import { keyPrefixOf } from '../../client/api-key.ts';
import { filtersFromSearch, filtersSearch, listFilter, NO_FILTERS, pagesOf, searchProblem, type Filters, type PagesEntry } from '../links-address.ts';
import { focusElement, focusIsLost, onLinkClick, statsPath } from '../router.ts';
import { parseRoute } from '../routes.ts';
import { useSession } from '../state.ts';
import { distinctTags, parseTags, tagsProblem } from '../tags.ts';

const PAGE_SIZE = 20;
/** The orders the page offers: a sort and a direction each. */
const ORDERS: { label: string; sort: LinkSort; order: 'desc' | 'asc' }[] = [
  { label: 'Newest first', sort: 'created', order: 'desc' },
  { label: 'Oldest first', sort: 'created', order: 'asc' },
  { label: 'Most clicks', sort: 'clicks', order: 'desc' },
  { label: 'Fewest clicks', sort: 'clicks', order: 'asc' },
  { label: 'Clicked most recently', sort: 'last_click', order: 'desc' },
  { label: 'Clicked least recently', sort: 'last_click', order: 'asc' },
];
/** An order as the Sort select's value. */
const orderValue = ({ sort, order }: Pick<Filters, 'sort' | 'order'>): string => `${sort}-${order}`;
/** The Sort select's value as a sort and an order (each option's value is one of ORDERS). */
const orderOf = (value: string): Pick<Filters, 'sort' | 'order'> => ORDERS.find((o) => orderValue(o) === value) ?? NO_FILTERS;

/** A filter the server would refuse, found before searching: said under its field instead. */
interface Refusal {
  field: 'q' | 'tag';
  message: string;
}

/** The first filter, in the form's order, that the server would refuse (`q` trimmed); null when none. */
function refusalOf(q: string, tagProblem: string | null): Refusal | null {
  const short = searchProblem(q);
  if (short !== null) return { field: 'q', message: short };
  return tagProblem === null ? null : { field: 'tag', message: tagProblem };
}

/** What the address and its history entry say to show: the filters (one refused, said instead) and the page of this key's list. */
function shownByAddress(keyPrefix: string) {
  const { filters, tagProblem } = filtersFromSearch(location.search);
  return { filters, refusal: refusalOf(filters.q, tagProblem), pages: pagesOf(history.state, keyPrefix) };
}

type Action = { kind: 'qr' | 'edit' | 'delete'; link: Link } | { kind: 'porting' } | null;

/** Where the focus goes once the next page of links is drawn ('list': there, only if it was lost). */
type FocusAfterLoad = { row: number } | { pager: 'previous' | 'next' } | 'list' | null;

export function LinksPage() {
  const { apiKey } = useSession();
  return (
    <section aria-labelledby="links-title">
      <h1 id="links-title">
        My links
      </h1>
      {apiKey === null ? <KeyForm intro="Your links are those made with your API key. Sign in with it to see and manage them." /> : <LinkList key={apiKey} />}
    </section>
  );
}

function LinkList() {
  const session = useSession();
  const id = useId();
  // Mounted once a key (LinksPage keys it by the key): its cursors are places in that key's list only.
  const keyPrefix = keyPrefixOf(session.apiKey ?? '');
  const [start] = useState(() => shownByAddress(keyPrefix));
  const [query, setQuery] = useState(start.filters.q);
  const [state, setState] = useState<LinkState | ''>(start.filters.state);
  const [tagText, setTagText] = useState(start.filters.tags.join(', '));
  const [order, setOrder] = useState(orderValue(start.filters));
  const [applied, setApplied] = useState<Filters>(start.filters);
  /** Cursors of the pages before this one: the way back. */
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined, ...start.pages]);
  const [page, setPage] = useState<{ items: Link[]; next: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [action, setAction] = useState<Action>(null);
  const [rowError, setRowError] = useState<{ code: string; message: string } | null>(null);
  /** What is wrong with the search text or the tags typed in the filter, said under that field; nothing was searched. */
  const [fieldError, setFieldError] = useState<Refusal | null>(start.refusal);
  /** A search was refused: the list shown before is not its result, so it is not shown until the next search. */
  const [refused, setRefused] = useState(start.refusal !== null);
  const focusAfterLoad = useRef<FocusAfterLoad>(null);
  /** The address's query string the list shows. */
  const shownSearch = useRef(location.search);
  const queryRef = useRef<HTMLInputElement>(null);
  const tagsRef = useRef<HTMLInputElement>(null);
  const listRef = useRef<HTMLUListElement>(null);
  const emptyRef = useRef<HTMLParagraphElement>(null);
  const errorRef = useRef<HTMLParagraphElement>(null);
  const previousRef = useRef<HTMLButtonElement>(null);
  const nextRef = useRef<HTMLButtonElement>(null);

  /** How many loads were started: an answer to any but the last is dropped (Back and Forward in a row). */
  const loads = useRef(0);
  const cursor = cursors[cursors.length - 1];
  const load = useCallback(async () => {
    const asked = ++loads.current;
    try {
      const result = await session.client.list({
        limit: PAGE_SIZE,
        ...(cursor === undefined ? {} : { cursor }),
        ...listFilter(applied),
      });
      if (asked !== loads.current) return null;
      setPage({ items: result.items, next: result.next_cursor });
      setError(null);
      return result.items.length;
    } catch (err) {
      if (asked !== loads.current) return null;
      // The list shown before is not the answer to this request: it goes, and the error says why.
      setPage(null);
      setError(explain(err).message);
      return null;
    }
  }, [session.client, cursor, applied]);

  // A refused filter in the address (a search text too short, a bad tag) is not searched: the message
  // under its field says so.
  useEffect(() => {
    if (!refused) void load();
  }, [load, refused]);

  /** Lists `filters` from the first page, or from the page after the cursors `pages`. */
  function list(filters: Filters, pages: string[]) {
    setFieldError(null);
    setRefused(false);
    setError(null);
    setCursors([undefined, ...pages]);
    setApplied(filters);
  }

  /**
   * A refused filter is said under its field, which takes the focus, and the list shown so far (not
   * filtered by it) is not left under the message as if it were the result.
   */
  function refuse(refusal: Refusal) {
    setFieldError(refusal);
    setRefused(true);
    session.announce(`Not searched: ${refusal.message}`);
    (refusal.field === 'q' ? queryRef : tagsRef).current?.focus();
  }

  /** Filters applied by the person: a new history entry (none when the address is already theirs). */
  function apply(filters: Filters) {
    const search = filtersSearch(filters);
    if (search !== location.search) history.pushState(null, '', `/app/links${search}`);
    shownSearch.current = location.search;
    list(filters, []);
    session.announce('Searching…');
  }

  // Back or Forward to another entry of this page (the route, a path, is the same: the app leaves
  // this page mounted and the focus alone): the form and the list show that entry's filters.
  useEffect(() => {
    const restore = () => {
      // Also called as the app leaves for another page, and for a move to a fragment (Skip to content),
      // which is an entry of its own with the same filters: nothing to show then.
      if (parseRoute(location.pathname).page !== 'links' || location.search === shownSearch.current) return;
      shownSearch.current = location.search;
      const shown = shownByAddress(keyPrefix);
      setQuery(shown.filters.q);
      setState(shown.filters.state);
      setTagText(shown.filters.tags.join(', '));
      setOrder(orderValue(shown.filters));
      if (shown.refusal !== null) return refuse(shown.refusal);
      focusAfterLoad.current = 'list';
      list(shown.filters, shown.pages);
    };
    addEventListener('popstate', restore);
    return () => removeEventListener('popstate', restore);
  }, []);

  // The page shown is kept in the history entry, for Back from a link's stats and a reload.
  useEffect(() => {
    const entry: PagesEntry = { pages: cursors.slice(1).filter((c): c is string => c !== undefined), keyPrefix };
    history.replaceState(entry, '');
  }, [cursors]);

  /** The refusal said under `field`, if it is that field's. */
  const errorOf = (field: Refusal['field']): string | undefined => (fieldError?.field === field ? fieldError.message : undefined);
  /** Typing in a field takes back what was said under it, and only that. */
  const clearErrorOf = (field: Refusal['field']): void => setFieldError((current) => (current?.field === field ? null : current));

  function search(event: Event) {
    event.preventDefault();
    const q = query.trim();
    // Each tag once, as the home page and the editor send them: the server counts them as given.
    const tags = distinctTags(parseTags(tagText));
    // Checked as the server would: the text as sent (trimmed), the tags.
    const refusal = refusalOf(q, tagsProblem(tags));
    if (refusal !== null) return refuse(refusal);
    const { sort, order: direction } = orderOf(order);
    apply({ q, state, tags, sort, order: direction });
  }

  /** A tag's chip filters by that tag alone, keeping the rest of the form. */
  function showTag(tag: string) {
    setTagText(tag);
    apply({ ...applied, tags: [tag] });
  }

  /** To another page of the list; the focus stays on the pager (the other button when this one ends). */
  function turn(to: 'previous' | 'next') {
    if (page === null) return;
    if (to === 'previous' && cursors.length > 1) setCursors(cursors.slice(0, -1));
    else if (to === 'next' && page.next !== null) setCursors([...cursors, page.next]);
    else return;
    focusAfterLoad.current = { pager: to };
  }

  /**
   * Reloads after the row at `index` changed or went (deleted, or out of the filter): when the page is
   * then empty, the page before it is shown; the focus, if the row's button took it away, goes to the
   * row now in its place.
   */
  async function reloadAfterRow(index: number) {
    focusAfterLoad.current = { row: index };
    const count = await load();
    if (count === 0) setCursors((current) => (current.length > 1 ? current.slice(0, -1) : current));
  }

  // Once the list is drawn: the focus where the last action wanted it, if that action's button is gone.
  useEffect(() => {
    const wanted = focusAfterLoad.current;
    if (wanted === null) return;
    if (error !== null) {
      focusAfterLoad.current = null;
      if (focusIsLost()) focusElement(errorRef.current);
      return;
    }
    if (page === null) return;
    if (wanted === 'list') {
      focusAfterLoad.current = null;
      if (focusIsLost()) focusElement(listRef.current ?? emptyRef.current);
      return;
    }
    if ('pager' in wanted) {
      focusAfterLoad.current = null;
      session.announce(`Page ${cursors.length}: ${page.items.length} ${page.items.length === 1 ? 'link' : 'links'}.`);
      const same = wanted.pager === 'next' ? nextRef.current : previousRef.current;
      const other = wanted.pager === 'next' ? previousRef.current : nextRef.current;
      // Next onto the last page is disabled there (Previous onto the first): its neighbour takes the focus.
      if (same !== null && !same.disabled && document.activeElement === same) return;
      if (other !== null && !other.disabled) other.focus();
      else focusElement(listRef.current ?? emptyRef.current);
      return;
    }
    // An empty page past the first is about to step back: wait for the page before it.
    if (page.items.length === 0 && cursors.length > 1) return;
    focusAfterLoad.current = null;
    if (!focusIsLost()) return;
    const rows = listRef.current?.children;
    if (rows === undefined || rows.length === 0) focusElement(emptyRef.current);
    else focusElement(rows[Math.min(wanted.row, rows.length - 1)] as HTMLElement);
  }, [page, error]);

  const filtered = applied.q !== '' || applied.state !== '' || applied.tags.length > 0;

  useEffect(() => {
    if (page !== null && filtered) {
      session.announce(`${page.items.length}${page.next === null ? '' : '+'} ${page.items.length === 1 ? 'link' : 'links'} found.`);
    }
  }, [page]);

  const indexOf = (link: Link): number => page?.items.findIndex((l) => l.short_code === link.short_code) ?? 0;

  async function toggle(link: Link) {
    setRowError(null);
    try {
      const updated = await session.client.update(link.short_code, { isActive: !link.is_active });
      session.announce(`${link.short_code} is ${updated.is_active ? 'enabled: it redirects again' : 'disabled: it answers "disabled" instead of redirecting'}.`);
      // Out of a state filter, the row (and the button with the focus) leaves the list.
      await reloadAfterRow(indexOf(link));
    } catch (err) {
      setRowError({ code: link.short_code, message: explain(err).message });
    }
  }

  async function remove(link: Link) {
    try {
      await session.client.delete(link.short_code);
      setAction(null);
      session.announce(`${link.short_code} deleted.`);
      await reloadAfterRow(indexOf(link));
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
      {/* noValidate: the form's own checks say what is wrong under the field, as every form of the app does. */}
      <form class="filters" role="search" onSubmit={search} aria-label="Search links" noValidate>
        <div>
          <label for={`${id}-q`}>Search</label>
          <input
            ref={queryRef}
            id={`${id}-q`}
            type="search"
            name="q"
            value={query}
            placeholder="code or address"
            onInput={(e) => {
              setQuery(e.currentTarget.value);
              clearErrorOf('q');
            }}
            {...invalidProps(`${id}-q-error`, errorOf('q'))}
          />
          <FieldError id={`${id}-q-error`} message={errorOf('q')} />
        </div>
        <div>
          <label for={`${id}-state`}>State</label>
          <select id={`${id}-state`} name="state" value={state} onChange={(e) => setState(e.currentTarget.value as LinkState | '')}>
            <option value="">Any state</option>
            {LINK_STATES.map((s) => (
              <option key={s} value={s}>
                {STATE_LABELS[s]}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for={`${id}-tags`}>Tags</label>
          <input
            ref={tagsRef}
            id={`${id}-tags`}
            type="text"
            name="tag"
            value={tagText}
            placeholder="all of: a, b"
            autocomplete="off"
            onInput={(e) => {
              setTagText(e.currentTarget.value);
              clearErrorOf('tag');
            }}
            {...invalidProps(`${id}-tags-error`, errorOf('tag'))}
          />
          <FieldError id={`${id}-tags-error`} message={errorOf('tag')} />
        </div>
        <div>
          <label for={`${id}-order`}>Sort</label>
          <select id={`${id}-order`} name="sort" value={order} onChange={(e) => setOrder(e.currentTarget.value)}>
            {ORDERS.map((o) => (
              <option key={orderValue(o)} value={orderValue(o)}>
                {o.label}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Search</button>
      </form>

      {refused ? (
        <p data-testid="links-refused">No links shown: the search above was refused, so nothing was searched. Correct it and search again.</p>
      ) : (
        <>
          {error !== null && (
            <p class="error" role="alert" ref={errorRef}>
              {error}
            </p>
          )}
          {page === null && error === null && <p aria-busy="true">Loading your links…</p>}
          {page !== null && page.items.length === 0 && <p ref={emptyRef}>{filtered ? 'No link matches.' : 'No links yet: shorten one on the home page.'}</p>}
          {page !== null && page.items.length > 0 && (
            <ul class="links" data-testid="links" ref={listRef} aria-label="Your links">
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
              <button type="button" class="secondary" ref={previousRef} disabled={cursors.length <= 1} onClick={() => turn('previous')}>
                Previous
              </button>
              <span>Page {cursors.length}</span>
              <button type="button" class="secondary" ref={nextRef} disabled={page.next === null} onClick={() => turn('next')}>
                Next
              </button>
            </nav>
          )}
        </>
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
              // Edited out of the filter, its row leaves the list with the Edit button the focus returned to.
              void reloadAfterRow(indexOf(updated));
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
