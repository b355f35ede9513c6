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

/** Gives `element` the focus, making it focusable by script first (tabindex -1) when it is not already. */
export function focusElement(element: HTMLElement | null | undefined): boolean {
  if (element === null || element === undefined || !element.isConnected) return false;
  if (!element.hasAttribute('tabindex') && !element.matches('a[href], button, input, select, textarea')) element.tabIndex = -1;
  element.focus();
  return document.activeElement === element;
}

/** Whether the focus is nowhere in particular: on <body> (what had it was removed or disabled), or on <main>. */
export function focusIsLost(): boolean {
  const active = document.activeElement;
  return active === null || active === document.body || active === document.documentElement || active?.id === 'main';
}

/**
 * After a move to another page (or anything that replaced the page's content): the focus goes to the
 * page's heading, `<main>`'s h1, so a screen reader starts reading the new page at its top and the next
 * Tab goes on from there, not from the link that was clicked (which may be gone). A page that draws its
 * heading later (the stats page: its code, then its data) gets the focus on <main> meanwhile, and on
 * its heading when it appears, unless the person has moved the focus elsewhere by then. Returns a
 * function that stops waiting.
 */
export function focusPageHeading(): () => void {
  const main = document.getElementById('main');
  if (main === null) return () => undefined;
  const heading = () => focusElement(main.querySelector('h1'));
  if (heading()) return () => undefined;
  main.focus({ preventScroll: true });
  const observer = new MutationObserver(() => {
    if (!focusIsLost() || heading()) stop();
  });
  const timer = setTimeout(stop, 15_000);
  function stop() {
    observer.disconnect();
    clearTimeout(timer);
  }
  observer.observe(main, { childList: true, subtree: true });
  return stop;
}

/** A click on an in-app link moves without a page load; a modified click (new tab) does not. */
export function onLinkClick(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = event.currentTarget as HTMLAnchorElement;
  if (anchor.origin !== location.origin || anchor.hasAttribute('download')) return;
  event.preventDefault();
  navigate(anchor.pathname + anchor.search);
}
