// What a click is broken down by, derived in the click pipeline from what the redirect saw. The
// redirect only copies a few header strings and the peer's address (seenRequest); parsing the
// User-Agent, looking the address up and reading the Referer happen here, off the request path, and
// what comes out is a handful of short values: nothing that identifies a person (docs/privacy.md).
import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';
import type { TrustProxy } from '../core/config.ts';
import { fastifyTrustProxy } from '../core/http-app.ts';
import type { CountryResolver } from './country.ts';
import type { DeviceType, UserAgentClassifier } from './user-agent.ts';

/** The referrer of a click without a Referer header, or with one that is not a URL. */
export const DIRECT = '(direct)';

/** What the redirect copied from the request: header strings as sent, the TCP peer's address. */
export interface SeenRequest {
  referer: string | undefined;
  userAgent: string | undefined;
  /** The TCP peer: the client, or the proxy in front. */
  address: string | undefined;
  forwardedFor: string | undefined;
  /** The configured country header (GEOIP_COUNTRY_HEADER) as sent; believed only from a trusted proxy. */
  country: string | undefined;
}

/** A hit as analytics count it: a bot's name, or a person's click and its values. */
export type Visit =
  | { bot: string }
  | { bot: null; referrer: string; country: string; browser: string; os: string; device: Exclude<DeviceType, 'bot'> };

export interface VisitorClassifier {
  describe(seen: SeenRequest): Visit;
  /** Whether this User-Agent is a bot's, as describe would say: one-time links are not spent on bots. */
  isBot(userAgent: string | undefined): boolean;
}

/** Reads what the click pipeline needs from a request: property reads only, no parsing. */
export function seenRequest(req: IncomingMessage, countryHeader: string | null): SeenRequest {
  const headers = req.headers;
  const country = countryHeader === null ? undefined : headers[countryHeader];
  const forwardedFor = headers['x-forwarded-for'];
  return {
    referer: headers.referer,
    userAgent: headers['user-agent'],
    address: req.socket.remoteAddress,
    // Node joins repeated X-Forwarded-For headers into one string; the type allows a list anyway.
    forwardedFor: Array.isArray(forwardedFor) ? forwardedFor.join(', ') : forwardedFor,
    country: typeof country === 'string' ? country : undefined,
  };
}

/**
 * The host of a Referer header, lower-case and without the root's trailing dot (`evil.com.` is
 * `evil.com`, not a site of its own in the counts), or DIRECT when there is none or it is not a URL.
 */
export function referrerHost(referer: string | undefined): string {
  if (referer === undefined || referer === '' || referer.length > 2048) return DIRECT;
  try {
    const parsed = new URL(referer).hostname.toLowerCase();
    const host = parsed.endsWith('.') ? parsed.slice(0, -1) : parsed;
    return host === '' || host.length > 255 ? DIRECT : host;
  } catch {
    return DIRECT;
  }
}

export interface VisitorClassifierOptions {
  agents: UserAgentClassifier;
  countries: CountryResolver;
  /** The same rule that decides the client address of rate limits (TRUST_PROXY). */
  trustProxy: TrustProxy;
}

export function createVisitorClassifier(options: VisitorClassifierOptions): VisitorClassifier {
  const { agents, countries } = options;
  const rule = fastifyTrustProxy(options.trustProxy);
  const trust: (address: string, hop: number) => boolean = rule === false ? () => false : Array.isArray(rule) ? proxyAddr.compile(rule) : rule;

  /** The client's address by X-Forwarded-For through trusted proxies only, as Fastify's request.ip. */
  function clientAddress(seen: SeenRequest): string | undefined {
    if (seen.address === undefined) return undefined;
    if (seen.forwardedFor === undefined) return seen.address;
    try {
      const like = { socket: { remoteAddress: seen.address }, connection: { remoteAddress: seen.address }, headers: { 'x-forwarded-for': seen.forwardedFor } };
      return proxyAddr(like as unknown as IncomingMessage, trust);
    } catch {
      return seen.address;
    }
  }

  return {
    describe(seen) {
      const agent = agents.classify(seen.userAgent);
      if (agent.bot !== null) return { bot: agent.bot };
      // A country header is a proxy's word: from anyone else it is whatever the client chose to send.
      const header = seen.country !== undefined && seen.address !== undefined && trust(seen.address, 0) ? seen.country : undefined;
      return {
        bot: null,
        referrer: referrerHost(seen.referer),
        country: countries.country({ address: clientAddress(seen), header }),
        browser: agent.browser,
        os: agent.os,
        device: agent.device === 'bot' ? 'other' : agent.device,
      };
    },
    isBot: (userAgent) => agents.isBot(userAgent),
  };
}
