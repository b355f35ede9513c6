// Validates and normalises the URL a link points to, with the WHATWG parser: international domain
// names become punycode, paths are percent-encoded, and every spelling of an IPv4 address (decimal,
// hex, octal, short forms) becomes dotted-quad. It also refuses targets that are this service: a short
// link to a short link can redirect forever and counts a click per hop (docs/architecture.md, "Targets
// that point back at Curt").
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { InvalidRequest } from '../core/errors.ts';
import { MAX_URL_LENGTH, URL_TOO_LONG } from '../core/validation-message.ts';

export { MAX_URL_LENGTH };
/** How long creation waits for a target's name to resolve before it takes the name as not resolving. */
export const RESOLVE_TIMEOUT_MS = 1000;

/** A name's addresses; [] when it does not resolve (or not in time). Never throws. */
export type ResolveName = (name: string) => Promise<readonly string[]>;

export interface TargetUrlPolicy {
  /** Names of this service (the public host; HOST when it is a name), refused on any port. */
  ownHosts: readonly string[];
  /**
   * Addresses this service listens on (HOST, or every interface's address when HOST is 0.0.0.0 or ::),
   * refused on any port. Loopback and the unspecified addresses are always refused, given or not.
   */
  ownAddresses?: () => readonly string[];
  /** Domains that cannot be shortened, with their subdomains. */
  blockedDomains: readonly string[];
  /** How a target's name is resolved at creation (createNameResolver); without one, names are checked by name only. */
  resolve?: ResolveName;
}

const invalid = (detail: string): InvalidRequest => new InvalidRequest(detail, 'invalid_url');
const selfTarget = (what: string): InvalidRequest =>
  invalid(`url must not point at this shortener: ${what}, so the short link would redirect to itself.`);

/** Lower case, no trailing dot, no IPv6 brackets: the one spelling a host is compared in. */
export function canonicalHost(hostname: string): string {
  return hostname.toLowerCase().replace(/\.$/, '').replace(/^\[(.*)\]$/, '$1');
}

/** Loopback and "this host" in every family; an IPv4-mapped IPv6 address is checked as its IPv4 address. */
function buildSelfAddresses(extra: readonly string[]): BlockList {
  const list = new BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  // 0.0.0.0/8 is "this network": connecting to 0.0.0.0 reaches the local host.
  list.addSubnet('0.0.0.0', 8, 'ipv4');
  list.addAddress('::1', 'ipv6');
  list.addAddress('::', 'ipv6');
  // IPv4-compatible loopback (::127.0.0.1), deprecated but still parsed.
  list.addSubnet('::7f00:0', 104, 'ipv6');
  for (const address of extra) {
    const family = isIP(address);
    if (family !== 0) list.addAddress(address, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/**
 * The list for these addresses, and its verdicts. Building a BlockList and checking an address each
 * construct native SocketAddress objects: per creation that was about 35 of its 229 µs of CPU. The
 * addresses change only with the interfaces, and targets repeat, so both are kept while the
 * addresses stay the same (verdicts bounded in number).
 */
let selfList: { key: string; list: BlockList; verdicts: Map<string, boolean> } | null = null;
const VERDICTS_KEPT = 10_000;

/**
 * Whether `address` (an IP address; false for a name) is loopback, "this host" or one of `extra`, the
 * addresses this service listens on. Webhook endpoints (webhook-target.ts) are checked here too: a
 * different `extra` rebuilds the list and drops the verdicts, so the URL service gives both the same one.
 */
export function isSelfAddress(address: string, extra: readonly string[]): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  const key = extra.join(',');
  if (selfList?.key !== key) selfList = { key, list: buildSelfAddresses(extra), verdicts: new Map() };
  let verdict = selfList.verdicts.get(address);
  if (verdict === undefined) {
    verdict = selfList.list.check(address, family === 6 ? 'ipv6' : 'ipv4');
    if (selfList.verdicts.size >= VERDICTS_KEPT) selfList.verdicts.clear();
    selfList.verdicts.set(address, verdict);
  }
  return verdict;
}

/** An own host given as `name` or `name:port`, in canonical spelling. */
function hostOf(own: string): string {
  try {
    return canonicalHost(new URL(`http://${own}`).hostname);
  } catch {
    return canonicalHost(own);
  }
}

/** The own hosts in canonical spelling, worked out once per list (each is a WHATWG parse). */
const canonicalOwnHosts = new WeakMap<readonly string[], readonly string[]>();
export function ownHostsOf(ownHosts: readonly string[]): readonly string[] {
  let hosts = canonicalOwnHosts.get(ownHosts);
  if (hosts === undefined) {
    hosts = ownHosts.map(hostOf);
    canonicalOwnHosts.set(ownHosts, hosts);
  }
  return hosts;
}

/** `localhost` and every name under it are loopback by definition (RFC 6761), whatever DNS says. */
export function isLocalhostName(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost');
}

/**
 * The checks that need no name resolution: syntax, this service's names and addresses, blocked
 * domains. Returns the normalised URL.
 */
export function normaliseTargetUrl(raw: string, policy: TargetUrlPolicy): string {
  return checkSyntaxAndSelf(raw, policy, policy.ownAddresses?.() ?? []).href;
}

/** normaliseTargetUrl's checks, with the service's addresses read once by the caller; the URL and its canonical host. */
function checkSyntaxAndSelf(raw: string, policy: TargetUrlPolicy, ownAddresses: readonly string[]): { href: string; host: string } {
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
  const host = canonicalHost(parsed.hostname);
  if (ownHostsOf(policy.ownHosts).includes(host)) {
    throw selfTarget(`${host} is this service's own host`);
  }
  if (isLocalhostName(host)) throw selfTarget(`${host} is this machine (loopback)`);
  if (isSelfAddress(host, ownAddresses)) {
    throw selfTarget(`${host} is an address of this service (loopback or one it listens on)`);
  }
  if (policy.blockedDomains.some((domain) => host === domain || host.endsWith(`.${domain}`))) {
    throw new InvalidRequest('The domain of this url is blocked by the operator.', 'url_blocked');
  }
  const href = parsed.href;
  if (href.length > MAX_URL_LENGTH) throw invalid(URL_TOO_LONG);
  return { href, host };
}

/**
 * normaliseTargetUrl, then the target's name resolved (bounded by RESOLVE_TIMEOUT_MS): a name with an
 * address of this service is refused. A name that does not resolve (yet), or not in time, is accepted:
 * links to a domain being set up are legitimate, and whoever controls a zone can re-point a name after
 * creation anyway, so this guards against mistakes and plain loops, not against the owner of a zone.
 * Only creation and an edit of a target resolve names; redirects never do.
 */
export async function checkTargetUrl(raw: string, policy: TargetUrlPolicy): Promise<string> {
  const own = policy.ownAddresses?.() ?? [];
  const { href, host } = checkSyntaxAndSelf(raw, policy, own);
  if (isIP(host) !== 0 || policy.resolve === undefined) return href;
  const addresses = await policy.resolve(host);
  const self = addresses.find((address) => isSelfAddress(address, own));
  // Which address is not said: the service's own addresses are internal detail (README, "Errors").
  if (self !== undefined) throw selfTarget(`${host} resolves to an address of this service`);
  return href;
}

/** How long an answer is reused: creations of links to one site (a campaign, a benchmark) look it up once. */
const ANSWER_TTL_MS = 60_000;
const ANSWERS_KEPT = 10_000;

/** Lookups running at once: each holds a libuv thread (shared with files and crypto), so slow names must not take them all. */
const MAX_LOOKUPS_IN_FLIGHT = 2;

type LookupAll = (name: string) => Promise<readonly string[]>;
const systemLookup: LookupAll = async (name) => (await lookup(name, { all: true, verbatim: true })).map((entry) => entry.address);

/** A lookup waiting for a slot (`start`), or abandoned by every caller before it got one (`gaveUp`). */
interface LookupJob {
  start: () => void;
  gaveUp: boolean;
}
/** One name's lookup, its answer shared by the callers waiting for it. */
interface SharedLookup {
  answer: Promise<readonly string[]>;
  job: LookupJob;
  waiting: number;
}

/**
 * The system resolver (the hosts file, then DNS: what a browser on this machine would use), waited
 * for at most `timeoutMs` including the wait for one of MAX_LOOKUPS_IN_FLIGHT slots. Answers that
 * came in time (found or not) are reused for ANSWER_TTL_MS. When every slot is held by a lookup that
 * has already outlived `timeoutMs` (names under a zone that never answers hold a slot for as long as
 * the system resolver tries), a caller does not queue behind them: its name counts as not resolving
 * at once, so slow names cannot add a second to every other creation.
 */
export function createNameResolver(options: { timeoutMs?: number; lookupAll?: LookupAll; now?: () => number } = {}): ResolveName {
  const timeoutMs = options.timeoutMs ?? RESOLVE_TIMEOUT_MS;
  const lookupAll = options.lookupAll ?? systemLookup;
  const now = options.now ?? Date.now;
  const answers = new Map<string, { addresses: readonly string[]; until: number }>();
  /** When each lookup in flight started. */
  const inFlight = new Set<{ startedAt: number }>();
  const queue: LookupJob[] = [];
  const stuck = (): boolean => [...inFlight].every((lookup) => now() - lookup.startedAt >= timeoutMs);

  function next(): void {
    for (let job = queue.shift(); job; job = queue.shift()) {
      if (job.gaveUp) continue;
      job.start();
      return;
    }
  }

  function remember(name: string, addresses: readonly string[]): void {
    answers.delete(name);
    // Oldest first: a Map iterates in insertion order.
    if (answers.size >= ANSWERS_KEPT) answers.delete(answers.keys().next().value ?? '');
    answers.set(name, { addresses, until: now() + ANSWER_TTL_MS });
  }

  /**
   * The lookup under way for each name, running or queued, and how many callers wait for it: callers
   * of one name share it. Each used to start its own, so a burst of creations to a new site queued
   * dozens of lookups of one name behind the two slots, and most of them waited out their timeout.
   */
  const underWay = new Map<string, SharedLookup>();

  function lookUp(name: string): SharedLookup {
    const job: LookupJob = { start: () => undefined, gaveUp: false };
    const answer = new Promise<readonly string[]>((resolve) => {
      job.start = () => {
        const slot = { startedAt: now() };
        inFlight.add(slot);
        // A lookup cannot be cancelled: it keeps its slot until it ends, even after its callers gave up.
        lookupAll(name)
          .then(
            (addresses) => {
              if (!job.gaveUp) remember(name, addresses);
              resolve(addresses);
            },
            (err: unknown) => {
              // Not found is an answer worth keeping; a failure of the resolver itself is not.
              const code = (err as NodeJS.ErrnoException | undefined)?.code;
              if (!job.gaveUp && (code === 'ENOTFOUND' || code === 'ENODATA')) remember(name, []);
              resolve([]);
            },
          )
          .finally(() => {
            inFlight.delete(slot);
            if (underWay.get(name)?.job === job) underWay.delete(name);
            next();
          });
      };
    });
    return { answer, job, waiting: 0 };
  }

  /** A new lookup of `name`, started or queued; null when every slot is stuck (the name counts as unresolved). */
  function begin(name: string): SharedLookup | null {
    if (inFlight.size >= MAX_LOOKUPS_IN_FLIGHT && stuck()) return null;
    const shared = lookUp(name);
    if (inFlight.size < MAX_LOOKUPS_IN_FLIGHT) shared.job.start();
    else queue.push(shared.job);
    underWay.set(name, shared);
    return shared;
  }

  return async (name) => {
    const known = answers.get(name);
    if (known !== undefined && known.until > now()) return known.addresses;
    const mine = underWay.get(name) ?? begin(name);
    if (mine === null) return [];
    mine.waiting += 1;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<readonly string[]>((resolve) => {
      timer = setTimeout(() => {
        // The lookup is given up once every caller has: a queued one never starts, a late answer is not kept.
        if (--mine.waiting === 0) {
          mine.job.gaveUp = true;
          if (underWay.get(name) === mine) underWay.delete(name);
        }
        resolve([]);
      }, timeoutMs);
    });
    try {
      return await Promise.race([mine.answer, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** The addresses a server bound to `host` is reachable on: every interface's for 0.0.0.0 and ::. */
export function listeningAddresses(host: string): string[] {
  const bare = canonicalHost(host);
  if (bare !== '' && bare !== '0.0.0.0' && bare !== '::') return isIP(bare) === 0 ? [] : [bare];
  return Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
}

/**
 * Reading the interfaces is a system call per creation when HOST is 0.0.0.0 or ::, as in a pod: the
 * list is read again after this long. An address added meanwhile is refused from then on.
 */
const INTERFACES_TTL_MS = 10_000;

function cachedFor<T>(ms: number, read: () => T, now: () => number = Date.now): () => T {
  let value: { at: number; is: T } | null = null;
  return () => {
    if (value === null || now() - value.at >= ms) value = { at: now(), is: read() };
    return value.is;
  };
}

/** The policy of a URL service: public host and HOST refused by name, the listening addresses by address. */
export function targetPolicyFor(options: { publicBaseUrl: string; listenHost: string; blockedDomains: readonly string[] }): TargetUrlPolicy {
  const listenName = canonicalHost(options.listenHost);
  const names = [new URL(options.publicBaseUrl).hostname];
  if (listenName !== '' && isIP(listenName) === 0) names.push(listenName);
  return {
    ownHosts: names,
    ownAddresses: cachedFor(INTERFACES_TTL_MS, () => listeningAddresses(options.listenHost)),
    blockedDomains: options.blockedDomains,
    resolve: createNameResolver(),
  };
}
