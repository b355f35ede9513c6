// `/`: shorten a URL. With the options the instance allows (alias, expiry, one-time or a visit
// limit, query forwarding, tags); the result has the short URL with a copy button, its QR code and a
// link to its stats. Errors from the API appear next to the field they concern. With anonymous
// creation off, it asks for an API key first.
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { RefObject } from 'preact';
import type { Link, ShortenOptions } from '../../client/curt-client.ts';
import { explain, passwordProblem, type Field } from '../api.ts';
import { CopyButton } from '../components/copy-button.tsx';
import { FieldError, invalidProps } from '../components/field-error.tsx';
import { KeyForm } from '../components/key-form.tsx';
import { QrCode } from '../components/qr-code.tsx';
import { formatDateTime, parseVisitLimit, toLocalInput, visitsText } from '../format.ts';
import { onLinkClick, statsPath } from '../router.ts';
import { useSession } from '../state.ts';
import { distinctTags, parseTags, tagsProblem, TAGS_HINT } from '../tags.ts';

/** Expiry presets, in seconds from now; `custom` takes a date and time. */
const PRESETS: { value: string; label: string; seconds?: number }[] = [
  { value: 'never', label: 'Never' },
  { value: '1h', label: 'In 1 hour', seconds: 3600 },
  { value: '1d', label: 'In 1 day', seconds: 86_400 },
  { value: '7d', label: 'In 7 days', seconds: 7 * 86_400 },
  { value: '30d', label: 'In 30 days', seconds: 30 * 86_400 },
  { value: 'custom', label: 'On a date…' },
];

type Errors = Partial<Record<Field, string>>;

export function HomePage() {
  const session = useSession();
  const { config, apiKey } = session;
  if (config === null) return <p aria-busy="true">Loading…</p>;
  const needsKey = !config.allow_anonymous && apiKey === null;
  return (
    <section aria-labelledby="home-title">
      <h1 id="home-title">Shorten a link</h1>
      {needsKey ? (
        <KeyForm intro="This server makes short links only for API-key holders. Sign in with your key to shorten a link." />
      ) : (
        <ShortenForm />
      )}
    </section>
  );
}

function ShortenForm() {
  const session = useSession();
  const id = useId();
  const [url, setUrl] = useState('');
  const [alias, setAlias] = useState('');
  const [preset, setPreset] = useState('never');
  const [customDate, setCustomDate] = useState('');
  const [oneTime, setOneTime] = useState(false);
  const [password, setPassword] = useState('');
  const [tags, setTags] = useState('');
  const [visitLimit, setVisitLimit] = useState('');
  const [forwardQuery, setForwardQuery] = useState(false);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<Link | null>(null);
  const urlRef = useRef<HTMLInputElement>(null);
  const aliasRef = useRef<HTMLInputElement>(null);
  const expiryRef = useRef<HTMLSelectElement>(null);
  const visitsRef = useRef<HTMLInputElement>(null);
  const tagsRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);
  const resultRef = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    if (created !== null) resultRef.current?.focus();
  }, [created]);

  /** The options to send, and what is wrong with the fields, checked as the server would (the URL apart). */
  function options(): { opts: ShortenOptions; found: Errors } {
    const opts: ShortenOptions = {};
    const found: Errors = {};
    if (alias.trim() !== '') opts.alias = alias.trim();
    // One-time is a limit of one: the limit field is off while it is ticked.
    if (oneTime) opts.oneTime = true;
    else {
      const limit = parseVisitLimit(visitLimit);
      if (typeof limit === 'string') found.visits = limit;
      else if (limit !== null) opts.maxVisits = limit;
    }
    if (forwardQuery) opts.forwardQuery = true;
    if (password !== '') {
      const weak = passwordProblem(password);
      if (weak === null) opts.password = password;
      else found.password = weak;
    }
    // The server stores a tag once, in lower case: "Promo, promo" is one tag, not two of the 20.
    const tagList = distinctTags(parseTags(tags));
    const badTags = tagsProblem(tagList);
    if (badTags !== null) found.tags = badTags;
    else if (tagList.length > 0) opts.tags = tagList;
    const chosen = PRESETS.find((p) => p.value === preset);
    if (chosen?.seconds !== undefined) opts.expiresIn = chosen.seconds;
    if (preset === 'custom') {
      const date = new Date(customDate);
      if (customDate === '' || Number.isNaN(date.getTime())) found.expiry = 'Choose the date and time the link should stop working.';
      else opts.expiresAt = date;
    }
    return { opts, found };
  }

  async function submit(event: Event) {
    event.preventDefault();
    // Waiting: the button is aria-disabled, not disabled, so it keeps the focus (an error of the form
    // as a whole, such as no answer, leaves it there).
    if (busy) return;
    const { opts, found } = options();
    if (url.trim() === '') found.url = 'Enter the address to shorten, starting with https:// or http://.';
    if (Object.keys(found).length > 0) return fail(found);
    setBusy(true);
    try {
      const link = await session.client.shorten(url.trim(), opts);
      setCreated(link);
      session.announce(`Short link created: ${link.short_url}`);
    } catch (err) {
      const { field, message } = explain(err, { tags: opts.tags ?? [] });
      fail({ [field]: message });
    } finally {
      setBusy(false);
    }
  }

  function fail(found: Errors) {
    setErrors(found);
    session.announce(`Not shortened: ${Object.values(found).join(' ')}`);
    // The first field in the form's order that has an error takes the focus.
    const first = ([
      ['url', urlRef],
      ['alias', aliasRef],
      ['expiry', expiryRef],
      ['visits', visitsRef],
      ['tags', tagsRef],
      ['password', passwordRef],
    ] as const).find(([field]) => found[field] !== undefined);
    first?.[1].current?.focus();
  }

  /** "Shorten another": a fresh form, every option back to its default, the focus on the URL. */
  function again() {
    setCreated(null);
    setUrl('');
    setAlias('');
    setPreset('never');
    setCustomDate('');
    setOneTime(false);
    setPassword('');
    setTags('');
    setVisitLimit('');
    setForwardQuery(false);
    setErrors({});
    setTimeout(() => urlRef.current?.focus(), 0);
  }

  const clear = (field: Field) => errors[field] !== undefined && setErrors({ ...errors, [field]: undefined });

  if (created !== null) return <Result link={created} headingRef={resultRef} onAgain={again} />;

  return (
    <form class="card" onSubmit={(e) => void submit(e)} noValidate>
      <label for={`${id}-url`}>Long URL</label>
      <input
        ref={urlRef}
        id={`${id}-url`}
        name="url"
        type="url"
        inputMode="url"
        autocomplete="url"
        placeholder="https://example.com/a/long/address"
        value={url}
        onInput={(e) => {
          setUrl(e.currentTarget.value);
          clear('url');
        }}
        {...invalidProps(`${id}-url-error`, errors.url)}
      />
      <FieldError id={`${id}-url-error`} message={errors.url} />

      <div class="grid-2">
        <div>
          <label for={`${id}-alias`}>Custom alias (optional)</label>
          <input
            ref={aliasRef}
            id={`${id}-alias`}
            name="alias"
            type="text"
            autocomplete="off"
            spellcheck={false}
            value={alias}
            onInput={(e) => {
              setAlias(e.currentTarget.value);
              clear('alias');
            }}
            {...invalidProps(`${id}-alias-error`, errors.alias, `${id}-alias-hint`)}
          />
          <p class="hint" id={`${id}-alias-hint`}>
            3 to 10 letters, digits, _ or -. Empty: a random code.
          </p>
          <FieldError id={`${id}-alias-error`} message={errors.alias} />
        </div>
        <div>
          <label for={`${id}-expiry`}>Expires</label>
          <select
            ref={expiryRef}
            id={`${id}-expiry`}
            name="expiry"
            value={preset}
            onChange={(e) => {
              setPreset(e.currentTarget.value);
              clear('expiry');
            }}
            {...invalidProps(`${id}-expiry-error`, errors.expiry)}
          >
            {PRESETS.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
          </select>
          {preset === 'custom' && (
            <>
              <label for={`${id}-date`}>Expiry date and time</label>
              <input
                id={`${id}-date`}
                name="expires_at"
                type="datetime-local"
                min={toLocalInput(new Date())}
                value={customDate}
                onInput={(e) => {
                  setCustomDate(e.currentTarget.value);
                  clear('expiry');
                }}
                {...invalidProps(`${id}-expiry-error`, errors.expiry)}
              />
            </>
          )}
          <FieldError id={`${id}-expiry-error`} message={errors.expiry} />
        </div>
      </div>

      <div class="grid-2">
        <div>
          <div class="check">
            <input
              id={`${id}-once`}
              name="one_time"
              type="checkbox"
              checked={oneTime}
              onChange={(e) => {
                setOneTime(e.currentTarget.checked);
                clear('visits');
              }}
              aria-describedby={`${id}-once-hint`}
            />
            <label for={`${id}-once`}>One-time link</label>
          </div>
          <p class="hint" id={`${id}-once-hint`}>
            It redirects exactly once; after that it answers "used up".
          </p>
        </div>
        <div>
          <label for={`${id}-visits`}>Visit limit (optional)</label>
          <input
            ref={visitsRef}
            id={`${id}-visits`}
            name="max_visits"
            type="number"
            inputMode="numeric"
            min={1}
            max={1_000_000_000}
            step={1}
            disabled={oneTime}
            value={oneTime ? '1' : visitLimit}
            onInput={(e) => {
              setVisitLimit(e.currentTarget.value);
              clear('visits');
            }}
            {...invalidProps(`${id}-visits-error`, errors.visits, `${id}-visits-hint`)}
          />
          <p class="hint" id={`${id}-visits-hint`}>
            How many times it redirects people; link previews do not count. Empty: no limit.
          </p>
          <FieldError id={`${id}-visits-error`} message={errors.visits} />
        </div>
      </div>

      <div class="check">
        <input
          id={`${id}-forward`}
          name="forward_query"
          type="checkbox"
          checked={forwardQuery}
          onChange={(e) => setForwardQuery(e.currentTarget.checked)}
          aria-describedby={`${id}-forward-hint`}
        />
        <label for={`${id}-forward`}>Forward query string</label>
      </div>
      <p class="hint" id={`${id}-forward-hint`}>
        The short link's <code>?utm_source=…</code> is added to the long URL's; a parameter in both takes the short link's value.
      </p>

      <label for={`${id}-tags`}>Tags (optional)</label>
      <input
        ref={tagsRef}
        id={`${id}-tags`}
        name="tags"
        type="text"
        autocomplete="off"
        value={tags}
        onInput={(e) => {
          setTags(e.currentTarget.value);
          clear('tags');
        }}
        {...invalidProps(`${id}-tags-error`, errors.tags, `${id}-tags-hint`)}
      />
      <p class="hint" id={`${id}-tags-hint`}>
        {TAGS_HINT} Find them again under My links.
      </p>
      <FieldError id={`${id}-tags-error`} message={errors.tags} />
      <label for={`${id}-password`}>Password (optional)</label>
      <input
        ref={passwordRef}
        id={`${id}-password`}
        name="password"
        type="password"
        autoComplete="new-password"
        maxLength={128}
        value={password}
        onInput={(e) => {
          setPassword(e.currentTarget.value);
          clear('password');
        }}
        {...invalidProps(`${id}-password-error`, errors.password, `${id}-password-hint`)}
      />
      <p class="hint" id={`${id}-password-hint`}>
        Whoever opens the link must type it first. 8 to 128 characters; Curt keeps only a hash of it, so it cannot show it to you again.
      </p>
      <FieldError id={`${id}-password-error`} message={errors.password} />

      <FieldError id={`${id}-form-error`} message={errors.form ?? errors.key} />
      <button type="submit" aria-disabled={busy ? 'true' : undefined} aria-busy={busy}>
        {busy ? 'Shortening…' : 'Shorten'}
      </button>
    </form>
  );
}

function Result({ link, headingRef, onAgain }: { link: Link; headingRef: RefObject<HTMLHeadingElement>; onAgain: () => void }) {
  return (
    <div class="card result" data-testid="result">
      <h2 ref={headingRef} tabIndex={-1}>
        Your short link
      </h2>
      <p class="short-url">
        <a href={link.short_url} id="short-url" data-testid="short-url">
          {link.short_url}
        </a>
      </p>
      <div class="actions">
        <CopyButton text={link.short_url} label="Copy short link" />
        <a class="button secondary" href={statsPath(link.short_code)} onClick={onLinkClick}>
          View stats
        </a>
        <button type="button" onClick={onAgain}>
          Shorten another
        </button>
      </div>
      <dl class="facts">
        <dt>Goes to</dt>
        <dd class="target">{link.original_url}</dd>
        <dt>Expires</dt>
        <dd>{formatDateTime(link.expires_at)}</dd>
        <dt>One-time</dt>
        <dd>{link.is_one_time ? 'yes' : 'no'}</dd>
        <dt>Visits</dt>
        <dd>{visitsText(link)}</dd>
        <dt>Forwards query</dt>
        <dd>{link.forward_query ? 'yes' : 'no'}</dd>
        <dt>Password</dt>
        <dd>{link.has_password ? 'yes' : 'no'}</dd>
        <dt>Tags</dt>
        <dd>{link.tags.length === 0 ? '-' : link.tags.join(', ')}</dd>
      </dl>
      <QrCode code={link.short_code} />
    </div>
  );
}
