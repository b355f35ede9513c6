// Where webhooks may be sent. Like link targets (target-url.ts), never to this service: its public host
// on any port, and on the port it listens on, loopback, its listening addresses and names resolving to
// them (checked when the endpoint is saved). And, unless WEBHOOK_ALLOW_PRIVATE=true, never to loopback,
// private, link-local or other non-public addresses: a webhook is a request this server makes on a
// caller's behalf, and it must not reach the cluster's insides (SSRF). Names are checked when the
// endpoint is saved and again, on the resolved address the connection really uses, at every delivery:
// a name that later points at 127.0.0.1 is never called.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { InvalidRequest } from '../core/errors.ts';
import { ipv4Of, ipv6Groups } from '../core/ipv6.ts';
import { MAX_URL_LENGTH } from '../core/validation-message.ts';
import { canonicalHost, isLocalhostName, isSelfAddress, ownHostsOf, type ResolveName } from './target-url.ts';

export interface WebhookTargetPolicy {
  /** Names of this service (the public host), as `name` or `name:port`: refused on any port, whatever the switch. */
  ownHosts: readonly string[];
  /**
   * The port the URL service listens on (read at each check: with PORT=0 it is known only once it
   * listens). On it, loopback, `localhost`, the addresses of `ownAddresses` and names resolving to
   * them are this service, refused whatever the switch; on another port they are a receiver on this
   * machine, allowed with allowPrivate. Without it, only ownHosts are refused as this service.
   */
  listenPort?: () => number;
  /** Addresses this service listens on (the link policy's, TargetUrlPolicy.ownAddresses). */
  ownAddresses?: () => readonly string[];
  /** WEBHOOK_ALLOW_PRIVATE: loopback and private addresses allowed (a receiver on this machine or network). */
  allowPrivate: boolean;
  resolve?: ResolveName;
}

// Two lists: Node's BlockList matches an IPv4 address against IPv6 rules as its mapped form, so
// ::/96 or ::ffff:0:0/96 in one list would match every IPv4 address.
const NON_PUBLIC_V4 = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24],
  ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NON_PUBLIC_V4.addSubnet(net, bits, 'ipv4');
const NON_PUBLIC_V6 = new BlockList();
// IPv4-compatible (::/96) and IPv4-mapped (::ffff:0:0/96) addresses are refused whole: no receiver needs them.
// NAT64 prefixes, the well-known 64:ff9b::/96 and the local-use 64:ff9b:1::/48 (RFC 8215), are refused
// whole like the mapped forms; fec0::/10 is the deprecated site-local range; 100::/64 discards (RFC 6666).
for (const [net, bits] of [
  ['::', 96], ['::ffff:0:0', 96], ['fc00::', 7], ['fec0::', 10], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['64:ff9b:1::', 48],
  ['100::', 64], ['2001:db8::', 32],
] as const) {
  NON_PUBLIC_V6.addSubnet(net, bits, 'ipv6');
}


/**
 * The IPv4 addresses an IPv6 address of a tunnel is carried to: 6to4 (2002::/16) has it in bits
 * 16-47; Teredo (2001:0::/32) its client's in the last 32 bits, inverted, and its server's in bits
 * 32-63 (a real Teredo server is public, so judging that one too refuses no real receiver).
 */
function tunnelledV4(address: string): string[] {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, , , g6 = 0, g7 = 0] = ipv6Groups(address);
  if (g0 === 0x2002) return [ipv4Of(g1, g2)];
  if (g0 === 0x2001 && g1 === 0) return [ipv4Of(g2, g3), ipv4Of(g6 ^ 0xffff, g7 ^ 0xffff)];
  return [];
}

/**
 * Loopback, private, link-local, shared, documentation, multicast or reserved. A 6to4 or Teredo
 * address is judged by the IPv4 address it tunnels to: unlike the mapped forms (refused whole above)
 * it is a global address a receiver may really have, but 2002:a9fe:a9fe:: reaches 169.254.169.254.
 */
export function isNonPublicAddress(address: string): boolean {
  const bare = address.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(bare);
  if (family === 0) return false;
  if (family === 4) return NON_PUBLIC_V4.check(bare, 'ipv4');
  return NON_PUBLIC_V6.check(bare, 'ipv6') || tunnelledV4(bare).some((embedded) => NON_PUBLIC_V4.check(embedded, 'ipv4'));
}

const invalid = (detail: string): InvalidRequest => new InvalidRequest(detail, 'invalid_url');
// Host and port as the caller wrote them, never what a name resolved to (see checkWebhookUrl).
const selfEndpoint = (host: string, port: number, what: string): InvalidRequest =>
  invalid(`url must not point at this service: ${isIP(host) === 6 ? `[${host}]` : host}:${port} ${what}, on the port this service listens on.`);

/** The port a URL connects to: its own, or its scheme's. */
function portOf(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** Checks and normalises an endpoint's URL when it is saved. */
export async function checkWebhookUrl(raw: string, policy: WebhookTargetPolicy): Promise<string> {
  if (raw.length > MAX_URL_LENGTH) throw invalid(`url must be at most ${MAX_URL_LENGTH} characters.`);
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch {
    throw invalid('url must be an absolute http or https URL.');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw invalid('url must use http or https.');
  if (parsed.username !== '' || parsed.password !== '') throw invalid('url must not contain a user name or password.');
  const host = canonicalHost(parsed.hostname);
  const ownAddresses = policy.ownAddresses?.() ?? [];
  const thisMachine = isLocalhostName(host) || isSelfAddress(host, ownAddresses);
  // The public host on any port; unless it is this machine (PUBLIC_BASE_URL's default is
  // http://localhost:PORT), which, like loopback, is this service only on the port it listens on.
  if (!thisMachine && ownHostsOf(policy.ownHosts).includes(host)) throw invalid(`url must not point at this service (${host}).`);
  // A receiver beside the service on another port (WEBHOOK_ALLOW_PRIVATE=true) is legitimate, and
  // without the switch loopback is refused below anyway.
  const port = portOf(parsed);
  const onOwnPort = policy.listenPort !== undefined && port === policy.listenPort();
  if (onOwnPort && thisMachine) {
    throw selfEndpoint(host, port, 'is this machine (loopback or an address it listens on)');
  }
  if (!policy.allowPrivate && (isLocalhostName(host) || isNonPublicAddress(host))) {
    throw invalid(`url must be on a public address: ${host} is loopback or private (an operator may allow it with WEBHOOK_ALLOW_PRIVATE=true).`);
  }
  if (isIP(host) === 0 && policy.resolve !== undefined && (onOwnPort || !policy.allowPrivate)) {
    const addresses = await policy.resolve(host);
    // Not which address: a key holder must not learn what names resolve to inside the operator's network.
    if (onOwnPort && addresses.some((address) => isSelfAddress(address, ownAddresses))) {
      throw selfEndpoint(host, port, 'resolves to this machine (loopback or an address it listens on)');
    }
    if (!policy.allowPrivate && addresses.some(isNonPublicAddress)) {
      throw invalid(`url must be on a public address: ${host} resolves to a loopback or private address (an operator may allow it with WEBHOOK_ALLOW_PRIVATE=true).`);
    }
  }
  if (parsed.href.length > MAX_URL_LENGTH) throw invalid(`url must be at most ${MAX_URL_LENGTH} characters.`);
  return parsed.href;
}

/** Thrown (as the delivery's error) when a delivery's target is or resolves to a non-public address. */
export class NonPublicTarget extends Error {
  readonly code = 'ENONPUBLIC';
  constructor(host: string, address: string) {
    super(`${host} is or resolves to ${address}, which is not a public address`);
    this.name = 'NonPublicTarget';
  }
}

/** Socket and DNS failures by code, as the delivery log says them. */
const DELIVERY_FAILURES: Readonly<Record<string, string>> = {
  ENONPUBLIC: "the endpoint's host is or resolves to a loopback or private address, which is not a public address",
  ENOTFOUND: "the endpoint's host name does not resolve",
  EAI_AGAIN: "the endpoint's host name could not be resolved for now",
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the connection was closed while sending',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: "the endpoint's host is unreachable",
  ENETUNREACH: "the endpoint's network is unreachable",
};

/**
 * What the delivery log (`last_error`, seen by the endpoint's owner) says of a failed request: stable
 * words and at most an error code, never the message, which names addresses and ports (README,
 * "Errors"). The message goes to the log.
 */
export function deliveryFailure(err: Error & { code?: unknown }): string {
  const code = typeof err.code === 'string' ? err.code : '';
  const known = DELIVERY_FAILURES[code];
  if (known !== undefined) return known;
  if (/CERT|TLS|SSL|SIGNATURE/.test(code)) return `the TLS handshake failed (${code})`;
  if (code.startsWith('HPE_')) return `the answer was not valid HTTP (${code})`;
  return /^[A-Z][A-Z0-9_]{1,63}$/.test(code) ? `the request failed (${code})` : 'the request failed';
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request that refuses non-public answers: the check and the connection use the
 * same resolution, so a name cannot pass the check and then connect elsewhere (DNS rebinding).
 */
export function publicOnlyLookup(hostname: string, options: object, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const list = addresses;
    const bad = list.find((a) => isNonPublicAddress(a.address));
    if (bad !== undefined) return callback(new NonPublicTarget(hostname, bad.address), []);
    const wantsAll = (options as { all?: boolean }).all === true;
    const first = list[0];
    if (wantsAll) return callback(null, list);
    if (first === undefined) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
    return callback(null, first.address, first.family);
  });
}
