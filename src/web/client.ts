// The app's client: the SDK (src/client) on this page's own origin. Apart from src/web/api.ts, which
// has no browser globals, so that the tests can read its sentences in Node.
import { createCurtClient, type CurtClient } from '../client/curt-client.ts';

/**
 * `refused`: called when the server answers 401 to a request made with the key, which then is not
 * valid (revoked, or from another server): the app signs out rather than keep sending it.
 */
export function clientFor(apiKey: string | null, refused?: (apiKey: string) => void): CurtClient {
  const watched: typeof fetch | undefined =
    apiKey === null || refused === undefined
      ? undefined
      : (input, init) =>
          fetch(input, init).then((res) => {
            if (res.status === 401) refused(apiKey);
            return res;
          });
  return createCurtClient({ baseUrl: location.origin, ...(apiKey === null ? {} : { apiKey }), ...(watched === undefined ? {} : { fetch: watched }), timeoutMs: 15_000 });
}
