// Edit what the API lets change on a link (PATCH /urls/{code}): its target, its expiry, its tags, its
// visit limit, query forwarding and password. A new target passes the same checks as at creation; its
// errors show under the field they concern, which takes the focus. Only what changed is sent; with
// nothing changed, Save closes the editor and sends nothing. Save stays focusable while it waits
// (aria-disabled: a disabled button drops the focus to <body>), and an error moves the focus to the field
// it concerns, or to the message when it concerns the whole form. A new expiry in the past is allowed
// (the API allows ending a link that way) but asked about first: a warning under the field as soon as
// the date is past, and the first Save stops on it; Save again ends the link at once.
import { useId, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Link, LinkPatch } from '../../client/curt-client.ts';
import { explain, passwordProblem } from '../api.ts';
import { formatNumber, parseVisitLimit, toLocalInput } from '../format.ts';
import { useSession } from '../state.ts';
import { distinctTags, parseTags, tagsProblem, TAGS_HINT } from '../tags.ts';
import { FieldError, invalidProps } from './field-error.tsx';

const PAST_WARNING = 'This date is in the past: the link stops redirecting at once.';

type Errors = { url?: string; expiry?: string; tags?: string; visits?: string; password?: string; form?: string };
/** The fields an error can be shown under (the rest of the form's errors: `form`). */
type ErrorField = Exclude<keyof Errors, 'form'>;
/** What happens to the password on save: stays as it is, a new one, or none. */
type PasswordChange = 'keep' | 'set' | 'remove';

export function LinkEditor({ link, onSaved, onCancel }: { link: Link; onSaved: (link: Link) => void; onCancel: () => void }) {
  const session = useSession();
  const id = useId();
  const [url, setUrl] = useState(link.original_url);
  // The field holds minutes; the link's expiry may have seconds. Sent only when changed: sent on every
  // save, a tags-only edit cut an expiry to the minute, and a link due at :58 expired at once.
  const initialDate = link.expires_at === null ? '' : toLocalInput(new Date(link.expires_at));
  const [never, setNever] = useState(link.expires_at === null);
  const [date, setDate] = useState(initialDate);
  const [passwordChange, setPasswordChange] = useState<PasswordChange>('keep');
  const [password, setPassword] = useState('');
  const [tags, setTags] = useState(link.tags.join(', '));
  const [visitLimit, setVisitLimit] = useState(link.max_visits === null ? '' : String(link.max_visits));
  const [forwardQuery, setForwardQuery] = useState(link.forward_query);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  /** The past date the person was asked about at Save: Save again with it ends the link. */
  const [pastAsked, setPastAsked] = useState<string | null>(null);
  const refs: Record<ErrorField, { current: HTMLInputElement | null }> = {
    url: useRef<HTMLInputElement>(null),
    expiry: useRef<HTMLInputElement>(null),
    tags: useRef<HTMLInputElement>(null),
    visits: useRef<HTMLInputElement>(null),
    password: useRef<HTMLInputElement>(null),
  };
  const formErrorRef = useRef<HTMLParagraphElement>(null);
  /** Where the focus goes once the form is drawn again: the message it is described by must exist first. */
  const [focusOn, setFocusOn] = useState<{ field: ErrorField | 'form' } | null>(null);
  useLayoutEffect(() => {
    if (focusOn !== null) (focusOn.field === 'form' ? formErrorRef : refs[focusOn.field]).current?.focus();
  }, [focusOn]);

  /** Shows `message` under `field` (or under the form) and moves the focus there. */
  function fail(field: ErrorField | 'form', message: string) {
    setErrors({ [field]: message });
    setFocusOn({ field });
  }

  const when = new Date(date);
  const expiryChanged = never !== (link.expires_at === null) || (!never && date !== initialDate);
  /** A new expiry already past: saved, the link stops redirecting at once (410 to everyone). */
  const pastExpiry = !never && expiryChanged && date !== '' && !Number.isNaN(when.getTime()) && when.getTime() <= Date.now();

  async function save(event: Event) {
    event.preventDefault();
    // Waiting for the answer: Save is aria-disabled, not disabled, so that it keeps the focus.
    if (busy) return;
    if (url.trim() === '') return fail('url', 'Enter the address the short link should go to.');
    if (!never && (date === '' || Number.isNaN(when.getTime()))) return fail('expiry', 'Choose a date and time, or tick "Never expires".');
    const newTags = distinctTags(parseTags(tags));
    const badTags = tagsProblem(newTags);
    if (badTags !== null) return fail('tags', badTags);
    const limit = parseVisitLimit(visitLimit);
    if (typeof limit === 'string') return fail('visits', limit);
    const weak = passwordChange === 'set' ? passwordProblem(password) : null;
    if (weak !== null) return fail('password', weak);
    // A past date ends the link at once: asked once, under the field, before anything is sent.
    if (pastExpiry && pastAsked !== date) {
      setPastAsked(date);
      setErrors({});
      setFocusOn({ field: 'expiry' });
      session.announce(`${PAST_WARNING} Save again to end the link now, or choose a later date.`);
      return;
    }
    const patch: LinkPatch = {};
    if (expiryChanged) patch.expiresAt = never ? null : when;
    if (url.trim() !== link.original_url) patch.url = url.trim();
    // Stored lower case and sorted: "Web, promo" for promo, web is no change.
    if (newTags.map((t) => t.toLowerCase()).sort().join(',') !== link.tags.join(',')) patch.tags = newTags;
    if (limit !== link.max_visits) patch.maxVisits = limit;
    if (forwardQuery !== link.forward_query) patch.forwardQuery = forwardQuery;
    if (passwordChange === 'set') patch.password = password;
    else if (passwordChange === 'remove') patch.password = null;
    // Nothing changed: nothing to save (the API refuses an empty change), so the editor just closes.
    if (Object.keys(patch).length === 0) return onCancel();
    setBusy(true);
    try {
      onSaved(await session.client.update(link.short_code, patch));
    } catch (err) {
      const { field, message } = explain(err, { tags: patch.tags ?? [] });
      fail(field === 'url' || field === 'expiry' || field === 'visits' || field === 'tags' ? field : 'form', message);
    } finally {
      setBusy(false);
    }
  }

  const expiryProps = invalidProps(`${id}-expiry-error`, errors.expiry);
  if (pastExpiry && errors.expiry === undefined) expiryProps['aria-describedby'] = `${id}-expiry-warning`;

  return (
    <form onSubmit={(e) => void save(e)} noValidate>
      <label for={`${id}-url`}>Goes to</label>
      <input
        ref={refs.url}
        id={`${id}-url`}
        name="url"
        type="url"
        inputMode="url"
        value={url}
        onInput={(e) => {
          setUrl(e.currentTarget.value);
          setErrors({ ...errors, url: undefined });
        }}
        {...invalidProps(`${id}-url-error`, errors.url, `${id}-url-hint`)}
      />
      <p class="hint" id={`${id}-url-hint`}>
        Everyone who has the short link is sent here from now on.
      </p>
      <FieldError id={`${id}-url-error`} message={errors.url} />
      <div class="check">
        <input id={`${id}-never`} type="checkbox" checked={never} onChange={(e) => setNever(e.currentTarget.checked)} />
        <label for={`${id}-never`}>Never expires</label>
      </div>
      <label for={`${id}-date`}>Expires on</label>
      <input
        ref={refs.expiry}
        id={`${id}-date`}
        name="expires_at"
        type="datetime-local"
        disabled={never}
        value={date}
        onInput={(e) => {
          setDate(e.currentTarget.value);
          setErrors({ ...errors, expiry: undefined });
        }}
        {...expiryProps}
      />
      <FieldError id={`${id}-expiry-error`} message={errors.expiry} />
      {pastExpiry && errors.expiry === undefined && (
        <p class="field-error" id={`${id}-expiry-warning`} data-testid="past-expiry">
          {PAST_WARNING}
          {pastAsked === date ? ' Save again to end the link now, or choose a later date.' : ''}
        </p>
      )}
      <label for={`${id}-tags`}>Tags</label>
      <input
        ref={refs.tags}
        id={`${id}-tags`}
        name="tags"
        type="text"
        autocomplete="off"
        value={tags}
        onInput={(e) => {
          setTags(e.currentTarget.value);
          setErrors({ ...errors, tags: undefined });
        }}
        {...invalidProps(`${id}-tags-error`, errors.tags, `${id}-tags-hint`)}
      />
      <p class="hint" id={`${id}-tags-hint`}>
        {TAGS_HINT}
      </p>
      <FieldError id={`${id}-tags-error`} message={errors.tags} />
      <label for={`${id}-visits`}>Visit limit</label>
      <input
        ref={refs.visits}
        id={`${id}-visits`}
        name="max_visits"
        type="number"
        inputMode="numeric"
        min={1}
        max={1_000_000_000}
        step={1}
        value={visitLimit}
        onInput={(e) => {
          setVisitLimit(e.currentTarget.value);
          setErrors({ ...errors, visits: undefined });
        }}
        {...invalidProps(`${id}-visits-error`, errors.visits, `${id}-visits-hint`)}
      />
      <p class="hint" id={`${id}-visits-hint`}>
        {link.max_visits === null ? 'Empty: no limit.' : `${formatNumber(link.visits)} ${link.visits === 1 ? 'visit' : 'visits'} made so far. At or below that, the link is used up; empty: no limit.`}
      </p>
      <FieldError id={`${id}-visits-error`} message={errors.visits} />
      <div class="check">
        <input id={`${id}-forward`} name="forward_query" type="checkbox" checked={forwardQuery} onChange={(e) => setForwardQuery(e.currentTarget.checked)} />
        <label for={`${id}-forward`}>Forward query string</label>
      </div>
      <label for={`${id}-password-change`}>Password</label>
      <select id={`${id}-password-change`} value={passwordChange} onChange={(e) => setPasswordChange(e.currentTarget.value as PasswordChange)}>
        <option value="keep">{link.has_password ? 'Keep the password' : 'No password'}</option>
        <option value="set">{link.has_password ? 'Change the password…' : 'Set a password…'}</option>
        {link.has_password && <option value="remove">Remove the password</option>}
      </select>
      {passwordChange === 'set' && (
        <>
          <label for={`${id}-password`}>New password</label>
          <input
            ref={refs.password}
            id={`${id}-password`}
            name="password"
            type="password"
            autoComplete="new-password"
            maxLength={128}
            value={password}
            onInput={(e) => {
              setPassword(e.currentTarget.value);
              setErrors({ ...errors, password: undefined });
            }}
            {...invalidProps(`${id}-password-error`, errors.password)}
          />
        </>
      )}
      <FieldError id={`${id}-password-error`} message={errors.password} />
      {errors.form !== undefined && (
        <p class="field-error" id={`${id}-form-error`} role="alert" tabIndex={-1} ref={formErrorRef}>
          {errors.form}
        </p>
      )}
      <div class="actions">
        <button type="submit" aria-disabled={busy ? 'true' : undefined}>
          {busy ? 'Saving…' : 'Save'}
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
