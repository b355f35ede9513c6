// The click pipeline's classifier as the services build it (the bundled country database), and what
// tests send to be counted as a person: since bots are counted apart, a test that wants a click must
// say it comes from a browser (Node's fetch says "node", inject "lightMyRequest", both bots).
import { DEFAULT_GEOIP_DB, openCountryResolver } from '../../src/analytics/country.ts';
import { createUserAgentClassifier } from '../../src/analytics/user-agent.ts';
import { createVisitorClassifier, type SeenRequest, type VisitorClassifier } from '../../src/analytics/visitor.ts';
import type { TrustProxy } from '../../src/core/config.ts';

import { BROWSER_UA } from './user-agents.ts';

export { BROWSER_UA, PERSON, PREVIEW_BOT_UA } from './user-agents.ts';

const countries = await openCountryResolver({ dbPath: DEFAULT_GEOIP_DB });

export function testVisitors(trustProxy: TrustProxy = false): VisitorClassifier {
  return createVisitorClassifier({ agents: createUserAgentClassifier(), countries, trustProxy });
}

/** What a redirect from a person's browser shows the click pipeline. */
export function seenFromPerson(referer?: string, overrides: Partial<SeenRequest> = {}): SeenRequest {
  return { referer, userAgent: BROWSER_UA, address: '127.0.0.1', forwardedFor: undefined, country: undefined, ...overrides };
}
