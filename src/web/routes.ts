// The app's routes, by path. Every top-level segment a route uses is a reserved word of the KGS
// (src/core/reserved.ts), so no short code can ever be shadowed by a page; `/{code}+` cannot be a code
// at all (codes never contain `+`). test/integration/web-app.test.ts checks both. No DOM here: the
// Node tests import this file.
export type Route =
  | { page: 'home' }
  | { page: 'links' }
  | { page: 'keys' }
  | { page: 'webhooks' }
  | { page: 'stats'; code: string }
  | { page: 'not-found'; path: string };

/** The paths the app answers, as patterns: the server serves the page at each (web-app.ts). */
export const ROUTE_PATHS = ['/', '/app', '/app/links', '/app/keys', '/app/webhooks', '/app/stats/{code}', '/{code}+'] as const;

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
  if (path === '/app/webhooks') return { page: 'webhooks' };
  const stats = /^\/app\/stats\/([^/]+)$/.exec(path) ?? /^\/([^/]+)\+$/.exec(path);
  if (stats?.[1] !== undefined && CODE.test(stats[1])) return { page: 'stats', code: stats[1] };
  return { page: 'not-found', path };
}

