// Where the API key lives in the browser (docs/web.md, "The API key in the browser"): sessionStorage
// by default, gone when the tab closes; localStorage only when the person ticks "remember on this
// device". Never a cookie (so no request carries it unasked: no CSRF) and never in a URL.
const KEY = 'curt.apiKey';

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY);
}

export function storeKey(key: string, remember: boolean): void {
  forgetKey();
  (remember ? localStorage : sessionStorage).setItem(KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
}

/**
 * Calls `changed` with the key this tab would now use when another tab or window of this browser signs
 * in or out with a remembered key (localStorage is shared; each tab's sessionStorage is its own, and
 * a key kept there wins). The browser tells only the other tabs (the `storage` event), so a tab's own
 * sign-in and sign-out never come back through here. Returns a function that stops listening.
 */
export function onStoredKeyChange(changed: (key: string | null) => void): () => void {
  const listener = (event: StorageEvent): void => {
    // key null: the other tab cleared the whole storage.
    if (event.storageArea === localStorage && (event.key === KEY || event.key === null)) changed(storedKey());
  };
  addEventListener('storage', listener);
  return () => removeEventListener('storage', listener);
}
