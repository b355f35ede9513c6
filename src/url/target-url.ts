// Validates and normalises the URL a link points to (SPEC §5), with the WHATWG parser: international
// domain names become punycode, paths are percent-encoded.
import { InvalidRequest } from '../core/errors.ts';
import { MAX_URL_LENGTH, URL_TOO_LONG } from '../core/validation-message.ts';

export { MAX_URL_LENGTH };

export interface TargetUrlPolicy {
  /** Hosts of this service: a short link to a short link would loop. */
  ownHosts: readonly string[];
  /** Domains that cannot be shortened, with their subdomains. */
  blockedDomains: readonly string[];
}

const invalid = (detail: string): InvalidRequest => new InvalidRequest(detail, 'invalid_url');

export function normaliseTargetUrl(raw: string, policy: TargetUrlPolicy): string {
  if (raw.length > MAX_URL_LENGTH) throw invalid(URL_TOO_LONG);
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch {
    throw invalid('url must be an absolute http or https URL.');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw invalid('url must use http or https.');
  if (parsed.hostname === '') throw invalid('url must have a host.');
  if (parsed.username !== '' || parsed.password !== '') throw invalid('url must not contain a user name or password.');
  const host = parsed.hostname.toLowerCase().replace(/\.$/, '');
  if (policy.ownHosts.some((own) => own.toLowerCase() === host || own.toLowerCase() === parsed.host.toLowerCase())) {
    throw invalid('url must not point at this shortener.');
  }
  if (policy.blockedDomains.some((domain) => host === domain || host.endsWith(`.${domain}`))) {
    throw new InvalidRequest('The domain of this url is blocked by the operator.', 'url_blocked');
  }
  const normalised = parsed.href;
  if (normalised.length > MAX_URL_LENGTH) throw invalid(URL_TOO_LONG);
  return normalised;
}
