// `/app/keys`: API keys. Admins create keys (the new key is shown once) and revoke any; another key
// sees only itself. A key revoked loses its Revoke button: the focus goes to the table of keys (or, for
// the key this browser is signed in with, to the page's heading, above the sign-in form).
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import type { ApiKey, ApiKeyInfo } from '../../client/curt-client.ts';
import { explain } from '../api.ts';
import { CopyButton } from '../components/copy-button.tsx';
import { Dialog } from '../components/dialog.tsx';
import { FieldError, invalidProps } from '../components/field-error.tsx';
import { KeyForm } from '../components/key-form.tsx';
import { formatDateTime } from '../format.ts';
import { focusElement, focusIsLost } from '../router.ts';
import { useSession } from '../state.ts';

export function KeysPage() {
  const { apiKey } = useSession();
  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">
        API keys
      </h1>
      {apiKey === null ? <KeyForm intro="Sign in with an admin key to create and revoke API keys." /> : <KeyManager apiKey={apiKey} />}
    </section>
  );
}

function KeyManager({ apiKey }: { apiKey: string }) {
  const session = useSession();
  const id = useId();
  const [keys, setKeys] = useState<ApiKeyInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [admin, setAdmin] = useState(false);
  const [nameError, setNameError] = useState<string | undefined>(undefined);
  const [created, setCreated] = useState<ApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKeyInfo | null>(null);
  const tableRef = useRef<HTMLTableElement>(null);
  const errorRef = useRef<HTMLParagraphElement>(null);
  /** Set by a revocation: once the table is drawn again without the key's Revoke button, the focus goes to the table. */
  const [revoked, setRevoked] = useState(0);
  useEffect(() => {
    if (revoked > 0 && focusIsLost()) focusElement(tableRef.current ?? errorRef.current);
  }, [revoked]);

  const load = useCallback(async () => {
    try {
      setKeys(await session.client.listApiKeys());
      setError(null);
    } catch (err) {
      setError(explain(err).message);
    }
  }, [session.client]);
  useEffect(() => {
    void load();
  }, [load]);

  async function create(event: Event) {
    event.preventDefault();
    try {
      const key = await session.client.createApiKey({ ...(name.trim() === '' ? {} : { name: name.trim() }), isAdmin: admin });
      setCreated(key);
      setName('');
      setAdmin(false);
      session.announce(`Key ${key.name ?? key.id} created. Copy it now: it is shown only once.`);
      await load();
    } catch (err) {
      const explained = explain(err);
      setNameError(explained.message);
      session.announce(`The key was not created: ${explained.message}`);
    }
  }

  async function revoke(key: ApiKeyInfo) {
    try {
      await session.client.revokeApiKey(key.id);
      setRevoking(null);
      if (apiKey.startsWith(key.key_prefix)) return session.signOut();
      session.announce(`Key ${key.name ?? key.key_prefix} revoked.`);
      await load();
      setRevoked((n) => n + 1);
    } catch (err) {
      setRevoking(null);
      setError(explain(err).message);
      setRevoked((n) => n + 1);
    }
  }

  return (
    <>
      {session.isAdmin === true ? (
        <form class="card" onSubmit={(e) => void create(e)} noValidate aria-labelledby={`${id}-new`}>
          <h2 id={`${id}-new`}>New key</h2>
          <label for={`${id}-name`}>Name (optional)</label>
          <input
            id={`${id}-name`}
            name="name"
            type="text"
            autocomplete="off"
            maxLength={100}
            value={name}
            placeholder="e.g. marketing"
            onInput={(e) => {
              setName(e.currentTarget.value);
              setNameError(undefined);
            }}
            {...invalidProps(`${id}-name-error`, nameError)}
          />
          <FieldError id={`${id}-name-error`} message={nameError} />
          <div class="check">
            <input id={`${id}-admin`} type="checkbox" checked={admin} onChange={(e) => setAdmin(e.currentTarget.checked)} aria-describedby={`${id}-admin-hint`} />
            <label for={`${id}-admin`}>Admin key</label>
          </div>
          <p class="hint" id={`${id}-admin-hint`}>
            An admin key sees and manages every link and every key.
          </p>
          <button type="submit">Create key</button>
        </form>
      ) : (
        session.isAdmin === false && <p>Your key is not an admin key: it sees only itself here. Only an admin key creates keys.</p>
      )}

      {created !== null && (
        <div class="card notice" data-testid="new-key">
          <h2>Key created</h2>
          <p>Copy it now: it is shown only this once (only its hash is kept).</p>
          <p>
            <code class="secret" id={`${id}-created`}>
              {created.key}
            </code>
          </p>
          <CopyButton text={created.key} label="Copy key" />
        </div>
      )}

      {error !== null && (
        <p class="error" role="alert" ref={errorRef}>
          {error}
        </p>
      )}
      {keys !== null && (
        <div class="table-wrap">
          <table data-testid="keys-table" ref={tableRef}>
            <caption>Keys, oldest first</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Starts with</th>
                <th scope="col">Kind</th>
                <th scope="col">Created</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id}>
                  <th scope="row">{k.name ?? `key ${k.id}`}</th>
                  <td>
                    <code>{k.key_prefix}…</code>
                  </td>
                  <td>{k.is_admin ? 'admin' : 'user'}</td>
                  <td>{formatDateTime(k.created_at)}</td>
                  <td>{k.revoked_at === null ? (apiKey.startsWith(k.key_prefix) ? 'in use (this browser)' : 'active') : `revoked ${formatDateTime(k.revoked_at)}`}</td>
                  <td>
                    {k.revoked_at === null && (
                      <button type="button" class="danger" onClick={() => setRevoking(k)} aria-label={`Revoke ${k.name ?? `key ${k.id}`}`}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {revoking !== null && (
        <Dialog title={`Revoke ${revoking.name ?? `key ${revoking.id}`}?`} onClose={() => setRevoking(null)}>
          <p>
            Every request with this key is refused from now on, on every server.
            {apiKey.startsWith(revoking.key_prefix) ? ' It is the key this browser is signed in with: you will be signed out.' : ''} This cannot be undone.
          </p>
          <div class="actions">
            <button type="button" class="danger" onClick={() => void revoke(revoking)}>
              Revoke
            </button>
            <button type="button" class="secondary" autofocus onClick={() => setRevoking(null)}>
              Cancel
            </button>
          </div>
        </Dialog>
      )}
    </>
  );
}
