// Who a per-client rate limit counts: not the exact address, because an IPv6 customer gets at least
// a /64 from its ISP and can send every request from a fresh address in it. Counting the /64 makes
// one IPv6 customer one subject, as one IPv4 address (NAT and all) already is.
import { isIP } from 'node:net';

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
  const words = ipv6Words(bare);
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    const high = words[6] ?? 0;
    const low = words[7] ?? 0;
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  // The last four words are zero, so the zeros ending the prefix join them into the longest run,
  // which is the one RFC 5952 compresses ("2001:db8::/64", "::/64").
  const prefix = words.slice(0, 4);
  while (prefix.length > 0 && prefix[prefix.length - 1] === 0) prefix.pop();
  return `${prefix.map((w) => w.toString(16)).join(':')}::/64`;
}

/** The eight 16-bit words of `ipv6`, a valid IPv6 address without a zone (isIP said so). */
function ipv6Words(ipv6: string): number[] {
  const toWords = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [Number.parseInt(group, 16)];
          // An IPv4 address written in the last 32 bits ("::ffff:1.2.3.4", "64:ff9b::1.2.3.4").
          const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const gap = ipv6.indexOf('::');
  if (gap === -1) return toWords(ipv6);
  const head = toWords(ipv6.slice(0, gap));
  const tail = toWords(ipv6.slice(gap + 2));
  return [...head, ...Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}
