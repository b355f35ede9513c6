// The one place that reads the environment. Every process parses and validates its variables once at
// start-up and passes the typed result down; a bad value stops the process with one line per variable.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import proxyAddr from 'proxy-addr';
import { parseRedisTarget } from './redis-url.ts';
import { isSendableApiKey } from '../client/api-key.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const CODE_CHARS = /^[A-Za-z0-9_-]+$/;
const THIRTY_DAYS_S = 30 * 24 * 60 * 60;

/** Every variable Curt reads, with its default and meaning; README's configuration table mirrors it. */
export const VARIABLES = {
  PORT: { default: 'KGS 7001, URL service 8080', doc: 'TCP port the process listens on.' },
  HOST: { default: '0.0.0.0 (serve: 127.0.0.1)', doc: 'Interface the process binds. `curt serve` stays on this machine unless told otherwise, since it allows anonymous links.' },
  LOG_LEVEL: { default: 'info (serve: warn)', doc: `JSON log level: ${LOG_LEVELS.join(', ')}. \`curt serve\` prints a readable summary instead of info lines.` },
  REDIS_URL: { default: 'redis://127.0.0.1:6379 (serve: in-process)', doc: 'Redis: the key pool (KGS), the lookup cache and rate-limit counters (URL service). `curt serve` uses Redis only when this is set. A Redis Cluster: `redis+cluster://[user:password@]host:port,host:port...` (`rediss+cluster://` with TLS), listing any of its nodes; see docs/scaling.md.' },
  REDIS_KEY_PREFIX: { default: '(empty)', doc: 'Prefix in front of every Redis key, e.g. `curt:`: up to 64 letters, digits and `: _ . -` and `{ }`; an empty `{}` is refused, and a `{tag}` puts every key in one slot of a Redis Cluster (docs/scaling.md).' },
  KGS_TOKEN: { default: '(required)', doc: 'Bearer token that internal callers of `/codes*` must present; the KGS warns at start when it is shorter than 24 characters or a placeholder (`change-me`, `secret`, ...). `curt serve` needs it only with KGS_URL.' },
  CODE_LENGTH: { default: '6', doc: 'Length of generated codes, 4 to 10.' },
  CODE_ALPHABET: { default: 'a-z A-Z', doc: 'Characters of generated codes: 2 or more distinct characters of `[A-Za-z0-9_-]`.' },
  KGS_POOL_LOW_WATERMARK: { default: '10000 (serve: 1000)', doc: 'Replenish when `available_keys` falls under this many codes.' },
  KGS_POOL_TARGET: { default: '50000 (serve: 5000)', doc: 'Replenish `available_keys` up to this many codes.' },
  KGS_REUSE_COOLDOWN_S: { default: '2592000 (30 days)', doc: 'Seconds a returned code waits before it can be handed out again; 0 = at once.' },
  KGS_EMPTY_WAIT_MS: { default: "(half the caller's KGS_TIMEOUT_MS)", doc: 'How long a request that finds the pool empty waits for replenishment before `503`: at most half the timeout the caller sends (`X-Caller-Timeout-Ms`, its `KGS_TIMEOUT_MS`), so the KGS never takes codes for a caller that gave up; 500 for a caller that sends none. When set, the wait is also never longer than this.' },
  DATABASE_URL: { default: 'postgres://postgres@127.0.0.1:5432/curt (serve: PGlite in DATA_DIR)', doc: 'PostgreSQL holding links, clicks and API keys. `curt serve` uses PostgreSQL only when this is set (and migrates it).' },
  DATABASE_READ_URL: { default: '(none: every read on DATABASE_URL)', doc: 'A streaming replica of DATABASE_URL for the redirect\'s lookups on a cache miss. A lookup takes the replica\'s answer only when the replica has replayed everything the primary had written when the lookup began, else it reads the primary; a replica that is down or behind slows nothing and never makes the service unready. Writes, visit counts, listings and analytics stay on DATABASE_URL. `curt serve` uses it only with DATABASE_URL. See docs/scaling.md.' },
  KGS_URL: { default: 'http://127.0.0.1:7001 (serve: in-process)', doc: 'Comma-separated KGS base URLs; the client fails over between them. `curt serve` uses a remote KGS only when this is set.' },
  PUBLIC_BASE_URL: { default: 'http://localhost:PORT', doc: 'Base of the short URLs handed out. Targets on its host, on loopback (`localhost`, `127.0.0.0/8`, `::1`) or on an address the service listens on (`HOST`; all interface addresses for 0.0.0.0) are refused in any spelling, so no link can redirect to Curt (no loops). The URL service warns at start while it is unset.' },
  REDIRECT_STATUS: { default: '302', doc: 'Status of a redirect: 301, 302, 307 or 308.' },
  ALLOW_ANONYMOUS: { default: 'false (serve: true)', doc: 'Whether `POST /urls` works without an API key.' },
  ADMIN_API_KEY: { default: '(none)', doc: 'If set, an admin API key with this value exists (bootstraps the first key). 24+ characters. A key with this value that was revoked stays refused (the start says so). Unset, with ALLOW_ANONYMOUS off and no key that works, the URL service warns at start that nobody can create links.' },
  CLICK_FLUSH_INTERVAL_MS: { default: '1000', doc: 'How often counted clicks are written to PostgreSQL, in one batch.' },
  CLICK_BUFFER_MAX: { default: '300000', doc: 'Most entries of unwritten clicks kept in memory (e.g. while PostgreSQL is down), overall: one per link, per link and day, per link, day and value (referrer host, country, browser, OS, device, bot name): about 100 MB at most by default. Values may fill three quarters; past that their detail is shed, and at the bound a new link or day sheds the values held for other links (`click_details_shed_total`): totals stay exact; once no value is left, a new day\'s detail is shed and hits of links that do not fit are dropped (`clicks_dropped_total`).' },
  GEOIP_DB: { default: '(bundled)', doc: 'IP-to-country database (MMDB) for click countries, read from disk at start; never a network lookup. Default: the `geo-whois-asn-country` database shipped with Curt (registry data, CC BY 4.0 by nro.net). A path to your own MaxMind GeoLite2/GeoIP2 Country or City file, or `off` (country only from GEOIP_COUNTRY_HEADER, else unknown). A path that cannot be read, or to a file that is not an MMDB, stops the start. See docs/privacy.md.' },
  GEOIP_COUNTRY_HEADER: { default: '(none)', doc: 'A header in which the proxy in front tells the client\'s country (e.g. `CF-IPCountry`, `CloudFront-Viewer-Country`): used before GEOIP_DB, and only on requests whose TCP peer is a trusted proxy (TRUST_PROXY).' },
  ANALYTICS_RETENTION_DAYS: { default: '400', doc: 'Days of daily click detail kept (the series and the breakdowns by referrer, country, browser, OS, device and bot); older days are deleted, link totals stay. 0 = keep forever.' },
  CACHE_TTL_S: { default: '3600', doc: 'Lifetime of a cached link in Redis (never past the link\'s expiry); 0 = this replica reads no cache, every redirect reads PostgreSQL; its changes are still written to Redis (kept at least 30 s) and announced to the other replicas, so replicas may differ in it (a rolling change).' },
  CACHE_NEAR_TTL_S: { default: '60', doc: 'Longest lifetime of an entry in the in-process cache in front of Redis, never past what is left of the Redis entry it was read from; changes reach every replica at once over Redis pub/sub, and the cache is off while that subscription is down or Redis has not answered for 1.5 s. 0 = off on this replica, which reads Redis alone and still announces its changes and waits for the others to drop theirs.' },
  CACHE_NEAR_MAX: { default: '100000', doc: 'Most links held in the in-process cache of each replica. In `curt serve` without `REDIS_URL` a link it does not hold is read from the embedded database, behind any click transaction there: give it room for the links that get traffic (docs/operations.md, "One machine").' },
  NEGATIVE_CACHE_TTL_S: { default: '30', doc: 'Lifetime of the "no such code" cache entry that shields PostgreSQL from scanners.' },
  BLOCKED_DOMAINS: { default: '(none)', doc: 'Comma-separated domain names that cannot be shortened, each with its subdomains (`evil.example` blocks `www.evil.example` too); an IP address blocks that address. Bare names only: an entry with a scheme, path, port, user name or wildcard (`https://evil.example`, `*.evil.example`) stops the start with a line saying what to write instead.' },
  WEBHOOK_ALLOW_PRIVATE: { default: 'false', doc: 'Whether webhook endpoints may be on loopback, private, link-local or other non-public addresses (checked when an endpoint is saved and, on the resolved address, at every delivery). Leave it off unless the receivers are on your own network: a webhook is a request the server makes for whoever holds an API key. See docs/webhooks.md.' },
  RATE_LIMIT_PER_KEY: { default: '600', doc: 'API requests per minute per API key (admin keys are not limited); 0 = off.' },
  RATE_LIMIT_PER_IP: { default: '120', doc: 'API requests per minute per client without a key (an IPv4 address; an IPv6 client by its /64); 0 = off.' },
  RATE_LIMIT_ON_REDIS_DOWN: { default: 'open', doc: 'What limited API calls get while Redis (which holds the counters) is unreachable: `open` lets them through unlimited, `closed` answers `503` `redis_unavailable` with Retry-After. Admin keys and redirects are never limited.' },
  TRUST_PROXY: { default: 'false', doc: 'Which proxies in front may set X-Forwarded-For (the client address that per-IP limits count): `false` = none, a hop count (`1` = the one ingress or load balancer in front), or comma-separated proxy addresses/CIDRs (`10.0.0.0/8,127.0.0.1`). `true` and a /0 range (`0.0.0.0/0`, `::/0`) are refused: either would let any client choose its address. See docs/operations.md.' },
  METRICS_PORT: { default: 'URL service and serve 9464, KGS 9465', doc: 'Port of the separate listener that serves only `GET /metrics` (Prometheus text), on HOST; the public port does not serve metrics. `0` = any free port, `off` = no metrics listener.' },
  IMPORT_MAX_BYTES: { default: '209715200 (200 MB)', doc: 'Largest file `POST /urls/import` accepts (`413` past it). The body is copied to a temporary file as it arrives (never held in memory), then read a row at a time; it must still arrive within HTTP_REQUEST_TIMEOUT_MS. See docs/import-export.md.' },
  HTTP_REQUEST_TIMEOUT_MS: { default: '10000', doc: 'Longest a client may take to send a whole request (headers and body) before it gets `408` and the connection is closed.' },
  HTTP_HEADERS_TIMEOUT_MS: { default: '5000', doc: 'Longest a client may take to send the request headers; at most HTTP_REQUEST_TIMEOUT_MS.' },
  HTTP_KEEP_ALIVE_TIMEOUT_MS: { default: '65000', doc: 'How long an idle kept-alive connection stays open. Behind a proxy that reuses connections, keep it above the proxy\'s idle timeout (see docs/operations.md).' },
  KGS_TIMEOUT_MS: { default: '1000', doc: 'How long the URL service waits for one KGS call before it tries the next replica. It sends this with each call, and the KGS waits on an empty pool for half of it at most.' },
  KGS_CLIENT_BATCH: { default: '200', doc: 'Codes the URL service fetches from the KGS per refill of its local buffer.' },
  SHUTDOWN_DRAIN_MS: { default: '5000 (serve: 1000; at most half of SHUTDOWN_TIMEOUT_MS)', doc: 'After SIGTERM, how long a process keeps answering (new connections too) while a load balancer stops sending to it: all of it, even with no connection open; every connection is closed after its next answer (`Connection: close`). After SIGINT (Ctrl-C) or a crash the drain ends early once no connection is left. 0 skips it. Less than SHUTDOWN_TIMEOUT_MS. See docs/operations.md.' },
  SHUTDOWN_TIMEOUT_MS: { default: '10000', doc: 'After SIGTERM, how long a process may take to stop (finish requests in flight, write counted clicks, return buffered codes) before it exits anyway with code 1. A second SIGTERM exits at once.' },
  DATA_DIR: { default: './data', doc: '`curt serve`: folder of the embedded database (PGlite), relative to the working directory; unused when DATABASE_URL is set.' },
  CURT_SERVER: { default: 'http://127.0.0.1:8080', doc: '`curt` client commands: the URL service to talk to (or `--server`).' },
  CURT_API_KEY: { default: '(none)', doc: '`curt` client commands: the API key to send (or `--api-key`).' },
} as const;

export type VariableName = keyof typeof VARIABLES;

/** Collects every problem before failing, so an operator fixes the whole environment in one go. */
class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  private raw(name: VariableName): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  private fail(name: VariableName, rule: string, shown: string | undefined): void {
    this.problems.push(`${name} ${rule}${shown === undefined ? '' : ` (got ${JSON.stringify(shown)})`}`);
  }

  int(name: VariableName, fallback: number, min: number, max: number): number {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const value = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      this.fail(name, `must be a whole number from ${min} to ${max}`, raw);
      return fallback;
    }
    return value;
  }

  string(name: VariableName, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  secret(name: VariableName): string {
    const raw = this.raw(name);
    if (raw === undefined) {
      this.fail(name, 'is required: set it to a long random string shared with the services that call the KGS', undefined);
      return '';
    }
    if (raw.length < 1) this.fail(name, 'must not be empty', undefined);
    return raw;
  }

  oneOf<T extends string>(name: VariableName, fallback: T, allowed: readonly T[]): T {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      this.fail(name, `must be one of ${allowed.join(', ')}`, raw);
      return fallback;
    }
    return raw as T;
  }

  url(name: VariableName, fallback: string, protocols: readonly string[]): string {
    const raw = this.raw(name) ?? fallback;
    let parsed: URL | undefined;
    try {
      parsed = new URL(raw);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !protocols.includes(parsed.protocol)) {
      // Never echo a URL that may hold a password.
      this.fail(name, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`, undefined);
    }
    return raw;
  }

  /** A single Redis (`redis://`, `rediss://`) or a Redis Cluster (`redis+cluster://host:port,host:port`). */
  redisUrl(name: VariableName, fallback: string): string {
    const raw = this.raw(name) ?? fallback;
    try {
      parseRedisTarget(raw);
    } catch {
      // Never echo a URL that may hold a password.
      this.fail(name, 'must be a URL starting with redis:// or rediss://, or redis+cluster://host:port[,host:port...] (rediss+cluster:// with TLS)', undefined);
    }
    return raw;
  }

  optional(name: VariableName): string | null {
    return this.raw(name) ?? null;
  }

  bool(name: VariableName, fallback: boolean): boolean {
    const raw = this.raw(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['true', '1', 'yes', 'on'].includes(raw)) return true;
    if (['false', '0', 'no', 'off'].includes(raw)) return false;
    this.fail(name, 'must be true or false', raw);
    return fallback;
  }

  urlList(name: VariableName, fallback: string, protocols: readonly string[]): string[] {
    const items = (this.raw(name) ?? fallback).split(',').map((s) => s.trim()).filter((s) => s !== '');
    const bad = items.filter((item) => {
      try {
        return !protocols.includes(new URL(item).protocol);
      } catch {
        return true;
      }
    });
    if (items.length === 0 || bad.length > 0) {
      this.fail(name, `must be one or more comma-separated URLs starting with ${protocols.map((p) => `${p}//`).join(' or ')}`, undefined);
    }
    return items.map((item) => item.replace(/\/+$/, ''));
  }

  /**
   * Bare domain names, each standing for itself and its subdomains (an IP address for itself). An
   * entry in another form is refused, not repaired: `https://evil.example` read as a host once became
   * the domain `https`, and `*.bad.example` was kept as a name no host has, so neither blocked anything.
   */
  domainList(name: VariableName): string[] {
    const items = (this.raw(name) ?? '').split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
    const domains: string[] = [];
    const refused: string[] = [];
    for (const item of items) {
      const entry = blockedDomainEntry(item);
      if ('domain' in entry) domains.push(entry.domain);
      else refused.push(`${JSON.stringify(item)} ${entry.problem}`);
    }
    // One line for the variable, naming every entry to fix.
    if (refused.length > 0) this.fail(name, `must list bare domain names, comma-separated: ${refused.join('; ')}`, undefined);
    return domains;
  }

  /** A port, `0` for any free one, or `off`: null. */
  portOrOff(name: VariableName, fallback: number): number | null {
    const raw = this.raw(name);
    if (raw?.toLowerCase() === 'off') return null;
    return this.int(name, fallback, 0, 65_535);
  }

  trustProxy(name: VariableName): TrustProxy {
    const raw = this.raw(name);
    if (raw === undefined || ['false', 'no', 'off'].includes(raw.toLowerCase())) return false;
    if (/^\d+$/.test(raw)) {
      const hops = Number(raw);
      if (hops <= 100) return hops === 0 ? false : hops;
    }
    if (['true', 'yes', 'on'].includes(raw.toLowerCase())) {
      this.fail(name, 'must not be true (that trusts every X-Forwarded-For hop, so any client picks its own address): give the number of proxies in front (e.g. 1) or their addresses (e.g. 10.0.0.0/8)', raw);
      return false;
    }
    const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const everyAddress = items.filter(coversEveryAddress);
    if (everyAddress.length > 0) {
      this.fail(name, `must not name a /0 range (${everyAddress.join(', ')}: that trusts every sender, so any client picks its own address): give the number of proxies in front (e.g. 1) or their addresses (e.g. 10.0.0.0/8)`, raw);
      return false;
    }
    const bad = items.filter((item) => !isProxyAddress(item));
    if (items.length === 0 || bad.length > 0) {
      this.fail(name, 'must be false, a hop count from 1 to 100, or comma-separated IP addresses/CIDRs', raw);
      return false;
    }
    return items;
  }

  /**
   * A file that cannot be read is found here, with the other problems and before anything connects;
   * whether it is a MaxMind DB is for src/analytics/country.ts, which reads it.
   */
  geoipDb(name: VariableName): AnalyticsConfig['geoipDb'] {
    const raw = this.raw(name);
    if (raw === undefined) return { bundled: true };
    if (raw.toLowerCase() === 'off') return null;
    const unreadable = unreadableFileReason(raw);
    if (unreadable !== null) this.fail(name, `must be a readable MaxMind DB (.mmdb) file, or off: ${unreadable}`, raw);
    return { path: raw };
  }

  headerName(name: VariableName): string | null {
    const raw = this.raw(name);
    if (raw === undefined) return null;
    // An HTTP token (RFC 9110), so that it names a header a proxy can set.
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/.test(raw)) {
      this.fail(name, 'must be a header name, e.g. CF-IPCountry', raw);
      return null;
    }
    return raw.toLowerCase();
  }

  keyPrefix(name: VariableName): string {
    const raw = this.raw(name) ?? '';
    if (!/^[A-Za-z0-9:_.{}-]*$/.test(raw) || raw.length > 64) {
      this.fail(name, 'must be at most 64 characters of letters, digits and : _ . - { }', raw);
      return '';
    }
    // On a cluster Redis hashes a key by the first `{…}` in it, whole when that is empty: an empty
    // one in the prefix put the key pool's sets, which a script uses together, in different slots
    // (CROSSSLOT). A `{tag}` there works (every key in its slot: nothing spread over the masters), and
    // earlier releases took it, so it is still taken.
    const open = raw.indexOf('{');
    if (open >= 0 && raw[open + 1] === '}') {
      this.fail(name, 'must not hold an empty hash tag {}: on a Redis Cluster every key would then be hashed whole, and the key pool\'s sets would land in different slots', raw);
      return '';
    }
    return raw;
  }

  alphabet(name: VariableName, fallback: string): string {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    if (!CODE_CHARS.test(raw) || new Set(raw).size !== raw.length || raw.length < 2) {
      this.fail(name, 'must be 2 or more distinct characters of A-Z a-z 0-9 _ -', raw);
      return fallback;
    }
    return raw;
  }

  done<T>(value: T): T {
    if (this.problems.length > 0) throw new ConfigError(this.problems.map((p) => `Invalid configuration: ${p}`));
    return value;
  }

  /** Runs another loader on the same environment, adding its problems (once each) to these. */
  include<T>(load: () => T): T | undefined {
    try {
      return load();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const problem of err.problems) {
        const bare = problem.replace(/^Invalid configuration: /, '');
        if (!this.problems.includes(bare)) this.problems.push(bare);
      }
      return undefined;
    }
  }
}

/** Why the file at `path` cannot be read, or null when it can (opened, then closed at once). */
function unreadableFileReason(path: string): string | null {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    return fstatSync(fd).isFile() ? null : 'it is not a file';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'no such file';
    if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
    return (err as Error).message;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A DNS label as URLs carry it (after IDNA): letters, digits, hyphens inside, and the underscores real names have. */
const DOMAIN_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * The name a target URL's host is compared with (src/url/target-url.ts: lower case, IDNA ASCII, no
 * trailing dot, no brackets), or null when `text` is neither a domain name nor an IP address.
 */
function canonicalDomain(text: string): string | null {
  const bracketed = /^\[(.*)\]$/.exec(text)?.[1];
  if (bracketed !== undefined) return isIP(bracketed) === 6 ? canonicalDomain(bracketed) : null;
  if (isIP(text) === 6) return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  if (isIP(text) === 4) return text;
  // domainToASCII parses a URL's host: it would stop at a path or decode a percent sign, not refuse them.
  if (/[\s/?#\\%@:*[\]]/.test(text)) return null;
  const ascii = domainToASCII(text).replace(/\.$/, '');
  // The URL parser reads a name whose last label is a number as an IPv4 address ("1.2.3" is 1.2.0.3).
  if (ascii === '' || ascii.length > 253 || isIP(ascii) !== 0) return null;
  const labels = ascii.split('.');
  return labels.every((label) => DOMAIN_LABEL.test(label)) ? ascii : null;
}

/** A BLOCKED_DOMAINS entry: its canonical domain, or what is wrong with it and what to write instead. */
function blockedDomainEntry(item: string): { domain: string } | { problem: string } {
  const domain = canonicalDomain(item);
  if (domain !== null) return { domain };
  const instead = (host: string | null): string => (host === null ? 'write only its domain name' : `write ${host}`);
  const hostOf = (url: string): string | null => {
    try {
      return canonicalDomain(new URL(url).hostname);
    } catch {
      return null;
    }
  };
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(item)) return { problem: `is a URL: ${instead(hostOf(item))}` };
  if (item.includes('*')) {
    const parent = item.startsWith('*.') ? canonicalDomain(item.slice(2)) : null;
    return { problem: `is a wildcard: ${parent === null ? 'write the domain itself' : `write ${parent}`}: its subdomains are blocked with it` };
  }
  const host = hostOf(`http://${item}`);
  if (item.includes('@')) return { problem: `has a user name: ${instead(host)}` };
  if (/[/?#]/.test(item)) return { problem: `has a path: ${instead(host)}` };
  if (item.includes(':')) return { problem: `has a port: ${instead(host)}` };
  return { problem: 'is not a domain name' };
}

/** false: trust no proxy; a number: that many proxies in front; a list: the proxies at these addresses/CIDRs. */
export type TrustProxy = false | number | readonly string[];

/** Names proxy-addr (Fastify's matcher) knows for address ranges. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An address with a /0 prefix (`0.0.0.0/0`, `::/0`): a range that holds every address of its family. */
function coversEveryAddress(item: string): boolean {
  const [address = '', prefix, ...rest] = item.split('/');
  return rest.length === 0 && prefix !== undefined && /^0+$/.test(prefix) && isIP(address) !== 0;
}

function isProxyAddress(item: string): boolean {
  if (PROXY_RANGE_NAMES.has(item)) return true;
  const [address = '', prefix, ...rest] = item.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) < 1 || Number(prefix) > (family === 4 ? 32 : 128))) return false;
  return proxyAddrReads(item);
}

/**
 * Node's isIP takes addresses proxy-addr cannot read (an IPv4 tail after anything but ::ffff:, as in
 * `::1.2.3.4` or `64:ff9b::1.2.3.4`; a zone with a dot or a dash, `fe80::1%eth0.1`), and proxy-addr
 * compiles TRUST_PROXY when the service starts (src/analytics/visitor.ts; Fastify's copy,
 * @fastify/proxy-addr, reads all it reads): what passes here must not stop the process there.
 * isIP stays first: proxy-addr alone would read `010.0.0.1` as octal, 8.0.0.1.
 */
function proxyAddrReads(item: string): boolean {
  try {
    proxyAddr.compile(item);
    return true;
  } catch {
    return false;
  }
}

export interface HttpTimeouts {
  requestMs: number;
  headersMs: number;
  keepAliveMs: number;
}

export interface ListenConfig {
  host: string;
  port: number;
  /** The metrics listener's port (same host); null: none. */
  metricsPort: number | null;
  timeouts: HttpTimeouts;
}

/** The listeners' settings, the same rules for every process. */
function readListen(r: Reader, defaults: { host: string; port: number; metricsPort: number }, port?: number): ListenConfig {
  const requestMs = r.int('HTTP_REQUEST_TIMEOUT_MS', 10_000, 100, 3_600_000);
  const headersMs = r.int('HTTP_HEADERS_TIMEOUT_MS', 5000, 100, 3_600_000);
  // Node would silently stretch the request timeout to the headers timeout.
  if (headersMs > requestMs) r.problems.push(`HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS (got ${headersMs} > ${requestMs})`);
  return {
    host: r.string('HOST', defaults.host),
    port: port ?? r.int('PORT', defaults.port, 0, 65_535),
    metricsPort: r.portOrOff('METRICS_PORT', defaults.metricsPort),
    timeouts: { requestMs, headersMs, keepAliveMs: r.int('HTTP_KEEP_ALIVE_TIMEOUT_MS', 65_000, 1000, 3_600_000) },
  };
}

export interface CodeConfig {
  length: number;
  alphabet: string;
}

export interface KgsConfig {
  listen: ListenConfig;
  logLevel: LogLevel;
  redis: { url: string; keyPrefix: string };
  token: string;
  codes: CodeConfig;
  /** emptyWaitMs null: derived from each caller's timeout (see KeyPoolOptions). */
  pool: { lowWatermark: number; target: number; reuseCooldownS: number; emptyWaitMs: number | null };
  shutdownTimeoutMs: number;
  shutdownDrainMs: number;
}

export function loadKgsConfig(env: Env, defaults: ProcessDefaults = {}): KgsConfig {
  const r = new Reader(env);
  const lowWatermark = r.int('KGS_POOL_LOW_WATERMARK', 10_000, 0, 10_000_000);
  const target = r.int('KGS_POOL_TARGET', 50_000, 1, 10_000_000);
  if (target <= lowWatermark && r.problems.length === 0) {
    r.problems.push(`KGS_POOL_TARGET must be greater than KGS_POOL_LOW_WATERMARK (got ${target} <= ${lowWatermark})`);
  }
  const shutdownTimeoutMs = readShutdownTimeout(r);
  const config: KgsConfig = {
    listen: readListen(r, { host: '0.0.0.0', port: 7001, metricsPort: 9465 }),
    logLevel: r.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    redis: { url: r.redisUrl('REDIS_URL', 'redis://127.0.0.1:6379'), keyPrefix: r.keyPrefix('REDIS_KEY_PREFIX') },
    token: r.secret('KGS_TOKEN'),
    codes: { length: r.int('CODE_LENGTH', 6, 4, 10), alphabet: r.alphabet('CODE_ALPHABET', LETTERS) },
    pool: {
      lowWatermark,
      target,
      reuseCooldownS: r.int('KGS_REUSE_COOLDOWN_S', THIRTY_DAYS_S, 0, 10 * 365 * 24 * 60 * 60),
      emptyWaitMs: r.optional('KGS_EMPTY_WAIT_MS') === null ? null : r.int('KGS_EMPTY_WAIT_MS', 0, 0, 60_000),
    },
    shutdownTimeoutMs,
    shutdownDrainMs: readShutdownDrain(r, shutdownTimeoutMs, defaults.shutdownDrainMs),
  };
  return r.done(config);
}

/** The same rule for every process that drains on SIGTERM. */
function readShutdownTimeout(r: Reader): number {
  return r.int('SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000);
}

/** Defaults a process kind has of its own, where they cannot be a fixed text (they depend on another variable). */
export interface ProcessDefaults {
  /** SHUTDOWN_DRAIN_MS when unset, before the cap at half of SHUTDOWN_TIMEOUT_MS (default 5000). */
  shutdownDrainMs?: number;
}

/** Part of the shutdown: the drain must leave time to finish requests and write clicks. */
function readShutdownDrain(r: Reader, shutdownTimeoutMs: number, preferredMs = 5000): number {
  // Unset, it is at most half the shutdown time, so a short SHUTDOWN_TIMEOUT_MS alone stays valid.
  const drainMs = r.int('SHUTDOWN_DRAIN_MS', Math.min(preferredMs, Math.floor(shutdownTimeoutMs / 2)), 0, 600_000);
  if (drainMs >= shutdownTimeoutMs) r.problems.push(`SHUTDOWN_DRAIN_MS must be less than SHUTDOWN_TIMEOUT_MS (got ${drainMs} >= ${shutdownTimeoutMs})`);
  return drainMs;
}

export interface CacheConfig {
  ttlS: number;
  negativeTtlS: number;
  nearTtlS: number;
  nearMax: number;
}

export interface AnalyticsConfig {
  /** The IP-to-country database: the one shipped with Curt, a file, or none. */
  geoipDb: { bundled: true } | { path: string } | null;
  /** Lower-case header name, or null. */
  countryHeader: string | null;
  /** 0: keep forever. */
  retentionDays: number;
}

export interface UrlServiceConfig {
  listen: ListenConfig;
  logLevel: LogLevel;
  databaseUrl: string;
  /** DATABASE_READ_URL: a streaming replica for redirect lookups; null = none. */
  databaseReadUrl: string | null;
  redis: { url: string; keyPrefix: string };
  kgs: { urls: string[]; token: string; batchSize: number; timeoutMs: number };
  publicBaseUrl: string;
  /** PUBLIC_BASE_URL was unset: publicBaseUrl is http://localhost:PORT, which only this machine can open. */
  publicBaseUrlDefaulted: boolean;
  redirectStatus: 301 | 302 | 307 | 308;
  allowAnonymous: boolean;
  adminApiKey: string | null;
  /** IMPORT_MAX_BYTES. */
  importMaxBytes: number;
  clicks: { flushIntervalMs: number; bufferMax: number };
  analytics: AnalyticsConfig;
  cache: CacheConfig;
  blockedDomains: string[];
  webhooks: { allowPrivate: boolean };
  rateLimit: { perKey: number; perIp: number; onRedisDown: 'open' | 'closed' };
  trustProxy: TrustProxy;
  shutdownTimeoutMs: number;
  shutdownDrainMs: number;
}

export function loadUrlServiceConfig(env: Env, defaults: ProcessDefaults = {}): UrlServiceConfig {
  const r = new Reader(env);
  const port = r.int('PORT', 8080, 0, 65_535);
  const publicBaseUrl = r.url('PUBLIC_BASE_URL', `http://localhost:${port}`, ['http:', 'https:']).replace(/\/+$/, '');
  const kgsUrls = r.urlList('KGS_URL', 'http://127.0.0.1:7001', ['http:', 'https:']);
  const adminApiKey = r.optional('ADMIN_API_KEY');
  const shutdownTimeoutMs = readShutdownTimeout(r);
  if (adminApiKey !== null && (adminApiKey.length < 24 || !isSendableApiKey(adminApiKey))) {
    r.problems.push('ADMIN_API_KEY must be at least 24 printable characters without spaces');
  }
  const config: UrlServiceConfig = {
    listen: readListen(r, { host: '0.0.0.0', port: 8080, metricsPort: 9464 }, port),
    logLevel: r.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    databaseUrl: r.url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/curt', ['postgres:', 'postgresql:']),
    databaseReadUrl: r.optional('DATABASE_READ_URL') === null ? null : r.url('DATABASE_READ_URL', '', ['postgres:', 'postgresql:']),
    redis: { url: r.redisUrl('REDIS_URL', 'redis://127.0.0.1:6379'), keyPrefix: r.keyPrefix('REDIS_KEY_PREFIX') },
    kgs: { urls: kgsUrls, token: r.secret('KGS_TOKEN'), batchSize: r.int('KGS_CLIENT_BATCH', 200, 1, 1000), timeoutMs: r.int('KGS_TIMEOUT_MS', 1000, 50, 60_000) },
    publicBaseUrl,
    publicBaseUrlDefaulted: r.optional('PUBLIC_BASE_URL') === null,
    redirectStatus: Number(r.oneOf('REDIRECT_STATUS', '302', ['301', '302', '307', '308'])) as 301 | 302 | 307 | 308,
    allowAnonymous: r.bool('ALLOW_ANONYMOUS', false),
    adminApiKey,
    importMaxBytes: r.int('IMPORT_MAX_BYTES', 200 * 1024 * 1024, 1024, 10 * 1024 * 1024 * 1024),
    clicks: { flushIntervalMs: r.int('CLICK_FLUSH_INTERVAL_MS', 1000, 10, 600_000), bufferMax: r.int('CLICK_BUFFER_MAX', 300_000, 100, 100_000_000) },
    analytics: {
      geoipDb: r.geoipDb('GEOIP_DB'),
      countryHeader: r.headerName('GEOIP_COUNTRY_HEADER'),
      retentionDays: r.int('ANALYTICS_RETENTION_DAYS', 400, 0, 100_000),
    },
    cache: {
      ttlS: r.int('CACHE_TTL_S', 3600, 0, 30 * 24 * 3600),
      negativeTtlS: r.int('NEGATIVE_CACHE_TTL_S', 30, 0, 3600),
      nearTtlS: r.int('CACHE_NEAR_TTL_S', 60, 0, 24 * 3600),
      nearMax: r.int('CACHE_NEAR_MAX', 100_000, 1, 10_000_000),
    },
    blockedDomains: r.domainList('BLOCKED_DOMAINS'),
    webhooks: { allowPrivate: r.bool('WEBHOOK_ALLOW_PRIVATE', false) },
    rateLimit: {
      perKey: r.int('RATE_LIMIT_PER_KEY', 600, 0, 10_000_000),
      perIp: r.int('RATE_LIMIT_PER_IP', 120, 0, 10_000_000),
      onRedisDown: r.oneOf('RATE_LIMIT_ON_REDIS_DOWN', 'open', ['open', 'closed'] as const),
    },
    trustProxy: r.trustProxy('TRUST_PROXY'),
    shutdownTimeoutMs,
    shutdownDrainMs: readShutdownDrain(r, shutdownTimeoutMs, defaults.shutdownDrainMs),
  };
  return r.done(config);
}

export interface MigrateConfig {
  logLevel: LogLevel;
  databaseUrl: string;
}

export function loadMigrateConfig(env: Env): MigrateConfig {
  const r = new Reader(env);
  return r.done({
    logLevel: r.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    databaseUrl: r.url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/curt', ['postgres:', 'postgresql:']),
  });
}

export interface ServeConfig {
  /** Folder of the embedded database, as given: relative paths are taken from the working directory. */
  dataDir: string;
  /** null: PGlite under `dataDir`. */
  databaseUrl: string | null;
  /** null: the cache, the rate limits and the key pool live in this process. */
  redisUrl: string | null;
  /** null: the KGS runs in this process. */
  kgsUrls: string[] | null;
  service: UrlServiceConfig;
  codes: CodeConfig;
  pool: KgsConfig['pool'];
}

/** What `curt serve` assumes where a variable is unset: one person on one machine. */
const SERVE_DEFAULTS: Record<string, string> = {
  HOST: '127.0.0.1',
  LOG_LEVEL: 'warn',
  ALLOW_ANONYMOUS: 'true',
  // A smaller pool: the embedded database fills it at first start, and one machine makes few links.
  KGS_POOL_LOW_WATERMARK: '1000',
  KGS_POOL_TARGET: '5000',
};

/**
 * `curt serve`: the URL service and the KGS in one process. Their settings are read by their own
 * loaders, with the one-machine defaults filled in; DATABASE_URL, REDIS_URL and KGS_URL each switch
 * one part from embedded to external only when set.
 */
export function loadServeConfig(env: Env): ServeConfig {
  const r = new Reader(env);
  const dataDir = r.string('DATA_DIR', './data');
  const databaseUrl = r.optional('DATABASE_URL');
  const redisUrl = r.optional('REDIS_URL');
  const remoteKgs = r.optional('KGS_URL') !== null;
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
  // Without KGS_URL no token is ever sent or checked, so none is required.
  const merged = { ...SERVE_DEFAULTS, ...(remoteKgs ? {} : { KGS_TOKEN: 'unused-in-process' }), ...given };
  // One person at a terminal: Ctrl-C should not wait long for a browser's idle connection. Not in
  // SERVE_DEFAULTS: a default there counts as given, and would escape the cap at half the shutdown time.
  const defaults: ProcessDefaults = { shutdownDrainMs: 1000 };
  const service = r.include(() => loadUrlServiceConfig(merged, defaults));
  const kgs = r.include(() => loadKgsConfig(merged, defaults));
  // A replica of the embedded database cannot exist: refused rather than silently unused.
  if (databaseUrl === null && r.optional('DATABASE_READ_URL') !== null) r.problems.push('DATABASE_READ_URL needs DATABASE_URL: the embedded database (PGlite) has no replica');
  r.done(null);
  if (service === undefined || kgs === undefined) throw new Error('a configuration loader failed without saying why');
  return {
    dataDir,
    databaseUrl,
    redisUrl,
    kgsUrls: remoteKgs ? service.kgs.urls : null,
    service,
    codes: kgs.codes,
    pool: kgs.pool,
  };
}

/** Where `curt serve` listens by default, and so where the client commands look first. */
export const DEFAULT_CURT_SERVER = 'http://127.0.0.1:8080';

export interface CliConfig {
  server: string;
  apiKey: string | null;
}

/** The `curt` client commands; `--server` and `--api-key` arrive here as CURT_SERVER and CURT_API_KEY. */
export function loadCliConfig(env: Env): CliConfig {
  const r = new Reader(env);
  const apiKey = r.optional('CURT_API_KEY');
  // Said without the key, which is a secret.
  if (apiKey !== null && !isSendableApiKey(apiKey)) r.problems.push('CURT_API_KEY must be printable ASCII without spaces or line breaks (a key is; the value is not shown)');
  return r.done({
    server: r.url('CURT_SERVER', DEFAULT_CURT_SERVER, ['http:', 'https:']).replace(/\/+$/, ''),
    apiKey,
  });
}
