// The app's client: the SDK (src/client) on this page's own origin. Apart from src/web/api.ts, which
// has no browser globals, so that the tests can read its sentences in Node.
import { createCurtClient, type CurtClient } from '../client/curt-client.ts';

export function clientFor(apiKey: string | null): CurtClient {
  return createCurtClient({ baseUrl: location.origin, ...(apiKey === null ? {} : { apiKey }), timeoutMs: 15_000 });
}
