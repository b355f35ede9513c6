// The app's routes, by path. Every top-level segment a route uses is a reserved word of the KGS
// (src/core/reserved.ts), so no short code can ever be shadowed by a page; `/{code}+` cannot be a code
// at all (codes never contain `+`). test/integration/web-app.test.ts checks both.
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'home' }
  | { page: 'links' }
  | { page: 'keys' }
  | { page: 'stats'; code: string }
  | { page: 'not-found'; path: string };

/** The paths the app answers, as patterns: the server serves the page at each (web-app.ts). */
export const ROUTE_PATHS = ['/', '/app', '/app/links', '/app/keys', '/app/stats/{code}', '/{code}+'] as const;

const CODE = /^[A-Za-z0-9_-]{1,64}$/;

export function parseRoute(pathname: string): Route {
  let path: string;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return { page: 'not-found', path: pathname };
  }
  if (path === '/' || path === '') return { page: 'home' };
  if (path === '/app' || path === '/app/' || path === '/app/links') return { page: 'links' };
  if (path === '/app/keys') return { page: 'keys' };
  const stats = /^\/app\/stats\/([^/]+)$/.exec(path) ?? /^\/([^/]+)\+$/.exec(path);
  if (stats?.[1] !== undefined && CODE.test(stats[1])) return { page: 'stats', code: stats[1] };
  return { page: 'not-found', path };
}

/** The page of one link's stats: `/{code}+`, the form people know from other shorteners. */
export const statsPath = (code: string): string => `/${encodeURIComponent(code)}+`;

export function navigate(path: string): void {
  if (path === location.pathname + location.search) return;
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
  window.scrollTo(0, 0);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.pathname));
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return route;
}

/** A click on an in-app link moves without a page load; a modified click (new tab) does not. */
export function onLinkClick(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = event.currentTarget as HTMLAnchorElement;
  if (anchor.origin !== location.origin || anchor.hasAttribute('download')) return;
  event.preventDefault();
  navigate(anchor.pathname + anchor.search);
}
