// What an API key can be to travel at all: printable ASCII without spaces (an HTTP header takes no
// line break, and fetch refuses a letter outside Latin-1 before asking). One rule for the server's
// ADMIN_API_KEY, the CLI's CURT_API_KEY and the web app's sign-in form; dependency-free, so the
// browser bundle and the services' configuration both take it from here.
export function isSendableApiKey(key: string): boolean {
  return /^[\x21-\x7e]+$/.test(key);
}

/** A key's `key_prefix`, what the API shows of it: its first 12 characters (only its hash is stored). */
export const keyPrefixOf = (apiKey: string): string => apiKey.slice(0, 12);
