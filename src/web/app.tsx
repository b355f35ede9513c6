// The app's frame: header and navigation, the live region, and the page the path names.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { CurtClient, InstanceConfig } from '../client/curt-client.ts';
import { clientFor } from './client.ts';
import { HomePage } from './pages/home.tsx';
import { KeysPage } from './pages/keys.tsx';
import { LinksPage } from './pages/links.tsx';
import { WebhooksPage } from './pages/webhooks.tsx';
import { focusIsLost, focusPageHeading, onLinkClick, useRoute, type Route } from './router.ts';
import { forgetKey, onStoredKeyChange, storedKey, storeKey } from './session.ts';
import { SessionContext, type Session } from './state.ts';

/** Whether `key` is an admin key: GET /api-keys lists every key for an admin key, only itself otherwise. */
async function adminOf(key: string, client: CurtClient): Promise<boolean> {
  const keys = await client.listApiKeys();
  return keys.some((k) => k.is_admin && k.revoked_at === null && key.startsWith(k.key_prefix));
}

const TITLES: Record<Route['page'], string> = { home: 'Shorten a link', links: 'My links', keys: 'API keys', webhooks: 'Webhooks', stats: 'Stats', 'not-found': 'Page not found' };

export function App() {
  const route = useRoute();
  const [config, setConfig] = useState<InstanceConfig | null>(null);
  const [configError, setConfigError] = useState<string | null>(null);
  const [apiKey, setApiKey] = useState<string | null>(() => storedKey());
  const [isAdmin, setIsAdmin] = useState<boolean | null>(null);
  const [message, setMessage] = useState('');
  /** Why the app signed out by itself (the kept key was refused), shown until the next sign-in. */
  const [signedOut, setSignedOut] = useState<string | null>(null);

  useEffect(() => {
    clientFor(null)
      .config()
      .then(setConfig, () => setConfigError('The server could not be reached. Reload the page to try again.'));
  }, []);
  useEffect(() => {
    if (apiKey === null) return setIsAdmin(null);
    adminOf(apiKey, client).then(setIsAdmin, () => setIsAdmin(false));
  }, [apiKey]);
  useEffect(() => {
    document.title = `${route.page === 'stats' ? `Stats of ${route.code}` : TITLES[route.page]} · Curt`;
  }, [route]);
  // Moved to another page in the app (a link, Back or Forward): the focus goes to the new page's
  // heading, as a page load would start there; the link clicked may not even be on the new page. Not
  // on the first page shown (the browser's own start), nor when only the fragment changed.
  const routeKey = JSON.stringify(route);
  const shownRoute = useRef(routeKey);
  useEffect(() => {
    if (shownRoute.current === routeKey) return;
    shownRoute.current = routeKey;
    return focusPageHeading();
  }, [routeKey]);

  // Signed out (the header's Sign out button, which is then gone, or a kept key refused): the focus
  // goes to the page's heading rather than staying lost on <body>, on every page. Only when it was
  // lost: a person who has moved on keeps theirs.
  const previousKey = useRef(apiKey);
  useEffect(() => {
    const wasSignedIn = previousKey.current !== null;
    previousKey.current = apiKey;
    if (wasSignedIn && apiKey === null && focusIsLost()) return focusPageHeading();
  }, [apiKey]);

  const announce = useCallback((text: string) => {
    // Cleared first, so the same words said twice are announced twice.
    setMessage('');
    setTimeout(() => setMessage(text), 50);
  }, []);

  // A kept key the server refuses (revoked since it was stored, on any page, at any request): the app
  // forgets it and says so, so that the pages offer the sign-in form and anonymous shortening again.
  const refused = useCallback((key: string) => {
    if (storedKey() !== key) return;
    forgetKey();
    setApiKey(null);
    const why = 'The API key kept in this browser was refused (revoked, or not valid here): you are signed out. Sign in with another key.';
    setSignedOut(why);
    setMessage(why);
  }, []);
  // Signed in or out in another tab with a remembered key: this tab follows, rather than go on with a
  // key the person has just taken out of the browser.
  const shownApiKey = useRef(apiKey);
  shownApiKey.current = apiKey;
  useEffect(
    () =>
      onStoredKeyChange((key) => {
        if (key === shownApiKey.current) return;
        const why = key === null ? 'Signed out in another tab or window: the key is no longer kept in this browser.' : 'Signed in in another tab or window.';
        setSignedOut(key === null ? why : null);
        setApiKey(key);
        announce(why);
      }),
    [announce],
  );
  // One client per key: pages reload what they show when the client changes, not when the session does.
  const client = useMemo(() => clientFor(apiKey, refused), [apiKey, refused]);
  const session = useMemo<Session>(
    () => ({
      config,
      apiKey,
      isAdmin,
      client,
      async signIn(key, remember) {
        // Checked before it is kept: a mistyped key fails here, next to its field.
        await clientFor(key).listApiKeys();
        storeKey(key, remember);
        setSignedOut(null);
        setApiKey(key);
        announce('Signed in.');
      },
      signOut() {
        setSignedOut(null);
        forgetKey();
        setApiKey(null);
        announce('Signed out: the key is no longer kept in this browser.');
      },
      announce,
    }),
    [config, apiKey, isAdmin, announce],
  );

  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/" onClick={onLinkClick}>
          Curt
        </a>
        <nav aria-label="Main">
          <ul>
            <li>
              <a href="/" onClick={onLinkClick} aria-current={route.page === 'home' ? 'page' : undefined}>
                Shorten
              </a>
            </li>
            <li>
              <a href="/app/links" onClick={onLinkClick} aria-current={route.page === 'links' ? 'page' : undefined}>
                My links
              </a>
            </li>
            {apiKey !== null && (
              <li>
                <a href="/app/keys" onClick={onLinkClick} aria-current={route.page === 'keys' ? 'page' : undefined}>
                  API keys
                </a>
              </li>
            )}
            {apiKey !== null && (
              <li>
                <a href="/app/webhooks" onClick={onLinkClick} aria-current={route.page === 'webhooks' ? 'page' : undefined}>
                  Webhooks
                </a>
              </li>
            )}
            {apiKey !== null && (
              <li>
                <button type="button" class="link-button" onClick={session.signOut}>
                  Sign out
                </button>
              </li>
            )}
          </ul>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {signedOut !== null && (
          <p class="card notice" data-testid="signed-out">
            {signedOut}
          </p>
        )}
        {configError !== null ? <p class="error" role="alert">{configError}</p> : <Page route={route} />}
      </main>
      <footer class="bottom">
        <a href="/docs">API documentation</a>
        {config !== null && <span> · Curt {config.version}</span>}
      </footer>
      <p class="sr-only" role="status" aria-live="polite" aria-atomic="true" data-testid="live">
        {message}
      </p>
    </SessionContext.Provider>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'home':
      return <HomePage />;
    case 'links':
      return <LinksPage />;
    case 'keys':
      return <KeysPage />;
    case 'webhooks':
      return <WebhooksPage />;
    case 'stats':
      return <LazyStatsPage code={route.code} />;
    case 'not-found':
      return (
        <section>
          <h1>Page not found</h1>
          <p>
            Nothing is at <code>{route.path}</code>. <a href="/" onClick={onLinkClick}>Shorten a link</a> or see <a href="/app/links" onClick={onLinkClick}>your links</a>.
          </p>
        </section>
      );
  }
}

type StatsModule = typeof import('./pages/stats.tsx');
/** Loaded once, on the first visit to a stats page; forgotten when it failed, so a later visit tries again. */
let statsModule: Promise<StatsModule> | null = null;

/** The stats page (its code, the chart and the breakdowns) is a chunk of its own, off the JavaScript of `/`. */
function LazyStatsPage({ code }: { code: string }) {
  const [loaded, setLoaded] = useState<StatsModule | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    statsModule ??= import('./pages/stats.tsx');
    statsModule.then(
      (module) => live && setLoaded(module),
      () => {
        statsModule = null;
        if (live) setFailed(true);
      },
    );
    return () => {
      live = false;
    };
  }, []);
  if (failed) {
    return (
      <p class="error" role="alert">
        The stats page could not be loaded. Reload the page to try again.
      </p>
    );
  }
  if (loaded === null) return <p aria-busy="true">Loading the stats of {code}…</p>;
  return <loaded.StatsPage code={code} />;
}
