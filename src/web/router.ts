// Moving between the app's pages without a page load (history API); routes.ts says which page a path is.
import { useEffect, useState } from 'preact/hooks';
import { parseRoute, type Route } from './routes.ts';

export type { Route };

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
