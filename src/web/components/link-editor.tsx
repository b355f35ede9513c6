// Edit what the API lets change on a link (PATCH /urls/{code}): its expiry, or none.
import { useId, useState } from 'preact/hooks';
import type { Link } from '../../client/curt-client.ts';
import { explain } from '../api.ts';
import { toLocalInput } from '../format.ts';
import { useSession } from '../state.ts';
import { FieldError, invalidProps } from './field-error.tsx';

export function LinkEditor({ link, onSaved, onCancel }: { link: Link; onSaved: (link: Link) => void; onCancel: () => void }) {
  const session = useSession();
  const id = useId();
  const [never, setNever] = useState(link.expires_at === null);
  const [date, setDate] = useState(link.expires_at === null ? '' : toLocalInput(new Date(link.expires_at)));
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  async function save(event: Event) {
    event.preventDefault();
    const when = new Date(date);
    if (!never && (date === '' || Number.isNaN(when.getTime()))) return setError('Choose a date and time, or tick "Never expires".');
    setBusy(true);
    try {
      onSaved(await session.client.update(link.short_code, { expiresAt: never ? null : when }));
    } catch (err) {
      setError(explain(err).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={(e) => void save(e)} noValidate>
      <p class="target">
        Goes to <span>{link.original_url}</span>
      </p>
      <div class="check">
        <input id={`${id}-never`} type="checkbox" checked={never} onChange={(e) => setNever(e.currentTarget.checked)} />
        <label for={`${id}-never`}>Never expires</label>
      </div>
      <label for={`${id}-date`}>Expires on</label>
      <input
        id={`${id}-date`}
        name="expires_at"
        type="datetime-local"
        disabled={never}
        value={date}
        onInput={(e) => {
          setDate(e.currentTarget.value);
          setError(undefined);
        }}
        {...invalidProps(`${id}-error`, error)}
      />
      <FieldError id={`${id}-error`} message={error} />
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : 'Save'}
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
