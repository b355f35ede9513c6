// Who a per-client rate limit counts: not the exact address, because an IPv6 customer gets at least
// a /64 from its ISP and can send every request from a fresh address in it. Counting the /64 makes
// one IPv6 customer one subject, as one IPv4 address (NAT and all) already is.
import { isIP } from 'node:net';
import { ipv4Of, ipv6Groups } from './ipv6.ts';

/**
 * The rate-limit subject of client address `address` (Fastify's request.ip): an IPv4 address as it
 * is, an IPv4-mapped IPv6 address (::ffff:1.2.3.4, a dual-stack socket's IPv4 peer) as its IPv4
 * address, any other IPv6 address as its /64 in one spelling (`2001:db8:1:2::/64`), however the
 * address was spelt. Anything that is not an address is returned unchanged.
 */
export function clientSubject(address: string): string {
  // The zone ("fe80::1%eth0") is dropped, not kept: it names a local interface, not a client, and
  // its text is free, so keeping it would be one more thing to vary between requests.
  const zone = address.indexOf('%');
  const bare = zone === -1 ? address : address.slice(0, zone);
  const family = isIP(bare);
  if (family === 4) return bare;
  if (family !== 6) return address;
  const words = ipv6Groups(bare);
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return ipv4Of(words[6] ?? 0, words[7] ?? 0);
  // The last four words are zero, so the zeros ending the prefix join them into the longest run,
  // which is the one RFC 5952 compresses ("2001:db8::/64", "::/64").
  const prefix = words.slice(0, 4);
  while (prefix.length > 0 && prefix[prefix.length - 1] === 0) prefix.pop();
  return `${prefix.map((w) => w.toString(16)).join(':')}::/64`;
}
