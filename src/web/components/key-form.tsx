// Sign in with an API key. The key is checked against the API before it is kept. A key refused says
// why under its field, which takes the focus; signed in, the form is gone and the focus goes to the
// page's heading (signed out, the app puts it there too: src/web/app.tsx).
import { useId, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { explain } from '../api.ts';
import { isSendableApiKey } from '../../client/api-key.ts';
import { focusIsLost, focusPageHeading } from '../router.ts';
import { useSession } from '../state.ts';
import { FieldError, invalidProps } from './field-error.tsx';

export function KeyForm({ intro }: { intro: string }) {
  const session = useSession();
  const id = useId();
  const [key, setKey] = useState('');
  const [remember, setRemember] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const keyRef = useRef<HTMLInputElement>(null);
  /** Bumped at each refusal: the field takes the focus once its message is drawn. */
  const [refusals, setRefusals] = useState(0);
  useLayoutEffect(() => {
    if (refusals > 0) keyRef.current?.focus();
  }, [refusals]);

  function refuse(message: string) {
    setError(message);
    setRefusals((n) => n + 1);
  }

  async function submit(event: Event) {
    event.preventDefault();
    // Busy: the button stays focusable (aria-disabled, not disabled, which would drop the focus to <body>).
    if (busy) return;
    if (key.trim() === '') return refuse('Enter your API key: it starts with "curt_".');
    // Anything else came with the paste: fetch would refuse it before asking, read as "could not be reached".
    if (!isSendableApiKey(key.trim())) return refuse('That is not an API key: a key has no spaces or line breaks, only plain letters, digits and signs. Paste it again.');
    setBusy(true);
    try {
      await session.signIn(key.trim(), remember);
      // This form is gone with the button that had the focus: the page's heading takes it. (The stats
      // page keeps the form until the link's stats are in, and moves the focus itself then.)
      setTimeout(() => {
        if (focusIsLost()) focusPageHeading();
      }, 0);
    } catch (err) {
      refuse(explain(err).message);
      session.announce('Sign-in failed.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="card key-form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Sign in with an API key</h2>
      <p>{intro}</p>
      <label for={`${id}-key`}>API key</label>
      <input
        ref={keyRef}
        id={`${id}-key`}
        name="api-key"
        type="password"
        autocomplete="off"
        spellcheck={false}
        value={key}
        onInput={(e) => {
          setKey(e.currentTarget.value);
          setError(undefined);
        }}
        {...invalidProps(`${id}-key-error`, error, `${id}-key-hint`)}
      />
      <p class="hint" id={`${id}-key-hint`}>
        <code>npm start</code> prints an admin key on its first start; an admin can make more with <code>curt keys create</code>.
      </p>
      <FieldError id={`${id}-key-error`} message={error} />
      <div class="check">
        <input id={`${id}-remember`} type="checkbox" checked={remember} onChange={(e) => setRemember(e.currentTarget.checked)} aria-describedby={`${id}-remember-hint`} />
        <label for={`${id}-remember`}>Remember on this device</label>
      </div>
      <p class="hint" id={`${id}-remember-hint`}>
        Otherwise the key is forgotten when this tab closes. Only tick this on a device that is yours alone.
      </p>
      <button type="submit" aria-disabled={busy ? 'true' : undefined}>
        {busy ? 'Checking…' : 'Sign in'}
      </button>
    </form>
  );
}
