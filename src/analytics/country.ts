// Which country a click came from: a trusted proxy's country header when it names one, else the
// client address looked up in a MaxMind-format (MMDB) database held in memory. Never I/O per click:
// the file is read once at start-up; a lookup is a walk of an in-memory tree, cached.
import { open, readFile } from 'node:fs/promises';
import { BlockList, isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Reader, type Response } from 'mmdb-lib';
// One "(unknown)" for every analytics value, so a report can treat them alike.
import { boundedMemo } from './memo.ts';
import { UNKNOWN } from './user-agent.ts';

export interface CountryResolver {
  /** ISO 3166-1 alpha-2, upper case, or UNKNOWN. Never throws, never does I/O. */
  country(input: { address: string | undefined; header: string | undefined }): string;
}

/**
 * The database shipped as a dependency: @ip-location-db/geo-whois-asn-country-mmdb (GeoFeed, RIR WHOIS
 * and ASN data merged; records are `{ country_code }`). Its package.json says CC0-1.0, but its README
 * and NRO_LICENSE ask for attribution to nro.net (CC BY 4.0) for the WHOIS-derived part. Operators
 * can point GEOIP_DB at a MaxMind GeoLite2/GeoIP2 Country or City file instead.
 */
export const DEFAULT_GEOIP_DB: string = fileURLToPath(
  import.meta.resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb'),
);

/** Every MMDB file ends with its metadata, which starts with these bytes (MaxMind DB spec). */
const METADATA_MARKER = Buffer.from('\xab\xcd\xefMaxMind.com', 'latin1');
/** The metadata, marker included, is at most this long (MaxMind DB spec), so the marker is in this tail. */
const METADATA_MAX_BYTES = 128 * 1024;

/** A GeoIP database that cannot be used. Its message is the whole story: a stack trace adds nothing for an operator. */
export class GeoIpDatabaseError extends Error {
  constructor(
    readonly path: string,
    /** What is wrong with the file, e.g. "cannot be read: ENOENT: …". */
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`GeoIP database ${path} ${reason}`, options);
    this.name = 'GeoIpDatabaseError';
  }
}

/** The longest textual IP address: a full IPv6 address in IPv4-mapped form, plus room for a zone. */
const MAX_ADDRESS_LENGTH = 64;

/**
 * Addresses that are not globally reachable (IANA's special-purpose address registries, without
 * their few global exceptions): they have no country. Checked before the lookup because the bundled database does have records for some of
 * them — 192.168.0.0/16, 172.16.0.0/12, 198.51.100.0/24 and 203.0.113.0/24 read "AU", 2001:db8::/32
 * reads "JP" — and a proxy or a test run on a private network would otherwise count as a country.
 */
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 127], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32],
  ['3fff::', 20], ['5f00::', 16], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');

/** dbPath null: no database (header only). Reads the file once; throws a GeoIpDatabaseError if it cannot be read or is not an MMDB. */
export async function openCountryResolver(options: { dbPath: string | null; cacheMax?: number }): Promise<CountryResolver> {
  const cacheMax = options.cacheMax ?? 10_000;
  if (options.dbPath === null) return { country: ({ header }) => countryCode(header) ?? UNKNOWN };

  const reader = await openDatabase(options.dbPath);
  // An IPv4-only database has no IPv6 tree: mmdb-lib would walk the IPv4 one with an IPv6 address's
  // first bits and answer some IPv4 network's record.
  const hasIpv6 = reader.metadata.ipVersion === 6;
  function lookUp(address: string): string {
    const ip = publicAddress(address);
    if (ip === null || (ip.family === 6 && !hasIpv6)) return UNKNOWN;
    try {
      return countryOfRecord(reader.get(ip.address));
    } catch {
      // Only a damaged data section gets here (the address is valid, the metadata was read at open):
      // one unknown country, not a failed redirect.
      return UNKNOWN;
    }
  }

  const looked = boundedMemo(cacheMax, lookUp);

  return {
    country({ address, header }) {
      const fromHeader = countryCode(header);
      if (fromHeader !== null) return fromHeader;
      // Over-long strings are not addresses; not cached, so they cannot fill the cache.
      if (address === undefined || address.length > MAX_ADDRESS_LENGTH) return UNKNOWN;
      return looked.get(address);
    },
  };
}

/**
 * Whether the file at `dbPath` can be read and has MMDB metadata, from its last 128 KiB only: a
 * process checks GEOIP_DB with this before it connects to anything, and loads the file later.
 */
export async function checkCountryDatabase(dbPath: string): Promise<void> {
  let tail: Buffer;
  try {
    const file = await open(dbPath, 'r');
    try {
      const { size } = await file.stat();
      const length = Math.min(size, METADATA_MAX_BYTES);
      ({ buffer: tail } = await file.read({ buffer: Buffer.alloc(length), position: size - length }));
    } finally {
      await file.close();
    }
  } catch (err) {
    throw new GeoIpDatabaseError(dbPath, `cannot be read: ${messageOf(err)}`, { cause: err });
  }
  if (tail.lastIndexOf(METADATA_MARKER) === -1) throw notMmdb(dbPath);
}

async function openDatabase(dbPath: string): Promise<Reader<Response>> {
  let file: Buffer;
  try {
    file = await readFile(dbPath);
  } catch (err) {
    throw new GeoIpDatabaseError(dbPath, `cannot be read: ${messageOf(err)}`, { cause: err });
  }
  // mmdb-lib's own errors for a file that is not an MMDB say "Unknown type 111 at offset 1".
  if (file.lastIndexOf(METADATA_MARKER) === -1) throw notMmdb(dbPath);
  try {
    return new Reader<Response>(file);
  } catch (err) {
    throw new GeoIpDatabaseError(dbPath, `is not a readable MaxMind DB (MMDB) file: ${messageOf(err)}`, { cause: err });
  }
}

function notMmdb(dbPath: string): GeoIpDatabaseError {
  return new GeoIpDatabaseError(dbPath, 'is not a MaxMind DB (MMDB) file: it has no MMDB metadata');
}

/**
 * A public address to look up, or null: garbage, a private or reserved address. An IPv4-mapped IPv6
 * address (a dual-stack socket's "::ffff:1.2.3.4") is looked up as IPv4: the database keeps IPv4 in
 * its own subtree and has no records under ::ffff:0:0/96.
 */
export function publicAddress(address: string): { address: string; family: 4 | 6 } | null {
  const text = address.trim();
  const family = isIP(text);
  if (family === 4) return NOT_PUBLIC.check(text, 'ipv4') ? null : { address: text, family: 4 };
  // A zone ("%eth0") only comes with link-local addresses, which have no country.
  if (family !== 6 || text.includes('%')) return null;
  const mapped = mappedIpv4(text);
  if (mapped !== null) return NOT_PUBLIC.check(mapped, 'ipv4') ? null : { address: mapped, family: 4 };
  return NOT_PUBLIC.check(text, 'ipv6') ? null : { address: text, family: 6 };
}

/** "::ffff:1.2.3.4" however it is spelt ("::FFFF:102:304", "0:0:0:0:0:ffff:1.2.3.4") as "1.2.3.4"; null if not IPv4-mapped. */
function mappedIpv4(ipv6: string): string | null {
  // The URL parser writes an IPv6 host in its one canonical form; `ipv6` is valid (isIP said so).
  const canonical = new URL(`http://[${ipv6}]/`).hostname;
  const words = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(canonical);
  if (words === null) return null;
  const high = Number.parseInt(words[1] ?? '', 16);
  const low = Number.parseInt(words[2] ?? '', 16);
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/**
 * The country of a database record: this package's `{ country_code }`, or MaxMind GeoIP2/GeoLite2
 * Country and City's `{ country: { iso_code } }`, falling back to `registered_country` (MaxMind leaves
 * `country` out for some networks, satellite and anycast ones among them). UNKNOWN for anything else.
 */
export function countryOfRecord(record: unknown): string {
  if (!isObject(record)) return UNKNOWN;
  return (
    countryCode(record.country_code) ?? countryCode(isoCodeOf(record.country)) ?? countryCode(isoCodeOf(record.registered_country)) ?? UNKNOWN
  );
}

/**
 * An ISO 3166-1 alpha-2 code in upper case, or null. Two ASCII letters, any case, but not a
 * user-assigned code (AA, QM–QZ, XA–XZ, ZZ), which is how proxies say "unknown" (Cloudflare's XX);
 * except XK, Kosovo, which Cloudflare and MaxMind both use. Cloudflare's T1 (Tor) is not letters.
 */
export function countryCode(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const code = value.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(code)) return null;
  if (code !== 'XK' && /^(?:AA|Q[M-Z]|X[A-Z]|ZZ)$/.test(code)) return null;
  return code;
}

function isoCodeOf(value: unknown): unknown {
  return isObject(value) ? value.iso_code : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
