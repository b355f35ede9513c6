// An IPv6 address as its eight 16-bit groups, for the checks that look inside one: the rate-limit
// subject (its /64, an IPv4-mapped address's IPv4 address: client-subject.ts) and the webhook target
// check (the IPv4 address a 6to4 or Teredo address carries: src/url/webhook-target.ts).

/**
 * The eight 16-bit groups of `address`, an IPv6 address isIP accepts (6): `::` filled in, a dotted IPv4
 * tail as two groups, a zone ("%eth0") dropped.
 */
export function ipv6Groups(address: string): number[] {
  const groups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [Number.parseInt(group, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head = '', tail] = address.replace(/%.*$/, '').split('::');
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** The dotted IPv4 address two groups hold (`high` the first 16 bits). */
export const ipv4Of = (high: number, low: number): string => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
