// Query forwarding: a link with `forward_query` adds the query string it was asked with to its
// target's, so that `GET /launch?utm_source=mail` leads to `https://example.com/page?ref=1&utm_source=mail`.
// Only links with the option ever come here: a redirect of any other link reads no query at all.
import { MAX_URL_LENGTH } from '../core/validation-message.ts';

/** A pair's name as a form decoder reads it (`+` is a space, percent-escapes decoded), for comparing only. */
function nameOf(pair: string): string {
  const eq = pair.indexOf('=');
  const raw = (eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' ');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw; // a stray `%`: the name is compared as it is spelled
  }
}

const pairsOf = (query: string): string[] => query.split('&').filter((pair) => pair !== '');

/** A `%` that does not begin an escape (two hex digits). */
const STRAY_PERCENT = /%(?![0-9A-Fa-f]{2})/g;

/**
 * The query with each stray `%` written `%25`: the WHATWG parser keeps one as it is, and a Location
 * holding it is no URI (RFC 3986 §2.1). Valid escapes are kept as sent. Scanned only when there is a `%`.
 */
function escapeStrayPercents(query: string): string {
  return query.includes('%') ? query.replace(STRAY_PERCENT, '%25') : query;
}

/**
 * The target with `query` (the short link's query string, without `?`) merged into its own:
 *  - an empty query leaves the target as it is;
 *  - the result's query is the target's parameters whose name the short link's query does not have,
 *    in their order, then every parameter of the short link's query, in its order: for a name in
 *    both, the short link's value (or values) replaces every occurrence of the target's;
 *  - names are compared decoded (`utm%5Fsource` is `utm_source`, `a+b` is `a b`), and each pair keeps
 *    the spelling it came with, but for a stray `%` of the short link's query, forwarded as `%25`
 *    (the target's own query is left as its link has it); empty pairs (`&&`) are dropped, `a=` and a
 *    bare `a` kept;
 *  - the target's fragment (`#…`) stays at the end;
 *  - the result is written as the WHATWG URL parser writes it (characters a URL cannot hold are
 *    percent-encoded); when that is longer than MAX_URL_LENGTH, or does not parse, the target is
 *    used as it is, without the query.
 */
export function forwardQuery(target: string, query: string): string {
  const incoming = pairsOf(escapeStrayPercents(query));
  if (incoming.length === 0) return target;
  // The first `#` starts the fragment, and a `?` after it belongs to the fragment.
  const hashAt = target.indexOf('#');
  const beforeFragment = hashAt < 0 ? target : target.slice(0, hashAt);
  const fragment = hashAt < 0 ? '' : target.slice(hashAt);
  const queryAt = beforeFragment.indexOf('?');
  const base = queryAt < 0 ? beforeFragment : beforeFragment.slice(0, queryAt);
  const replaced = new Set(incoming.map(nameOf));
  const kept = queryAt < 0 ? [] : pairsOf(beforeFragment.slice(queryAt + 1)).filter((pair) => !replaced.has(nameOf(pair)));
  let merged: string;
  try {
    merged = new URL(`${base}?${[...kept, ...incoming].join('&')}${fragment}`).href;
  } catch {
    return target;
  }
  return merged.length > MAX_URL_LENGTH ? target : merged;
}

/**
 * The target for a request to `requestTarget` (the path and query as received, `req.url`): its query
 * string, up to any `#`, forwarded by the rule of forwardQuery. Called only for links that forward,
 * so that no other redirect pays for finding the query.
 */
export function forwardRequestQuery(target: string, requestTarget: string): string {
  const queryAt = requestTarget.indexOf('?');
  if (queryAt < 0) return target;
  const hashAt = requestTarget.indexOf('#', queryAt);
  return forwardQuery(target, requestTarget.slice(queryAt + 1, hashAt < 0 ? undefined : hashAt));
}
