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
